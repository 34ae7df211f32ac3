package card

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileNames are file names that would show as something else if
// rendered raw: a right-to-left override, a zero-width space, a combining
// accent, a Cyrillic letter, and Markdown syntax.
var hostileNames = []string{
	"weights\u202enosj.safetensors", "con\u200bfig.json", "cafe\u0301.json", "modеl.json",
	"a`b.json", "x<img src=y>.json", "t|able.txt", "**bold**.txt",
}

// TestFileNamesAreShownExactly: the card's file table shows every name as
// display.Escape spells it (golden testdata/hostile_names.md): no character
// outside printable ASCII reaches the rendered body, and Markdown in a name
// stays text. The front matter keeps the names as they are, for machines.
func TestFileNamesAreShownExactly(t *testing.T) {
	f := baseFacts()
	f.Files = nil
	for i, n := range hostileNames {
		f.Files = append(f.Files, File{Path: n, OID: strings.Repeat("0a", 20), Size: int64(100 + i), SHA256: strings.Repeat("5e", 32)})
	}
	got := Render(f)
	golden := filepath.Join("testdata", "hostile_names.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Render differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	_, body, _ := strings.Cut(strings.TrimPrefix(string(got), "---\n"), "\n---\n")
	for _, r := range body {
		if r > 0x7e && r != '—' {
			t.Errorf("the card's body holds %U raw", r)
		}
	}
	for _, want := range []string{`weights\\u202enosj.safetensors`, `con\\u200bfig.json`, `cafe\\u0301.json`, `mod\\u0435l.json`, "a\\`b.json", `x\<img src=y\>.json`, `t\|able.txt`, `\*\*bold\*\*.txt`} {
		if !strings.Contains(body, "| "+want+" |") {
			t.Errorf("the file table lacks the row %q", want)
		}
	}
	meta, err := FrontMatter(got)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Recorded(got)
	if err != nil || len(rec) != len(hostileNames) {
		t.Fatalf("recorded files: %d, %v (front matter %v)", len(rec), err, meta != nil)
	}
	for _, n := range hostileNames {
		if _, ok := rec[n]; !ok {
			t.Errorf("the front matter lost %q", n)
		}
	}
}
