package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiPrefix mounts the fake API below a path, as go-github's own tests do,
// so a request built from an absolute path instead of the base URL misses.
const apiPrefix = "/api-v3"

// fakeGitHub is an in-memory GitHub REST API for one repository: a pull
// request's files, file contents per commit, issue comments and the
// commit-to-pull-request index. It records every request.
type fakeGitHub struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	pageSize int

	files    map[int][]ChangedFile        // pull request -> files
	contents map[string]map[string]string // sha -> path -> content
	comments map[int][]fakeComment        // issue -> comments
	nextID   int64
	prs      map[string][]PullRequest // commit sha -> pull requests

	login     string // "" answers GET /user with 403, like GITHUB_TOKEN
	readOnly  bool   // comment writes answer 403, like a fork's token
	failFiles int    // status for the files list (0 = serve)
	// fault, when set, sees every request first and answers it itself
	// by returning true.
	fault          func(w http.ResponseWriter, r *http.Request) bool
	requests       []fakeRequest
	commentsWrites int
}

type fakeComment struct {
	ID     int64
	Body   string
	Author string
}

type fakeRequest struct {
	Method, Path, Query, Body, Auth string
}

func newFakeGitHub(t testing.TB) *fakeGitHub {
	f := &fakeGitHub{
		t: t, pageSize: 2, nextID: 100,
		files: map[int][]ChangedFile{}, contents: map[string]map[string]string{},
		comments: map[int][]fakeComment{}, prs: map[string][]PullRequest{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/catalog/pulls/{n}/files", f.listFiles)
	mux.HandleFunc("GET /repos/acme/catalog/contents/{path...}", f.getContents)
	mux.HandleFunc("GET /repos/acme/catalog/issues/{n}/comments", f.listComments)
	mux.HandleFunc("POST /repos/acme/catalog/issues/{n}/comments", f.createComment)
	mux.HandleFunc("PATCH /repos/acme/catalog/issues/comments/{id}", f.editComment)
	mux.HandleFunc("GET /user", f.user)
	mux.HandleFunc("GET /repos/acme/catalog/commits/{sha}/pulls", f.commitPulls)
	f.srv = httptest.NewServer(http.StripPrefix(apiPrefix, f.record(mux)))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) URL() string { return f.srv.URL + apiPrefix }

func (f *fakeGitHub) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.requests = append(f.requests, fakeRequest{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Get("Authorization")})
		fault := f.fault
		f.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// page serves items[page] with a Link header for the next page.
func page[T any](f *fakeGitHub, w http.ResponseWriter, r *http.Request, items []T) []T {
	per := f.pageSize
	if v, _ := strconv.Atoi(r.URL.Query().Get("per_page")); v > 0 && v < per {
		per = v
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	start := (p - 1) * per
	if start > len(items) {
		start = len(items)
	}
	end := min(start+per, len(items))
	if end < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p+1))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s%s?%s>; rel="next"`, f.srv.URL, apiPrefix, r.URL.Path, q.Encode()))
	}
	return items[start:end]
}

func (f *fakeGitHub) listFiles(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFiles != 0 {
		apiErr(w, f.failFiles, "Server Error")
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	var out []map[string]any
	for _, cf := range page(f, w, r, f.files[n]) {
		m := map[string]any{"sha": "f00d", "filename": cf.Name, "status": cf.Status, "additions": 3, "deletions": 1, "changes": 4}
		if cf.Previous != "" {
			m["previous_filename"] = cf.Previous
		}
		out = append(out, m)
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) getContents(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Accept"); got != "application/vnd.github.raw" {
		f.t.Errorf("contents request Accept = %q, want the raw media type", got)
	}
	body, ok := f.contents[r.URL.Query().Get("ref")][r.PathValue("path")]
	if !ok {
		apiErr(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.github.raw")
	io.WriteString(w, body)
}

func (f *fakeGitHub) commentJSON(c fakeComment) map[string]any {
	typ := "User"
	if strings.HasSuffix(c.Author, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"id": c.ID, "node_id": fmt.Sprintf("IC_%d", c.ID), "body": c.Body,
		"user":     map[string]any{"login": c.Author, "type": typ},
		"html_url": fmt.Sprintf("https://github.com/acme/catalog/pull/7#issuecomment-%d", c.ID),
	}
}

func (f *fakeGitHub) listComments(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, _ := strconv.Atoi(r.PathValue("n"))
	out := []map[string]any{}
	for _, c := range page(f, w, r, f.comments[n]) {
		out = append(out, f.commentJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) author() string {
	if f.login != "" {
		return f.login
	}
	return "github-actions[bot]"
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readOnly {
		apiErr(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		apiErr(w, http.StatusUnprocessableEntity, "Body is required")
		return
	}
	if len(in.Body) > maxCommentBytes {
		apiErr(w, http.StatusUnprocessableEntity, "Body is too long (maximum is 65536 characters)")
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.nextID++
	c := fakeComment{ID: f.nextID, Body: in.Body, Author: f.author()}
	f.comments[n] = append(f.comments[n], c)
	f.commentsWrites++
	writeJSON(w, http.StatusCreated, f.commentJSON(c))
}

func (f *fakeGitHub) editComment(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readOnly {
		apiErr(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		apiErr(w, http.StatusUnprocessableEntity, "Body is required")
		return
	}
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				if cs[i].Author != f.author() {
					f.t.Errorf("the action edited comment %d written by %s", id, cs[i].Author)
				}
				cs[i].Body = in.Body
				f.comments[n] = cs
				f.commentsWrites++
				writeJSON(w, http.StatusOK, f.commentJSON(cs[i]))
				return
			}
		}
	}
	apiErr(w, http.StatusNotFound, "Not Found")
}

func (f *fakeGitHub) user(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.login == "" {
		apiErr(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": f.login, "type": "User"})
}

func (f *fakeGitHub) commitPulls(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range f.prs[r.PathValue("sha")] {
		m := map[string]any{"number": p.Number, "state": "closed", "merge_commit_sha": p.MergeCommitSHA}
		if p.Merged {
			m["merged_at"] = "2026-11-20T11:00:00Z"
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// countRequests counts recorded requests with method whose path contains
// part.
func (f *fakeGitHub) countRequests(method, part string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Method == method && strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

// TestGitHubClient checks the go-github adapter against the fake: paging,
// raw contents, 404 and 403 mapping, and the token sent as a bearer token.
func TestGitHubClient(t *testing.T) {
	f := newFakeGitHub(t)
	f.files[3] = []ChangedFile{{Name: "a.yaml", Status: "modified"}, {Name: "b.yaml", Status: "added"}, {Name: "c.yaml", Previous: "old/c.yaml", Status: "renamed"}}
	f.contents["base"] = map[string]string{"dir/a b.yaml": "models: []\n"}
	gh, err := NewGitHub(f.URL(), "ghs_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	files, err := gh.PullRequestFiles(ctx, "acme", "catalog", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[2].Previous != "old/c.yaml" || files[1].Status != "added" {
		t.Errorf("files = %+v, want all three pages' files", files)
	}
	if got := f.countRequests("GET", "/pulls/3/files"); got != 2 {
		t.Errorf("file list took %d requests, want 2 pages", got)
	}

	data, err := gh.FileAt(ctx, "acme", "catalog", "dir/a b.yaml", "base")
	if err != nil || string(data) != "models: []\n" {
		t.Errorf("FileAt = %q, %v", data, err)
	}
	if _, err := gh.FileAt(ctx, "acme", "catalog", "missing.yaml", "base"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FileAt(missing) error = %v, want ErrNotFound", err)
	}

	if _, err := gh.Login(ctx); !errors.Is(err, ErrForbidden) {
		t.Errorf("Login with an installation token: error = %v, want ErrForbidden", err)
	}
	f.readOnly = true
	if _, err := gh.CreateComment(ctx, "acme", "catalog", 3, "hi"); !errors.Is(err, ErrForbidden) {
		t.Errorf("CreateComment read-only: error = %v, want ErrForbidden", err)
	}
	f.readOnly = false
	c, err := gh.CreateComment(ctx, "acme", "catalog", 3, "hello")
	if err != nil || c.ID == 0 || c.Author != "github-actions[bot]" {
		t.Fatalf("CreateComment = %+v, %v", c, err)
	}
	if err := gh.EditComment(ctx, "acme", "catalog", c.ID, "hello again"); err != nil {
		t.Fatal(err)
	}
	cs, err := gh.Comments(ctx, "acme", "catalog", 3)
	if err != nil || len(cs) != 1 || cs[0].Body != "hello again" {
		t.Errorf("Comments = %+v, %v", cs, err)
	}
	for _, r := range f.requests {
		if r.Auth != "Bearer ghs_token" {
			t.Errorf("%s %s sent Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
	var body struct{ Body string }
	last := f.requests[len(f.requests)-2]
	if last.Method != "PATCH" || json.Unmarshal([]byte(last.Body), &body) != nil || body.Body != "hello again" {
		t.Errorf("edit request = %+v", last)
	}

	f.failFiles = http.StatusBadGateway
	gh, err = NewGitHubWith(f.URL(), "ghs_token", nil, GitHubRetry{Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.PullRequestFiles(ctx, "acme", "catalog", 3); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("PullRequestFiles on 502: error = %v, want one naming the status", err)
	}
}

// failTimes makes the first n requests (every one if n is 0) whose method
// is method and whose path contains part answer status with header, with
// the body GitHub sends for it: a 403 or 429 is a primary rate limit when
// header says X-RateLimit-Remaining 0, else a secondary one. Faults set
// before still see the requests this one lets through.
func (f *fakeGitHub) failTimes(method, part string, n, status int, header map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	served := 0
	prev := f.fault
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		f.mu.Lock()
		if r.Method != method || !strings.Contains(r.URL.Path, part) || (n > 0 && served >= n) {
			f.mu.Unlock()
			return prev != nil && prev(w, r)
		}
		served++
		f.mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		msg := http.StatusText(status)
		doc := "https://docs.github.com/rest"
		switch {
		case (status == http.StatusForbidden || status == http.StatusTooManyRequests) && header["X-RateLimit-Remaining"] == "0":
			msg = "API rate limit exceeded for installation ID 4242."
			doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
		case status == http.StatusForbidden || status == http.StatusTooManyRequests:
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
			doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
		}
		writeJSON(w, status, map[string]string{"message": msg, "documentation_url": doc})
		return true
	}
}

// TestGitHubFaultCancelStopsRetries: a cancelled context ends the retries at
// once, whether it was cancelled before the wait or during it; the real
// timer is used, so a retry loop that ignored the context would take
// seconds and send more requests.
func TestGitHubFaultCancelStopsRetries(t *testing.T) {
	for _, during := range []bool{false, true} {
		t.Run(fmt.Sprintf("during_wait=%v", during), func(t *testing.T) {
			f := newFakeGitHub(t)
			f.failTimes("GET", "/pulls/3/files", 0, http.StatusBadGateway, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if during {
				time.AfterFunc(100*time.Millisecond, cancel)
			} else {
				inner := f.fault
				f.fault = func(w http.ResponseWriter, r *http.Request) bool {
					cancel() // before the 502 reaches the client
					return inner(w, r)
				}
			}
			gh, err := NewGitHubWith(f.URL(), "ghs_token", nil, GitHubRetry{Backoff: func(int) time.Duration { return 10 * time.Second }})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = gh.PullRequestFiles(ctx, "acme", "catalog", 3)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %s after the cancel", el)
			}
			if n := f.countRequests("GET", "/pulls/3/files"); n != 1 {
				t.Errorf("%d requests, want 1: a cancelled call was retried", n)
			}
		})
	}
}
