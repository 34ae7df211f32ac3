package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// TestTokenFromEnv follows huggingface_hub's get_token: HF_TOKEN, the legacy
// HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH, $HF_HOME/token, then
// $XDG_CACHE_HOME/huggingface/token and ~/.cache/huggingface/token, each
// value with line breaks and surrounding spaces removed.
func TestTokenFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := func(p, content string) string {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return full
	}
	file("home/.cache/huggingface/token", "hf_home_default\n")
	file("xdg/huggingface/token", "hf_xdg\n")
	file("hfhome/token", " \thf_from_hf_home\r\n")
	file("custom/tok", "hf_from_\npath\n")
	file("blank/token", " \n \n")
	for _, tc := range []struct {
		name       string
		env        map[string]string
		want, from string
	}{
		{"HF_TOKEN first", map[string]string{"HF_TOKEN": " hf_env\n", "HF_HOME": dir + "/hfhome"}, "hf_env", "HF_TOKEN"},
		{"legacy name when HF_TOKEN is empty", map[string]string{"HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "hf_legacy"}, "hf_legacy", "HUGGING_FACE_HUB_TOKEN"},
		{"blank HF_TOKEN falls through to the file", map[string]string{"HF_TOKEN": "  ", "HF_HOME": dir + "/hfhome"}, "hf_from_hf_home", dir + "/hfhome/token"},
		{"HF_TOKEN_PATH over HF_HOME", map[string]string{"HF_TOKEN_PATH": dir + "/custom/tok", "HF_HOME": dir + "/hfhome"}, "hf_from_path", dir + "/custom/tok"},
		{"HF_TOKEN_PATH with ~ and $VAR", map[string]string{"HOME": dir, "SUB": "custom", "HF_TOKEN_PATH": "~/$SUB/tok"}, "hf_from_path", dir + "/custom/tok"},
		{"XDG_CACHE_HOME", map[string]string{"HOME": dir + "/home", "XDG_CACHE_HOME": dir + "/xdg"}, "hf_xdg", dir + "/xdg/huggingface/token"},
		{"~/.cache/huggingface", map[string]string{"HOME": dir + "/home"}, "hf_home_default", dir + "/home/.cache/huggingface/token"},
		{"blank file", map[string]string{"HF_HOME": dir + "/blank"}, "", ""},
		{"missing file", map[string]string{"HF_HOME": dir + "/none"}, "", ""},
		{"no home at all", map[string]string{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := hub.TokenFromEnv(func(k string) string { return tc.env[k] })
			if err != nil || tok.Value != tc.want || tok.Source != tc.from {
				t.Errorf("got %q from %q (%v), want %q from %q", tok.Value, tok.Source, err, tc.want, tc.from)
			}
		})
	}
	// A token file that is not a file, or far too big to be a token, is an
	// error that names the file and not its content.
	os.MkdirAll(filepath.Join(dir, "isdir/token"), 0o755)
	big := file("big/token", strings.Repeat("x", 100<<10))
	for _, env := range []map[string]string{{"HF_HOME": dir + "/isdir"}, {"HF_TOKEN_PATH": big}} {
		tok, err := hub.TokenFromEnv(func(k string) string { return env[k] })
		if err == nil || tok.Value != "" || strings.Contains(err.Error(), "xxxx") {
			t.Errorf("%v: got %q, %v", env, tok.Value, err)
		}
	}
}

// TestCheckEndpointSaysWhy: an endpoint that is not an absolute http(s)
// URL with a host is refused with the reason, before any request.
func TestCheckEndpointSaysWhy(t *testing.T) {
	for raw, why := range map[string]string{
		"localhost:8080":          `HF_ENDPOINT "localhost:8080" must be an http(s) URL such as https://huggingface.co: it has no scheme; start it with https:// or http://`,
		"huggingface.co":          "it has no scheme",
		"ftp://hub.example":       "the scheme is ftp; use https:// or http://",
		"http://":                 "it names no host",
		"https://:443":            "it names no host",
		"https://hub example":     "it does not parse as a URL",
		"https://hub.example/a b": "it contains white space",
		"\x00":                    "it does not parse",
	} {
		_, err := hub.CheckEndpoint("HF_ENDPOINT", raw)
		if !errors.Is(err, hub.ErrBadEndpoint) || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckEndpoint(%q) = %v, want a bad-endpoint error saying %q", raw, err, why)
		}
	}
}
