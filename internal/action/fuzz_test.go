package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadEvent feeds arbitrary bytes as the event payload. Whatever they
// are, readEvent must not panic, an error must name the payload file, and a
// payload it accepts must be safe to read inputs from.
func FuzzReadEvent(f *testing.F) {
	events, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range events {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{"", " ", "null", "[]", `{"pull_request": {"number": 7`, `{"inputs": "all"}`,
		`{"inputs": {"model": {"x": 1}, "dry-run": true, "n": 1e400}}`, "\xef\xbb\xbf{}", `{"ref": 7}`} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "event.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ev, err := readEvent(p, "push")
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the payload: %v", err)
			}
			return
		}
		for _, n := range []string{"model", "artifact", "dry-run"} {
			ev.dispatchInput(n)
		}
		zeroSHA(ev.Before)
	})
}
