package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalog5k renders a 5,000-entry catalog, one entry in five with a vision
// pair; entries for which changed is true get another tier.
func catalog5k(changed func(int) bool) string {
	var sb strings.Builder
	sb.WriteString("models:\n")
	for i := range 5000 {
		tier := "moe"
		if changed != nil && changed(i) {
			tier = "smoke"
		}
		fmt.Fprintf(&sb, "- key: model-%[1]d-full-q4-k\n  source_model: mlx-community/Model-%[1]d-4bit\n  quant: q4k\n  tier: %[2]s\n"+
			"  slices: [full]\n  output_name: model-%[1]d-full-q4-k.vindex\n  hf_repo: OpsOrg/model-%[1]d-full-q4-k-vindex\n", i, tier)
		if i%5 == 0 {
			fmt.Fprintf(&sb, "  vision_source_repo: third-party/model-%[1]d-vision\n  vision_sidecar_repo: OpsOrg/model-%[1]d-vision\n", i)
		}
	}
	return sb.String()
}

// BenchmarkLoad5000 is `catalog validate` on an operator config whose
// source holds 5,000 entries, next to the built-in catalog: files read from
// disk, parsed, every rule checked, cross-source uniqueness, problems sorted.
func BenchmarkLoad5000(b *testing.B) {
	dir := b.TempDir()
	data := catalog5k(nil)
	for name, body := range map[string]string{
		"skulk-weights.yaml": "catalogs:\n- path: ops.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n",
		"ops.yaml":           data,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Load(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if len(c.Entries) < 5000 || len(c.Errors(true)) != 0 {
			b.Fatalf("%d entries, problems %v", len(c.Entries), c.Errors(true)[:min(1, len(c.Errors(true)))])
		}
	}
}

// BenchmarkDiff5000 parses the base and head of a pull request that changes
// every tenth entry of a 5,000-entry catalog and diffs them: the action's
// change detection.
func BenchmarkDiff5000(b *testing.B) {
	base, head := []byte(catalog5k(nil)), []byte(catalog5k(func(i int) bool { return i%10 == 0 }))
	src := &Source{Path: "ops.yaml", Namespace: "ops", HFOwner: "OpsOrg"}
	b.ReportAllocs()
	for b.Loop() {
		old, _ := Parse("ops.yaml", base, src)
		cur, _ := Parse("ops.yaml", head, src)
		if ch := Diff(old, cur); len(ch) != 500 {
			b.Fatalf("%d changes, want 500", len(ch))
		}
	}
}
