package card

import (
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

// hostileFiles are the files of the hostile_names golden card.
func hostileFiles() []File {
	var fs []File
	for i, n := range hostileNames {
		fs = append(fs, File{Path: n, OID: strings.Repeat("0a", 20), Size: int64(100 + i), SHA256: strings.Repeat("5e", 32)})
	}
	return fs
}

// TestFileNamesAreShownExactly: the card's file table shows every name as
// display.Escape spells it (golden testdata/hostile_names.md): no character
// outside printable ASCII reaches the rendered body, and Markdown in a name
// stays text. The front matter keeps the names as they are, for machines.
func TestFileNamesAreShownExactly(t *testing.T) {
	f := baseFacts()
	f.Files = hostileFiles()
	got := Render(f)
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
	rec, err := Recorded(got)
	if err != nil || len(rec) != len(hostileNames) {
		t.Fatalf("recorded files: %d, %v", len(rec), err)
	}
	for _, n := range hostileNames {
		if _, ok := rec[n]; !ok {
			t.Errorf("the front matter lost %q", n)
		}
	}
}
