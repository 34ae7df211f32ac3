package actionimage

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func digestRef(t *testing.T, repo string) name.Digest {
	t.Helper()
	ref, err := name.NewDigest(repo + "@" + testDigest)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// Pinning the repository's own action.yml changes its image line and
// nothing else.
func TestPinActionChangesOnlyTheImageLine(t *testing.T) {
	before, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	after, err := PinAction(before, digestRef(t, Repository))
	if err != nil {
		t.Fatal(err)
	}
	bl, al := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(bl) != len(al) {
		t.Fatalf("pinning changed the line count from %d to %d", len(bl), len(al))
	}
	changed := 0
	for i := range bl {
		if bl[i] == al[i] {
			continue
		}
		changed++
		want := "  image: docker://ghcr.io/foxlight-foundation/skulk-weights@" + testDigest
		if al[i] != want {
			t.Errorf("line %d became %q, want %q", i+1, al[i], want)
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want 1", changed)
	}
	// Pinning a pinned file again gives the same bytes.
	again, err := PinAction(after, digestRef(t, Repository))
	if err != nil || string(again) != string(after) {
		t.Errorf("pinning twice: %v, changed %v", err, string(again) != string(after))
	}
}

func TestPinAction(t *testing.T) {
	for _, tt := range []struct {
		name, in, repo, want, err string
	}{
		{
			name: "comment and CRLF kept",
			in:   "name: x\r\nruns:\r\n  using: docker\r\n  image: 'Dockerfile' # built per job\r\n",
			want: "name: x\r\nruns:\r\n  using: docker\r\n  image: docker://ghcr.io/foxlight-foundation/skulk-weights@" + testDigest + " # built per job\r\n",
		},
		{
			name: "flow mapping on one line",
			in:   "runs: {using: docker, image: Dockerfile}\n",
			err:  "alone on its line",
		},
		{
			name: "folded value",
			in:   "runs:\n  using: docker\n  image: >-\n    Dockerfile\n",
			err:  "alone on its line",
		},
		{name: "not a docker action", in: "runs:\n  using: node20\n  main: index.js\n", err: "not docker"},
		{name: "no image", in: "runs:\n  using: docker\n", err: "runs.image is missing"},
		{name: "no runs", in: "name: x\n", err: "no runs mapping"},
		{name: "another repository", in: "runs:\n  using: docker\n  image: Dockerfile\n", repo: "ghcr.io/someone-else/skulk-weights", err: "lives in ghcr.io/foxlight-foundation/skulk-weights"},
		{name: "not YAML", in: "runs: [\n", err: "action.yml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo := tt.repo
			if repo == "" {
				repo = Repository
			}
			got, err := PinAction([]byte(tt.in), digestRef(t, repo))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("PinAction: %v, want an error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("PinAction =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
