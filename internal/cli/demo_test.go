package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// TestDemo runs the whole demo and checks each step did what it says, and
// that its generated token appears in no output.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("moves ~60 MiB through a local hub")
	}
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"demo"}, Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	if code != ExitOK {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errOut)
	}
	s := out.String()
	steps := strings.Split(s, "\n== ")
	if len(steps) != 9 {
		t.Fatalf("want 4 steps, the card and 3 steps, got %d parts:\n%s", len(steps)-1, s)
	}
	expect := []struct{ step, re string }{
		{steps[1], `copied: +5 \(inline 2, multipart 1, stream 2\)`},
		{steps[1], `2 sidecar commits`}, // the repo's initial commit and the mirror
		{steps[2], `already up to date at [0-9a-f]{40}`},
		{steps[2], `bytes moved: +0 B \(0\)`},
		{steps[2], `0 sidecar commits`},
		{steps[3], `copied: +1 \(stream 1\)`},
		{steps[3], `pruned: +0`},
		{steps[4], `pruned: +1`},
		{steps[4], `copied: +0`},
		// The card the demo committed, pinning the source's last commit.
		{steps[5], `^the model card the demo committed`},
		{steps[5], `\n  base_model: third-party/kimi-k2-5-vision\n`},
		{steps[5], `\n    source_revision: [0-9a-f]{40}\n`},
		{steps[5], `\n  license: other\n`},
		// The sidecars cut out of the upstream checkpoint: the dry run reads
		// the index and headers only, the extraction twice the selected
		// bytes, the republish nothing.
		{steps[6], `vision shards: 2 of 64 `},
		{steps[6], `read from moonshotai/Kimi-K2.5: [0-9.]+ KiB of its`},
		{steps[7], `file: +mtp.safetensors `},
		{steps[7], `sidecar: +FoxlightAI/kimi-k2-5-vision\n(.*\n)*  pruned: +3\n`},
		{steps[7], `read from moonshotai/Kimi-K2.5: 16.[0-9] MiB of its 72.3 MiB; MTP sidecar commits 2`},
		{steps[8], `read from moonshotai/Kimi-K2.5: 0 B of its`},
		{steps[8], `0 sidecar commits`},
	}
	for _, e := range expect {
		if !regexp.MustCompile(e.re).MatchString(e.step) {
			t.Errorf("step lacks %q:\n%s", e.re, e.step)
		}
	}
	if strings.Contains(s+errOut.String(), "hf_demo_") {
		t.Errorf("the demo's token appears in its output")
	}
}

// TestDemoKeep: with --keep the demo leaves its hub up after the last step,
// prints the URL and a token that works on it, and stops cleanly (exit 0)
// when interrupted.
func TestDemoKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("moves ~60 MiB through a local hub")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := startRun(ctx, "demo", "--keep")
	var out strings.Builder
	exportRE := regexp.MustCompile(`^  export HF_ENDPOINT=(http://127\.0\.0\.1:\d+) HF_TOKEN=(hf_demo_[0-9a-f]+)$`)
	var endpoint, token string
	for endpoint == "" {
		line := r.line(t)
		out.WriteString(line + "\n")
		if m := exportRE.FindStringSubmatch(line); m != nil {
			endpoint, token = m[1], m[2]
		}
	}
	r.drain()
	if !strings.Contains(out.String(), "The local hub keeps running until Ctrl-C.") {
		t.Errorf("stdout:\n%s", out.String())
	}
	// The hub is up with what the demo made, and the printed token writes.
	c := hub.New(endpoint, token)
	tree, err := c.ListTree(ctx, demoSidecar, "main")
	if err != nil || len(tree) < 4 {
		t.Fatalf("the sidecar's tree: %v %v", tree, err)
	}
	cols, err := c.ListCollections(ctx, "FoxlightAI")
	if err != nil || len(cols) != 2 || cols[0].Title != "Vision Sidecars" || cols[1].Title != "MTP Sidecars" {
		t.Errorf("collections: %+v %v", cols, err)
	}
	if err := c.CreateRepo(ctx, "FoxlightAI/browsing", false); err != nil {
		t.Errorf("the printed token cannot write: %v", err)
	}
	cancel()
	if code := r.wait(t); code != ExitOK {
		t.Errorf("exit %d after Ctrl-C; stderr:\n%s", code, r.stderr.String())
	}
}
