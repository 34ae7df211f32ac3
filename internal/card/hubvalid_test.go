package card_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// hostileLicenses are source card metadata an attacker or a careless
// author controls, for every card kind's validation test.
var hostileLicenses = map[string]map[string]any{
	"known id":           {"license": "llama3.1"},
	"unknown id":         {"license": "Apache 2.0"},
	"ids mixed":          {"license": []any{"mit", "my-custom-1.0", "mit", 7, "evil\nline"}},
	"only unknown ids":   {"license": []any{"a", "b"}},
	"injection in name":  {"license": "other", "license_name": "x: y\n---\n# injected\nlicense: mit", "license_link": "javascript:alert(1)"},
	"yaml syntax":        {"license": "]]> {{ }} *anchor &a !!binary", "license_name": "- [a", "license_link": "LICENSE?x=1#y"},
	"relative link":      {"license": "other", "license_name": "kimi", "license_link": "../LICENSE"},
	"not strings":        {"license": map[string]any{"a": 1}, "license_name": 3, "license_link": []any{"x"}},
	"id with front line": {"license": "---"},
}

// TestRenderedCardPassesTheHubsValidation renders cards from hostile
// source metadata and checks each one with the local hub's validate-yaml
// rules: a source card must never make the sidecar's card one the Hub
// refuses, nor add metadata of its own.
func TestRenderedCardPassesTheHubsValidation(t *testing.T) {
	for name, src := range hostileLicenses {
		lic, _ := card.LicenseFrom(src)
		lic.From = "third-party/src"
		f := card.Facts{
			Endpoint: "http://127.0.0.1:1", SidecarRepo: "FoxlightAI/src-vision", SourceRepo: "third-party/src",
			SourceSHA: strings.Repeat("a", 40), TargetModel: "org/model", CatalogKey: "foxlight/x", License: lic,
			SourceAccess: hub.Access{Gate: hub.GateOff}, SidecarAccess: hub.Access{Gate: hub.GateOff},
			Files: []card.File{{Path: "w.safetensors", Size: 8, SHA256: strings.Repeat("b", 64)}},
		}
		checkHubValid(t, name, card.Render(f))
	}
}

// checkHubValid fails t when the Hub would refuse the card out, when its
// front matter holds a key the renderer does not write or a license id the
// Hub does not know, or when a heading was injected into its text.
func checkHubValid(t *testing.T, name string, out []byte) {
	t.Helper()
	if problems, _ := devhub.ValidateCard(out); len(problems) > 0 {
		t.Errorf("%s: the Hub would refuse the card: %q", name, problems)
	}
	meta, err := card.FrontMatter(out)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for k := range meta {
		switch k {
		case "base_model", "tags", "license", "license_name", "license_link", "foxlight":
		default:
			t.Errorf("%s: key %q slipped into the front matter", name, k)
		}
	}
	if ids, ok := meta["license"]; ok {
		var list []string
		b, _ := yaml.Marshal(ids)
		if yaml.Unmarshal(b, &list) != nil {
			list = []string{ids.(string)}
		}
		for _, id := range list {
			if !card.HubLicense(id) {
				t.Errorf("%s: license %q is not one the Hub knows", name, id)
			}
		}
	}
	if strings.Contains(string(out), "\n# injected") {
		t.Errorf("%s: a heading was injected into the card", name)
	}
}

func TestUnknownLicenseBecomesOther(t *testing.T) {
	lic, _ := card.LicenseFrom(map[string]any{"license": []any{"mit", "Acme-1.0", "Beta"}})
	out := string(card.Render(card.Facts{SidecarRepo: "a/b", SourceRepo: "c/d", SourceSHA: strings.Repeat("a", 40), License: lic}))
	meta, err := card.FrontMatter([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := meta["license"]; !equalList(got, "mit", "other") || meta["license_name"] != "Acme-1.0, Beta" {
		t.Errorf("license %v, license_name %v", got, meta["license_name"])
	}
	// The text still says what the source declared.
	if !strings.Contains(out, "`Acme-1.0`") {
		t.Error("the declared id is not quoted in the card's text")
	}
}

func equalList(v any, want ...string) bool {
	l, ok := v.([]any)
	if !ok || len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}
