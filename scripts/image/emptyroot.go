//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/actionimage"
)

// runInEmptyRoot runs the binary extracted into root (and nothing else
// there: no /etc, no CA bundle, no libc, no shell) as .ci/static-binary.sh
// does for a fresh build: it must report meta's version, commit and date,
// validate and dry-run the built-in catalog, and fail cleanly as the action
// outside a runner.
func runInEmptyRoot(ctx context.Context, root string, meta actionimage.Meta, out io.Writer) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	if len(entries) != 1 {
		return fmt.Errorf("%s holds %d entries, want the binary alone", root, len(entries))
	}
	inRoot := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, actionimage.BinaryPath, args...)
		cmd.Path = actionimage.BinaryPath // resolved inside the root, not here
		cmd.Dir = "/"
		cmd.Env = []string{}
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		if os.Geteuid() != 0 {
			// Map ourselves to root in a new user namespace first, as
			// `unshare -r chroot` does.
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
			cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
			cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		}
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		err := cmd.Run()
		return b.String(), err
	}

	var errs []error
	expect := func(what string, args []string, ok func(string) error) string {
		got, err := inRoot(args...)
		if err == nil {
			err = ok(got)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("'skulk-weights %s' in an empty root: %w\n%s", strings.Join(args, " "), err, got))
			return got
		}
		fmt.Fprintf(out, "ok   in an empty root: skulk-weights %s (%s)\n", strings.Join(args, " "), what)
		return got
	}
	contains := func(lines ...string) func(string) error {
		return func(s string) error {
			for _, l := range lines {
				if !strings.Contains(s, l) {
					return fmt.Errorf("did not print %q", l)
				}
			}
			return nil
		}
	}
	expect("reports the labels' version, revision and date", []string{"version"}, contains(
		"skulk-weights "+meta.Version+"\n",
		"commit: "+meta.Revision+"\n",
		"date:   "+meta.Created.UTC().Format(time.RFC3339)+"\n"))
	expect("built-in catalog valid", []string{"catalog", "validate"}, func(string) error { return nil })
	list := expect("built-in catalog listed", []string{"catalog", "list"}, func(string) error { return nil })
	if key := visionEntry(list); key == "" {
		errs = append(errs, fmt.Errorf("'catalog list' printed no entry to dry-run:\n%s", list))
	} else {
		expect("offline dry run", []string{"publish", "--model", key, "--artifact", "all", "--dry-run"}, contains("dry run complete"))
	}
	got, err := inRoot("action")
	var ee *exec.ExitError
	switch {
	case err == nil:
		errs = append(errs, errors.New("'skulk-weights action' succeeded outside a runner"))
	case !errors.As(err, &ee):
		errs = append(errs, fmt.Errorf("'skulk-weights action' did not run: %w", err))
	case strings.Contains(got, "panic:"):
		errs = append(errs, fmt.Errorf("'skulk-weights action' panicked in an empty root:\n%s", got))
	default:
		fmt.Fprintln(out, "ok   in an empty root: skulk-weights action (fails cleanly outside a runner)")
	}
	return errors.Join(errs...)
}

// visionEntry returns the key of the first catalog entry with a vision
// sidecar in `catalog list` output (a header line, then one entry a line),
// else the first entry.
func visionEntry(list string) string {
	lines := strings.Split(list, "\n")
	if len(lines) < 2 {
		return ""
	}
	first := ""
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if strings.Contains(l, "vision") {
			return f[0]
		}
		if first == "" {
			first = f[0]
		}
	}
	return first
}
