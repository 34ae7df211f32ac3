package card

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const (
	srcSHA = "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a"
	licSHA = "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c"
)

// baseFacts are the facts of a typical first mirror.
func baseFacts() Facts {
	return Facts{
		SidecarRepo:   "FoxlightAI/Kimi-K2.5-vision",
		SourceRepo:    "third-party/Kimi-K2.5-vision-encoder",
		SourceSHA:     srcSHA,
		TargetModel:   "mlx-community/Kimi-K2.5-4bit",
		CatalogKey:    "foxlight/kimi-k2-5-full-q4-k",
		ToolVersion:   "v0.3.0",
		License:       License{ID: "other", Name: "modified-mit", Link: "https://github.com/moonshotai/Kimi-K2.5/blob/main/LICENSE", From: "third-party/Kimi-K2.5-vision-encoder"},
		SourceAccess:  hub.Access{Gate: hub.GateOff},
		SidecarAccess: hub.Access{Gate: hub.GateOff},
		Files: []File{
			{Path: "vision/model-00002-of-00002.safetensors", OID: strings.Repeat("2b", 20), Size: 268435456, SHA256: strings.Repeat("b1", 32),
				Tensors: &safetensors.Summary{Tensors: 8, DTypes: []string{"BF16"}, Params: 134217600}},
			{Path: "config.json", OID: strings.Repeat("3c", 20), Size: 1432, SHA256: strings.Repeat("0c", 32)},
			{Path: "vision/model-00001-of-00002.safetensors", OID: strings.Repeat("1a", 20), Size: 536870912, SHA256: strings.Repeat("a7", 32),
				Tensors: &safetensors.Summary{Tensors: 17, DTypes: []string{"BF16", "F32"}, Params: 268431360}},
			{Path: "vision/model.safetensors.index.json", OID: strings.Repeat("4d", 20), Size: 2811, SHA256: strings.Repeat("e4", 32)},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	tests := map[string]func(*Facts){
		"full": func(*Facts) {},
		"fallback_license": func(f *Facts) {
			f.License = License{ID: "apache-2.0", From: f.TargetModel, Revision: licSHA}
			f.LicenseFallback = true
		},
		"no_license": func(f *Facts) {
			f.License = License{}
		},
		// A private, manually gated source and its sidecar, through an
		// endpoint whose credentials must not reach the card.
		"restricted": func(f *Facts) {
			f.Endpoint = "http://publisher:endpoint-secret-0123@127.0.0.1:8765/"
			f.SourceAccess = hub.Access{Private: true, Gate: hub.GateManual}
			f.SidecarAccess = hub.Access{Private: true, Gate: hub.GateManual}
		},
		"relative_license_link": func(f *Facts) {
			f.Endpoint = "http://127.0.0.1:8765/"
			f.License = License{ID: "other", Name: "kimi-license", Link: "./LICENSE.md", From: f.SourceRepo}
		},
		"hostile_names": func(f *Facts) { f.Files = hostileFiles() },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			f := baseFacts()
			edit(&f)
			got := Render(f)
			golden := filepath.Join("testdata", name+".md")
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
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	f := baseFacts()
	first := Render(f)
	// Same facts in another order, rendered again: same bytes.
	for i, j := 0, len(f.Files)-1; i < j; i, j = i+1, j-1 {
		f.Files[i], f.Files[j] = f.Files[j], f.Files[i]
	}
	if again := Render(f); !bytes.Equal(first, again) {
		t.Fatal("file order changed the card")
	}
	// Render must not reorder the caller's slice.
	if f.Files[0].Path != "vision/model.safetensors.index.json" {
		t.Error("Render modified Facts.Files")
	}
	f.SourceSHA = strings.Repeat("1", 40)
	if bytes.Equal(first, Render(f)) {
		t.Fatal("a different source sha rendered the same card")
	}
}

// TestRenderFrontMatterRoundTrip reads a rendered card back the way the Hub
// does and checks the metadata says what the facts say.
func TestRenderFrontMatterRoundTrip(t *testing.T) {
	f := baseFacts()
	f.License = License{ID: "other", More: []string{"mit"}, Name: "yes", Link: "LICENSE", From: f.SourceRepo}
	f.CatalogKey = "0123" // would be a number if unquoted
	meta, err := FrontMatter(Render(f))
	if err != nil {
		t.Fatal(err)
	}
	if meta["base_model"] != f.SourceRepo {
		t.Errorf("base_model = %v", meta["base_model"])
	}
	if !reflect.DeepEqual(meta["tags"], []any{"vision-sidecar", "skulk", "foxlight"}) {
		t.Errorf("tags = %v", meta["tags"])
	}
	lic, ok := LicenseFrom(meta)
	want := License{ID: "other", More: []string{"mit"}, Name: "yes",
		Link: "https://huggingface.co/third-party/Kimi-K2.5-vision-encoder/blob/" + srcSHA + "/LICENSE"}
	if !ok || !reflect.DeepEqual(lic, want) {
		t.Errorf("LicenseFrom(rendered) = %+v, %v; want %+v", lic, ok, want)
	}
	fox, _ := meta["foxlight"].(map[string]any)
	if files, _ := fox["files"].([]any); len(files) != len(f.Files) {
		t.Errorf("foxlight files = %v, want %d entries", fox["files"], len(f.Files))
	}
	delete(fox, "files") // TestRecordedRoundTrip reads them back
	wantFox := map[string]any{
		"artifact_type": "vision-sidecar", "source_repo": f.SourceRepo, "source_revision": srcSHA,
		"target_model": f.TargetModel, "catalog_key": "0123", "license_source": f.SourceRepo,
		"extracted_with": "skulk-weights v0.3.0",
		"source_access":  map[string]any{"private": false, "gated": false},
		"sidecar_access": map[string]any{"private": false, "gated": false},
	}
	if !reflect.DeepEqual(fox, wantFox) {
		t.Errorf("foxlight block = %v, want %v", fox, wantFox)
	}
	// No license: the keys are absent, not empty.
	f.License = License{}
	meta, err = FrontMatter(Render(f))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"license", "license_name", "license_link"} {
		if _, ok := meta[k]; ok {
			t.Errorf("%s present without a license", k)
		}
	}
}

// TestRenderEscapesRepoStrings feeds markup and line breaks through every
// string that comes from a repo and checks none of it escapes its place.
func TestRenderEscapesRepoStrings(t *testing.T) {
	f := baseFacts()
	f.License = License{ID: "other", Name: "evil|name\n## Injected", Link: "javascript:alert(1)", From: f.SourceRepo}
	f.Files = append(f.Files,
		File{Path: "a|b\n| x | y |.json", Size: 1, SHA256: "not`hex"},
		File{Path: "[click](http://evil)<img src=x>.txt", Size: 2, SHA256: strings.Repeat("0", 64)},
		File{Path: "w.safetensors", Size: 3, SHA256: strings.Repeat("1", 64), Tensors: &safetensors.Summary{Tensors: 1, DTypes: []string{"F|32"}, Params: 1}},
	)
	out := string(Render(f))
	// The front matter may carry the name verbatim (YAML quotes it); the
	// body must neither start a heading with it nor link the bad scheme.
	_, body, _ := strings.Cut(strings.TrimPrefix(out, "---\n"), "\n---\n")
	if strings.Contains(body, "\n## Injected") || strings.Contains(out, "(javascript:") || strings.Contains(out, "license_link") {
		t.Fatalf("repo string broke out of its place:\n%s", out)
	}
	if strings.Count(body, "<img") != strings.Count(body, `\<img`) || strings.Contains(body, "](http://evil)") {
		t.Fatalf("markup from a path survived:\n%s", out)
	}
	// Every file row still has exactly the table's 7 unescaped pipes.
	_, table, _ := strings.Cut(out, "## Files\n")
	table, _, _ = strings.Cut(table, "## Usage")
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 7 {
			t.Errorf("row has %d cell separators: %q", n, line)
		}
	}
	if _, err := FrontMatter([]byte(out)); err != nil {
		t.Errorf("front matter no longer parses: %v", err)
	}
}

func TestHelpers(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 805306368: "768.00 MiB", 3 << 30: "3.00 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRenderDefaultsLicenseToSource(t *testing.T) {
	f := baseFacts()
	f.License = License{ID: "mit", Link: "LICENSE"}
	meta, err := FrontMatter(Render(f))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://huggingface.co/" + f.SourceRepo + "/blob/" + srcSHA + "/LICENSE"
	if meta["license_link"] != want {
		t.Errorf("license_link = %v, want %v", meta["license_link"], want)
	}
}

func TestRenderAccess(t *testing.T) {
	f := baseFacts()
	f.Endpoint = "https://user:endpoint-secret-0123@hub.example/"
	f.SourceAccess = hub.Access{Gate: hub.GateAuto}
	f.SidecarAccess = hub.Access{Private: true, Gate: hub.GateManual}
	got := Render(f)
	if bytes.Contains(got, []byte("endpoint-secret")) || bytes.Contains(got, []byte("user:")) || bytes.Contains(got, []byte("@hub.example")) {
		t.Errorf("the endpoint's credentials are in the card:\n%s", got)
	}
	if !bytes.Contains(got, []byte("(https://hub.example/third-party/Kimi-K2.5-vision-encoder)")) {
		t.Errorf("links do not use the endpoint without its credentials:\n%s", got)
	}
	fm, err := FrontMatter(got)
	if err != nil {
		t.Fatal(err)
	}
	fox := fm["foxlight"].(map[string]any)
	src, _ := fox["source_access"].(map[string]any)
	side, _ := fox["sidecar_access"].(map[string]any)
	if src["private"] != false || src["gated"] != "auto" || side["private"] != true || side["gated"] != "manual" {
		t.Errorf("foxlight access = %v / %v", src, side)
	}
	for _, want := range []string{"| Source access | public, gated (auto) |", "| Sidecar access | private, gated (manual); never less restricted than the source |", "downloading needs a token"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("card lacks %q", want)
		}
	}
	// Public sources: gated false, no token sentence. Unknown: left out.
	f = baseFacts()
	f.SidecarAccess = hub.Access{Gate: "true"}
	got = Render(f)
	fm, _ = FrontMatter(got)
	fox = fm["foxlight"].(map[string]any)
	if a, _ := fox["source_access"].(map[string]any); a["gated"] != false || a["private"] != false {
		t.Errorf("public source_access = %v", fox["source_access"])
	}
	if _, ok := fox["sidecar_access"]; ok || bytes.Contains(got, []byte("Sidecar access")) || bytes.Contains(got, []byte("needs a token")) {
		t.Errorf("an unknown access was rendered:\n%s", got)
	}
}
