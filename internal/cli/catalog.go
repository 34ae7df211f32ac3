package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

const catalogAbout = `
Check and browse the catalog: the built-in catalog plus the sources an
operator config (skulk-weights.yaml) adds, or one file given with --manifest.
Without --config, skulk-weights.yaml is looked for in the current directory,
then in its parents up to the root of the git repository.
`

// catalogListSchema is the schema id of catalog list --json.
const catalogListSchema = "skulk-weights/catalog-list/v1"

var catalogValidateCmd = &command{
	name:    "catalog validate",
	summary: "check every catalog rule and print each problem",
	about: `
Check every catalog rule across all sources. Each problem prints on stdout as
FILE:LINE:COL: <key>: message, sorted; a summary goes to stderr. Warnings
(unknown fields, unconventional sidecar names, legacy config spellings) do
not fail validation unless --strict is given.
Exit status: 0 valid, 1 invalid, 2 bad command line.
`,
	setup: func(fs *flag.FlagSet) runner {
		var cf catalogFlags
		cf.register(fs, true)
		return func(_ context.Context, pos []string, env Env) int {
			if len(pos) > 0 {
				return unexpectedArg(env, "catalog validate", pos[0])
			}
			return catalogValidate(&cf, env)
		}
	},
}

var catalogListCmd = &command{
	name:    "catalog list",
	summary: "list catalog entries",
	about: `
List catalog entries on stdout: key, tier, slices and the artifacts each
entry configures. Catalog problems print on stderr; errors make the exit
status 1 (the list still prints). --json prints one JSON document instead
(schema skulk-weights/catalog-list/v1): every entry's fields and artifacts,
and the catalog's problems.
`,
	values: map[string][]string{"tier": {"smoke", "moe", "all"}},
	schema: catalogListSchema,
	setup: func(fs *flag.FlagSet) runner {
		var cf catalogFlags
		tier := fs.String("tier", "all", "show only entries of this `TIER`: smoke, moe or all")
		asJSON := fs.Bool("json", false, "print the entries as one JSON document on stdout")
		cf.register(fs, true)
		return func(_ context.Context, pos []string, env Env) int {
			if len(pos) > 0 {
				return unexpectedArg(env, "catalog list", pos[0])
			}
			if *tier != "all" && *tier != "smoke" && *tier != "moe" {
				schema := ""
				if *asJSON {
					schema = catalogListSchema
				}
				return usageErr(env, "catalog list", schema, fmt.Sprintf("--tier must be smoke, moe or all, not %q", *tier))
			}
			return catalogList(&cf, *tier, *asJSON, env)
		}
	},
}

var catalogShowCmd = &command{
	name:    "catalog show",
	args:    "KEY",
	summary: "print one entry and where it is defined",
	about: `
Print one catalog entry, every field it sets, and where it is defined.
KEY is the effective key, <namespace>/<key> (a bare key works when only one
source has it).
`,
	setup: func(fs *flag.FlagSet) runner {
		var cf catalogFlags
		cf.register(fs, true)
		return func(_ context.Context, pos []string, env Env) int {
			if len(pos) != 1 {
				return usageErr(env, "catalog show", "", "exactly one KEY is required")
			}
			return catalogShow(&cf, pos[0], env)
		}
	},
}

// catalogFlags are the flags that choose which catalogs a command loads.
type catalogFlags struct {
	config, manifest string
	strict           bool
}

func (f *catalogFlags) register(fs *flag.FlagSet, strict bool) {
	fs.StringVar(&f.config, "config", "", "operator config `FILE` adding catalog sources (default: skulk-weights.yaml here or in a parent, up to the git root)")
	fs.StringVar(&f.manifest, "manifest", "", "load this single catalog `FILE` alone, without namespace (excludes --config)")
	if strict {
		fs.BoolVar(&f.strict, "strict", false, "treat warnings as errors")
	}
}

// errConfigAndManifest is the usage error of giving both catalog flags.
var errConfigAndManifest = errors.New("--config and --manifest are mutually exclusive")

// load reads the catalogs, saying on stderr which operator config it read.
// It returns a nil catalog, the exit code and the error when loading failed
// outright; the caller reports the error.
func (f *catalogFlags) load(env Env) (*catalog.Catalog, int, error) {
	if f.config != "" && f.manifest != "" {
		return nil, ExitUsage, errConfigAndManifest
	}
	opts := catalog.Options{Config: f.config, Manifest: f.manifest, Dir: env.Dir, Strict: f.strict}
	if opts.Config == "" && opts.Manifest == "" {
		opts.Config = catalog.FindConfig(dirOf(env))
	}
	if opts.Config != "" {
		fmt.Fprintf(env.Stderr, "using config %s\n", opts.Config)
	}
	c, err := catalog.Load(opts)
	if err != nil {
		if errors.Is(err, catalog.ErrConfigAndManifest) {
			return nil, ExitUsage, err
		}
		return nil, ExitFailure, err
	}
	return c, ExitOK, nil
}

// loadOrReport is load for the command cmd, which prints errors as text.
func (f *catalogFlags) loadOrReport(env Env, cmd string) (*catalog.Catalog, int) {
	c, code, err := f.load(env)
	switch {
	case code == ExitUsage:
		return nil, usageErr(env, cmd, "", err.Error())
	case err != nil:
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
	}
	return c, code
}

// validateHint is the command that prints the full report of the catalogs
// these flags load.
func (f *catalogFlags) validateHint() string {
	switch {
	case f.manifest != "":
		return "skulk-weights catalog validate --manifest " + shellQuote(f.manifest)
	case f.config != "":
		return "skulk-weights catalog validate --config " + shellQuote(f.config)
	}
	return "skulk-weights catalog validate"
}

// shellQuote quotes s for a POSIX shell when it needs it, in double quotes
// since hints are themselves quoted in single ones.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+,") == "" {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s) + `"`
}

func dirOf(env Env) string {
	if env.Dir != "" {
		return env.Dir
	}
	return "."
}

// reportProblems prints the catalog's problems to w and says whether any
// of them fails the run.
func reportProblems(w io.Writer, c *catalog.Catalog, strict bool) (failed bool) {
	for _, p := range c.Problems {
		fmt.Fprintln(w, p)
	}
	return len(c.Errors(strict)) > 0
}

func catalogValidate(cf *catalogFlags, env Env) int {
	c, code := cf.loadOrReport(env, "catalog validate")
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

// listedEntry is one entry of catalog list --json.
type listedEntry struct {
	ID                   string   `json:"id"`
	Namespace            string   `json:"namespace,omitempty"`
	Key                  string   `json:"key"`
	DefinedAt            string   `json:"defined_at"`
	Tier                 string   `json:"tier"`
	Slices               []string `json:"slices"`
	Artifacts            []string `json:"artifacts"`
	SourceModel          string   `json:"source_model"`
	Quant                string   `json:"quant"`
	OutputName           string   `json:"output_name"`
	HFRepo               string   `json:"hf_repo"`
	HFCollection         string   `json:"hf_collection,omitempty"`
	CollectionInherited  bool     `json:"hf_collection_inherited,omitempty"`
	MTPSourceRepo        string   `json:"mtp_source_repo,omitempty"`
	MTPSidecarRepo       string   `json:"mtp_sidecar_repo,omitempty"`
	AssistantModelRepo   string   `json:"assistant_model_repo,omitempty"`
	VisionSourceRepo     string   `json:"vision_source_repo,omitempty"`
	VisionSidecarRepo    string   `json:"vision_sidecar_repo,omitempty"`
	VisionSourceRevision string   `json:"vision_source_revision,omitempty"`
	VisionSourceTensors  []string `json:"vision_source_tensors,omitempty"`
	VisionSourceConfigs  []string `json:"vision_source_configs,omitempty"`
}

// listedProblem is one catalog problem in a JSON document.
type listedProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Key     string `json:"key,omitempty"`
	Warning bool   `json:"warning"`
	Message string `json:"message"`
}

func catalogList(cf *catalogFlags, tier string, asJSON bool, env Env) int {
	c, code, err := cf.load(env)
	if err != nil {
		schema := ""
		if asJSON {
			schema = catalogListSchema
		}
		if code == ExitUsage {
			return usageErr(env, "catalog list", schema, err.Error())
		}
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		if asJSON {
			writeJSONError(env.Stdout, catalogListSchema, &cliError{Code: "catalog_unreadable", Message: err.Error(), ExitCode: code})
		}
		return code
	}
	failed := reportProblems(env.Stderr, c, cf.strict)
	code = ExitOK
	if failed {
		code = ExitFailure
	}
	var entries []*catalog.Entry
	for _, e := range c.Entries {
		if tier == "all" || e.Tier == tier {
			entries = append(entries, e)
		}
	}
	if asJSON {
		doc := struct {
			Schema   string          `json:"schema"`
			Valid    bool            `json:"valid"`
			Entries  []listedEntry   `json:"entries"`
			Problems []listedProblem `json:"problems"`
		}{Schema: catalogListSchema, Valid: !failed, Entries: []listedEntry{}, Problems: []listedProblem{}}
		for _, e := range entries {
			ns := ""
			if e.Source != nil {
				ns = e.Source.Namespace
			}
			doc.Entries = append(doc.Entries, listedEntry{
				ID: e.ID(), Namespace: ns, Key: e.Key, DefinedAt: e.Pos.String(), Tier: e.Tier, Slices: e.Slices,
				Artifacts: artifacts(e), SourceModel: e.SourceModel, Quant: e.Quant, OutputName: e.OutputName,
				HFRepo: e.HFRepo, HFCollection: e.HFCollection, CollectionInherited: e.InheritsCollection(),
				MTPSourceRepo: e.MTPSourceRepo, MTPSidecarRepo: e.MTPSidecarRepo, AssistantModelRepo: e.AssistantModelRepo,
				VisionSourceRepo: e.VisionSourceRepo, VisionSidecarRepo: e.VisionSidecarRepo, VisionSourceRevision: e.VisionSourceRevision,
				VisionSourceTensors: e.VisionSourceTensors, VisionSourceConfigs: e.VisionSourceConfigs,
			})
		}
		for _, p := range c.Problems {
			doc.Problems = append(doc.Problems, listedProblem{File: p.Pos.File, Line: p.Pos.Line, Col: p.Pos.Col, Key: p.Key, Warning: p.Warning, Message: p.Message})
		}
		writeJSON(env.Stdout, doc)
		return code
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTIER\tSLICES\tARTIFACTS")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID(), e.Tier, strings.Join(e.Slices, ","), strings.Join(artifacts(e), ","))
	}
	tw.Flush()
	return code
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

func catalogShow(cf *catalogFlags, key string, env Env) int {
	c, code := cf.loadOrReport(env, "catalog show")
	if c == nil {
		return code
	}
	failed := reportProblems(env.Stderr, c, cf.strict)
	e, err := c.Lookup(key)
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
	line("vision_source_tensors", strings.Join(e.VisionSourceTensors, ", "))
	line("vision_source_configs", strings.Join(e.VisionSourceConfigs, ", "))
	line("artifacts", strings.Join(artifacts(e), ", "))
	if failed {
		return ExitFailure
	}
	return ExitOK
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
