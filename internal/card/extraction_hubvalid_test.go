package card_test

import (
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// TestRenderedExtractionCardPassesTheHubsValidation renders an extracted
// sidecar's card from source metadata an attacker controls (the license
// fields of its card, tensor names YAML would misread) and checks it with
// the local hub's validate-yaml rules: the Hub must accept it, and unknown
// license ids become "other" as in a mirrored sidecar's card.
func TestRenderedExtractionCardPassesTheHubsValidation(t *testing.T) {
	for name, src := range hostileLicenses {
		lic, _ := card.LicenseFrom(src)
		lic.From = "third-party/src"
		f := card.Facts{
			Endpoint: "http://127.0.0.1:1", SidecarRepo: "FoxlightAI/src-mtp", SourceRepo: "third-party/src",
			SourceSHA: strings.Repeat("a", 40), TargetModel: "org/model", CatalogKey: "foxlight/x", License: lic,
			SourceAccess: hub.Access{Gate: hub.GateManual}, SidecarAccess: hub.Access{Gate: hub.GateManual},
			Files: []card.File{{Path: "mtp.safetensors", Size: 8, OID: strings.Repeat("c", 40), SHA256: strings.Repeat("b", 64)}},
		}
		x := card.Extraction{Artifact: card.ArtifactMTP, Selection: "mtp", Resolved: "mtp.*", Converted: true,
			Inputs: []card.Input{{Path: "config.json", OID: strings.Repeat("e", 40)}},
			Tensors: []card.TensorProv{
				{Name: "--- a: [b] #c\n---", Shard: "model-00001-of-00002.safetensors", Offsets: []int64{8, 10}, DType: "BF16", Shape: []int64{1}, SHA256: strings.Repeat("1", 64)},
				{Name: "license: mit", Shard: "x y.safetensors", Offsets: []int64{10, 12}, DType: "BF16", Shape: []int64{}, SHA256: strings.Repeat("2", 64)},
			}}
		out := card.RenderExtraction(f, x)
		checkHubValid(t, name, out)
	}
}
