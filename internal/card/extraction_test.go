package card

import (
	"bytes"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

func extractionFixture() (Facts, Extraction) {
	f := Facts{
		SidecarRepo: "FoxlightAI/kimi-k2-5-mtp", SourceRepo: "moonshotai/Kimi-K2.5", SourceSHA: strings.Repeat("ab", 20),
		TargetModel: "moonshotai/Kimi-K2.5", CatalogKey: "foxlight/kimi", ToolVersion: "v1",
		License:      License{ID: "other", Name: "modified-mit", Link: "LICENSE"},
		SourceAccess: hub.Access{Gate: hub.GateOff}, SidecarAccess: hub.Access{Gate: hub.GateOff},
		Files: []File{{Path: "mtp.safetensors", Size: 10, OID: strings.Repeat("c", 40), SHA256: strings.Repeat("d", 64)}},
	}
	x := Extraction{Artifact: ArtifactMTP, Selection: "mtp", Resolved: "model.layers.61.*", Converted: true,
		Inputs: []Input{{Path: "config.json", OID: strings.Repeat("e", 40)}, {Path: "processor_config.json"}},
		Tensors: []TensorProv{
			{Name: "model.layers.61.eh_proj.weight", Shard: "model-00001.safetensors", Offsets: []int64{100, 200}, DType: "F8_E4M3", Shape: []int64{10, 10}, SHA256: strings.Repeat("1", 64)},
			{Name: "model.layers.61.eh_proj.weight_scale_inv", Shard: "model-00001.safetensors", Offsets: []int64{200, 204}, DType: "F32", Shape: []int64{1, 1}, SHA256: strings.Repeat("2", 64), Role: "scale"},
			// A name YAML would read as something else unless quoted.
			{Name: "--- a: [b] #c", Shard: "x.safetensors", Offsets: []int64{0, 2}, DType: "BF16", Shape: []int64{}, SHA256: strings.Repeat("3", 64)},
		}}
	return f, x
}

func TestRenderExtractionIsDeterministicAndRecorded(t *testing.T) {
	f, x := extractionFixture()
	a, b := RenderExtraction(f, x), RenderExtraction(f, x)
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same facts differ")
	}
	fm, err := FrontMatter(a)
	if err != nil {
		t.Fatal(err)
	}
	fox := fm["foxlight"].(map[string]any)
	ex := fox["extraction"].(map[string]any)
	ts := ex["tensors"].([]any)
	if fox["artifact_type"] != "mtp-sidecar" || ex["selection"] != "mtp" || len(ts) != 3 || ts[2].(map[string]any)["name"] != "--- a: [b] #c" {
		t.Fatalf("front matter read back: %v", fm)
	}
	if ts[1].(map[string]any)["role"] != "scale" || ex["inputs"].([]any)[1].(map[string]any)["oid"] != "" {
		t.Errorf("scale role or absent input lost: %v", ex)
	}
	rec, err := Recorded(a)
	if err != nil || rec["mtp.safetensors"].SHA256 != strings.Repeat("d", 64) {
		t.Errorf("files not recorded: %v %v", rec, err)
	}
	// A shard name with shell syntax stays inside the quoted, encoded URL.
	x.Tensors[0].Shard = "a'$(id)`b c.safetensors"
	card := string(RenderExtraction(f, x))
	if !strings.Contains(card, "curl -sL -r 100-199 'https://huggingface.co/moonshotai/Kimi-K2.5/resolve/"+f.SourceSHA+"/a%27$%28id%29%60b%20c.safetensors' | sha256sum") {
		t.Errorf("re-check command:\n%s", card)
	}
	for _, want := range []string{"every one converted to BF16", "with 1 block-scale tensors", "2 tensors selected by `mtp`", "license: other"} {
		if !strings.Contains(string(a), want) {
			t.Errorf("card lacks %q:\n%s", want, a)
		}
	}
}
