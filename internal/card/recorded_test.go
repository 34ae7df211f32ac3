package card

import (
	"reflect"
	"strings"
	"testing"
)

// TestRecordedRoundTrip reads back the files a rendered card records.
func TestRecordedRoundTrip(t *testing.T) {
	f := baseFacts()
	got, err := Recorded(Render(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.Files) {
		t.Fatalf("Recorded = %d files, want %d: %+v", len(got), len(f.Files), got)
	}
	for _, want := range f.Files {
		if !reflect.DeepEqual(got[want.Path], want) {
			t.Errorf("Recorded[%s] = %+v, want %+v", want.Path, got[want.Path], want)
		}
	}
}

// TestRecordedLeavesOutMalformedEntries: every entry of the wrong shape is
// dropped on its own, and a path listed twice is dropped entirely, so the
// caller reads those files again.
func TestRecordedLeavesOutMalformedEntries(t *testing.T) {
	oid, sum := strings.Repeat("a", 40), strings.Repeat("b", 64)
	entry := func(extra string) string {
		return "    - {path: PATH, size: 10, oid: " + oid + ", sha256: " + sum + extra + "}\n"
	}
	cases := map[string]string{
		"ok":         entry(""),
		"okst":       entry(", tensors: 2, dtypes: [BF16, F32], params: 5"),
		"negsize":    "    - {path: PATH, size: -1, oid: " + oid + ", sha256: " + sum + "}\n",
		"floatsize":  "    - {path: PATH, size: 1.5, oid: " + oid + ", sha256: " + sum + "}\n",
		"strsize":    "    - {path: PATH, size: \"10\", oid: " + oid + ", sha256: " + sum + "}\n",
		"shortoid":   "    - {path: PATH, size: 10, oid: abc, sha256: " + sum + "}\n",
		"nooid":      "    - {path: PATH, size: 10, sha256: " + sum + "}\n",
		"upper":      "    - {path: PATH, size: 10, oid: " + oid + ", sha256: " + strings.ToUpper(sum) + "}\n",
		"halfst":     entry(", tensors: 2"),
		"unsorted":   entry(", tensors: 2, dtypes: [F32, BF16], params: 5"),
		"dtypemap":   entry(", tensors: 2, dtypes: {a: b}, params: 5"),
		"negparams":  entry(", tensors: 2, dtypes: [F32], params: -5"),
		"notamap":    "    - just a string\n",
		"dup":        entry("") + entry(""),
		"numberpath": "    - {path: 12, size: 10, oid: " + oid + ", sha256: " + sum + "}\n",
	}
	var b strings.Builder
	b.WriteString("---\nfoxlight:\n  files:\n")
	for name, c := range cases {
		b.WriteString(strings.ReplaceAll(c, "PATH", name))
	}
	b.WriteString("---\n")
	got, err := Recorded([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	if len(got) != 2 || got["ok"].SHA256 != sum || got["ok"].Tensors != nil || got["okst"].Tensors == nil || got["okst"].Tensors.Params != 5 {
		t.Errorf("Recorded kept %v: %+v", keys, got)
	}
}

func TestRecordedRefusesHostileCards(t *testing.T) {
	for name, readme := range map[string]string{
		"alias":      "---\na: &x [1]\nfoxlight: {files: *x}\n---\n",
		"unclosed":   "---\nfoxlight:\n  files: []\n",
		"not a map":  "---\n- 1\n---\n",
		"bad yaml":   "---\nfoxlight: [\n---\n",
		"files oops": "---\nfoxlight: {files: 3}\n---\n",
	} {
		got, err := Recorded([]byte(readme))
		if len(got) != 0 {
			t.Errorf("%s: Recorded = %v, %v", name, got, err)
		}
	}
	if got, err := Recorded([]byte("# no front matter\n")); err != nil || len(got) != 0 {
		t.Errorf("no front matter: %v, %v", got, err)
	}
}
