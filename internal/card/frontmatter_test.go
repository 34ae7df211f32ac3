package card

import (
	"reflect"
	"strings"
	"testing"
)

func TestFrontMatter(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    map[string]any
		wantErr string
	}{
		{"none", "# Title\n\nbody\n", nil, ""},
		{"empty file", "", nil, ""},
		{"dashes later", "# T\n---\nlicense: mit\n---\n", nil, ""},
		{"simple", "---\nlicense: mit\ntags:\n- a\n---\n# T\n", map[string]any{"license": "mit", "tags": []any{"a"}}, ""},
		{"crlf and bom", "\xef\xbb\xbf---\r\nlicense: mit\r\n---\r\nbody", map[string]any{"license": "mit"}, ""},
		{"empty block", "---\n---\nbody", map[string]any{}, ""},
		{"nested", "---\nfoxlight:\n  source_repo: a/b\n---\n", map[string]any{"foxlight": map[string]any{"source_repo": "a/b"}}, ""},
		{"unclosed", "---\nlicense: mit\n", nil, "no closing"},
		{"not a mapping", "---\n- a\n- b\n---\n", nil, "not a YAML mapping"},
		{"invalid yaml", "---\nlicense: [mit\n---\n", nil, "front matter"},
		{"alias", "---\na: &x mit\nlicense: *x\n---\n", nil, "aliases"},
		{"billion laughs", "---\n" + laughs() + "---\n", nil, "aliases"},
		{"too big", "---\n" + strings.Repeat("k: v\n", MaxFrontMatter/4) + "---\n", nil, "longer than"},
		{"too deep", "---\n" + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n---\n", nil, "front matter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FrontMatter([]byte(tt.readme))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FrontMatter = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// laughs is the classic exponential alias expansion.
func laughs() string {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [")
		for i := range 9 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = n
	}
	return b.String()
}
