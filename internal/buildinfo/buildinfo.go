// Package buildinfo owns what a build of skulk-weights says about itself
// (its version, the commit it was built from and when that commit was made)
// and the one go build command line that release builds, the action's image
// and the Dockerfile use to stamp those values into the binary.
//
// A release build sets all three with -ldflags -X (see LDFlags). A build
// without them falls back on what the Go toolchain recorded: the module
// version for `go install ...@v1.2.3`, the VCS revision and time for a build
// inside a git checkout, and the VERSION file for a build that has neither,
// such as the runner's build of the Dockerfile from a tagged checkout.
package buildinfo

import (
	_ "embed"
	"runtime"
	"runtime/debug"
	"strings"
)

// Package is the import path whose variables LDFlags sets.
const Package = "github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo"

// Unknown is what Info holds for a value no source recorded.
const Unknown = "unknown"

// Set at build time by LDFlags; empty means "not stamped".
var (
	version string
	commit  string
	date    string
)

// releaseVersion is the version of this source tree, rewritten by each
// release commit. It is what a build with neither -ldflags nor module
// version reports, so a model card published by such a build still names a
// real version.
//
//go:embed VERSION
var releaseVersion string

// Info describes one build.
type Info struct {
	Version string // a semantic version with its leading v
	Commit  string // the full commit hash, "-dirty" appended when the tree had changes; or Unknown
	Date    string // the commit's time, RFC 3339 in UTC; or Unknown
	Go      string // the toolchain that built the binary and its target, "go1.26.8 linux/amd64"
}

// Get returns the Info of the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(stamp{version, commit, date}, bi, releaseVersion)
}

// stamp holds the values set by -ldflags.
type stamp struct{ version, commit, date string }

// resolve picks each value from the first source that has it: the -ldflags
// stamp, then the toolchain's build info (bi may be nil), then the VERSION
// file for the version and Unknown for the rest.
func resolve(s stamp, bi *debug.BuildInfo, file string) Info {
	info := Info{Version: s.version, Commit: s.commit, Date: s.date,
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		var revision, modified, at string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				revision = kv.Value
			case "vcs.modified":
				modified = kv.Value
			case "vcs.time":
				at = kv.Value
			}
		}
		if info.Commit == "" && revision != "" {
			info.Commit = revision
			if modified == "true" {
				info.Commit += "-dirty"
			}
		}
		if info.Date == "" {
			info.Date = at
		}
	}
	if info.Version == "" {
		info.Version = strings.TrimSpace(file)
	}
	if info.Commit == "" {
		info.Commit = Unknown
	}
	if info.Date == "" {
		info.Date = Unknown
	}
	return info
}

// LDFlags returns the -ldflags value of a release build: symbol tables and
// DWARF stripped (-s -w), and version, commit and date stamped into this
// package.
func LDFlags(version, commit, date string) string {
	return "-s -w" +
		" -X " + Package + ".version=" + version +
		" -X " + Package + ".commit=" + commit +
		" -X " + Package + ".date=" + date
}

// GoBuildEnv is the environment a release build adds to its own: no cgo, so
// the binary is static and runs in an empty image.
var GoBuildEnv = []string{"CGO_ENABLED=0"}

// GoBuildFlags returns the arguments after "go build" of a release build,
// without -o and the package: -trimpath keeps the builder's paths out of
// the binary, so the same commit builds the same bytes anywhere.
func GoBuildFlags(version, commit, date string) []string {
	return []string{"-trimpath", "-ldflags", LDFlags(version, commit, date)}
}
