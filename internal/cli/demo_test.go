package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
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
	if len(steps) != 6 {
		t.Fatalf("want 4 steps and the card, got %d parts:\n%s", len(steps)-1, s)
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
