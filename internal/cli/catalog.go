package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

const catalogUsage = `usage: skulk-weights catalog <subcommand> [flags]

Check and browse the catalog: the built-in catalog plus the sources an
operator config (skulk-weights.yaml) adds, or one file given with --manifest.

subcommands:
  validate            check every rule; print each problem as FILE:LINE:COL: <key>: message
  list [--tier T]     list entries (T: smoke, moe or all)
  show KEY            print one entry (KEY is <namespace>/<key>)

Run 'skulk-weights catalog <subcommand> --help' for its flags.
`

func runCatalog(_ context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, catalogUsage)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stdout, catalogUsage)
		return ExitOK
	case "validate":
		return catalogValidate(args[1:], env)
	case "list":
		return catalogList(args[1:], env)
	case "show":
		return catalogShow(args[1:], env)
	}
	fmt.Fprintf(env.Stderr, "skulk-weights catalog: unknown subcommand %q\n\n", args[0])
	fmt.Fprint(env.Stderr, catalogUsage)
	return ExitUsage
}

// catalogFlags are the flags that choose which catalogs a command loads.
type catalogFlags struct {
	config, manifest string
	strict           bool
}

func (f *catalogFlags) register(fs *flag.FlagSet, strict bool) {
	fs.StringVar(&f.config, "config", "", "operator config `FILE` adding catalog sources (default ./skulk-weights.yaml when present)")
	fs.StringVar(&f.manifest, "manifest", "", "load this single catalog `FILE` alone, without namespace (excludes --config)")
	if strict {
		fs.BoolVar(&f.strict, "strict", false, "treat warnings as errors")
	}
}

// load reads the catalogs. It returns a nil catalog and the exit code when
// loading failed outright.
func (f *catalogFlags) load(env Env) (*catalog.Catalog, int) {
	if f.config != "" && f.manifest != "" {
		fmt.Fprintln(env.Stderr, "skulk-weights: --config and --manifest are mutually exclusive")
		return nil, ExitUsage
	}
	c, err := catalog.Load(catalog.Options{Config: f.config, Manifest: f.manifest, Dir: env.Dir, Strict: f.strict})
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		if errors.Is(err, catalog.ErrConfigAndManifest) {
			return nil, ExitUsage
		}
		return nil, ExitFailure
	}
	return c, ExitOK
}

// reportProblems prints the catalog's problems to w and says whether any
// of them fails the run.
func reportProblems(w io.Writer, c *catalog.Catalog, strict bool) (failed bool) {
	for _, p := range c.Problems {
		fmt.Fprintln(w, p)
	}
	return len(c.Errors(strict)) > 0
}

// newFlagSet makes a FlagSet whose help starts with usage.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("show KEY --strict" as well as "show --strict KEY").
func parseInterspersed(fs *flag.FlagSet, args []string, env Env) (pos []string, done bool, code int) {
	for {
		if done, code := parseQuiet(fs, args, env); done {
			return nil, true, code
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, false, ExitOK
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), false, ExitOK
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseQuiet parses like parseFlags but prints the help text once: on
// stdout for --help, on stderr after a flag error.
func parseQuiet(fs *flag.FlagSet, args []string, env Env) (done bool, code int) {
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

func catalogValidate(args []string, env Env) int {
	var cf catalogFlags
	fs := newFlagSet("catalog validate", `usage: skulk-weights catalog validate [--config FILE | --manifest FILE] [--strict]

Check every catalog rule across all sources. Each problem prints on stdout as
FILE:LINE:COL: <key>: message, sorted; a summary goes to stderr. Warnings
(unknown fields, unconventional sidecar names, legacy config spellings) do
not fail validation unless --strict is given.
Exit status: 0 valid, 1 invalid, 2 bad command line.
`)
	cf.register(fs, true)
	pos, done, code := parseInterspersed(fs, args, env)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights catalog validate: unexpected argument %q\n", pos[0])
		return ExitUsage
	}
	c, code := cf.load(env)
	if c == nil {
		return code
	}
	failed := reportProblems(env.Stdout, c, cf.strict)
	errs, warns := 0, len(c.Warnings())
	for _, p := range c.Problems {
		if !p.Warning {
			errs++
		}
	}
	summary := fmt.Sprintf("%d %s, %d %s in %d %s from %d %s",
		errs, plural(errs, "error"), warns, plural(warns, "warning"),
		len(c.Entries), plural(len(c.Entries), "entry"), len(c.Sources), plural(len(c.Sources), "source"))
	if failed {
		if errs == 0 && cf.strict {
			summary += " (--strict: warnings fail)"
		}
		fmt.Fprintf(env.Stderr, "catalog invalid: %s\n", summary)
		return ExitFailure
	}
	fmt.Fprintf(env.Stderr, "catalog valid: %s\n", summary)
	return ExitOK
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	if strings.HasSuffix(word, "y") {
		return word[:len(word)-1] + "ies"
	}
	return word + "s"
}

func catalogList(args []string, env Env) int {
	var cf catalogFlags
	tier := "all"
	fs := newFlagSet("catalog list", `usage: skulk-weights catalog list [--tier smoke|moe|all] [--config FILE | --manifest FILE]

List catalog entries on stdout: key, tier, slices and the artifacts each
entry configures. Catalog problems print on stderr; errors make the exit
status 1 (the list still prints).
`)
	fs.StringVar(&tier, "tier", "all", "show only entries of this `tier`: smoke, moe or all")
	cf.register(fs, true)
	pos, done, code := parseInterspersed(fs, args, env)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights catalog list: unexpected argument %q\n", pos[0])
		return ExitUsage
	}
	if tier != "all" && tier != "smoke" && tier != "moe" {
		fmt.Fprintf(env.Stderr, "skulk-weights catalog list: --tier must be smoke, moe or all, not %q\n", tier)
		return ExitUsage
	}
	c, code := cf.load(env)
	if c == nil {
		return code
	}
	failed := reportProblems(env.Stderr, c, cf.strict)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTIER\tSLICES\tARTIFACTS")
	for _, e := range c.Entries {
		if tier != "all" && e.Tier != tier {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID(), e.Tier, strings.Join(e.Slices, ","), strings.Join(artifacts(e), ","))
	}
	tw.Flush()
	if failed {
		return ExitFailure
	}
	return ExitOK
}

// artifacts names what an entry publishes.
func artifacts(e *catalog.Entry) []string {
	out := []string{"vindex"}
	if e.HasMTP() {
		out = append(out, "mtp")
	}
	if e.AssistantModelRepo != "" {
		out = append(out, "assistant")
	}
	if e.HasVision() {
		out = append(out, "vision")
	}
	return out
}

func catalogShow(args []string, env Env) int {
	var cf catalogFlags
	fs := newFlagSet("catalog show", `usage: skulk-weights catalog show KEY [--config FILE | --manifest FILE]

Print one catalog entry, every field it sets, and where it is defined.
KEY is the effective key, <namespace>/<key> (a bare key works when only one
source has it).
`)
	cf.register(fs, true)
	pos, done, code := parseInterspersed(fs, args, env)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "skulk-weights catalog show: exactly one KEY is required")
		fs.SetOutput(env.Stderr)
		fs.Usage()
		return ExitUsage
	}
	c, code := cf.load(env)
	if c == nil {
		return code
	}
	failed := reportProblems(env.Stderr, c, cf.strict)
	e, err := c.Lookup(pos[0])
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		return ExitFailure
	}
	w := env.Stdout
	fmt.Fprintf(w, "id: %s\n", e.ID())
	fmt.Fprintf(w, "defined at: %s\n", e.Pos)
	line := func(name, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s: %s\n", name, v)
		}
	}
	line("key", e.Key)
	line("source_model", e.SourceModel)
	line("quant", e.Quant)
	line("tier", e.Tier)
	line("slices", strings.Join(e.Slices, ", "))
	line("output_name", e.OutputName)
	line("hf_repo", e.HFRepo)
	coll := e.HFCollection
	if e.InheritsCollection() {
		coll += " (inherited from the source)"
	}
	line("hf_collection", coll)
	line("mtp_source_repo", e.MTPSourceRepo)
	line("mtp_sidecar_repo", e.MTPSidecarRepo)
	line("assistant_model_repo", e.AssistantModelRepo)
	line("vision_source_repo", e.VisionSourceRepo)
	line("vision_sidecar_repo", e.VisionSidecarRepo)
	line("vision_source_revision", e.VisionSourceRevision)
	line("artifacts", strings.Join(artifacts(e), ", "))
	if failed {
		return ExitFailure
	}
	return ExitOK
}
