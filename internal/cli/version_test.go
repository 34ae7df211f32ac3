package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// A build without -ldflags, like the test binary or the action's image
// built by the runner, reports the release version from the VERSION file
// and says which values it could not learn.
func TestVersionPrintsVersionCommitDateAndToolchain(t *testing.T) {
	data, err := os.ReadFile("../buildinfo/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(data))
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, Env{Stdout: &out, Stderr: &out}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	re := regexp.MustCompile(`^skulk-weights (\S+)\ncommit: (\S+)\ndate:   (\S+)\ngo:     go\S+ \w+/\w+\n$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("version printed %q, want four lines matching %s", out.String(), re)
	}
	if m[1] != want {
		t.Errorf("version %q, want %q from VERSION", m[1], want)
	}
}
