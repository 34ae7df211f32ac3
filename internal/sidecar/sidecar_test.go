package sidecar

import "testing"

func TestParseCollection(t *testing.T) {
	for v, want := range map[string]struct {
		disabled bool
		slug     string
		bad      bool
	}{
		"": {}, "  ": {}, "none": {disabled: true}, " OFF ": {disabled: true}, "0": {disabled: true},
		"Org/x-1": {slug: "Org/x-1"}, "nope": {bad: true}, "a/b/c": {bad: true},
	} {
		d, s, err := ParseCollection(v)
		if d != want.disabled || s != want.slug || (err != nil) != want.bad {
			t.Errorf("ParseCollection(%q) = %v, %q, %v; want %+v", v, d, s, err, want)
		}
	}
}

func TestGitBlobID(t *testing.T) {
	// git hash-object of "hello\n".
	if got := GitBlobID([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("GitBlobID = %s", got)
	}
}
