package hub_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

const token = "hf_hubtest_0123456789abcdef"

var fast = hub.RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxServerWait: 10 * time.Second}

// authLog records, per request path, whether Authorization was present.
type authLog struct {
	mu   sync.Mutex
	seen map[string][]bool
}

func (a *authLog) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[r.URL.Path] = append(a.seen[r.URL.Path], r.Header.Get("Authorization") != "")
}

func (a *authLog) withAuth(prefix string) (with, without int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, v := range a.seen {
		if strings.HasPrefix(p, prefix) {
			for _, b := range v {
				if b {
					with++
				} else {
					without++
				}
			}
		}
	}
	return
}

func setup(t *testing.T, opts ...devhub.Option) (*devhub.Hub, *hub.Client, *authLog, string) {
	t.Helper()
	h, err := devhub.New(append([]devhub.Option{devhub.WithToken(token, "write:alice/*")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	log := &authLog{seen: map[string][]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); h.Close() })
	if err := h.CreateRepo("alice/src", devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	files := []devhub.SeedFile{
		{Path: "w.safetensors", Content: strings.NewReader(strings.Repeat("0123456789", 100_000))},
		{Path: "config.json", Content: strings.NewReader(`{"a":1}`)},
	}
	for _, p := range []string{"d/1.txt", "d/2.txt", "d/3.txt", "d/4.txt"} {
		files = append(files, devhub.SeedFile{Path: p, Content: strings.NewReader(p)})
	}
	if _, err := h.CommitFiles("alice/src", "main", "seed", files, nil); err != nil {
		t.Fatal(err)
	}
	return h, hub.New(srv.URL, token, hub.WithRetryPolicy(fast)), log, srv.URL
}

func TestTypedErrors(t *testing.T) {
	h, c, _, url := setup(t)
	ctx := context.Background()
	check := func(name string, err error, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("%s: %v is not %v", name, err, target)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: token in error", name)
		}
		var he *hub.Error
		if err != nil && errors.As(err, &he) && he.RequestID == "" {
			t.Errorf("%s: no request id in %v", name, err)
		}
	}
	_, err := c.RepoInfo(ctx, "alice/missing", "")
	check("missing repo", err, hub.ErrRepoNotFound)
	_, err = c.RepoInfo(ctx, "alice/src", "nope")
	check("bad revision", err, hub.ErrRevisionNotFound)
	_, err = c.Open(ctx, "alice/src", "main", "missing.txt", 0)
	check("missing file", err, hub.ErrEntryNotFound)
	_, err = hub.New(url, "hf_wrong").RepoInfo(ctx, "alice/src", "")
	check("bad token", err, hub.ErrUnauthorized)
	err = c.CreateRepo(ctx, "bob/x", false)
	check("foreign namespace", err, hub.ErrForbidden)
	err = c.CreateRepo(ctx, "alice/src", false)
	check("exists", err, hub.ErrConflict)

	head, _ := h.Head("alice/src", "main")
	h.CommitFiles("alice/src", "main", "move", []devhub.SeedFile{{Path: "x.txt", Content: strings.NewReader("x")}}, nil)
	_, err = c.Commit(ctx, "alice/src", "main", hub.CommitRequest{Summary: "stale", ParentCommit: head,
		Ops: []hub.CommitOp{{Kind: "file", Path: "y.txt", Content: []byte("y")}}})
	check("stale parent", err, hub.ErrPreconditionFailed)
}

func TestTreePaginationAndPathsInfo(t *testing.T) {
	_, c, _, _ := setup(t, devhub.WithPageSize(2))
	ctx := context.Background()
	sha, err := c.ResolveRevision(ctx, "alice/src", "")
	if err != nil || !hub.IsCommitSHA(sha) {
		t.Fatalf("resolve: %q %v", sha, err)
	}
	tree, err := c.ListTree(ctx, "alice/src", sha)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]hub.TreeEntry{}
	for _, e := range tree {
		if e.Type == "file" {
			files[e.Path] = e
		}
	}
	for _, p := range []string{".gitattributes", "w.safetensors", "config.json", "d/1.txt", "d/4.txt"} {
		if _, ok := files[p]; !ok {
			t.Errorf("%s missing from the paginated tree (%d entries)", p, len(tree))
		}
	}
	if w := files["w.safetensors"]; w.LFS == nil || w.LFS.Size != 1_000_000 || len(w.LFS.OID) != 64 {
		t.Errorf("LFS entry %+v", w)
	}
	got, err := c.PathsInfo(ctx, "alice/src", sha, []string{"config.json", "nope.json"})
	if err != nil || len(got) != 1 || got[0].Path != "config.json" || got[0].OID != files["config.json"].OID {
		t.Errorf("paths-info: %+v %v", got, err)
	}
}

func TestOpenRangeAndResume(t *testing.T) {
	h, c, log, _ := setup(t)
	// Storage on its own origin, as the Hub's CDN is: the Range reads go
	// through the redirect to it.
	_, stop, err := h.ServeStorage("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	want := strings.Repeat("0123456789", 100_000)
	f, err := c.OpenRange(ctx, "alice/src", "main", "w.safetensors", 123_456, 1000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != want[123_456:124_456] || f.Size != 1_000_000 {
		t.Errorf("range read: %d bytes, size %d", len(b), f.Size)
	}
	// The connection drops twice mid-body; the reader resumes with Range
	// and the caller sees every byte once.
	h.AddFault(devhub.Fault{Route: "blob", Kind: devhub.FaultCutBody, AfterBytes: 300_000, Times: 2})
	f, err = c.Open(ctx, "alice/src", "main", "w.safetensors", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != want {
		t.Errorf("resumed read: %d bytes, %v", len(b), err)
	}
	// The token went to resolve but never to the storage redirect target.
	if with, _ := log.withAuth("/_devhub/"); with != 0 {
		t.Errorf("%d storage requests carried the token", with)
	}
	st := h.Stats()
	if st.StorageAuthorization != 0 || st.Requests["blob"] < 4 {
		t.Errorf("storage origin: %d requests with a token, %d blob requests", st.StorageAuthorization, st.Requests["blob"])
	}
	if st.StorageBytes["alice/src"] < 1_000_000 {
		t.Errorf("storage bytes for alice/src: %d", st.StorageBytes["alice/src"])
	}
	if with, _ := log.withAuth("/alice/src/resolve/"); with == 0 {
		t.Errorf("resolve requests carried no token")
	}
}

func TestTokenNeverLeavesTheEndpointHost(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get("Authorization") != "" {
			leaked = append(leaked, r.Method+" "+r.URL.Path)
		}
		mu.Unlock()
		if r.Method == http.MethodPut {
			w.Header().Set("ETag", `"e"`)
		}
		io.WriteString(w, "payload")
	}))
	defer other.Close()
	var sawAuth bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization") == "Bearer "+token
		// A resolve that redirects to another host, and a Link to it.
		if strings.Contains(r.URL.Path, "/resolve/") {
			http.Redirect(w, r, other.URL+"/file", http.StatusFound)
			return
		}
		w.Header().Set("Link", `<`+other.URL+`/api/models/a/b/tree/main?cursor=2>; rel="next"`)
		io.WriteString(w, "[]")
	}))
	defer api.Close()
	c := hub.New(api.URL, token, hub.WithRetryPolicy(fast))
	ctx := context.Background()
	f, err := c.Open(ctx, "a/b", "main", "w.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(f)
	f.Close()
	if !sawAuth {
		t.Errorf("the endpoint itself got no token")
	}
	// A Link to another host is neither followed nor taken for the end.
	if _, err := c.ListTree(ctx, "a/b", "main"); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("ListTree with a foreign next link: %v, want an error", err)
	}
	if err := c.UploadBasic(ctx, &hub.LFSAction{Href: api.URL + "/storage"}, 3, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("abc")), nil
	}); err != nil {
		t.Fatal(err)
	}
	if sawAuth {
		t.Errorf("a storage PUT on the endpoint's host carried the token")
	}
	if _, err := c.UploadPart(ctx, hub.Part{Number: 1, URL: other.URL + "/part", Size: 3}, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("abc")), nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(leaked) > 0 {
		t.Errorf("token sent to another host: %v", leaked)
	}
}

func TestRetryPolicy(t *testing.T) {
	h, c, _, _ := setup(t)
	ctx := context.Background()
	// Transient 503s on a safe call are retried.
	h.AddFault(devhub.Fault{Route: "repo-info", Kind: devhub.FaultStatus, Status: 503, Times: 2})
	if _, err := c.RepoInfo(ctx, "alice/src", ""); err != nil {
		t.Errorf("503 twice then ok: %v", err)
	}
	// A 429 is waited out as RateLimit says (t=1 => at least a second).
	h.AddFault(devhub.Fault{Route: "repo-info", Kind: devhub.FaultRateLimit, RetryAfter: time.Second, Times: 1})
	start := time.Now()
	if _, err := c.RepoInfo(ctx, "alice/src", ""); err != nil {
		t.Errorf("after 429: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried a 429 after %s, before the window reset", d)
	}
	// A cancelled context is never retried.
	h.AddFault(devhub.Fault{Route: "repo-info", Kind: devhub.FaultStatus, Status: 503})
	before := h.Stats().Requests["repo-info"]
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.RepoInfo(cctx, "alice/src", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if n := h.Stats().Requests["repo-info"] - before; n > 0 {
		t.Errorf("%d requests with a cancelled context", n)
	}
	h.ClearFaults()

	// A commit whose answer is lost is not resent: the caller is told.
	h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultDropResponse, Times: 1})
	before = h.Stats().Requests["commit"]
	commitsBefore := h.Stats().Commits["alice/src"]
	_, err := c.Commit(ctx, "alice/src", "main", hub.CommitRequest{Summary: "x", Ops: []hub.CommitOp{{Kind: "file", Path: "n.txt", Content: []byte("n")}}})
	if !errors.Is(err, hub.ErrCommitOutcomeUnknown) {
		t.Errorf("lost commit answer: %v", err)
	}
	if n := h.Stats().Requests["commit"] - before; n != 1 {
		t.Errorf("commit sent %d times", n)
	}
	if n := h.Stats().Commits["alice/src"] - commitsBefore; n != 1 {
		t.Errorf("%d commits landed, want 1", n)
	}
	// A 500 on commit is not retried either.
	h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultStatus, Status: 500, Times: 1})
	before = h.Stats().Requests["commit"]
	if _, err := c.Commit(ctx, "alice/src", "main", hub.CommitRequest{Summary: "y"}); err == nil {
		t.Errorf("500 commit succeeded")
	}
	if n := h.Stats().Requests["commit"] - before; n != 1 {
		t.Errorf("commit sent %d times after a 500", n)
	}
}

func TestServerEchoedTokenIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Message", "bad token "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := hub.New(srv.URL, token).RepoInfo(context.Background(), "a/b", "")
	if !errors.Is(err, hub.ErrForbidden) || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q", err)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"HF_ENDPOINT": "http://127.0.0.1:9/", "HF_TOKEN": " hf_x "}
	c, tok, err := hub.FromEnv(func(k string) string { return env[k] })
	if err != nil || c.Endpoint() != "http://127.0.0.1:9" || !c.HasToken() || tok.Source != "HF_TOKEN" {
		t.Errorf("endpoint %q token %v from %q: %v", c.Endpoint(), c.HasToken(), tok.Source, err)
	}
	if c, _, err := hub.FromEnv(func(string) string { return "" }); err != nil || c.Endpoint() != hub.DefaultEndpoint || c.HasToken() {
		t.Errorf("default endpoint: %v", err)
	}
	env["HF_ENDPOINT"] = "127.0.0.1:9"
	if _, _, err := hub.FromEnv(func(k string) string { return env[k] }); !errors.Is(err, hub.ErrBadEndpoint) {
		t.Errorf("a bad endpoint gave %v", err)
	}
}
