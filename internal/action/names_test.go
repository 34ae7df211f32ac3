package action

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// spoofNames are source files whose names would show as something else
// if rendered raw: a right-to-left override that makes "...nosj" read as
// ".json", a zero-width space, a combining accent, Markdown syntax.
var spoofNames = map[string]string{
	"evil\u202enosj.safetensors.json": "`evil\\u202enosj.safetensors.json`",
	"con\u200bfig.json":               "`con\\u200bfig.json`",
	"cafe\u0301.json":                 "`cafe\\u0301.json`",
	"a`b.json":                        "``a`b.json``",
	"x<img src=y>|z.json":             "`x<img src=y>\\|z.json`",
}

// TestSecurityFileNamesAreShownExactly: file names that carry bidi
// controls, zero-width or combining characters, backticks, "<" or "|" are
// shown escaped and exact in the plan comment, the job summary and the
// published card; none of those characters reaches any of them raw.
func TestSecurityFileNamesAreShownExactly(t *testing.T) {
	h := newHarness(t)
	var files []devhub.SeedFile
	for n := range spoofNames {
		files = append(files, devhub.SeedFile{Path: n, Content: strings.NewReader(`{"x": 1}`)})
	}
	if _, err := h.hub.CommitFiles("thirdparty/kimi-k2-5-vision", "main", "hostile names", files, nil); err != nil {
		t.Fatal(err)
	}
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	comment := h.gh.comments[7][0].Body
	for name, shown := range spoofNames {
		row := "| copy | " + shown + " | 8 B |"
		if !strings.Contains(comment, row) || !strings.Contains(out.summary, row) {
			t.Errorf("%q: no row %q in the comment or the summary", name, row)
		}
	}
	checkNoHiddenRunes(t, "comment", comment)
	checkNoHiddenRunes(t, "summary", out.summary)

	h.env["INPUT_MODEL"] = "acme/kimi-k2-5-full-q4-k"
	if out := h.run("workflow_dispatch", "workflow_dispatch.json"); out.err != nil {
		t.Fatalf("publish failed: %v\n%s", out.err, out.log)
	}
	f, err := hub.New(h.hubURL, "").Open(context.Background(), "AcmeAI/kimi-k2-5-vision", "main", "README.md", 0)
	if err != nil {
		t.Fatal(err)
	}
	card, _ := io.ReadAll(f)
	f.Close()
	_, body, _ := strings.Cut(strings.TrimPrefix(string(card), "---\n"), "\n---\n")
	if !strings.Contains(body, `| evil\\u202enosj.safetensors.json |`) {
		t.Errorf("the card does not show the escaped name:\n%s", body)
	}
	checkNoHiddenRunes(t, "card", body)
}

func checkNoHiddenRunes(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range []rune{'\u202e', '\u200b', '\u0301'} {
		if strings.ContainsRune(s, r) {
			t.Errorf("the %s holds %U raw", what, r)
		}
	}
}
