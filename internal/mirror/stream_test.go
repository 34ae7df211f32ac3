package mirror_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// Regular files are read twice: once to check them before anything is
// written, once more while the commit streams them. These cases break the
// second read.
func TestFaultRegularFileRereadForTheCommit(t *testing.T) {
	t.Parallel()
	const cfg = `{"model_type":"moonvit","v":2,"pad":"` + "0123456789abcdef0123456789abcdef0123456789abcdef" + `"}`
	cases := []struct {
		name  string
		fault devhub.Fault
		// mismatch: the run fails on the file's git blob id; otherwise it
		// succeeds with one commit.
		mismatch bool
	}{
		{"a byte flipped", devhub.Fault{Kind: devhub.FaultFlipByte, AfterBytes: 10, Times: 1}, true},
		{"the connection cut", devhub.Fault{Kind: devhub.FaultCutBody, AfterBytes: 20, Times: 1}, false},
		{"a 503", devhub.Fault{Kind: devhub.FaultStatus, Status: 503, Times: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFX(t)
			seed(t, f.h, "config", nil, map[string]string{"config.json": cfg}, nil)
			before, head := f.h.Stats(), f.head()
			path := "/" + srcRepo + "/resolve/*/config.json"
			second := c.fault
			second.Route, second.Path = "resolve", path
			// The first read (the check) goes through; the fault hits the
			// read the commit makes.
			f.h.AddFault(devhub.Fault{Route: "resolve", Path: path, Kind: devhub.FaultNone, Times: 1, Before: func() { f.h.AddFault(second) }})
			r, err := f.run()
			d := delta(before, f.h.Stats())
			if !c.mismatch {
				if err != nil {
					t.Fatalf("publish: %v\n%s", err, f.log)
				}
				if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || r.Commit != f.head() {
					t.Errorf("%d commits (result %s, head %s), want 1", n, r.Commit, f.head())
				}
				f.assertMirrored(r.Plan.SourceSHA)
				report(t, "ok; commit requests %d, commits 1", d["commit"])
				return
			}
			var me *mirror.MismatchError
			if !errors.As(err, &me) || me.Path != "config.json" || me.What != "git blob id" {
				t.Fatalf("error %v, want a git blob id mismatch on config.json", err)
			}
			if !strings.Contains(err.Error(), "nothing was committed") {
				t.Errorf("error %q should say nothing was committed", err)
			}
			f.unchanged(head, before)
			// The body fails before its end: the transport may not even
			// have sent the request's headers.
			if d["commit"] > 1 {
				t.Errorf("%d commit requests after a mismatch, want at most the one that was cut", d["commit"])
			}
			t.Logf("error: %v", err)
			report(t, "fails: config.json git blob id mismatch while the commit streams it; commit requests %d (cut), commits 0", d["commit"])
			f.converge()
		})
	}
}

// TestHeaderOverTheLimit: a valid safetensors file whose header is over
// safetensors.HeaderLimit is refused from its length prefix, by the publish
// and by the read-only plan the pull request check runs, before any write,
// and the error names the file, the header's size and the limit.
func TestHeaderOverTheLimit(t *testing.T) {
	e := setup(t, "")
	g, err := safetensors.NewWideGenerator(1, safetensors.HeaderLimit+8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.CommitFiles(srcRepo, "main", "wide", []devhub.SeedFile{{Path: "wide.safetensors", Content: g}}, nil); err != nil {
		t.Fatal(err)
	}
	before := e.h.Stats()
	_, perr := e.publish()
	_, plerr := mirror.MakePlan(context.Background(), e.opts)
	for name, err := range map[string]error{"publish": perr, "plan": plerr} {
		var pe *mirror.PlanError
		if !errors.Is(err, safetensors.ErrHeaderTooLarge) || !errors.As(err, &pe) {
			t.Fatalf("%s: %v, want a PlanError matching ErrHeaderTooLarge", name, err)
		}
		for _, want := range []string{"wide.safetensors", "header of 16777224 bytes", "limit of 16777216 bytes (16 MiB"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
	}
	e.assertNothingWritten(before)
	// Two ranged GETs of the 8-byte prefix: the header itself was not read.
	if got := e.h.Stats().BytesServed - before.BytesServed; got > 64<<10 {
		t.Errorf("%d bytes served to refuse a header from its length prefix", got)
	}
}
