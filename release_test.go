package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo"
)

// TestReleaseBuildFlagsAgree keeps the three builds of the binary on one
// go build line: the Dockerfile's (uses: ./ and local docker builds),
// GoReleaser's (release archives, and the binaries the action's image is
// made of) and scripts/image's, which calls buildinfo.GoBuildFlags itself.
// A drift would ship an image whose binary differs from the released one.
func TestReleaseBuildFlagsAgree(t *testing.T) {
	t.Run("Dockerfile", func(t *testing.T) {
		data, err := os.ReadFile("Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		// The RUN instruction that builds, continuation lines joined.
		joined := strings.ReplaceAll(string(data), "\\\n", " ")
		var run string
		for _, l := range strings.Split(joined, "\n") {
			if strings.HasPrefix(l, "RUN ") && strings.Contains(l, " go build ") {
				run = strings.Join(strings.Fields(l), " ")
			}
		}
		if run == "" {
			t.Fatal("Dockerfile: no RUN line with go build")
		}
		flags := buildinfo.GoBuildFlags("${VERSION}", "${COMMIT}", "${DATE}")
		want := "RUN " + strings.Join(buildinfo.GoBuildEnv, " ") + " GOOS=linux go build " +
			flags[0] + " " + flags[1] + ` "` + flags[2] + `" -o /skulk-weights .`
		if len(flags) != 3 || run != want {
			t.Errorf("Dockerfile builds with\n%s\nwant\n%s", run, want)
		}
		for _, arg := range []string{"VERSION", "COMMIT", "DATE"} {
			if !regexp.MustCompile(`(?m)^ARG ` + arg + `=$`).MatchString(joined) {
				t.Errorf("Dockerfile: no empty ARG %s, so the binary would not fall back on its build info", arg)
			}
		}
	})

	t.Run(".goreleaser.yaml", func(t *testing.T) {
		data, err := os.ReadFile(".goreleaser.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Builds []struct {
				Main    string   `yaml:"main"`
				Env     []string `yaml:"env"`
				Goos    []string `yaml:"goos"`
				Goarch  []string `yaml:"goarch"`
				Flags   []string `yaml:"flags"`
				LDFlags []string `yaml:"ldflags"`
			} `yaml:"builds"`
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Builds) != 1 {
			t.Fatalf(".goreleaser.yaml has %d builds, want 1", len(cfg.Builds))
		}
		b := cfg.Builds[0]
		if b.Main != "." {
			t.Errorf("main %q, want .", b.Main)
		}
		if !slices.Equal(b.Env, buildinfo.GoBuildEnv) {
			t.Errorf("env %q, want %q", b.Env, buildinfo.GoBuildEnv)
		}
		got := append(append([]string(nil), b.Flags...), "-ldflags", strings.Join(b.LDFlags, " "))
		want := buildinfo.GoBuildFlags("v{{ .Version }}", "{{ .FullCommit }}", "{{ .CommitDate }}")
		if !slices.Equal(got, want) {
			t.Errorf("go build %q\nwant     %q", got, want)
		}
		// The image is made of the released linux binaries.
		for _, p := range []struct {
			list []string
			want string
		}{
			{b.Goos, "linux"}, {b.Goos, "darwin"}, {b.Goarch, "amd64"}, {b.Goarch, "arm64"},
		} {
			if !slices.Contains(p.list, p.want) {
				t.Errorf("builds lack %s", p.want)
			}
		}
	})
}
