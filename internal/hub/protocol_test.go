package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// TestSameHostRedirectsKeepTheToken reads a private repo through its old
// name (a rename redirect), a small file through the resolve-cache
// redirect and an LFS file from storage on another origin: the token
// follows the redirects on the Hub's host and never reaches storage.
func TestSameHostRedirectsKeepTheToken(t *testing.T) {
	h, c, log, url := setup(t, devhub.WithResolveCache(true))
	if _, stop, err := h.ServeStorage("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	} else {
		defer stop()
	}
	if err := h.SetRepoAccess("alice/src", true, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.MoveRepo("alice/src", "alice/renamed"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := c.RepoInfo(ctx, "alice/src", "main")
	if err != nil || info.ID != "alice/renamed" || !info.Private {
		t.Fatalf("repo info through the old name: %+v, %v", info, err)
	}
	f, err := c.Open(ctx, "alice/src", info.SHA, "config.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != `{"a":1}` {
		t.Errorf("config.json through rename and resolve-cache: %q", b)
	}
	f, err = c.OpenRange(ctx, "alice/src", info.SHA, "w.safetensors", 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(f)
	f.Close()
	if string(b) != "01234" {
		t.Errorf("LFS range through rename and storage: %q", b)
	}
	tree, err := c.ListTree(ctx, "alice/src", info.SHA)
	if err != nil || len(tree) < 5 {
		t.Errorf("tree through the old name: %d entries, %v", len(tree), err)
	}
	st := h.Stats()
	if st.Requests["moved-redirect"] < 3 || st.Requests["resolve-cache"] != 1 {
		t.Errorf("redirects served: %v", st.Requests)
	}
	if st.StorageAuthorization != 0 {
		t.Errorf("storage saw the token %d times", st.StorageAuthorization)
	}
	if with, without := log.withAuth("/api/resolve-cache/"); with != 1 || without != 0 {
		t.Errorf("resolve-cache requests with token %d, without %d", with, without)
	}
	// Without a token the old name leads nowhere: the repo is private.
	_, err = hub.New(url, "").RepoInfo(ctx, "alice/src", "")
	if !errors.Is(err, hub.ErrRepoNotFound) {
		t.Errorf("anonymous read of a renamed private repo: %v", err)
	}
}

// recordBodies records the JSON bodies posted to path.
func recordBodies(t *testing.T, h http.Handler, path string) (string, func() []map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			b, _ := io.ReadAll(r.Body)
			var v map[string]any
			json.Unmarshal(b, &v)
			mu.Lock()
			bodies = append(bodies, v)
			mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []map[string]any { mu.Lock(); defer mu.Unlock(); return bodies }
}

func TestCreateRepoVisibilityAndConflictingOperation(t *testing.T) {
	h, err := devhub.New(devhub.WithToken(token, "write:alice/*"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	url, bodies := recordBodies(t, h, "/api/repos/create")
	var logged strings.Builder
	c := hub.New(url, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(&logged, f+"\n", a...) }))
	ctx := context.Background()

	h.AddFault(devhub.CreateConflictFault(2))
	if err := c.CreateRepo(ctx, "alice/new", true); err != nil {
		t.Fatalf("create after two conflicting-operation answers: %v", err)
	}
	if private, _, err := h.RepoAccess("alice/new"); err != nil || !private {
		t.Errorf("alice/new private=%v, %v", private, err)
	}
	got := bodies()
	if len(got) != 3 || strings.Count(logged.String(), "retrying POST") != 2 {
		t.Errorf("%d create requests, log:\n%s", len(got), logged.String())
	}
	for _, b := range got {
		if _, ok := b["private"]; ok || b["visibility"] != "private" {
			t.Errorf("create body %v: want visibility alone", b)
		}
	}
	// A repo that exists is ErrConflict; an operation that never ends is not.
	if err := c.CreateRepo(ctx, "alice/new", true); !errors.Is(err, hub.ErrConflict) {
		t.Errorf("existing repo: %v, want ErrConflict", err)
	}
	h.AddFault(devhub.CreateConflictFault(0))
	err = c.CreateRepo(ctx, "alice/other", false)
	if !errors.Is(err, hub.ErrRepoBusy) || errors.Is(err, hub.ErrConflict) {
		t.Errorf("endless conflicting operation: %v, want ErrRepoBusy and not ErrConflict", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Error("token in error")
	}
}

func TestValidateYAML(t *testing.T) {
	_, c, _, _ := setup(t)
	ctx := context.Background()
	if err := c.ValidateYAML(ctx, []byte("---\nlicense: apache-2.0\ntags: [a, b]\nbase_model: org/model\n---\n# card\n")); err != nil {
		t.Errorf("valid card: %v", err)
	}
	err := c.ValidateYAML(ctx, []byte("---\nlicense: not-a-license\nbase_model: /workspace/model\n---\n"))
	var ce *hub.CardError
	if !errors.Is(err, hub.ErrInvalidCard) || !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("invalid card: %v", err)
	}
	if !strings.Contains(ce.Problems[0], `"license"`) || !strings.Contains(ce.Problems[1], "/workspace/model") {
		t.Errorf("problems: %q", ce.Problems)
	}
	if err := c.ValidateYAML(ctx, []byte("---\n- a list\n---\n")); !errors.Is(err, hub.ErrInvalidCard) {
		t.Errorf("front matter that is not a mapping: %v", err)
	}
}

func TestDuplicateSendsEachSHAOncePerBatch(t *testing.T) {
	var mu sync.Mutex
	var batches [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Files []hub.DuplicateFile `json:"files"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var shas []string
		for _, f := range req.Files {
			shas = append(shas, f.SHA256)
		}
		mu.Lock()
		batches = append(batches, shas)
		mu.Unlock()
		io.WriteString(w, `{"failed":[]}`)
	}))
	defer srv.Close()
	var files []hub.DuplicateFile
	for i := range 1100 {
		sha := fmt.Sprintf("%064x", i%1001) // 99 shas twice, under two paths
		files = append(files, hub.DuplicateFile{SHA256: sha, XetHash: "x" + sha, Filename: fmt.Sprintf("f%d", i)})
	}
	c := hub.New(srv.URL, token, hub.WithRetryPolicy(fast))
	if _, err := c.DuplicateLFS(context.Background(), "a/src", "a/dst", files); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	total := 0
	for _, b := range batches {
		if len(b) > 500 {
			t.Errorf("batch of %d", len(b))
		}
		for _, s := range b {
			if seen[s] {
				t.Errorf("sha %s sent twice", s[:8])
			}
			seen[s] = true
			total++
		}
	}
	if total != 1001 || len(batches) != 3 {
		t.Errorf("%d shas in %d batches, want 1001 in 3", total, len(batches))
	}
}

func TestRetryAfterGetsOneSecondMargin(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{"id":"a/b","sha":"`+strings.Repeat("a", 40)+`"}`)
	}))
	defer srv.Close()
	var logged strings.Builder
	c := hub.New(srv.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(&logged, f+"\n", a...) }))
	if _, err := c.RepoInfo(context.Background(), "a/b", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "in 1s") {
		t.Errorf("Retry-After: 0 waited: %s", logged.String())
	}
}
