package buildinfo

import (
	"os"
	"reflect"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified, at string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: at},
			{Key: "vcs.modified", Value: modified},
		}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name  string
		stamp stamp
		bi    *debug.BuildInfo
		want  Info
	}{
		{
			name:  "release build: the stamp wins over everything the toolchain recorded",
			stamp: stamp{"v1.2.3", rev, "2026-12-01T10:00:00Z"},
			bi:    &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("ffff", "true", "2000-01-01T00:00:00Z")},
			want:  Info{Version: "v1.2.3", Commit: rev, Date: "2026-12-01T10:00:00Z"},
		},
		{
			name: "go install @v1.2.3: the module version, no VCS",
			bi:   &debug.BuildInfo{Main: debug.Module{Path: "github.com/Foxlight-Foundation/skulk-weights", Version: "v1.2.3"}},
			want: Info{Version: "v1.2.3", Commit: Unknown, Date: Unknown},
		},
		{
			name: "go build in a checkout with changes: devel version falls back to the file, revision marked dirty",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true", "2026-11-30T08:00:00Z")},
			want: Info{Version: "v0.1.0", Commit: rev + "-dirty", Date: "2026-11-30T08:00:00Z"},
		},
		{
			name: "clean checkout",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false", "2026-11-30T08:00:00Z")},
			want: Info{Version: "v0.1.0", Commit: rev, Date: "2026-11-30T08:00:00Z"},
		},
		{
			name: "Dockerfile build: no stamp, no VCS, no module version",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "v0.1.0", Commit: Unknown, Date: Unknown},
		},
		{
			name: "no build info at all",
			want: Info{Version: "v0.1.0", Commit: Unknown, Date: Unknown},
		},
		{
			name:  "a partial stamp keeps the toolchain's other values",
			stamp: stamp{version: "v2.0.0"},
			bi:    &debug.BuildInfo{Settings: vcs(rev, "false", "2026-11-30T08:00:00Z")},
			want:  Info{Version: "v2.0.0", Commit: rev, Date: "2026-11-30T08:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.stamp, tt.bi, "v0.1.0\n")
			if got.Go == "" || !strings.HasPrefix(got.Go, "go") {
				t.Errorf("Go = %q, want the toolchain version and target", got.Go)
			}
			got.Go = ""
			if got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The VERSION file is what a build without any other source reports; the
// release commit rewrites it, so it must stay a plain semantic version.
func TestVersionFileIsASemanticVersion(t *testing.T) {
	data, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\n?$`).Match(data) {
		t.Fatalf("VERSION holds %q, want a semantic version such as v1.2.3", data)
	}
	if got := strings.TrimSpace(string(data)); got != strings.TrimSpace(releaseVersion) {
		t.Fatalf("embedded %q, file %q", releaseVersion, got)
	}
}

// The -X flags name this package by Package; a moved or renamed package
// would make every release build silently unstamped.
func TestPackageIsThisPackage(t *testing.T) {
	if got := reflect.TypeOf(Info{}).PkgPath(); got != Package {
		t.Errorf("Package = %q, but this package is %q", Package, got)
	}
	flags := LDFlags("v1.2.3", "abc", "2026-12-01T10:00:00Z")
	for _, want := range []string{Package + ".version=v1.2.3", Package + ".commit=abc", Package + ".date=2026-12-01T10:00:00Z", "-s -w"} {
		if !strings.Contains(flags, want) {
			t.Errorf("LDFlags = %q, want it to hold %q", flags, want)
		}
	}
}
