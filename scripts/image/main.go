// Command image builds, checks, pushes and pins the GitHub Action's
// container image (internal/actionimage); CI and the release workflow run
// it, people rarely do:
//
//	go run ./scripts/image build --out DIR [--binary linux/amd64=PATH ...]
//	go run ./scripts/image check --layout DIR [--version V --revision C --date D] [--run=false]
//	go run ./scripts/image size --layout DIR
//	go run ./scripts/image push --layout DIR [--repo R] [--tag T ...]
//	go run ./scripts/image pin-action --ref R@sha256:... [--action action.yml]
//
// Without --binary, build compiles the binaries itself with the release's
// flags (internal/buildinfo). Version, revision and date default to the
// VERSION file, HEAD and HEAD's commit time, so one commit builds one digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/Foxlight-Foundation/skulk-weights/internal/actionimage"
	"github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = "usage: image build|check|size|push|pin-action [flags] (see -h of each)"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s: %w", usage, flag.ErrHelp)
	}
	fs := flag.NewFlagSet("image "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "build":
		out := fs.String("out", "", "directory to write the OCI layout to (new or empty)")
		meta := metaFlags(fs)
		var bins binaryFlags
		fs.Var(&bins, "binary", "PLATFORM=PATH: put this binary in the PLATFORM image instead of building one (repeatable)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return fmt.Errorf("build: --out is required: %w", flag.ErrHelp)
		}
		m, err := meta.resolve(true)
		if err != nil {
			return err
		}
		return build(ctx, *out, *m, bins, stderr)
	case "check":
		layout := fs.String("layout", "", "the OCI layout directory")
		meta := metaFlags(fs)
		runIt := fs.Bool("run", true, "run the "+runtime.GOARCH+" binary in an empty root (needs root or user namespaces)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		want, err := meta.resolve(false)
		if err != nil {
			return err
		}
		return check(ctx, *layout, want, *runIt, stdout)
	case "size":
		layout := fs.String("layout", "", "the OCI layout directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		rep, err := readAndCheck(*layout, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "platform\tcompressed_bytes\tbinary_bytes")
		for _, p := range rep.Platforms {
			fmt.Fprintf(stdout, "%s\t%d\t%d\n", p.Platform, p.Compressed, p.Binary)
		}
		return nil
	case "push":
		layout := fs.String("layout", "", "the OCI layout directory")
		repo := fs.String("repo", actionimage.Repository, "repository to push to")
		var tags listFlag
		fs.Var(&tags, "tag", "also point this tag at the pushed digest (repeatable)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		rep, err := readAndCheck(*layout, nil)
		if err != nil {
			return err
		}
		r, err := name.NewRepository(*repo, name.StrictValidation)
		if err != nil {
			return err
		}
		idx, err := actionimage.ReadLayout(*layout)
		if err != nil {
			return err
		}
		ref, err := actionimage.Push(ctx, idx, r, tags, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "pushed %s (%s)\n", ref, rep.Meta.Version)
		fmt.Fprintln(stdout, ref)
		return nil
	case "pin-action":
		refFlag := fs.String("ref", "", "the pushed index, REPOSITORY@sha256:DIGEST")
		action := fs.String("action", "action.yml", "the action's metadata file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ref, err := name.NewDigest(*refFlag, name.StrictValidation)
		if err != nil {
			return fmt.Errorf("--ref: %w", err)
		}
		data, err := os.ReadFile(*action)
		if err != nil {
			return err
		}
		pinned, err := actionimage.PinAction(data, ref)
		if err != nil {
			return err
		}
		tmp := *action + ".tmp"
		if err := os.WriteFile(tmp, pinned, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, *action)
	}
	return fmt.Errorf("unknown step %q; %s: %w", args[0], usage, flag.ErrHelp)
}

// metaOptions are the flags that describe a build.
type metaOptions struct{ version, revision, date, licenses *string }

func metaFlags(fs *flag.FlagSet) metaOptions {
	return metaOptions{
		version:  fs.String("version", "", "release version (build default: internal/buildinfo/VERSION)"),
		revision: fs.String("revision", "", "full commit hash (build default: git rev-parse HEAD)"),
		date:     fs.String("date", "", "commit time, RFC 3339 (build default: HEAD's committer date)"),
		licenses: fs.String("licenses", actionimage.NoAssertion, "SPDX license expression"),
	}
}

// resolve returns the Meta the flags describe. For a build, missing values
// come from the checkout; for a check, no values means "compare with
// nothing" and some means all are needed.
func (o metaOptions) resolve(fromCheckout bool) (*actionimage.Meta, error) {
	v, r, d := *o.version, *o.revision, *o.date
	if !fromCheckout {
		if v == "" && r == "" && d == "" {
			return nil, nil
		}
		if v == "" || r == "" || d == "" {
			return nil, fmt.Errorf("check: give all of --version, --revision and --date, or none: %w", flag.ErrHelp)
		}
	}
	var err error
	if v == "" {
		data, err := os.ReadFile("internal/buildinfo/VERSION")
		if err != nil {
			return nil, fmt.Errorf("no --version and %w (run from the repository's root)", err)
		}
		v = strings.TrimSpace(string(data))
	}
	if r == "" {
		if r, err = git("rev-parse", "HEAD"); err != nil {
			return nil, err
		}
	}
	if d == "" {
		if d, err = git("show", "-s", "--format=%cI", "HEAD"); err != nil {
			return nil, err
		}
	}
	created, err := time.Parse(time.RFC3339, d)
	if err != nil {
		return nil, fmt.Errorf("--date: %w", err)
	}
	return &actionimage.Meta{Version: v, Revision: r, Licenses: *o.licenses, Created: created.UTC()}, nil
}

func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// binaryFlags collects --binary PLATFORM=PATH.
type binaryFlags []actionimage.Binary

func (b *binaryFlags) String() string { return fmt.Sprint(*b) }

func (b *binaryFlags) Set(s string) error {
	plat, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return fmt.Errorf("want PLATFORM=PATH, got %q", s)
	}
	p, err := v1.ParsePlatform(plat)
	if err != nil {
		return err
	}
	*b = append(*b, actionimage.Binary{Platform: *p, Path: path})
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// build writes the layout of meta's image to out, compiling the binaries
// unless bins names them.
func build(ctx context.Context, out string, meta actionimage.Meta, bins []actionimage.Binary, log io.Writer) error {
	if len(bins) == 0 {
		tmp, err := os.MkdirTemp("", "skulk-image-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		date := meta.Created.UTC().Format(time.RFC3339)
		for _, p := range actionimage.Platforms {
			path := filepath.Join(tmp, "skulk-weights-"+p.OS+"-"+p.Architecture)
			args := append([]string{"build"}, buildinfo.GoBuildFlags(meta.Version, meta.Revision, date)...)
			args = append(args, "-o", path, ".")
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Env = append(append(os.Environ(), buildinfo.GoBuildEnv...), "GOOS="+p.OS, "GOARCH="+p.Architecture)
			cmd.Stdout, cmd.Stderr = log, log
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("go build for %s: %w", p, err)
			}
			fmt.Fprintf(log, "built %s in %s\n", p, time.Since(start).Round(100*time.Millisecond))
			bins = append(bins, actionimage.Binary{Platform: p, Path: path})
		}
	}
	idx, err := actionimage.Build(meta, bins)
	if err != nil {
		return err
	}
	if err := actionimage.WriteLayout(out, idx, meta.Version); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s: %s (%s, %s)\n", out, d, meta.Version, meta.Revision)
	return nil
}

func readAndCheck(layout string, want *actionimage.Meta) (actionimage.Report, error) {
	if layout == "" {
		return actionimage.Report{}, fmt.Errorf("--layout is required: %w", flag.ErrHelp)
	}
	idx, err := actionimage.ReadLayout(layout)
	if err != nil {
		return actionimage.Report{}, err
	}
	rep, err := actionimage.Check(idx, want)
	if err != nil {
		return rep, fmt.Errorf("%s:\n%w", layout, err)
	}
	return rep, nil
}

// check verifies the layout and, with runIt, runs this machine's binary
// from it in an empty root directory.
func check(ctx context.Context, layout string, want *actionimage.Meta, runIt bool, stdout io.Writer) error {
	rep, err := readAndCheck(layout, want)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok   %s: OCI image index %s\n", layout, rep.Digest)
	fmt.Fprintf(stdout, "ok   version %s, revision %s, created %s, licenses %s\n",
		rep.Meta.Version, rep.Meta.Revision, rep.Meta.Created.Format(time.RFC3339), rep.Meta.Licenses)
	for _, p := range rep.Platforms {
		fmt.Fprintf(stdout, "ok   %s: %s, one layer, static binary at %s (%d bytes), %d bytes compressed\n",
			p.Platform, p.Digest, actionimage.BinaryPath, p.Binary, p.Compressed)
	}
	if !runIt {
		return nil
	}
	idx, err := actionimage.ReadLayout(layout)
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "skulk-empty-root-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	host := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if err := actionimage.Extract(idx, host, filepath.Join(root, actionimage.BinaryPath)); err != nil {
		return err
	}
	return runInEmptyRoot(ctx, root, rep.Meta, stdout)
}
