package card

import (
	"reflect"
	"strings"
	"testing"
)

func TestLicenseFrom(t *testing.T) {
	tests := []struct {
		name string
		data map[string]any
		want License
		ok   bool
	}{
		{"nil", nil, License{}, false},
		{"empty", map[string]any{}, License{}, false},
		{"id", map[string]any{"license": "apache-2.0"}, License{ID: "apache-2.0"}, true},
		{"other with name and link", map[string]any{"license": "other", "license_name": "kimi", "license_link": "LICENSE"},
			License{ID: "other", Name: "kimi", Link: "LICENSE"}, true},
		{"list", map[string]any{"license": []any{"mit", 3, "", "apache-2.0", nil}}, License{ID: "mit", More: []string{"apache-2.0"}}, true},
		{"list of nothing usable", map[string]any{"license": []any{1, map[string]any{}}}, License{}, false},
		{"license_url spelling", map[string]any{"license": "other", "license_url": "https://x.test/L"}, License{ID: "other", Link: "https://x.test/L"}, true},
		{"license_link wins", map[string]any{"license": "other", "license_link": "A", "license_url": "B"}, License{ID: "other", Link: "A"}, true},
		{"odd shapes", map[string]any{"license": 42, "license_name": []any{"x"}, "license_link": map[string]any{"a": 1}}, License{}, false},
		{"name without id", map[string]any{"license_name": "x"}, License{Name: "x"}, false},
		{"whitespace trimmed", map[string]any{"license": "  mit \t"}, License{ID: "mit"}, true},
		{"control characters dropped", map[string]any{"license": "mit\nx", "license_name": "a\x00b"}, License{}, false},
		{"overlong dropped", map[string]any{"license": strings.Repeat("a", 300), "license_link": strings.Repeat("b", 3000)}, License{}, false},
		{"typed list", map[string]any{"license": []string{"mit", "bsd"}}, License{ID: "mit", More: []string{"bsd"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LicenseFrom(tt.data)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LicenseFrom = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestResolveLink(t *testing.T) {
	const ep = "https://huggingface.co"
	tests := []struct{ link, rev, want string }{
		{"", "abc", ""},
		{"LICENSE", "abc", ep + "/o/r/blob/abc/LICENSE"},
		{"./LICENSE.md", "abc", ep + "/o/r/blob/abc/LICENSE.md"},
		{"docs/../LICENSE", "abc", ep + "/o/r/blob/abc/LICENSE"},
		{"../../etc/passwd", "abc", ep + "/o/r/blob/abc/etc/passwd"},
		{"LICENSE#terms", "", ep + "/o/r/blob/main/LICENSE#terms"},
		{"my license.txt", "abc", ep + "/o/r/blob/abc/my%20license.txt"},
		{"/moonshotai/Kimi-K2.5/blob/main/LICENSE", "abc", ep + "/moonshotai/Kimi-K2.5/blob/main/LICENSE"},
		{"https://example.com/terms", "abc", "https://example.com/terms"},
		{"http://example.com/a b", "abc", "http://example.com/a%20b"},
		{"javascript:alert(1)", "abc", ""},
		{"data:text/html,hi", "abc", ""},
		{"//evil.test/x", "abc", ""},
		{"https:///nohost", "abc", ""},
		{"./", "abc", ""},
		{"%zz", "abc", ""},
	}
	for _, tt := range tests {
		if got := resolveLink(ep, "o/r", tt.rev, tt.link); got != tt.want {
			t.Errorf("resolveLink(%q, rev %q) = %q, want %q", tt.link, tt.rev, got, tt.want)
		}
	}
}
