package catalog

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	builtin "github.com/Foxlight-Foundation/skulk-weights/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.out from the current output")

// testSource is the identity the golden files are checked under: the
// built-in source's, so owner and collection rules apply.
func testSource(path string) *Source {
	s := BuiltinSource()
	s.Path = path
	return s
}

// TestBadGolden parses every testdata/bad/*.yaml and compares the problems
// with the .out file beside it.
func TestBadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, problems := Parse(name, data, testSource(name))
			got := problemStrings(problems)
			out := strings.TrimSuffix(f, ".yaml") + ".out"
			if *update {
				if err := os.WriteFile(out, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\n--- got\n%s--- want\n%s", out, got, want)
			}
			if got == "" {
				t.Errorf("%s reports no problem; a bad example must break a rule", name)
			}
		})
	}
}

func TestBuiltinCatalogIsClean(t *testing.T) {
	entries, problems := Parse(builtin.FoxlightPath, builtin.Foxlight, BuiltinSource())
	for _, p := range problems {
		t.Errorf("built-in catalog: %s", p)
	}
	var kimi *Entry
	for _, e := range entries {
		if e.ID() == "foxlight/kimi-k2-5-full-q4-k" {
			kimi = e
		}
	}
	if kimi == nil {
		t.Fatal("built-in catalog lacks foxlight/kimi-k2-5-full-q4-k")
	}
	if kimi.VisionSourceRepo != "third-party/kimi-k2-5-vision" || kimi.VisionSidecarRepo != "FoxlightAI/kimi-k2-5-vision" || !kimi.HasVision() {
		t.Errorf("kimi vision pair = %q, %q", kimi.VisionSourceRepo, kimi.VisionSidecarRepo)
	}
	if kimi.HFCollection != builtin.FoxlightHFCollection {
		t.Errorf("kimi hf_collection = %q, want the inherited %q", kimi.HFCollection, builtin.FoxlightHFCollection)
	}
	if p := kimi.FieldPos["vision_sidecar_repo"]; p.Line == 0 || p.Col != 24 {
		t.Errorf("vision_sidecar_repo position = %v, want column 24", p)
	}
}

func TestSourceSlug(t *testing.T) {
	for in, want := range map[string]string{
		"mlx-community/Kimi-K2.5-4bit":             "kimi-k2-5",
		"moonshotai/Kimi-K2.5":                     "kimi-k2-5",
		"mlx-community/Qwen3-8B-MLX-8bit":          "qwen3-8b",
		"org/Model--Name.v2-optiq":                 "model-name-v2",
		"mlx-community/gemma_3-4b-it-4bit":         "gemma_3-4b-it",
		"org/-.Weird.-":                            "weird",
		"no-slash-Model-4BIT":                      "no-slash-model",
		"mlx-community/Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b-instruct-v0-1",
		"mlx-community/mlxfoo-4bitish":             "mlxfoo-4bitish",
	} {
		if got := SourceSlug(in); got != want {
			t.Errorf("SourceSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHFRepoIDRules(t *testing.T) {
	for id, bad := range map[string]bool{
		"FoxlightAI/kimi-k2-5-vision":  false,
		"a/b":                          false,
		"a/b--c":                       true,
		"a/b..c":                       true,
		"-a/b":                         true,
		"a/b.":                         true,
		"a/" + strings.Repeat("x", 96): false,
		"a/" + strings.Repeat("x", 97): true,
	} {
		if got := hfRepoIDProblem(id) != ""; got != bad {
			t.Errorf("hfRepoIDProblem(%q) rejects = %v, want %v", id, got, bad)
		}
	}
}

func TestCheckRevision(t *testing.T) {
	for rev, ok := range map[string]bool{
		"main": true, "v1.0": true, "refs/pr/3": true, "release/2026-06": true,
		"0123456789abcdef0123456789abcdef01234567": true,
		"a..b": false, "/main": false, "main/": false, "x.lock": false, ".hidden": false,
		"has space": false, "a~1": false, "a^": false, "a:b": false, "@": false, "a@{1}": false,
		"end.": false, "a//b": false, "tab\tname": false,
	} {
		if got := checkRevision(rev) == ""; got != ok {
			t.Errorf("checkRevision(%q) ok = %v, want %v", rev, got, ok)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const operatorCatalog = `models:
- key: kimi-k2-5-full-q4-k
  source_model: mlx-community/Kimi-K2.5-4bit
  quant: q4k
  tier: moe
  slices: [full]
  output_name: ops-kimi.vindex
  hf_repo: OpsOrg/ops-kimi-vindex
- key: plain
  source_model: org/model
  quant: q4k
  tier: smoke
  slices: [full]
  output_name: ops-plain.vindex
  hf_repo: OpsOrg/ops-plain-vindex
  hf_collection: OpsOrg/own-0123
`

func TestLoadConfigSourcesAndInheritance(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"skulk-weights.yaml": "catalogs:\n- path: cat/ops.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n  hf_collection: OpsOrg/ops-vindexes-abc\n",
		"cat/ops.yaml":       operatorCatalog,
	})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) != 0 {
		t.Fatalf("problems: %v", c.Problems)
	}
	e, err := c.Lookup("ops/kimi-k2-5-full-q4-k")
	if err != nil {
		t.Fatal(err)
	}
	if e.HFCollection != "OpsOrg/ops-vindexes-abc" || e.Source.Path != filepath.Join("cat", "ops.yaml") {
		t.Errorf("ops entry collection %q from %q", e.HFCollection, e.Source.Path)
	}
	if e, _ := c.Lookup("ops/plain"); e == nil || e.HFCollection != "OpsOrg/own-0123" {
		t.Errorf("an entry's own hf_collection must win over the source's")
	}
	// The same key in two namespaces is two entries; a bare key is ambiguous.
	if _, err := c.Lookup("kimi-k2-5-full-q4-k"); err == nil {
		t.Error("bare key present in two sources resolved")
	}
	if e, err := c.Lookup("plain"); err != nil || e.ID() != "ops/plain" {
		t.Errorf("unique bare key: %v, %v", e, err)
	}
}

func TestLoadAcrossSourceDuplicates(t *testing.T) {
	dup := strings.ReplaceAll(operatorCatalog, "ops-kimi.vindex", "kimi-k2-5-full-q4-k.vindex")
	dup = strings.ReplaceAll(dup, "OpsOrg/ops-kimi-vindex", "FoxlightAI/kimi-k2-5-full-q4-k-vindex")
	dir := writeFiles(t, map[string]string{
		"ops.yaml": "catalogues:\n- path: a.yaml\n  namespace: ops\n  hf_owner: FoxlightAI\n- path: b.yaml\n  namespace: ops\n  hf_owner: FoxlightAI\n- path: missing.yaml\n  namespace: Bad_NS\n  hf_owner: FoxlightAI\n  extra: 1\n",
		"a.yaml":   strings.ReplaceAll(dup, "OpsOrg", "FoxlightAI"),
		"b.yaml":   strings.ReplaceAll(strings.ReplaceAll(dup, "OpsOrg", "FoxlightAI"), "own-0123", "x"),
	})
	c, err := Load(Options{Dir: dir, Config: "ops.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	got := wantProblems(t, c.Problems,
		"ops.yaml:1:1: warning: catalogues is the legacy spelling; use catalogs",
		"ops.yaml:6:14: ops: duplicate namespace 'ops'",
		"ops.yaml:9:14: Bad_NS: namespace must match ^[a-z0-9][a-z0-9._-]*$",
		"ops.yaml:11:3: catalogues[2]: warning: unknown field extra (ignored)",
		"a.yaml:7:16: kimi-k2-5-full-q4-k: duplicate output_name kimi-k2-5-full-q4-k.vindex",
		"a.yaml:8:12: kimi-k2-5-full-q4-k: duplicate hf_repo FoxlightAI/kimi-k2-5-full-q4-k-vindex",
	)
	if strings.Contains(got, "b.yaml") {
		t.Errorf("a source with a duplicate namespace must not load:\n%s", got)
	}
	if len(c.Errors(false)) == 0 || len(c.Errors(true)) <= len(c.Errors(false)) {
		t.Errorf("Errors(strict) must add the warnings to the errors")
	}
}

func TestLoadDuplicateCatalogKey(t *testing.T) {
	// Two sources sharing a namespace cannot come from one config (the
	// namespace check refuses it), so merge two sources directly.
	c := &Catalog{}
	src1 := &Source{Path: "one.yaml", Namespace: "ops"}
	src2 := &Source{Path: "two.yaml", Namespace: "ops"}
	c.addSource(src1, []byte(operatorCatalog))
	c.addSource(src2, []byte(strings.ReplaceAll(operatorCatalog, "ops-", "other-")))
	c.finish()
	wantProblems(t, c.Problems,
		"two.yaml:2:8: kimi-k2-5-full-q4-k: duplicate catalog key ops/kimi-k2-5-full-q4-k",
		"two.yaml:9:8: plain: duplicate catalog key ops/plain",
	)
}

func TestLoadLegacyConfigNameAndErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"skulk-vindex.yaml": "catalogs:\n- path: nowhere.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n",
	})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, c.Problems,
		"skulk-vindex.yaml:1:1: warning: skulk-vindex.yaml is the legacy config name; rename it to skulk-weights.yaml",
		"skulk-vindex.yaml:2:9: ops: cannot read catalog nowhere.yaml: no such file or directory",
	)
	if _, err := Load(Options{Dir: dir, Config: "x.yaml", Manifest: "y.yaml"}); !errors.Is(err, ErrConfigAndManifest) {
		t.Errorf("--config with --manifest: %v", err)
	}
	if _, err := Load(Options{Dir: dir, Config: "absent.yaml"}); err == nil {
		t.Error("a missing --config file must fail loading")
	}
	if _, err := Load(Options{Dir: dir, Manifest: "absent.yaml"}); err == nil {
		t.Error("a missing --manifest file must fail loading")
	}
}

func TestManifestHasNoNamespaceOrOwner(t *testing.T) {
	dir := writeFiles(t, map[string]string{"m.yaml": operatorCatalog})
	c, err := Load(Options{Dir: dir, Manifest: "m.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) != 0 || len(c.Entries) != 2 || len(c.Sources) != 1 {
		t.Fatalf("manifest load: %d entries, %v", len(c.Entries), c.Problems)
	}
	if id := c.Entries[0].ID(); id != "kimi-k2-5-full-q4-k" {
		t.Errorf("manifest entry ID = %q, want the bare key", id)
	}
	if c.Entries[0].HFCollection != "" {
		t.Errorf("manifest entry inherited a collection: %q", c.Entries[0].HFCollection)
	}
}

func TestLookupNamesClosestKeys(t *testing.T) {
	c, err := Load(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lookup("foxlight/kimi-k2-5-ful-q4-k")
	var le *LookupError
	if !errors.As(err, &le) {
		t.Fatalf("Lookup error = %v, want *LookupError", err)
	}
	if len(le.Closest) == 0 || le.Closest[0] != "foxlight/kimi-k2-5-full-q4-k" {
		t.Errorf("closest = %v", le.Closest)
	}
	if !strings.Contains(err.Error(), "foxlight/kimi-k2-5-full-q4-k") {
		t.Errorf("error does not name the closest key: %v", err)
	}
}

func TestDiff(t *testing.T) {
	base, _ := Parse("base.yaml", []byte(operatorCatalog), &Source{Namespace: "ops"})
	changed := strings.Replace(operatorCatalog, "tier: smoke", "tier: moe", 1)
	changed = strings.Replace(changed, "- key: kimi-k2-5-full-q4-k", "- key: added", 1)
	// Moving text around (a comment shifts every line) is not a change.
	head, _ := Parse("head.yaml", []byte("# moved\n"+changed+`- key: kimi-k2-5-full-q4-k
  source_model: mlx-community/Kimi-K2.5-4bit
  quant: q4k
  tier: moe
  slices: [full]
  output_name: ops-kimi.vindex
  hf_repo: OpsOrg/ops-kimi-vindex
`), &Source{Namespace: "ops"})
	var got []string
	for _, ch := range Diff(base, head) {
		got = append(got, ch.Kind.String()+" "+ch.ID)
	}
	// "added" reuses kimi's output_name, which is a problem for Parse but
	// not Diff's concern.
	want := "added ops/added,changed ops/plain"
	if strings.Join(got, ",") != want {
		t.Errorf("Diff = %v, want %s", got, want)
	}
	removed := Diff(head, base[:1])
	if len(removed) != 2 || removed[0].Kind != Removed || removed[0].Old == nil || removed[0].New != nil {
		t.Errorf("Diff removal = %+v", removed)
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Pos: Pos{File: "f.yaml", Line: 3, Col: 5}, Key: "k", Message: "m"}
	if got := p.String(); got != "f.yaml:3:5: k: m" {
		t.Errorf("String() = %q", got)
	}
	p.Warning, p.Key = true, ""
	if got := p.String(); got != "f.yaml:3:5: warning: m" {
		t.Errorf("String() = %q", got)
	}
}

func problemStrings(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// wantProblems fails t unless ps, one problem a line, holds each want
// followed by a line break; it returns those lines.
func wantProblems(t *testing.T, ps []Problem, want ...string) string {
	t.Helper()
	got := problemStrings(ps)
	for _, w := range want {
		if !strings.Contains(got, w+"\n") {
			t.Errorf("missing problem %q in\n%s", w, got)
		}
	}
	return got
}

func TestFileSizeLimit(t *testing.T) {
	data := []byte("models:\n# " + strings.Repeat("x", MaxFileSize))
	entries, problems := Parse("big.yaml", data, nil)
	if len(entries) != 0 || len(problems) != 1 ||
		problems[0].String() != "big.yaml:1:1: file is 33554442 bytes; the limit is 32 MiB" {
		t.Errorf("oversized file: %v", problems)
	}
}

// TestHugeScalarsAreClippedInProblems: a multi-megabyte value or key is
// quoted in a problem only up to a bound, so output stays proportional to
// the number of problems, not to the size of the values.
func TestHugeScalarsAreClippedInProblems(t *testing.T) {
	big := strings.Repeat("x", 4<<20)
	data := "models:\n- key: " + big + "\n  source_model: org/m\n  quant: " + big + "\n  tier: é" + big + "\n" +
		"  slices: [" + big + "]\n  output_name: a.vindex\n  hf_repo: FoxlightAI/a-vindex\n"
	_, problems := Parse("huge.yaml", []byte(data), BuiltinSource())
	got := problemStrings(problems)
	for _, want := range []string{
		"huge.yaml:4:10: " + big[:120] + "... (4194304 bytes): unsupported quant '" + big[:120] + "... (4194304 bytes)'\n",
		"huge.yaml:5:9: " + big[:120] + "... (4194304 bytes): unsupported tier 'é" + big[:118] + "... (4194306 bytes)'\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %.200q", want)
		}
	}
	if len(problems) < 3 || len(got) > 400*len(problems) {
		t.Errorf("%d problems in %d bytes of output", len(problems), len(got))
	}
}

// collisionEntry renders one entry of a FoxlightAI-owned operator catalog.
func collisionEntry(key string, fields ...string) string {
	s := "- key: " + key + "\n  source_model: org/" + key + "\n  quant: q4k\n  tier: smoke\n  slices: [full]\n" +
		"  output_name: " + key + ".vindex\n  hf_repo: FoxlightAI/" + key + "-vindex\n"
	for i := 0; i+1 < len(fields); i += 2 {
		s += "  " + fields[i] + ": " + fields[i+1] + "\n"
	}
	return s
}

// TestLoadCollisionsAcrossSources: a sidecar shared between the built-in
// catalog and a config's sources, or between two sources, is an error at
// the field the later file holds, naming the other entry, field and place.
func TestLoadCollisionsAcrossSources(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"skulk-weights.yaml": "catalogs:\n- path: a.yaml\n  namespace: ops\n  hf_owner: FoxlightAI\n- path: b.yaml\n  namespace: lab\n  hf_owner: FoxlightAI\n",
		"a.yaml": "models:\n" +
			// Publishing this would prune the built-in kimi vindex.
			collisionEntry("grab", "vision_source_repo", "third-party/grab", "vision_sidecar_repo", "FoxlightAI/Kimi-K2-5-Full-Q4-K-Vindex") +
			// Reading the built-in sidecar: its publish would move this source.
			collisionEntry("chain", "vision_source_repo", "FoxlightAI/kimi-k2-5-vision", "vision_sidecar_repo", "FoxlightAI/chain-vision") +
			collisionEntry("plain", "vision_source_repo", "third-party/plain", "vision_sidecar_repo", "FoxlightAI/plain-vision"),
		"b.yaml": "models:\n" +
			collisionEntry("over", "vision_source_repo", "third-party/over", "vision_sidecar_repo", "FoxlightAI/plain-vindex") +
			collisionEntry("reads", "mtp_source_repo", "FoxlightAI/plain-vision", "mtp_sidecar_repo", "FoxlightAI/reads-mtp"),
	})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got := wantProblems(t, c.Errors(false),
		"a.yaml:10:24: grab: vision_sidecar_repo FoxlightAI/Kimi-K2-5-Full-Q4-K-Vindex is also the hf_repo of foxlight/kimi-k2-5-full-q4-k (catalog/foxlight.yaml:53, spelt FoxlightAI/kimi-k2-5-full-q4-k-vindex; the Hub ignores case in repo ids); a sidecar needs a repo of its own",
		"a.yaml:18:23: chain: vision_source_repo FoxlightAI/kimi-k2-5-vision is also the vision_sidecar_repo of foxlight/kimi-k2-5-full-q4-k (catalog/foxlight.yaml:55); a sidecar needs a repo of its own",
		"b.yaml:10:24: over: vision_sidecar_repo FoxlightAI/plain-vindex is also the hf_repo of ops/plain (a.yaml:26); a sidecar needs a repo of its own",
		"b.yaml:18:20: reads: mtp_source_repo FoxlightAI/plain-vision is also the vision_sidecar_repo of ops/plain (a.yaml:28); a sidecar needs a repo of its own",
	)
	if n := len(c.Errors(false)); n != 4 || strings.HasPrefix(got, "catalog/") {
		t.Errorf("want exactly the 4 collisions, none reported inside the built-in catalog:\n%s", got)
	}

	// The library check a publish makes agrees, whichever side it starts from.
	claims := c.Claims()
	for id, want := range map[string]string{
		"ops/grab":                     "foxlight/kimi-k2-5-full-q4-k",
		"foxlight/kimi-k2-5-full-q4-k": "ops/chain",
		"ops/plain":                    "lab/reads",
		"lab/over":                     "ops/plain",
		"ops/chain":                    "",
	} {
		e, err := c.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		err = claims.VisionSidecarConflict(e)
		var ce *CollisionError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v, want no conflict", id, err)
		case want != "" && (!errors.As(err, &ce) || ce.Other.Entry != want):
			t.Errorf("%s: conflict %v, want one naming %s", id, err, want)
		}
	}
}

// TestSidecarConflictWithoutClaims: with no catalog at hand, an entry's own
// fields still count.
func TestSidecarConflictWithoutClaims(t *testing.T) {
	entries, _ := Parse("x.yaml", []byte("models:\n"+collisionEntry("self", "vision_source_repo", "FoxlightAI/self-vision", "vision_sidecar_repo", "foxlightai/SELF-vision")), BuiltinSource())
	if len(entries) != 1 {
		t.Fatalf("entries: %v", entries)
	}
	var nilClaims *Claims
	err := nilClaims.VisionSidecarConflict(entries[0])
	var ce *CollisionError
	if !errors.As(err, &ce) || ce.Other.Field != "vision_source_repo" || ce.Other.Entry != "foxlight/self" {
		t.Fatalf("conflict = %v", err)
	}
	if want := "foxlight/self: vision_sidecar_repo foxlightai/SELF-vision is also this entry's vision_source_repo (line 9, spelt FoxlightAI/self-vision; the Hub ignores case in repo ids); a sidecar needs a repo of its own"; err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	other, _ := Parse("y.yaml", []byte("models:\n"+collisionEntry("fine", "vision_source_repo", "third-party/fine", "vision_sidecar_repo", "FoxlightAI/fine-vision")), BuiltinSource())
	if err := nilClaims.VisionSidecarConflict(other[0]); err != nil {
		t.Errorf("a sidecar of its own: %v", err)
	}
}

// TestConfigSourceCap: a config listing more sources than MaxSources is an
// error at the first one over, and no source past the cap is read.
func TestConfigSourceCap(t *testing.T) {
	var cfg strings.Builder
	cfg.WriteString("catalogs:\n")
	for i := range MaxSources + 8 {
		fmt.Fprintf(&cfg, "- {path: ops.yaml, namespace: ns%d, hf_owner: OpsOrg}\n", i)
	}
	dir := writeFiles(t, map[string]string{"skulk-weights.yaml": cfg.String(), "ops.yaml": operatorCatalog})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, c.Problems, fmt.Sprintf("skulk-weights.yaml:%d:3: catalogs[32]: catalogs lists 40 sources; a config may list at most 32: merge some catalog files", MaxSources+2))
	if len(c.Sources) != MaxSources+1 {
		t.Errorf("%d sources loaded, want the built-in one and %d", len(c.Sources), MaxSources)
	}
}

// TestConfigTotalSizeCap: the catalogs of one config together stay under
// MaxTotalSize, however many times one big file is listed.
func TestConfigTotalSizeCap(t *testing.T) {
	// The same bound at a 1 MiB scale: parsing 64 MiB of YAML would take
	// tens of seconds under -race. The message at the real limit is checked
	// below without parsing anything that large.
	defer func(n int64) { totalSizeLimit = n }(totalSizeLimit)
	totalSizeLimit = 1 << 20
	big := operatorCatalog + "# " + strings.Repeat("x", 360<<10) + "\n"
	dir := writeFiles(t, map[string]string{
		"skulk-weights.yaml": "catalogs:\n- {path: big.yaml, namespace: a, hf_owner: OpsOrg}\n- {path: big.yaml, namespace: b, hf_owner: OpsOrg}\n- {path: big.yaml, namespace: c, hf_owner: OpsOrg}\n- {path: big.yaml, namespace: d, hf_owner: OpsOrg}\n",
		"big.yaml":           big,
	})
	c, err := Load(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, c.Problems, "skulk-weights.yaml:4:10: c: catalog big.yaml brings the catalogs of this config to 1107039 bytes; all of them together may hold at most 1 MiB")
	if len(c.Sources) != 3 {
		t.Errorf("%d sources loaded, want the built-in one and two", len(c.Sources))
	}
	if got := sizeText(MaxTotalSize); got != "64 MiB" {
		t.Errorf("the real limit reads %q", got)
	}
}

// TestLoadFromFS: a catalog read through an fs.FS loads as from disk, and a
// path leaving the FS's root is refused without being opened.
func TestLoadFromFS(t *testing.T) {
	cfg := "catalogs:\n- path: cat/ops.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n- path: ../up.yaml\n  namespace: up\n  hf_owner: OpsOrg\n- path: /etc/passwd\n  namespace: abs\n  hf_owner: OpsOrg\n"
	fsys := fstest.MapFS{
		"skulk-weights.yaml": {Data: []byte(cfg)},
		"cat/ops.yaml":       {Data: []byte(operatorCatalog)},
	}
	c, err := Load(Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, c.Problems,
		"skulk-weights.yaml:5:9: up: refusing catalog ../up.yaml: it resolves outside the repository; catalog paths must name files inside it",
		"skulk-weights.yaml:8:9: abs: refusing catalog /etc/passwd: it resolves outside the repository; catalog paths must name files inside it",
	)
	if e, err := c.Lookup("ops/plain"); err != nil || e.Source.Path != "cat/ops.yaml" {
		t.Errorf("ops/plain from the FS: %v, %v", e, err)
	}
	if len(c.Sources) != 2 || !c.Sources[0].Builtin() || c.Sources[1].Builtin() {
		t.Errorf("sources = %+v, want the built-in one and cat/ops.yaml", c.Sources)
	}
	// Without a config, only the built-in catalog.
	c, err = Load(Options{FS: fstest.MapFS{}})
	if err != nil || len(c.Sources) != 1 {
		t.Errorf("empty FS: %v, %d sources", err, len(c.Sources))
	}
}

func TestDiffSources(t *testing.T) {
	src := func(path, ns, owner, coll string) *Source {
		return &Source{Path: path, Namespace: ns, HFOwner: owner, HFCollection: coll}
	}
	base := []*Source{BuiltinSource(), src("a.yaml", "acme", "AcmeAI", ""), src("ops.yaml", "ops", "OpsOrg", ""), src("gone.yaml", "gone", "G", ""), src("same.yaml", "same", "S", "S/c-1")}
	head := []*Source{BuiltinSource(), src("a.yaml", "acme", "OtherAI", ""), src("ops.yaml", "lab", "OpsOrg", ""), src("new.yaml", "new", "N", ""), src("same.yaml", "same", "S", "S/c-1")}
	var got []string
	for _, c := range DiffSources(base, head) {
		s := c.Kind.String()
		if c.Old != nil {
			s += " " + c.Old.Namespace
		}
		if c.New != nil {
			s += " " + c.New.Namespace
		}
		if c.OwnerChanged() {
			s += " owner"
		}
		if c.Renamed() {
			s += " renamed"
		}
		got = append(got, s)
	}
	if want := "changed acme acme owner,changed ops lab renamed,added new,removed gone"; strings.Join(got, ",") != want {
		t.Errorf("DiffSources = %v, want %s", got, want)
	}
	if d := DiffSources(head, head); len(d) != 0 {
		t.Errorf("no change reported as %v", d)
	}
}
