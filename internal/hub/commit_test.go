package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// streamed returns a "file" op whose content is opened on demand from r's
// bytes, counting the opens.
func streamed(path string, content []byte, opens *int) hub.CommitOp {
	return hub.CommitOp{Kind: "file", Path: path, Size: int64(len(content)), Open: func(ctx context.Context) (io.ReadCloser, error) {
		*opens++
		return io.NopCloser(bytes.NewReader(content)), nil
	}}
}

// failingReader yields n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(f.n, len(p))
	clear(p[:k])
	f.n -= k
	return k, nil
}

func (f *failingReader) Close() error { return nil }

func readRaw(t *testing.T, c *hub.Client, repo, path string) []byte {
	t.Helper()
	f, err := c.Open(context.Background(), repo, "main", path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommitStreamsFileContents(t *testing.T) {
	h, c, _, _ := setup(t)
	ctx := context.Background()
	head, _ := h.Head("alice/src", "main")
	// Sizes around the base64 group of 3 and past io.Copy's buffer.
	contents := map[string][]byte{}
	var ops []hub.CommitOp
	opens := 0
	for _, n := range []int{0, 1, 2, 3, 4, 32<<10 + 1, 300_001} {
		p := "s/" + strings.Repeat("x", n%7+1) + string(rune('a'+len(contents))) + ".json"
		b := bytes.Repeat([]byte{byte(n), '{', '"', 0xff}, n/4+1)[:n]
		contents[p] = b
		ops = append(ops, streamed(p, b, &opens))
	}
	ops = append(ops, hub.CommitOp{Kind: "file", Path: "inline.txt", Content: []byte("in memory")}, hub.CommitOp{Kind: "deletedFile", Path: "d/1.txt"})
	contents["inline.txt"] = []byte("in memory")
	info, err := c.Commit(ctx, "alice/src", "main", hub.CommitRequest{Summary: "streamed", ParentCommit: head, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	if opens != 7 {
		t.Errorf("contents opened %d times, want 7 (once each)", opens)
	}
	if now, _ := h.Head("alice/src", "main"); now != info.OID {
		t.Errorf("head %s, commit %s", now, info.OID)
	}
	for p, want := range contents {
		if got := readRaw(t, c, "alice/src", p); !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes back, want %d (equal %v)", p, len(got), len(want), bytes.Equal(got, want))
		}
	}
}

func TestCommitNotSentWhenContentFails(t *testing.T) {
	h, c, _, _ := setup(t)
	ctx := context.Background()
	head, _ := h.Head("alice/src", "main")
	before := h.Stats().Commits["alice/src"]
	boom := errors.New("source went away")
	cases := map[string]hub.CommitOp{
		"open fails": {Kind: "file", Path: "a.json", Size: 10, Open: func(context.Context) (io.ReadCloser, error) { return nil, boom }},
		"read fails mid-file": {Kind: "file", Path: "b.json", Size: 200_000, Open: func(context.Context) (io.ReadCloser, error) {
			return &failingReader{n: 100_000, err: boom}, nil
		}},
		"short content": {Kind: "file", Path: "c.json", Size: 200_000, Open: func(context.Context) (io.ReadCloser, error) {
			return &failingReader{n: 199_999, err: io.EOF}, nil
		}},
		"long content": {Kind: "file", Path: "d.json", Size: 200_000, Open: func(context.Context) (io.ReadCloser, error) {
			return &failingReader{n: 200_001, err: io.EOF}, nil
		}},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			ok := 0
			req := hub.CommitRequest{Summary: name, ParentCommit: head,
				Ops: []hub.CommitOp{streamed("first.json", []byte(`{"a":1}`), &ok), op, streamed("last.json", []byte(`{}`), &ok)}}
			_, err := c.Commit(ctx, "alice/src", "main", req)
			if !errors.Is(err, hub.ErrCommitNotSent) || errors.Is(err, hub.ErrCommitOutcomeUnknown) {
				t.Fatalf("got %v, want ErrCommitNotSent", err)
			}
			if strings.Contains(name, "fails") && !errors.Is(err, boom) {
				t.Errorf("the source's error is not wrapped: %v", err)
			}
		})
	}
	if n := h.Stats().Commits["alice/src"] - before; n != 0 {
		t.Errorf("%d commits landed from bodies that were never sent whole", n)
	}
	if now, _ := h.Head("alice/src", "main"); now != head {
		t.Errorf("head moved from %s to %s", head, now)
	}
}

// TestCommitNotSentWhenConnectionBreaks: the server reads the start of
// the commit and closes the connection while the rest of the body is still
// to come. The content waits until the connection is gone, so the body
// cannot have left whole whatever the kernel buffers: not sent, and safe to
// send again. (Had it all been handed to the connection first, the answer
// would be unknown, as TestRetryPolicy's lost answer is.)
func TestCommitNotSentWhenConnectionBreaks(t *testing.T) {
	h, _, _, _ := setup(t)
	var cut atomic.Bool
	closed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/commit/main") && cut.CompareAndSwap(false, true) {
			io.CopyN(io.Discard, r.Body, 1000)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // unread bytes pending: the client gets a reset
			}
			close(closed)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := hub.New(srv.URL, token, hub.WithRetryPolicy(fast))
	ctx := context.Background()
	head, _ := h.Head("alice/src", "main")
	before := h.Stats().Commits["alice/src"]
	big := bytes.Repeat([]byte("{}\n"), 100_000)
	opens := 0
	req := hub.CommitRequest{Summary: "cut", ParentCommit: head, Ops: []hub.CommitOp{{Kind: "file", Path: "big.json", Size: int64(len(big)),
		Open: func(context.Context) (io.ReadCloser, error) {
			opens++
			if opens > 1 {
				return io.NopCloser(bytes.NewReader(big)), nil
			}
			// 64 KiB, then the rest once the server has hung up.
			return io.NopCloser(io.MultiReader(bytes.NewReader(big[:64<<10]), &afterReader{wait: closed, r: bytes.NewReader(big[64<<10:])})), nil
		}}}}
	_, err := c.Commit(ctx, "alice/src", "main", req)
	if !errors.Is(err, hub.ErrCommitNotSent) || errors.Is(err, hub.ErrCommitOutcomeUnknown) {
		t.Fatalf("got %v, want ErrCommitNotSent", err)
	}
	if n := h.Stats().Commits["alice/src"] - before; n != 0 {
		t.Fatalf("%d commits landed", n)
	}
	// Not sent means safe to send again: the same request lands once.
	if _, err := c.Commit(ctx, "alice/src", "main", req); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, c, "alice/src", "big.json"); !bytes.Equal(got, big) {
		t.Errorf("big.json: %d bytes back, want %d", len(got), len(big))
	}
	if n := h.Stats().Commits["alice/src"] - before; n != 1 {
		t.Errorf("%d commits landed, want 1", n)
	}
}

// afterReader reads r once wait is closed.
type afterReader struct {
	wait <-chan struct{}
	r    io.Reader
}

func (a *afterReader) Read(p []byte) (int, error) {
	<-a.wait
	return a.r.Read(p)
}
