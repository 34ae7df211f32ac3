package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	builtin "github.com/Foxlight-Foundation/skulk-weights/catalog"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever the input, Parse must
// not panic, must place every problem inside the file, must return its
// problems sorted, and must give the same answer twice.
func FuzzParse(f *testing.F) {
	f.Add(builtin.Foxlight)
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, p := range bad {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, problems := Parse("f.yaml", data, BuiltinSource())
		checkProblemsInFile(t, "f.yaml", data, problems)
		for i, p := range problems {
			if i > 0 && less(p, problems[i-1]) {
				t.Fatalf("problems not sorted: %q before %q", problems[i-1], p)
			}
		}
		for _, e := range entries {
			if e.Key == "" || e.ID() != "foxlight/"+e.Key || e.Source == nil {
				t.Fatalf("entry without a usable key: %+v", e)
			}
		}
		entries2, problems2 := Parse("f.yaml", data, BuiltinSource())
		if fmt.Sprint(problems) != fmt.Sprint(problems2) || len(entries) != len(entries2) {
			t.Fatalf("Parse is not deterministic")
		}
	})
}

// checkProblemsInFile fails t unless every problem names file, points inside
// data and prints on one line.
func checkProblemsInFile(t *testing.T, file string, data []byte, problems []Problem) {
	t.Helper()
	// YAML breaks lines at CR, LF, NEL, LS and PS; count them all.
	lines := 1
	for _, b := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		lines += strings.Count(string(data), b)
	}
	for _, p := range problems {
		if p.Pos.File != file || p.Pos.Line < 1 || p.Pos.Col < 1 || p.Pos.Line > lines+1 || p.Message == "" {
			t.Fatalf("problem outside the file (%d lines): %q", lines, p)
		}
		if s := p.String(); strings.ContainsAny(s, "\n\r\u2028\u2029\u0085") {
			t.Fatalf("problem spans lines: %q", s)
		}
	}
}

func less(a, b Problem) bool {
	if a.Pos.File != b.Pos.File {
		return a.Pos.File < b.Pos.File
	}
	if a.Pos.Line != b.Pos.Line {
		return a.Pos.Line < b.Pos.Line
	}
	return a.Pos.Col < b.Pos.Col
}

// BenchmarkValidate10k parses and checks a generated 10,000-entry catalog,
// every fifth entry with a vision pair, through Load's cross-source pass.
func BenchmarkValidate10k(b *testing.B) {
	const n = 10_000
	var sb strings.Builder
	sb.WriteString("models:\n")
	for i := range n {
		fmt.Fprintf(&sb, `- key: model-%[1]d-full-q4-k
  source_model: mlx-community/Model-%[1]d-4bit
  quant: q4k
  tier: %[2]s
  slices:
  - full
  output_name: model-%[1]d-full-q4-k.vindex
  hf_repo: FoxlightAI/model-%[1]d-full-q4-k-vindex
`, i, []string{"smoke", "moe"}[i%2])
		if i%5 == 0 {
			fmt.Fprintf(&sb, "  vision_source_repo: third-party/model-%[1]d-vision\n  vision_sidecar_repo: FoxlightAI/model-%[1]d-vision\n", i)
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := &Catalog{}
		c.addSource(testSource("big.yaml"), data)
		c.finish()
		if len(c.Entries) != n || len(c.Problems) != 0 {
			b.Fatalf("%d entries, %d problems (first: %v)", len(c.Entries), len(c.Problems), c.Problems[:min(1, len(c.Problems))])
		}
	}
}

// FuzzParseConfig feeds arbitrary bytes to the operator config parser, the
// other file Load reads. It must not panic, must place every problem inside
// the file on one line, and must return only sources with a path, a
// namespace and an owner.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"catalogs:\n- path: cat/ops.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n  hf_collection: OpsOrg/ops-0123\n",
		"catalogues:\n- path: a.yaml\n  namespace: ops\n  hf_owner: FoxlightAI\n- path: a.yaml\n  namespace: ops\n  hf_owner: X\n  extra: 1\n",
		"x-a0: &a0 [x, x]\nx-a1: &a1 [*a0, *a0]\nx-a2: &a2 [*a1, *a1]\ncatalogs:\n- path: *a2\n  namespace: ops\n  hf_owner: Org\n",
		"catalogs: [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]\n",
		"\xef\xbb\xbfcatalogs:\r\n- path: a.yaml\r\n  namespace: ops\r\n  hf_owner: Org\r\n",
		"catalogs:\n- path: caf\xe9.yaml\n",
		"catalogs:\n\t- path: a.yaml\n",
		"catalogs: []\ncatalogs: []\n",
		"- path: a.yaml\n",
		"catalogs:\n- <<: {path: a.yaml, namespace: ops}\n  hf_owner: Org\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sources, problems := parseConfig("c.yaml", data)
		checkProblemsInFile(t, "c.yaml", data, problems)
		for _, s := range sources {
			if s.Path == "" || s.Namespace == "" || s.HFOwner == "" {
				t.Fatalf("incomplete source %+v", s)
			}
		}
	})
}
