// Package cli owns the skulk-weights command line: the commands, their flags,
// help texts and exit codes. It reaches the process only through Env, so every
// command runs the same way from main, from tests and from the GitHub Action.
package cli

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes shared by every command.
const (
	ExitOK      = 0 // the command did what was asked
	ExitFailure = 1 // the command ran and failed
	ExitUsage   = 2 // the command line itself was wrong
)

// releaseVersion is the version of this source tree, bumped with each
// release. It is what a build made without -ldflags reports, such as the
// action's image built by the runner from a tagged checkout, so published
// model cards name a real version.
//
//go:embed VERSION
var releaseVersion string

// version overrides releaseVersion when set at build time with
// -ldflags "-X ...internal/cli.version=v1.2.3"; empty means "use the
// release version".
var version string

func init() {
	if version == "" {
		version = strings.TrimSpace(releaseVersion)
	}
}

// Env is everything a command may take from its process: standard streams,
// environment variables and the working directory.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Dir is the working directory; relative paths on the command line are
	// resolved against it. Empty means the process's own.
	Dir string
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	dir, _ := os.Getwd()
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Dir: dir}
}

// command is one subcommand of skulk-weights.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, env Env) int
}

// commands lists every subcommand; each lives in a file named after it.
var commands = map[string]command{
	"catalog": {"validate, list and show catalog entries", runCatalog},
	"publish": {"publish an entry's artifacts to the Hugging Face Hub", runPublish},
	"devhub":  {"serve a local Hugging Face Hub for tests and offline use", runDevhub},
	"demo":    {"run the whole vision-sidecar flow against an in-process local hub", runDemo},
	"action":  {"run as the GitHub Action (reads the runner's environment)", runAction},
	"version": {"print the version", runVersion},
}

// Run executes the command line args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if len(args) == 0 {
		printUsage(env.Stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		printUsage(env.Stdout)
		return ExitOK
	case "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "skulk-weights: unknown command %q\n\n", name)
		printUsage(env.Stderr)
		return ExitUsage
	}
	return cmd.run(ctx, args[1:], env)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: skulk-weights <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'skulk-weights <command> --help' for a command's flags.")
}

// parseFlags parses args with fs and maps the outcome to an exit code:
// done is true when the caller should return code right away. The help text
// is printed once: on stdout for --help, on stderr after a flag error.
func parseFlags(fs *flag.FlagSet, args []string, env Env) (done bool, code int) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(env.Stderr)
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case err == nil:
		return false, ExitOK
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(env.Stdout)
		fs.Usage()
		return true, ExitOK
	default:
		fs.Usage()
		return true, ExitUsage
	}
}

func runVersion(_ context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: skulk-weights version")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Print the version of this build (also: skulk-weights --version).")
	}
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights version: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "skulk-weights %s\n", version)
	return ExitOK
}
