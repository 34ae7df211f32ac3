package mirror_test

import (
	"fmt"
	"testing"
)

// TestStressManySmallFiles publishes a source of a few hundred small JSON
// files with 32 transfers at once. Every regular file is fetched by its own
// goroutine while the others record what they fetched, so any unguarded
// access to the copy's shared state shows up here: as a "concurrent map
// read and map write" crash in a plain run, and as a data race under -race.
func TestStressManySmallFiles(t *testing.T) {
	const n = 300
	e := setup(t, "")
	small := map[string]string{}
	for i := range n {
		small[fmt.Sprintf("cfg/part-%03d.json", i)] = fmt.Sprintf(`{"part":%d,"pad":"%0*d"}`, i, 64+i%97, i)
	}
	seed(t, e.h, "many small files", nil, small, nil)
	e.opts.Jobs = 32
	before := e.h.Stats().Commits[dstRepo]

	res := e.mustPublish()

	if got := e.h.Stats().Commits[dstRepo] - before; got != 2 { // the repo's initial commit and the mirror's one
		t.Errorf("the sidecar got %d commits, want 2 (its creation and one mirror commit)", got)
	}
	// 3 shards, config.json and the 300 JSON files.
	if want := 3 + 1 + n; res.Copied != want {
		t.Errorf("copied %d files, want %d", res.Copied, want)
	}
	src, dst := e.sourceTree("main"), e.tree()
	for p := range small {
		s, ok := src[p]
		if !ok {
			t.Fatalf("%s missing from the source", p)
		}
		d, ok := dst[p]
		switch {
		case !ok:
			t.Errorf("%s missing from the sidecar", p)
		case d.OID != s.OID || d.LFS != nil:
			t.Errorf("%s: sidecar holds blob %s (lfs %v), source %s", p, d.OID, d.LFS != nil, s.OID)
		}
	}
	for _, a := range res.Plan.Copy {
		if _, ok := small[a.Path]; ok && a.Method != "inline" {
			t.Errorf("%s copied by %q, want inline", a.Path, a.Method)
		}
	}
	// A second run finds nothing to do.
	again := e.mustPublish()
	if !again.UpToDate || again.Copied != 0 {
		t.Errorf("second run: up to date %v, copied %d; want up to date, 0", again.UpToDate, again.Copied)
	}
}
