package cli

import (
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1": 1, "50GB": 50_000_000_000, "50gb": 50_000_000_000, "512MiB": 512 << 20,
		"1 KiB": 1024, "7B": 7, "2TB": 2_000_000_000_000, "3tib": 3 << 40, "10kb": 10_000,
	} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1", "1.5GB", "12XB", "9223372036854775807KB", "ten"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
	b := byteSize(defaultMaxBytes)
	if b.String() != "50GB" {
		t.Errorf("default --max-bytes prints as %q", b.String())
	}
	// Help shows defaults through String: a binary default reads as the
	// docs write it, not as a bare byte count.
	if b := byteSize(mirror.DefaultMaxRegularBytes); b.String() != "256MiB" {
		t.Errorf("default --max-regular-bytes prints as %q, want 256MiB", b.String())
	}
	for _, n := range []int64{1, 1000, 1024, 1536, 3 << 30, 5e9} {
		b := byteSize(n)
		if got, err := parseByteSize(b.String()); err != nil || got != n {
			t.Errorf("%d prints as %q, which parses as %d, %v", n, b.String(), got, err)
		}
	}
}

func TestResolveCollection(t *testing.T) {
	e := &catalog.Entry{HFCollection: "FoxlightAI/vindexes-1"}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SKULK_WEIGHTS_COLLECTION" {
				return v
			}
			return ""
		}
	}
	for v, want := range map[string]collections{
		"":     {"FoxlightAI/vindexes-1", "Vision Sidecars"},
		"  ":   {"FoxlightAI/vindexes-1", "Vision Sidecars"},
		"none": {}, " NONE ": {}, "0": {}, "false": {}, "no": {}, "off": {}, "Disabled": {},
		"Org/other-2": {"Org/other-2", "Org/other-2"},
	} {
		got, err := resolveCollections(e, env(v))
		if err != nil || got != want {
			t.Errorf("SKULK_WEIGHTS_COLLECTION=%q: %+v, %v; want %+v", v, got, err, want)
		}
	}
	// The sidecar is filed even when the entry has no vindex collection.
	bare := &catalog.Entry{}
	if got, err := resolveCollections(bare, env("")); err != nil || got.vision != "Vision Sidecars" || got.vindex != "" {
		t.Errorf("entry without hf_collection: %+v, %v", got, err)
	}
	if _, err := resolveCollections(e, env("nope")); err == nil || err.Error() != "SKULK_WEIGHTS_COLLECTION must look like owner/slug or be 'none'" {
		t.Errorf("invalid value: %v", err)
	}
}
