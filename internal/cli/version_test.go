package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// A build without -ldflags, like the action's image, reports the release
// version from the VERSION file, which must be a semantic version.
func TestVersionDefaultsToTheReleaseFile(t *testing.T) {
	data, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(data))
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(want) {
		t.Fatalf("VERSION holds %q, want a semantic version such as v1.2.3", want)
	}
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, Env{Stdout: &out, Stderr: &out}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if got := out.String(); got != "skulk-weights "+want+"\n" {
		t.Errorf("version printed %q, want %q", got, "skulk-weights "+want+"\n")
	}
}
