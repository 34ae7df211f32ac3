package mirror_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/secrettest"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

// splitHub serves one devhub on two hosts: the API host the clients talk
// to, and a storage host that every URL the hub hands out points at
// (resolve redirects, LFS upload and verify hrefs, multipart parts, Link
// headers), as the real Hub's CDN and storage are other hosts.
func splitHub(t *testing.T, w *secrettest.Watch, opts ...devhub.Option) (h *devhub.Hub, api string) {
	t.Helper()
	h, err := devhub.New(append([]devhub.Option{devhub.WithToken(token, "write:FoxlightAI/*")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	storage := httptest.NewServer(w.Handler("storage", h))
	host := strings.TrimPrefix(storage.URL, "http://")
	apiSrv := httptest.NewServer(w.Handler("hub", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.Host = host
		h.ServeHTTP(rw, r)
	})))
	t.Cleanup(func() { apiSrv.Close(); storage.Close(); h.Close() })
	if err := h.CreateRepo(srcRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	seed(t, h, "initial", map[string]int64{"a.safetensors": 3 << 20, "b.safetensors": 1 << 20},
		map[string]string{"config.json": `{"model_type":"moonvit"}`, "README.md": "---\nlicense: apache-2.0\n---\n"}, nil)
	return h, apiSrv.URL
}

func TestSecurityTokenOnlyToTheHubHost(t *testing.T) {
	t.Parallel()
	w := secrettest.New(t, token)
	h, api := splitHub(t, w, devhub.WithMultipart(2<<20, 1<<20))
	log := &syncbuf.Buffer{}
	cl := hub.New(api, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }))
	opts := entryOpts()
	opts.Source, opts.Dest, opts.Progress = cl, cl, w.Writer("progress", log)
	r, err := mirror.Publish(context.Background(), opts)
	w.Err("error", err)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, log)
	}
	if head, _ := h.Head(dstRepo, "main"); head != r.Commit {
		t.Errorf("head %s, result %s", head, r.Commit)
	}
	st := h.Stats()
	if w.Requests("storage") == 0 || st.Requests["storage-part"] == 0 || st.Requests["blob"] == 0 {
		t.Fatalf("the storage host saw %d requests (%v): the test does not exercise it", w.Requests("storage"), st.Requests)
	}
	if n := w.AuthCount("storage"); n != 0 {
		t.Errorf("%d of %d requests to the storage host carried the token", n, w.Requests("storage"))
	}
	if w.AuthCount("hub") == 0 {
		t.Errorf("the API host never got the token: the check proves nothing")
	}
	report(t, "ok; API host %d requests (%d with the token), storage host %d requests (redirected GETs, PUTs, parts, verify), 0 with the token",
		w.Requests("hub"), w.AuthCount("hub"), w.Requests("storage"))
}

func TestSecurityForeignPaginationLinkIsAnError(t *testing.T) {
	t.Parallel()
	w := secrettest.New(t, token)
	h, api := splitHub(t, w, devhub.WithPageSize(2))
	cl := hub.New(api, token, hub.WithRetryPolicy(fast))
	opts := entryOpts()
	opts.Source, opts.Dest = cl, cl
	before := h.Stats()
	_, err := mirror.Publish(context.Background(), opts)
	w.Err("error", err)
	// Following the link would send the token to another host; stopping
	// silently would plan against half a tree (and prune the rest).
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("error %v: want a refusal to follow a Link to another host", err)
	}
	if w.AuthCount("storage") != 0 {
		t.Errorf("the token followed the Link to the other host")
	}
	if n := h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 0 {
		t.Errorf("%d commits after a truncated listing", n)
	}
	report(t, "fails: %q; 0 tokens to the other host, commits 0", err)
}
