package action

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/secrettest"
)

// GitHub faults and the action's security rules. Every harness already
// searches the log, summary, outputs, comments and GitHub requests for both
// tokens; watchHub adds every request and response the Hub sees.
// `go test -v -run 'GitHubFault|Security' ./internal/action` prints one
// "reliability:" line of numbers per case.

// watchHub puts the harness's Hub behind a server whose traffic is searched
// for the tokens (beyond the Authorization header); paths receives every
// request path.
func (h *harness) watchHub(paths *[]string) *secrettest.Watch {
	h.t.Helper()
	w := secrettest.New(h.t, hfToken, ghToken)
	var mu sync.Mutex
	srv := httptest.NewServer(w.Handler("hub", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if paths != nil {
			mu.Lock()
			*paths = append(*paths, r.URL.Path)
			mu.Unlock()
		}
		h.hub.ServeHTTP(rw, r)
	})))
	h.t.Cleanup(srv.Close)
	h.env["INPUT_HF-ENDPOINT"] = srv.URL
	return w
}

// rescope replaces the harness's Hub with one whose token may write
// anywhere, so only the action's own rules stand between a run and a
// repo outside hf_owner.
func (h *harness) rescope() {
	h.t.Helper()
	h.startHub("write:*")
	h.env["INPUT_HF-ENDPOINT"] = h.hubURL
}

func reportf(t *testing.T, format string, args ...any) {
	t.Logf("reliability: %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

func TestGitHubFaultCommentForbidden(t *testing.T) {
	t.Run("pull_request", func(t *testing.T) {
		h := newHarness(t)
		h.gh.readOnly = true
		out := h.run("pull_request", "pull_request.json")
		if out.err != nil {
			t.Fatalf("a 403 on the comment failed the check: %v\n%s", out.err, out.log)
		}
		warns := annotations(out.log, "warning")
		if len(warns) != 1 || !strings.Contains(warns[0], "could not comment on #7") {
			t.Errorf("want one warning about the refused comment, got %q", warns)
		}
		if !strings.Contains(out.summary, "acme/kimi-k2-5-full-q4-k") {
			t.Errorf("the summary lost the plan")
		}
		posts := h.gh.countRequests("POST", "/issues/7/comments")
		if posts != 1 {
			t.Errorf("%d comment POSTs, want 1 (no retry of a 403)", posts)
		}
		reportf(t, "ok (warning %q); comment POSTs %d, summary kept, exit 0", strings.SplitN(warns[0], "::", 3)[2], posts)
	})
	t.Run("push", func(t *testing.T) {
		h := newHarness(t)
		h.gh.readOnly = true
		out := h.run("push", "push.json")
		if out.err != nil {
			t.Fatalf("a 403 on the merged PR's comment failed the publish: %v\n%s", out.err, out.log)
		}
		if h.sidecarCommits() < 3 {
			t.Errorf("the publish did not happen")
		}
		if len(annotations(out.log, "warning")) != 1 {
			t.Errorf("want one warning, got %q", annotations(out.log, "warning"))
		}
		reportf(t, "ok; published (%d sidecar commits), 1 warning, exit 0", h.sidecarCommits())
	})
}

func TestGitHubFaultListingFiles5xx(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t)
			w := h.watchHub(nil)
			h.gh.failFiles = status
			out := h.run("pull_request", "pull_request.json")
			if !errors.Is(out.err, ErrFailed) {
				t.Fatalf("err = %v, want the check to fail", out.err)
			}
			errs := annotations(out.log, "error")
			want := fmt.Sprintf("list the pull request's files: GitHub answered %d after 3 attempts", status)
			if len(errs) == 0 || !strings.Contains(errs[0], want) {
				t.Errorf("error annotations %q should say %q", errs, want)
			}
			if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 3 {
				t.Errorf("%d file-list requests, want 3 (1 + 2 retries)", n)
			}
			if fmt.Sprint(h.ghWaits) != "[1s 2s]" {
				t.Errorf("waits %v, want [1s 2s]", h.ghWaits)
			}
			if len(h.gh.comments[7]) != 0 {
				t.Errorf("a plan comment was posted without a plan")
			}
			if wr := h.hubWrites(); len(wr) > 0 || w.Requests("hub") != 0 {
				t.Errorf("the Hub was touched without a diff: %d requests, writes %v", w.Requests("hub"), wr)
			}
			reportf(t, "fails clearly: %q; file-list requests %d, waits %v, Hub requests 0", strings.SplitN(errs[0], "::", 3)[2], h.gh.countRequests("GET", "/pulls/7/files"), h.ghWaits)
		})
	}
}

// TestGitHubFaultIdempotentReadsRetried: one 5xx, a dropped connection or
// a short secondary rate limit on each idempotent call the action makes is
// retried, and the run ends as if nothing happened.
func TestGitHubFaultIdempotentReadsRetried(t *testing.T) {
	rateLimited := map[string]string{"Retry-After": "1", "X-RateLimit-Remaining": "4000"}
	for _, c := range []struct {
		name, event, fixture, part string
		status                     int // 0: the connection is dropped
		want                       int // requests: the refused one + an unfaulted run's
		header                     map[string]string
		wantWait                   string
	}{
		{"files 502 once", "pull_request", "pull_request.json", "/pulls/7/files", http.StatusBadGateway, 3, nil, "[1s]"},
		{"base contents 503 once", "pull_request", "pull_request.json", "/contents/catalogs/acme.yaml", http.StatusServiceUnavailable, 2, nil, "[1s]"},
		{"comments 500 once", "pull_request", "pull_request.json", "/issues/7/comments", http.StatusInternalServerError, 2, nil, "[1s]"},
		{"merged PR 504 once", "push", "push.json", "/commits/" + mergeSHA + "/pulls", http.StatusGatewayTimeout, 2, nil, "[1s]"},
		{"files connection dropped once", "pull_request", "pull_request.json", "/pulls/7/files", 0, 3, nil, "[1s]"},
		{"comments 403 secondary rate limit", "pull_request", "pull_request.json", "/issues/7/comments", http.StatusForbidden, 2, rateLimited, "[1s]"},
		{"files 429 Retry-After 1", "pull_request", "pull_request.json", "/pulls/7/files", http.StatusTooManyRequests, 3, rateLimited, "[1s]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if c.status == 0 {
				dropOnce(h.gh, "GET", c.part)
			} else {
				h.gh.failTimes("GET", c.part, 1, c.status, c.header)
			}
			out := h.run(c.event, c.fixture)
			if out.err != nil {
				t.Fatalf("one refused read failed the run: %v\n%s", out.err, out.log)
			}
			if n := h.gh.countRequests("GET", c.part); n != c.want {
				t.Errorf("%d requests to %s, want %d (1 refused, then an unfaulted run's)", n, c.part, c.want)
			}
			if got := fmt.Sprint(h.ghWaits); got != c.wantWait {
				t.Errorf("waits %s, want %s", got, c.wantWait)
			}
			if len(h.gh.comments[7]) != 1 {
				t.Errorf("%d comments on #7, want the one the run posts", len(h.gh.comments[7]))
			}
			if !strings.Contains(out.log, "GitHub: GET ") || !strings.Contains(out.log, "retry 1 in 1s") {
				t.Errorf("the log does not say the read was retried:\n%s", out.log)
			}
			reportf(t, "ok; %d requests to %s, waits %v, comments posted %d", h.gh.countRequests("GET", c.part), c.part, h.ghWaits, h.gh.countRequests("POST", "/issues/7/comments"))
		})
	}
}

// dropOnce makes the first matching request end with the connection closed
// and no answer.
func dropOnce(f *fakeGitHub, method, part string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dropped := false
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if dropped || r.Method != method || !strings.Contains(r.URL.Path, part) {
			return false
		}
		dropped = true
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return false
		}
		conn.Close()
		return true
	}
}

// TestGitHubFaultCommentPostNotRetried: a comment POST answered 502 may
// have been applied; it is sent once, whatever the answer.
func TestGitHubFaultCommentPostNotRetried(t *testing.T) {
	h := newHarness(t)
	h.gh.failTimes("POST", "/issues/7/comments", 0, http.StatusBadGateway, nil)
	out := h.run("pull_request", "pull_request.json")
	if n := h.gh.countRequests("POST", "/issues/7/comments"); n != 1 {
		t.Errorf("%d comment POSTs, want 1: a POST must not be resent", n)
	}
	if len(h.ghWaits) != 0 {
		t.Errorf("waited %v before resending a POST", h.ghWaits)
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "could not comment on #7") || !strings.Contains(warns[0], "502") {
		t.Errorf("want one warning naming the refused comment and its status, got %q", warns)
	}
	reportf(t, "err %v; comment POSTs %d, waits %v, warning %q", out.err, h.gh.countRequests("POST", "/issues/7/comments"), h.ghWaits, lastField(warns))
}

// TestGitHubFaultLongSecondaryRateLimit: a secondary rate limit asking for
// longer than the client waits fails at once and says how long GitHub
// asked for.
func TestGitHubFaultLongSecondaryRateLimit(t *testing.T) {
	h := newHarness(t)
	h.gh.failTimes("GET", "/pulls/7/files", 0, http.StatusForbidden, map[string]string{"Retry-After": "3600", "X-RateLimit-Remaining": "4000"})
	out := h.run("pull_request", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("err = %v, want a failed check", out.err)
	}
	errs := annotations(out.log, "error")
	if len(errs) == 0 || !strings.Contains(errs[0], "list the pull request's files") || !strings.Contains(errs[0], "secondary rate limit") || !strings.Contains(errs[0], "wait 3600 s") {
		t.Errorf("error annotations %q should name the call, the secondary rate limit and the wait", errs)
	}
	if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 1 || len(h.ghWaits) != 0 {
		t.Errorf("%d requests, waits %v: want 1 request and no wait", n, h.ghWaits)
	}
	reportf(t, "fails clearly: %q; file-list requests %d, waits %v", lastField(errs), h.gh.countRequests("GET", "/pulls/7/files"), h.ghWaits)
}

func TestGitHubFaultPagination(t *testing.T) {
	h := newHarness(t)
	h.gh.pageSize = 100
	// 250 changed files; the catalog is on the last page.
	var files []ChangedFile
	for i := range 249 {
		files = append(files, ChangedFile{Name: fmt.Sprintf("docs/page-%03d.md", i), Status: "added"})
	}
	h.gh.files[7] = append(files, ChangedFile{Name: "catalogs/acme.yaml", Status: "modified"})
	// 230 comments by others; ours is on the third page.
	for i := range 230 {
		h.gh.comments[7] = append(h.gh.comments[7], fakeComment{ID: int64(1000 + i), Author: "someone", Body: "lgtm"})
	}
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	if strings.Join(models, ",") != "acme/kimi-k2-5-full-q4-k,acme/qwen-2-5-vl-full-q4-k" {
		t.Errorf("models = %v: the catalog change on the last page was missed", models)
	}
	if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 3 {
		t.Errorf("%d file-list requests, want 3 pages", n)
	}
	// A second run finds its comment on the last page and leaves it.
	h.run("pull_request", "pull_request.json")
	if n := len(h.gh.comments[7]); n != 231 {
		t.Errorf("%d comments, want 230 + 1 (found again on the last page, not duplicated)", n)
	}
	reportf(t, "ok; 250 files in %d requests, 231 comments in %d list requests over 2 runs, 1 comment created",
		h.gh.countRequests("GET", "/pulls/7/files")/2, h.gh.countRequests("GET", "/issues/7/comments"))
}

func TestSecurityPullRequestNeverWrites(t *testing.T) {
	h := newHarness(t)
	h.rescope() // a write-anywhere token: only the action's rules stop a write
	w := h.watchHub(nil)
	for _, fixture := range []string{"pull_request.json", "pull_request_fork.json"} {
		out := h.run("pull_request", fixture)
		if out.err != nil {
			t.Fatalf("%s: %v\n%s", fixture, out.err, out.log)
		}
	}
	if wr := h.hubWrites(); len(wr) > 0 {
		t.Errorf("pull_request runs with a write token wrote: %v", wr)
	}
	if n := w.AuthCount("hub"); n != 0 {
		t.Errorf("%d Hub requests of a pull_request run carried the token; the plan reads anonymously", n)
	}
	if w.Requests("hub") == 0 {
		t.Fatalf("the Hub was not read: the check proves nothing")
	}
	reportf(t, "ok; 2 runs (same-repo, fork), Hub requests %d, with the token 0, writes 0, commits 0", w.Requests("hub"))
}

func TestSecurityPullRequestForeignOwnerRejectedAtPlan(t *testing.T) {
	h := newHarness(t)
	h.rescope()
	var paths []string
	w := h.watchHub(&paths)
	head := strings.Replace(headCatalog, "vision_sidecar_repo: AcmeAI/kimi-k2-5-vision", "vision_sidecar_repo: Mallory/kimi-k2-5-vision", 1)
	h.writeFile("catalogs/acme.yaml", head)
	out := h.run("pull_request", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("err = %v, want a failed check", out.err)
	}
	line := 0
	for i, l := range strings.Split(head, "\n") {
		if strings.Contains(l, "Mallory/") {
			line = i + 1
		}
	}
	var at []string
	for _, a := range annotations(out.log, "error") {
		if strings.Contains(a, fmt.Sprintf("file=catalogs/acme.yaml,line=%d,", line)) && strings.Contains(a, "AcmeAI") {
			at = append(at, a)
		}
	}
	if len(at) == 0 {
		t.Fatalf("no error annotation at catalogs/acme.yaml:%d naming the allowed owner:\n%s", line, strings.Join(annotations(out.log, "error"), "\n"))
	}
	if !strings.Contains(h.gh.comments[7][0].Body, "Mallory/kimi-k2-5-vision") {
		t.Errorf("the plan comment does not show the refusal")
	}
	if st := h.hub.Stats(); len(h.hubWrites()) > 0 || st.Requests["repo-create"] > 0 {
		t.Errorf("wrote %v", h.hubWrites())
	}
	mallory := 0
	for _, p := range paths {
		if strings.Contains(p, "Mallory") {
			mallory++
		}
	}
	if n := mallory; n != 0 {
		t.Errorf("the foreign sidecar was read %d times: it should be refused before the plan", n)
	}
	reportf(t, "rejected at plan: %q; Hub writes 0, reads of the foreign sidecar 0 (total Hub requests %d)", strings.SplitN(at[0], "::", 3)[2], w.Requests("hub"))
}

func TestSecurityWritesStayInsideHFOwner(t *testing.T) {
	t.Run("catalog entry pointing elsewhere", func(t *testing.T) {
		h := newHarness(t)
		h.rescope()
		h.writeFile("catalogs/acme.yaml", strings.Replace(headCatalog, "vision_sidecar_repo: AcmeAI/kimi-k2-5-vision", "vision_sidecar_repo: Mallory/kimi-k2-5-vision", 1))
		out := h.run("push", "push.json")
		if !errors.Is(out.err, ErrFailed) {
			t.Fatalf("err = %v", out.err)
		}
		if wr := h.hubWrites(); len(wr) > 0 {
			t.Errorf("a push with a foreign sidecar in the catalog wrote %v", wr)
		}
		if _, err := h.hub.Head("Mallory/kimi-k2-5-vision", "main"); err == nil {
			t.Errorf("Mallory/kimi-k2-5-vision was created")
		}
		reportf(t, "refused: %d error annotation(s), Hub writes 0", len(annotations(out.log, "error")))
	})
	t.Run("collection input elsewhere", func(t *testing.T) {
		h := newHarness(t)
		h.rescope()
		h.env["INPUT_COLLECTION"] = "Mallory/vision-sidecars-0123456789abcdef01234567"
		out := h.run("workflow_dispatch", "workflow_dispatch.json")
		if !errors.Is(out.err, ErrFailed) {
			t.Errorf("err = %v: filing into another owner's collection should fail", out.err)
		}
		st := h.hub.Stats()
		if st.Requests["collection-add-item"] > 0 || st.Requests["collection-create"] > 0 {
			t.Errorf("wrote to a collection outside hf_owner: %v", st.Requests)
		}
		if n := st.Commits["AcmeAI/kimi-k2-5-vision"]; n != 0 {
			t.Errorf("the sidecar was committed (%d) before the collection was refused", n)
		}
		errs := annotations(out.log, "error")
		reportf(t, "refused before any write: %q; Hub writes %v", lastField(errs), h.hubWrites())
	})
}

func lastField(annots []string) string {
	if len(annots) == 0 {
		return ""
	}
	parts := strings.SplitN(annots[0], "::", 3)
	return parts[len(parts)-1]
}
