package action

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// loadCatalog renders n entries; every visionEvery-th has a vision pair
// (source thirdparty/m<i>-vision). Entries for which changed is true get
// another tier, which the pull request diff sees as a change.
func loadCatalog(n, visionEvery int, changed func(i int) bool) string {
	var b strings.Builder
	b.WriteString("models:\n")
	for i := range n {
		src, dst := "", ""
		if i%visionEvery == 0 {
			src, dst = fmt.Sprintf("thirdparty/m%d-vision", i), fmt.Sprintf("AcmeAI/m%d-vision", i)
		}
		e := entryYAML(fmt.Sprintf("m%d-full-q4-k", i), fmt.Sprintf("M%d", i), src, dst)
		if changed != nil && changed(i) {
			e = strings.Replace(e, "tier: moe", "tier: smoke", 1)
		}
		b.WriteString(e)
	}
	return b.String()
}

// prLoadHarness sets up a pull request against a 5,000-entry catalog (one
// entry in five with a vision pair) that changes the entries picked by
// changed; the vision sources of the changed entries are seeded when seed is
// set, else each live plan finds no source (one 404) and becomes a note.
func prLoadHarness(b *testing.B, changed func(int) bool, seed bool) *harness {
	h := newHarness(b)
	const n, every = 5000, 5
	h.gh.contents[baseSHA]["catalogs/acme.yaml"] = loadCatalog(n, every, nil)
	h.writeFile("catalogs/acme.yaml", loadCatalog(n, every, changed))
	if seed {
		for i := 0; i < n; i += every {
			if changed(i) {
				h.seedSource(fmt.Sprintf("thirdparty/m%d-vision", i), uint64(i+1))
			}
		}
	}
	return h
}

func runPRBenchmark(b *testing.B, h *harness, wantModels int) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out := h.run("pull_request", "pull_request.json")
		if out.err != nil {
			b.Fatalf("run failed: %v\n%.2000s", out.err, out.log)
		}
		var models []string
		decodeJSON(b, out.outputs["models"], &models)
		if len(models) != wantModels {
			b.Fatalf("%d models planned, want %d", len(models), wantModels)
		}
		h.written = h.written[:0]
	}
}

// BenchmarkPRPlan5000Static: a pull request that changes all 5,000 entries
// of the catalog (1,000 with vision). Validation, the diff against the base,
// the static plan, the summary and the sticky comment; no source exists on
// the local hub, so each live plan is a note after one 404.
func BenchmarkPRPlan5000Static(b *testing.B) {
	h := prLoadHarness(b, func(int) bool { return true }, false)
	runPRBenchmark(b, h, 1000)
}

// BenchmarkPRPlan5000Live: a pull request that changes 600 of the 5,000
// entries, 100 of them with vision; each of those gets a live plan read
// from the local hub without a token.
func BenchmarkPRPlan5000Live(b *testing.B) {
	h := prLoadHarness(b, func(i int) bool { return i%50 == 0 || i%10 == 1 }, true)
	runPRBenchmark(b, h, 100)
}

// TestLoadPushReconcile200 reconciles 200 vision entries on push against the
// local hub: a first run publishes them all, a second finds every one
// unchanged, a third after 10 sources moved upstream republishes those 10
// only. It reports requests per unchanged entry and the time of each run.
// It is a load run: set SKULK_LOAD=1 to run it.
func TestLoadPushReconcile200(t *testing.T) {
	if os.Getenv("SKULK_LOAD") == "" {
		t.Skip("load run: set SKULK_LOAD=1")
	}
	const n = 200
	h := newHarness(t)
	h.writeFile("catalogs/acme.yaml", loadCatalog(n, 1, nil))
	for i := range n {
		h.seedSource(fmt.Sprintf("thirdparty/m%d-vision", i), uint64(i+1))
	}
	run := func(label string) (requests, commits int, d time.Duration) {
		before := h.hub.Stats()
		start := time.Now()
		out := h.run("push", "push.json")
		d = time.Since(start)
		if out.err != nil {
			t.Fatalf("%s: %v\n%.3000s", label, out.err, out.log)
		}
		after := h.hub.Stats()
		for route, c := range after.Requests {
			if !strings.HasPrefix(route, "admin") {
				requests += c - before.Requests[route]
			}
		}
		for repo, c := range after.Commits {
			if strings.HasPrefix(repo, "AcmeAI/") {
				commits += c - before.Commits[repo]
			}
		}
		t.Logf("%s: %d requests, %d sidecar commits, %v", label, requests, commits, d.Round(time.Millisecond))
		h.written = h.written[:0]
		return requests, commits, d
	}
	if _, commits, _ := run("first push, 200 to publish"); commits < n {
		t.Fatalf("first push made %d commits for %d new sidecars", commits, n)
	}
	req, commits, d := run("second push, 200 unchanged")
	if commits != 0 {
		t.Errorf("a push with nothing changed made %d commits", commits)
	}
	perEntry := float64(req) / n
	t.Logf("unchanged entry: %.1f requests each, %v each", perEntry, (d / n).Round(time.Microsecond))
	if perEntry > 20 {
		t.Errorf("an unchanged entry costs %.1f requests", perEntry)
	}
	for i := range 10 {
		id := fmt.Sprintf("thirdparty/m%d-vision", i*20)
		if _, err := h.hub.CommitFiles(id, "main", "upstream change", nil, []string{"config.json"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, commits, _ := run("third push, 10 changed upstream, 190 unchanged"); commits != 10 {
		t.Errorf("republished %d sidecars, want the 10 whose source moved", commits)
	}
}
