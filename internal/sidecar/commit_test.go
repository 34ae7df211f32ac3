package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

const (
	token = "hf_commitlooptoken"
	repo  = "FoxlightAI/loop-sidecar"
)

var errChanged = errors.New("the file changed while it was sent")

// loopFX is a sidecar on the local hub and a CommitLoop that writes one
// file into it, planning against the head as a publisher does.
type loopFX struct {
	t      *testing.T
	h      *devhub.Hub
	cl     *hub.Client
	log    *syncbuf.Buffer
	want   []byte // large enough that a cut request is not sent whole
	plans  int
	lost   int
	failed func(error) bool // when set, a commit error it picks is refused
	// open, when set, streams model.bin's content into the commit instead
	// of sending want from memory.
	open func(context.Context) (io.ReadCloser, error)
}

func newLoopFX(t *testing.T) *loopFX {
	t.Helper()
	h, err := devhub.New(devhub.WithToken(token, "write:FoxlightAI/*"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	if err := h.CreateRepo(repo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	fast := hub.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxServerWait: time.Second}
	return &loopFX{t: t, h: h, cl: hub.New(srv.URL, token, hub.WithRetryPolicy(fast)), log: &syncbuf.Buffer{}, want: []byte(strings.Repeat("weights v1\n", 30000))}
}

func (f *loopFX) loop() *CommitLoop {
	return &CommitLoop{
		Dest: f.cl, Repo: repo, MaxReplans: 3, NameHead: true,
		Logf: func(format string, args ...any) { fmt.Fprintf(f.log, format+"\n", args...) },
		Plan: func(ctx context.Context, pass int, lost bool) (Pass, error) {
			f.plans++
			info, err := f.cl.RepoInfo(ctx, repo, "main")
			if err != nil {
				return Pass{}, err
			}
			tree, err := f.cl.ListTree(ctx, repo, info.SHA)
			if err != nil {
				return Pass{}, err
			}
			for _, e := range tree {
				if e.Path == "model.bin" && e.OID == GitBlobID(f.want) {
					return Pass{Head: info.SHA}, nil
				}
			}
			op := hub.CommitOp{Kind: "file", Path: "model.bin", Content: f.want}
			if f.open != nil {
				op = hub.CommitOp{Kind: "file", Path: "model.bin", Size: int64(len(f.want)), Open: f.open}
			}
			return Pass{Head: info.SHA, Request: hub.CommitRequest{Summary: "add model.bin", Ops: []hub.CommitOp{op}}}, nil
		},
		Lost: func() { f.lost++ },
		Refuse: func(err error) error {
			if f.failed != nil && f.failed(err) {
				return fmt.Errorf("%w: %w", errChanged, err)
			}
			return nil
		},
		Check: func(ctx context.Context, commit string) error {
			return VerifyTree(ctx, f.cl, repo, commit, func(got map[string]hub.TreeEntry) []string {
				if got["model.bin"].OID != GitBlobID(f.want) {
					return []string{"model.bin: missing or different"}
				}
				return nil
			})
		},
	}
}

func (f *loopFX) commits() int { return f.h.Stats().Commits[repo] }

func TestCommitLoop(t *testing.T) {
	t.Run("commits once, verifies, then is up to date", func(t *testing.T) {
		f := newLoopFX(t)
		before := f.commits()
		l := f.loop()
		out, err := l.Run(context.Background())
		if err != nil || out.Commit == "" || out.UpToDate || out.Landed {
			t.Fatalf("Run = %+v, %v", out, err)
		}
		if err := l.Verify(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.log.String(), "committed "+repo+"@") {
			t.Errorf("log %q does not say it verifies the commit", f.log)
		}
		out, err = l.Run(context.Background())
		if err != nil || !out.UpToDate || out.Commit != "" {
			t.Fatalf("second Run = %+v, %v; want up to date", out, err)
		}
		if n := f.commits() - before; n != 1 {
			t.Errorf("%d commits, want 1", n)
		}
	})
	t.Run("a concurrent writer makes it plan again", func(t *testing.T) {
		f := newLoopFX(t)
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Times: 1, Before: func() {
			if _, err := f.h.CommitFiles(repo, "main", "theirs", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader("x")}}, nil); err != nil {
				t.Error(err)
			}
		}})
		out, err := f.loop().Run(context.Background())
		if err != nil || out.Commit == "" {
			t.Fatalf("Run = %+v, %v", out, err)
		}
		if f.plans != 2 || !strings.Contains(f.log.String(), "moved since the plan (") {
			t.Errorf("%d plans, log %q; want 2 plans after a 412", f.plans, f.log)
		}
	})
	t.Run("a sidecar that always moves fails after MaxReplans", func(t *testing.T) {
		f := newLoopFX(t)
		n := 0
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Before: func() {
			n++
			if _, err := f.h.CommitFiles(repo, "main", "theirs", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader(fmt.Sprint(n))}}, nil); err != nil {
				t.Error(err)
			}
		}})
		_, err := f.loop().Run(context.Background())
		if !errors.Is(err, hub.ErrPreconditionFailed) || !strings.Contains(err.Error(), "committing to "+repo) {
			t.Fatalf("error %v: want a 412 naming the sidecar", err)
		}
		if f.plans != 4 {
			t.Errorf("%d plans, want 4 (1 + 3 re-plans)", f.plans)
		}
	})
	t.Run("a lost answer is settled by the head", func(t *testing.T) {
		f := newLoopFX(t)
		before := f.commits()
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultDropResponse, Times: 1})
		out, err := f.loop().Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		head, _ := f.h.Head(repo, "main")
		if !out.Landed || out.Commit != head || f.lost != 1 {
			t.Errorf("Run = %+v (lost %d); want the landed head %s", out, f.lost, head)
		}
		if n := f.commits() - before; n != 1 {
			t.Errorf("%d commits, want exactly 1: a lost answer is never resent blindly", n)
		}
	})
	t.Run("a commit not sent whole is sent again", func(t *testing.T) {
		f := newLoopFX(t)
		before := f.commits()
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultCutBody, AfterBytes: 100, Times: 1})
		out, err := f.loop().Run(context.Background())
		if err != nil || out.Commit == "" || out.Landed {
			t.Fatalf("Run = %+v, %v", out, err)
		}
		if n := f.commits() - before; n != 1 {
			t.Errorf("%d commits, want 1", n)
		}
	})
	t.Run("a refused error is final", func(t *testing.T) {
		// The file's read fails half way, so the body is certainly not
		// sent whole: a cut on the hub's side may come after the whole
		// body sits in the kernel's socket buffers, which makes the
		// outcome unknown instead, and the loop rightly plans again.
		f := newLoopFX(t)
		before := f.commits()
		f.open = func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader(string(f.want[:1000])), iotest.ErrReader(errChanged))), nil
		}
		f.failed = func(err error) bool { return errors.Is(err, hub.ErrCommitNotSent) }
		_, err := f.loop().Run(context.Background())
		if !errors.Is(err, errChanged) || f.plans != 1 {
			t.Fatalf("error %v after %d plans; want the refusal, unretried", err, f.plans)
		}
		if n := f.commits() - before; n != 0 {
			t.Errorf("%d commits from a body never sent whole", n)
		}
	})
	t.Run("a refused write is explained", func(t *testing.T) {
		f := newLoopFX(t)
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultStatus, Status: 403})
		_, err := f.loop().Run(context.Background())
		if !errors.Is(err, hub.ErrForbidden) || !strings.Contains(err.Error(), "the token cannot write to "+repo) {
			t.Fatalf("error %v: want DescribeWrite's explanation", err)
		}
	})
	t.Run("verify reports what differs", func(t *testing.T) {
		f := newLoopFX(t)
		head, err := f.h.CommitFiles(repo, "main", "other", []devhub.SeedFile{{Path: "model.bin", Content: strings.NewReader("other")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = f.loop().Verify(context.Background(), Outcome{Commit: head})
		if err == nil || !strings.Contains(err.Error(), "verification of "+repo+"@"+short(head)+" failed: model.bin: missing or different") {
			t.Fatalf("Verify = %v", err)
		}
	})
}
