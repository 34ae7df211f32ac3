// Package cli owns the skulk-weights command line: the commands, their flags,
// help texts and exit codes. It reaches the process only through Env, so every
// command runs the same way from main, from tests and from the GitHub Action.
//
// Every command is described once, in the commands table: its name, its
// positional arguments, the flags its setup function defines and the
// environment variables it reads. Help, the synopsis and reference in docs/cli.md and the shell
// completion scripts are all generated from that table, so they cannot
// disagree with what the commands accept.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo"
	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

// Exit codes shared by every command.
const (
	ExitOK          = 0   // the command did what was asked
	ExitFailure     = 1   // the command ran and failed
	ExitUsage       = 2   // the command line itself was wrong
	ExitInterrupted = 130 // stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it)
)

// version is the version of this build, as model cards, user agents and
// the version command report it.
var version = buildinfo.Get().Version

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

// runner runs a command once its flags are parsed; pos holds the
// positional arguments.
type runner func(ctx context.Context, pos []string, env Env) int

// command is one command or subcommand of skulk-weights.
type command struct {
	name    string // as typed after "skulk-weights": "publish", "catalog validate"
	args    string // positional arguments in the usage line: "KEY", "REPO DIR"
	summary string // one line for the command list
	about   string // the help text between the usage line and the flags
	// env names the environment variables the command reads (see envDocs).
	env []string
	// required names flags the command cannot run without.
	required []string
	// values lists the accepted values of flags that take one of a few;
	// help, the usage line and shell completion show them.
	values map[string][]string
	// schema is the schema id of the command's --json documents; a command
	// with one answers a bad command line under --json with a JSON error
	// document on stdout too.
	schema string
	// setup defines the command's flags on fs and returns the function that
	// runs it; help and completion call it only to read the flags.
	setup func(fs *flag.FlagSet) runner
	subs  []*command
}

// commands lists every command, in the order help shows them; each lives in
// a file named after it.
var commands = []*command{
	{name: "catalog", summary: "validate, list and show catalog entries", about: catalogAbout,
		subs: []*command{catalogValidateCmd, catalogListCmd, catalogShowCmd}},
	publishCmd,
	uploadCmd,
	devhubCmd,
	demoCmd,
	actionCmd,
	completionCmd,
	{name: "version", summary: "print the version, commit, commit date and Go toolchain",
		about: "Print the version of this build, the commit it was built from, that commit's date and the Go toolchain " +
			"(also: skulk-weights --version). Release builds carry all of them; a go install or a build from a checkout " +
			"reports what the Go toolchain recorded, and \"unknown\" for what it did not.",
		setup: func(*flag.FlagSet) runner { return runVersion }},
}

// helpCmd is listed with the others but handled by Run itself.
var helpCmd = &command{name: "help", args: "[COMMAND]", summary: "show help for a command",
	about: "Show the help of a command (skulk-weights help publish), or the list of commands."}

// envDocs describes every environment variable a command may read.
var envDocs = map[string]string{
	"HF_TOKEN": "Hub token; real runs need write access to the target repo. When unset, the " +
		"token file is read (HF_TOKEN_PATH, else $HF_HOME/token), as the official clients do",
	"HUGGING_FACE_HUB_TOKEN": "the legacy name of HF_TOKEN, read when HF_TOKEN is unset",
	"HF_TOKEN_PATH":          "the token file (default $HF_HOME/token)",
	"HF_HOME":                "Hugging Face's home directory (default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface)",
	"HF_ENDPOINT":            "the Hub's URL, http:// or https:// (default https://huggingface.co)",
	"SKULK_WEIGHTS_COLLECTION": "unset: the entry's hf_collection; none, off, false, no, 0 or disabled: " +
		"file into no collection; owner/slug: file into that collection instead",
	"SKULK_WEIGHTS_SCRATCH": "directory of the vindex output path (default .scratch)",
	"INPUT_*, GITHUB_*":     "the action's inputs and the runner's context (see action.yml)",
}

// tokenEnv and hubEnv are the variables every command that talks to a Hub
// reads.
var (
	tokenEnv = []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME"}
	hubEnv   = append([]string{"HF_ENDPOINT"}, tokenEnv...)
)

// Run executes the command line args (without the program name) and returns
// the process exit code. A command that fails because ctx was cancelled
// (SIGINT, SIGTERM) exits ExitInterrupted.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	code := run(ctx, args, env)
	if code == ExitFailure && ctx.Err() != nil {
		return ExitInterrupted
	}
	return code
}

func run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		printOverview(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printOverview(env.Stdout)
		return ExitOK
	case "help":
		return runHelp(args[1:], env)
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, rest, err := findCommand(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		fmt.Fprintln(env.Stderr, "Run 'skulk-weights help' for usage.")
		return ExitUsage
	}
	if cmd.setup == nil { // a group such as "catalog" without its subcommand
		if len(rest) > 0 && isHelpArg(rest[0]) {
			printHelp(env.Stdout, cmd)
			return ExitOK
		}
		printHelp(env.Stderr, cmd)
		return ExitUsage
	}
	return runCommand(ctx, cmd, rest, env)
}

func isHelpArg(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }

// findCommand finds the command args names and returns it with the rest of
// args. An unknown name is an error that suggests the nearest one.
func findCommand(args []string) (*command, []string, error) {
	list, prefix := commands, ""
	var cmd *command
	for len(args) > 0 {
		name := args[0]
		var found *command
		var names []string
		for _, c := range list {
			last := c.name[strings.LastIndex(c.name, " ")+1:]
			names = append(names, last)
			if last == name {
				found = c
			}
		}
		if found == nil {
			if cmd != nil && (strings.HasPrefix(name, "-") || cmd.setup != nil || isHelpArg(name)) {
				break
			}
			what := "command"
			if cmd != nil {
				what = "subcommand"
			}
			if cmd == nil {
				names = append(names, "help")
			}
			msg := fmt.Sprintf("unknown %s %q", what, prefix+name)
			if best, ok := catalog.Suggest(name, names); ok {
				msg += fmt.Sprintf("; did you mean %q?", prefix+best)
			}
			return nil, nil, errors.New(msg)
		}
		cmd, list, prefix, args = found, found.subs, found.name+" ", args[1:]
		if len(list) == 0 {
			break
		}
	}
	return cmd, args, nil
}

// runHelp prints the help of the command named by args, or the overview.
func runHelp(args []string, env Env) int {
	if len(args) == 0 {
		printOverview(env.Stdout)
		return ExitOK
	}
	if args[0] == "help" {
		printHelp(env.Stdout, helpCmd)
		return ExitOK
	}
	cmd, rest, err := findCommand(args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unknown subcommand %q", cmd.name+" "+rest[0])
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights help: %v\n", err)
		fmt.Fprintln(env.Stderr, "Run 'skulk-weights help' for the list of commands.")
		return ExitUsage
	}
	printHelp(env.Stdout, cmd)
	return ExitOK
}

// runCommand parses args with cmd's flags and runs it.
func runCommand(ctx context.Context, cmd *command, args []string, env Env) int {
	fs, run := cmd.flagSet()
	pos, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(env.Stdout, cmd)
		return ExitOK
	case err != nil:
		return usageError(cmd, args, env, err.Error())
	}
	for _, name := range cmd.required {
		if !isSet(fs, name) {
			return usageError(cmd, args, env, "--"+name+" is required")
		}
	}
	return run(ctx, pos, env)
}

// flagSet returns cmd's flags and the function that runs it.
func (c *command) flagSet() (*flag.FlagSet, runner) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, c.setup(fs)
}

// isSet reports whether the command line set the flag called name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// usageError reports a wrong command line in two lines, the problem and
// where help is, and exits ExitUsage. Under --json the same error is also a
// JSON document on stdout.
func usageError(cmd *command, args []string, env Env, msg string) int {
	schema := ""
	if wantsJSON(args) {
		schema = cmd.schema
	}
	return usageErr(env, cmd.name, schema, msg)
}

// usageErr is usageError for a command known by name; a non-empty schema
// also writes the JSON error document.
func usageErr(env Env, name, schema, msg string) int {
	fmt.Fprintf(env.Stderr, "skulk-weights %s: %s\n", name, msg)
	fmt.Fprintf(env.Stderr, "Run 'skulk-weights %s --help' for usage.\n", name)
	if schema != "" {
		writeJSONError(env.Stdout, schema, &cliError{Code: "usage", Message: msg, ExitCode: ExitUsage})
	}
	return ExitUsage
}

// wantsJSON reports whether a command line asks for JSON output, even one
// whose flags did not parse.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-json", "--json", "-json=true", "--json=true":
			return true
		}
	}
	return false
}

// parseArgs parses flags that may come before or after positional
// arguments ("show KEY --strict" as well as "show --strict KEY"); "--" ends
// the flags. Its errors are written for the user: they name the flag as
// typed and say what it wants.
func parseArgs(fs *flag.FlagSet, args []string) (pos []string, err error) {
	rec := recordValues(fs)
	for {
		rec.err = nil
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, describeFlagError(fs, args, rec)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// describeFlagError explains why fs failed to parse args. The flag package
// has consumed args up to and including the one that failed, so that one
// is found by position, and the reason is read from the flag set rather
// than from the package's message.
func describeFlagError(fs *flag.FlagSet, args []string, rec *valueRecorder) error {
	rest := fs.Args()
	if len(rest) > 0 && badFlagSyntax(rest[0]) {
		// The only error the flag package reports before consuming the arg.
		return fmt.Errorf("bad flag syntax: %s", rest[0])
	}
	bad := args[len(args)-len(rest)-1]
	name, value, hasValue := strings.Cut(strings.TrimLeft(bad, "-"), "=")
	switch {
	case rec.err != nil:
		return fmt.Errorf("invalid value %q for --%s: %v", rec.value, rec.name, rec.err)
	case fs.Lookup(name) == nil:
		msg := fmt.Sprintf("unknown flag --%s", name)
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if best, ok := catalog.Suggest(name, names); ok {
			msg += fmt.Sprintf("; did you mean --%s?", best)
		}
		return errors.New(msg)
	case !hasValue:
		return fmt.Errorf("--%s needs a value", name)
	}
	return fmt.Errorf("invalid value %q for --%s", value, name)
}

// badFlagSyntax reports an argument the flag package refuses as a flag
// before looking it up: ---x, -=x, --=x.
func badFlagSyntax(s string) bool {
	if len(s) < 2 || s[0] != '-' || s == "--" {
		return false
	}
	name := strings.TrimPrefix(s[1:], "-")
	return name == "" || name[0] == '-' || name[0] == '='
}

// valueRecorder remembers the last flag value that was refused, and why.
type valueRecorder struct {
	name, value string
	err         error
}

// recordValues wraps every flag of fs so a refused value is recorded with
// the reason its type gives; the flag package's own error says only
// "parse error" for numbers.
func recordValues(fs *flag.FlagSet) *valueRecorder {
	rec := &valueRecorder{}
	fs.VisitAll(func(f *flag.Flag) {
		v := &recordingValue{Value: f.Value, name: f.Name, rec: rec}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = &recordingBool{v}
			return
		}
		f.Value = v
	})
	return rec
}

type recordingValue struct {
	flag.Value
	name string
	rec  *valueRecorder
}

func (v *recordingValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil {
		v.rec.name, v.rec.value, v.rec.err = v.name, s, valueHint(v.Value, err)
	}
	return err
}

type recordingBool struct{ *recordingValue }

func (recordingBool) IsBoolFlag() bool { return true }

// valueHint turns the flag package's terse errors for its own types into
// what the flag wants; the project's own flag types already say so.
func valueHint(v flag.Value, err error) error {
	g, ok := v.(flag.Getter)
	if !ok {
		return err
	}
	switch g.Get().(type) {
	case int, int64, uint, uint64:
		return errors.New("want a whole number")
	case bool:
		return errors.New("want true or false")
	}
	return err
}

// printOverview writes the list of commands.
func printOverview(w io.Writer) {
	fmt.Fprintln(w, "usage: skulk-weights <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Publish Foxlight's model artifacts for Skulk, vision sidecars first, from a YAML")
	fmt.Fprintln(w, "catalog to the Hugging Face Hub.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range allCommands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-18s %s\n", helpCmd.name, helpCmd.summary)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit status: 0 success, 1 failure, 2 wrong command line, 130 interrupted")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'skulk-weights help <command>' for a command's flags and environment.")
}

// allCommands lists every runnable command, subcommands in place of their
// group.
func allCommands() []*command {
	var out []*command
	for _, c := range commands {
		if len(c.subs) > 0 {
			out = append(out, c.subs...)
			continue
		}
		out = append(out, c)
	}
	return out
}

// printHelp writes a command's help: usage, description, flags and the
// environment variables it reads.
func printHelp(w io.Writer, c *command) {
	if len(c.subs) > 0 {
		fmt.Fprintf(w, "usage: skulk-weights %s <subcommand> [flags]\n\n", c.name)
		fmt.Fprintln(w, strings.TrimSpace(c.about))
		fmt.Fprintln(w, "\nsubcommands:")
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-18s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'skulk-weights %s <subcommand> --help' for its flags.\n", c.name)
		return
	}
	fmt.Fprintf(w, "usage: %s\n\n", c.usageLine(100))
	fmt.Fprintln(w, strings.TrimSpace(c.about))
	if c.setup != nil {
		fs, _ := c.flagSet()
		fmt.Fprintln(w, "\nflags:")
		rows := [][2]string{}
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := c.flagArg(f, false)
			if def := defaultText(f); def != "" {
				usage += " (default " + def + ")"
			}
			rows = append(rows, [2]string{strings.TrimSpace("--" + f.Name + " " + arg), usage})
		})
		rows = append(rows, [2]string{"-h, --help", "show this help"})
		printRows(w, rows)
	}
	if len(c.env) > 0 {
		fmt.Fprintln(w, "\nenvironment:")
		var rows [][2]string
		for _, name := range c.env {
			rows = append(rows, [2]string{name, envDocs[name]})
		}
		printRows(w, rows)
	}
}

// printRows writes two columns, the second wrapped to fit 100 columns; a
// first column too wide for the others starts its text on the next line.
func printRows(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		if len(r[0]) <= 26 {
			width = max(width, len(r[0]))
		}
	}
	for _, r := range rows {
		lines := wrap(r[1], 100-width-4)
		first := r[0]
		if len(first) > width {
			fmt.Fprintf(w, "  %s\n", first)
			first = ""
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, first, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %-*s  %s\n", width, "", l)
		}
	}
}

// wrap breaks s into lines of at most width bytes at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// flagArg returns the placeholder of a flag's value ("" for a switch) and
// its usage text without the placeholder's back quotes. With choices, a
// flag that takes one of a few values shows them (a|b|c) instead.
func (c *command) flagArg(f *flag.Flag, choices bool) (arg, usage string) {
	name, usage := flag.UnquoteUsage(f)
	if isBool(f) {
		return "", usage
	}
	if vs := c.values[f.Name]; choices && len(vs) > 0 {
		return strings.Join(vs, "|"), usage
	}
	switch name {
	case "int", "uint", "int64", "uint64", "value":
		name = "N"
	case "string":
		name = "VALUE"
	case "duration":
		name = "DURATION"
	}
	return name, usage
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// defaultText is a flag's default as help shows it; "" for a zero value.
func defaultText(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return ""
	}
	return f.DefValue
}

// repeatable is implemented by flag values that may be given more than once.
type repeatable interface{ repeatable() }

// exclusiveFlags are pairs of flags a command takes one of.
var exclusiveFlags = [][2]string{{"config", "manifest"}}

// usageLine is the command's synopsis generated from its flags: required
// flags first, then the positional arguments, then every other flag in
// brackets; lines wrap at width with continuation lines indented.
func (c *command) usageLine(width int) string {
	parts := []string{"skulk-weights " + c.name}
	if c.setup == nil {
		return parts[0]
	}
	fs, _ := c.flagSet()
	item := func(f *flag.Flag) string {
		arg, _ := c.flagArg(f, true)
		s := strings.TrimSpace("--" + f.Name + " " + arg)
		if _, ok := f.Value.(repeatable); ok {
			return "[" + s + "]..."
		}
		return s
	}
	for _, name := range c.required {
		parts = append(parts, item(fs.Lookup(name)))
	}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	done := map[string]bool{}
	for _, name := range c.required {
		done[name] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if done[f.Name] {
			return
		}
		for _, pair := range exclusiveFlags {
			if f.Name == pair[0] || f.Name == pair[1] {
				if a, b := fs.Lookup(pair[0]), fs.Lookup(pair[1]); a != nil && b != nil {
					parts = append(parts, "["+item(a)+" | "+item(b)+"]")
					done[pair[0]], done[pair[1]] = true, true
					return
				}
			}
		}
		s := item(f)
		if !strings.HasPrefix(s, "[") {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	})
	indent := strings.Repeat(" ", len(parts[0])+1)
	var b strings.Builder
	line := parts[0]
	for _, p := range parts[1:] {
		if len(line)+1+len(p) > width {
			b.WriteString(line + "\n")
			line = indent + p
			continue
		}
		line += " " + p
	}
	b.WriteString(line)
	return b.String()
}

// Synopsis is the command synopsis of docs/cli.md: every command's usage line,
// then every environment variable and what reads it. It is generated from
// the same table as help; a test keeps the docs' copy equal to it.
func Synopsis() string {
	var b strings.Builder
	b.WriteString("```\n")
	for _, c := range allCommands() {
		b.WriteString(c.usageLine(100) + "\n")
	}
	b.WriteString("skulk-weights help [COMMAND]\n```\n\n")
	readers := map[string][]string{}
	for _, c := range allCommands() {
		for _, e := range c.env {
			readers[e] = append(readers[e], "`"+c.name+"`")
		}
	}
	names := sortedKeys(readers)
	b.WriteString("| variable | read by | meaning |\n| --- | --- | --- |\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, strings.Join(readers[n], ", "), envDocs[n])
	}
	return b.String()
}

// unexpectedArg reports a positional argument a command does not take.
func unexpectedArg(env Env, cmd, arg string) int {
	return usageErr(env, cmd, "", fmt.Sprintf("unexpected argument %q", arg))
}

func runVersion(_ context.Context, pos []string, env Env) int {
	if len(pos) > 0 {
		return unexpectedArg(env, "version", pos[0])
	}
	info := buildinfo.Get()
	fmt.Fprintf(env.Stdout, "skulk-weights %s\ncommit: %s\ndate:   %s\ngo:     %s\n", info.Version, info.Commit, info.Date, info.Go)
	return ExitOK
}
