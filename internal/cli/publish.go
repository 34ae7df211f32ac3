package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// publishOptions is what a publish run was asked to do, after flag checks.
type publishOptions struct {
	Model, Artifact string
	DryRun, JSON    bool
	Jobs            int
	MaxBytes        byteSize
	MaxRegularBytes byteSize
	MaxFiles        int
	// StallTimeout aborts (and retries) a transfer that moves no byte for
	// this long; 0 never does.
	StallTimeout durationFlag
	// Scratch spools extracted sidecars to disk, so their source bytes are
	// read once instead of twice.
	Scratch string
}

// Defaults for the mirror's bounds.
const (
	defaultJobs     = 4
	defaultMaxBytes = 50_000_000_000 // 50 GB
	defaultMaxFiles = 10_000
)

var publishCmd = &command{
	name:     "publish",
	summary:  "publish an entry's artifacts to the Hugging Face Hub",
	required: []string{"model"},
	about: `
Publish an entry's artifacts to the Hugging Face Hub. KEY is the catalog's
effective key, <namespace>/<key> (e.g. foxlight/kimi-k2-5-full-q4-k), not a
Hugging Face repo name.

This tool publishes sidecars. The vision sidecar is a byte-for-byte mirror
of vision_source_repo into vision_sidecar_repo or, when the entry lists
vision_source_tensors, those tensors cut out of the full checkpoint by
ranged reads. The MTP sidecar is the checkpoint's multi-token-prediction
head, cut out the same way and converted to BF16. It does not build
vindexes yet: --artifact vindex fails without --dry-run, and --artifact all
(the default) runs mtp then vision and skips what is not configured, saying
so. An extraction reads the selected bytes twice (hash, then upload) with
nothing on disk; --scratch DIR spools them there and reads them once.

--dry-run prints the plan, needs no token and writes nothing; a mirror's
plan needs no network, an extraction's also reads the source's index and
the headers of the shards it selects from, when the Hub answers. A real run
needs a token with write access to the sidecar repo. With --json, stdout
holds exactly one JSON document (schema skulk-weights/publish/v1) whatever
happens, errors included; everything else goes to stderr.
`,
	env:    append(append([]string{}, hubEnv...), "SKULK_WEIGHTS_COLLECTION", "SKULK_WEIGHTS_SCRATCH"),
	values: map[string][]string{"artifact": {"vision", "vindex", "mtp", "all"}},
	schema: publishSchema,
	setup: func(fs *flag.FlagSet) runner {
		opts := publishOptions{Artifact: "all", Jobs: defaultJobs, MaxBytes: defaultMaxBytes, MaxRegularBytes: mirror.DefaultMaxRegularBytes, MaxFiles: defaultMaxFiles, StallTimeout: durationFlag(hub.DefaultTimeouts.Stall)}
		var cf catalogFlags
		fs.StringVar(&opts.Model, "model", "", "catalog `KEY` to publish: <namespace>/<key>")
		fs.StringVar(&opts.Artifact, "artifact", "all", "`WHAT` to publish: vision, vindex, mtp or all")
		fs.BoolVar(&opts.DryRun, "dry-run", false, "print the plan; no token, no writes")
		fs.BoolVar(&opts.JSON, "json", false, "print the plan (dry run) or the result as one JSON document on stdout")
		fs.IntVar(&opts.Jobs, "jobs", defaultJobs, "files copied in parallel")
		fs.Var(&opts.MaxBytes, "max-bytes", "refuse a mirror source or an extraction's tensor selection larger than this `SIZE` (e.g. 50GB, 512MiB, 1000000)")
		fs.Var(&opts.MaxRegularBytes, "max-regular-bytes", "refuse to mirror more than this `SIZE` of regular (non-LFS) files, which one commit carries inline")
		fs.IntVar(&opts.MaxFiles, "max-files", defaultMaxFiles, "refuse to mirror more than this many files")
		fs.Var(&opts.StallTimeout, "stall-timeout", "retry a download or upload that moves no byte for this `DURATION` (0: wait forever)")
		fs.StringVar(&opts.Scratch, "scratch", "", "spool extracted sidecars to `DIR`: read the source once instead of twice")
		cf.register(fs, false)
		return func(ctx context.Context, pos []string, env Env) int {
			return runPublish(ctx, &opts, &cf, pos, env)
		}
	},
}

func runPublish(ctx context.Context, opts *publishOptions, cf *catalogFlags, pos []string, env Env) int {
	out := newPublishOutput(opts, env)
	switch {
	case len(pos) > 0:
		return out.usage(fmt.Sprintf("unexpected argument %q", pos[0]))
	case !contains([]string{"vision", "vindex", "mtp", "all"}, opts.Artifact):
		return out.usage(fmt.Sprintf("--artifact must be vision, vindex, mtp or all, not %q", opts.Artifact))
	case opts.Jobs < 1:
		return out.usage("--jobs must be at least 1")
	case opts.MaxFiles < 1:
		return out.usage("--max-files must be at least 1")
	case opts.MaxBytes < 1:
		return out.usage("--max-bytes must be at least 1 byte")
	case opts.MaxRegularBytes < 1:
		return out.usage("--max-regular-bytes must be at least 1 byte")
	case opts.StallTimeout < 0:
		return out.usage("--stall-timeout must not be negative")
	}
	// The endpoint is printed in the plan and written into the card, so a
	// malformed one, or one carrying credentials, is refused before
	// anything else.
	endpoint, err := hub.CheckEndpoint("HF_ENDPOINT", env.Getenv("HF_ENDPOINT"))
	if err != nil {
		return out.fail("invalid_environment", ExitFailure, err.Error())
	}

	cat, code, err := cf.load(env)
	if err != nil {
		if code == ExitUsage {
			return out.usage(err.Error())
		}
		return out.fail("catalog_unreadable", code, err.Error())
	}
	for _, p := range cat.Problems {
		fmt.Fprintln(env.Stderr, p)
	}
	if errs := cat.Errors(false); len(errs) > 0 {
		return out.fail("catalog_invalid", ExitFailure, fmt.Sprintf("the catalog has %d %s; run '%s' for the full report", len(errs), plural(len(errs), "error"), cf.validateHint()))
	}
	e, err := cat.Lookup(opts.Model)
	if err != nil {
		return out.fail("unknown_model", ExitFailure, err.Error())
	}
	coll, err := resolveCollections(e, env.Getenv)
	if err != nil {
		return out.fail("invalid_environment", ExitFailure, err.Error())
	}
	plan := newPlan(e, opts, coll, endpoint, env)
	if opts.DryRun {
		// An extraction's plan comes from the source's index and headers.
		if plan.MTPPlan != nil {
			x, err := planExtraction(ctx, e, extract.KindMTP, opts, env)
			plan.MTPPlan.Extraction, plan.MTPPlan.planErr = x, err
			if err != nil {
				plan.MTPPlan.PlanError = err.Error()
			}
		}
		if plan.Vision != nil && e.ExtractsVision() {
			x, err := planExtraction(ctx, e, extract.KindVision, opts, env)
			plan.Vision.Extraction, plan.Vision.planErr = x, err
			if err != nil {
				plan.Vision.PlanError = err.Error()
			}
		}
	}
	out.doc.Entry = plan.entryDoc()
	out.doc.Artifacts = plan.artifactDocs()

	if opts.DryRun {
		if opts.JSON {
			return out.finish("ok", ExitOK)
		}
		plan.print(env.Stdout)
		fmt.Fprintln(env.Stdout, "dry run complete")
		return ExitOK
	}

	switch opts.Artifact {
	case "vindex":
		return out.failArtifact("vindex", "unsupported", "this tool does not build vindexes yet; --artifact vindex is not supported (use --artifact vision)")
	case "mtp":
		if !e.HasMTP() {
			return out.failArtifact("mtp", "not_configured", fmt.Sprintf("no MTP sidecar configured for %s; add mtp_source_repo and mtp_sidecar_repo to the catalog entry", e.ID()))
		}
	case "vision":
		if !e.HasVision() {
			return out.failArtifact("vision", "not_configured", fmt.Sprintf("no vision sidecar configured for %s; add vision_source_repo and vision_sidecar_repo to the catalog entry", e.ID()))
		}
	}
	// The plan is a log of what is about to happen; the result goes to stdout.
	plan.printSummary(env.Stderr)
	for _, s := range plan.Skipped {
		fmt.Fprintf(out.text, "skipped: %s\n", s)
	}
	all := opts.Artifact == "all"
	if (all || opts.Artifact == "mtp") && e.HasMTP() {
		if exit, ok := publishExtract(ctx, cat, e, extract.KindMTP, opts, out, env); !ok {
			return exit
		}
	}
	if (all || opts.Artifact == "vision") && e.HasVision() {
		if !e.ExtractsVision() {
			return publishVision(ctx, cat, e, opts, out, env)
		}
		if exit, ok := publishExtract(ctx, cat, e, extract.KindVision, opts, out, env); !ok {
			return exit
		}
	}
	if !e.HasVision() && !e.HasMTP() {
		fmt.Fprintf(env.Stderr, "nothing to publish for %s: no configured artifact is supported by this tool yet\n", e.ID())
		return out.finish("nothing_to_do", ExitOK)
	}
	return out.finish("ok", ExitOK)
}

// publishPlan is what a publish run will do, as the dry run prints it.
type publishPlan struct {
	ModelKey    string
	Tier        string
	Artifact    string
	SourceModel string
	OutputPath  string
	TargetRepo  string // hf://owner/name
	Collection  string // vindex collection slug; "" = disabled
	Slices      []string
	Force       bool
	Vindex      string // why the vindex step does not run
	MTP         string // why the MTP step does not run
	MTPPlan     *mtpPlan
	Vision      *visionPlan
	Skipped     []string
	entry       *catalog.Entry
	endpoint    string
	visionAsked bool
}

// visionPlan is the vision step's plan; its JSON is the "plan" of the
// vision artifact in a publish document.
type visionPlan struct {
	SourceRepo     string `json:"source_repo"`
	SourceRevision string `json:"source_revision,omitempty"`
	SidecarRepo    string `json:"sidecar_repo"`
	Step           string `json:"step"`
	Collection     string `json:"collection,omitempty"` // title or slug; "" when filing is disabled
	// SidecarAccess says how restricted the sidecar will be: the source's
	// settings are read from the Hub at publish time, which a dry run does
	// not reach.
	SidecarAccess string `json:"sidecar_access"`
	// Selection and Configs are an extraction's vision_source_tensors and
	// vision_source_configs; Extraction is what a dry run read of the
	// source's index and headers, PlanError why it could not.
	Selection  []string      `json:"selection,omitempty"`
	Configs    []string      `json:"configs,omitempty"`
	Extraction *extract.Plan `json:"extraction,omitempty"`
	PlanError  string        `json:"plan_error,omitempty"`
	planErr    error
}

// sidecarAccessRule is what a dry run can say about the sidecar's access.
const sidecarAccessRule = "at least as restricted as the source (private if it is, gated at least as strictly), read from the Hub at publish time"

const (
	noVindexYet = "this tool does not build vindexes yet"
	notConfig   = "not configured for this entry"
)

func newPlan(e *catalog.Entry, opts *publishOptions, coll collections, endpoint string, env Env) *publishPlan {
	scratch := strings.TrimSpace(env.Getenv("SKULK_WEIGHTS_SCRATCH"))
	if scratch == "" {
		scratch = ".scratch"
	}
	p := &publishPlan{
		ModelKey: e.ID(), Tier: e.Tier, Artifact: opts.Artifact, SourceModel: e.SourceModel,
		OutputPath: filepath.Join(scratch, e.OutputName), TargetRepo: "hf://" + e.HFRepo,
		Collection: coll.vindex, Slices: e.Slices, entry: e, endpoint: endpoint,
	}
	all := opts.Artifact == "all"
	if all || opts.Artifact == "vindex" {
		p.Vindex = noVindexYet
		if all {
			p.Skipped = append(p.Skipped, "vindex ("+noVindexYet+")")
		}
	}
	if all || opts.Artifact == "mtp" {
		if e.HasMTP() {
			col := coll.vision
			if col == mirror.CollectionTitle {
				col = extract.MTPCollection
			}
			p.MTPPlan = &mtpPlan{SourceRepo: e.MTPSourceRepo, SidecarRepo: e.MTPSidecarRepo, Step: mtpStep, Collection: col, SidecarAccess: sidecarAccessRule}
		} else {
			p.MTP = notConfig
			if all {
				p.Skipped = append(p.Skipped, "mtp ("+p.MTP+")")
			}
		}
	}
	if all || opts.Artifact == "vision" {
		p.visionAsked = true
		if e.HasVision() {
			p.Vision = &visionPlan{
				SourceRepo: e.VisionSourceRepo, SourceRevision: e.VisionSourceRevision,
				SidecarRepo: e.VisionSidecarRepo, Step: "mirror weights + configs (no quantization)",
				Collection: coll.vision, SidecarAccess: sidecarAccessRule,
			}
			if e.ExtractsVision() {
				p.Vision.Step = visionExtractStep
				p.Vision.Selection, p.Vision.Configs = e.VisionSourceTensors, e.VisionSourceConfigs
				if p.Vision.Configs == nil {
					p.Vision.Configs = extract.DefaultConfigs
				}
			}
		} else if all {
			p.Skipped = append(p.Skipped, "vision ("+notConfig+")")
		}
	}
	return p
}

// printSummary writes the plan's summary lines in the original's order.
// For --artifact vision only the entry's own lines are printed: the vindex
// target, its scratch path and collection, its slices and the force flag
// concern other steps.
func (p *publishPlan) printSummary(w io.Writer) {
	fmt.Fprintf(w, "model key: %s\n", p.ModelKey)
	fmt.Fprintf(w, "tier: %s\n", p.Tier)
	fmt.Fprintf(w, "artifact: %s\n", p.Artifact)
	fmt.Fprintf(w, "source model: %s\n", p.SourceModel)
	if p.Artifact == "vision" {
		return
	}
	fmt.Fprintf(w, "output path: %s\n", p.OutputPath)
	fmt.Fprintf(w, "target repo: %s\n", p.TargetRepo)
	if p.Collection != "" {
		fmt.Fprintf(w, "vindex collection: %s/collections/%s\n", p.endpoint, p.Collection)
	} else {
		fmt.Fprintln(w, "collection: disabled")
	}
	fmt.Fprintf(w, "publish slices: %s\n", strings.Join(p.Slices, ","))
	fmt.Fprintf(w, "force overwrite: %d\n", boolInt(p.Force))
}

// print writes the whole dry-run plan: summary, the steps this tool skips,
// then the vision step.
func (p *publishPlan) print(w io.Writer) {
	p.printSummary(w)
	switch p.Artifact {
	case "vindex":
		fmt.Fprintf(w, "vindex step: %s\n", p.Vindex)
	case "all":
		for _, s := range p.Skipped {
			if !strings.HasPrefix(s, "vision ") {
				fmt.Fprintf(w, "skipped: %s\n", s)
			}
		}
	}
	if p.Artifact == "mtp" || p.Artifact == "all" {
		if m := p.MTPPlan; m != nil {
			fmt.Fprintf(w, "mtp source repo: hf://%s\n", m.SourceRepo)
			fmt.Fprintf(w, "mtp sidecar repo: hf://%s\n", m.SidecarRepo)
			fmt.Fprintf(w, "mtp step: %s\n", m.Step)
			if m.Collection != "" {
				fmt.Fprintf(w, "mtp collection: %s\n", m.Collection)
			}
			fmt.Fprintf(w, "mtp sidecar access: %s\n", m.SidecarAccess)
			printExtractPlan(w, "mtp", m.Extraction, m.planErr)
		} else if p.Artifact == "mtp" {
			fmt.Fprintf(w, "mtp step: %s\n", p.MTP)
		}
	}
	if !p.visionAsked {
		return
	}
	if p.Vision == nil {
		fmt.Fprintf(w, "vision step: %s\n", notConfig)
		return
	}
	fmt.Fprintf(w, "vision source repo: hf://%s\n", p.Vision.SourceRepo)
	fmt.Fprintf(w, "vision sidecar repo: hf://%s\n", p.Vision.SidecarRepo)
	fmt.Fprintf(w, "vision step: %s\n", p.Vision.Step)
	if p.Vision.SourceRevision != "" {
		fmt.Fprintf(w, "vision source revision: %s\n", p.Vision.SourceRevision)
	}
	if p.Vision.Collection != "" {
		fmt.Fprintf(w, "vision collection: %s\n", p.Vision.Collection)
	}
	fmt.Fprintf(w, "vision sidecar access: %s\n", p.Vision.SidecarAccess)
	if p.Vision.Selection != nil {
		fmt.Fprintf(w, "vision configs: %s\n", strings.Join(p.Vision.Configs, ", "))
		printExtractPlan(w, "vision", p.Vision.Extraction, p.Vision.planErr)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// collections is where a publish files its artifacts; "" means nowhere.
type collections struct {
	vindex string // the vindex collection's slug
	vision string // the sidecar's collection: a slug, or the title it is found by
}

// resolveCollections applies SKULK_WEIGHTS_COLLECTION with the mirror's own
// rules: unset or blank keeps the entry's hf_collection for the vindex and
// files the sidecar into its owner's "Vision Sidecars"; a disabling value
// turns both off; an owner/slug replaces both.
func resolveCollections(e *catalog.Entry, getenv func(string) string) (collections, error) {
	disabled, slug, err := mirror.ParseCollection(getenv("SKULK_WEIGHTS_COLLECTION"))
	switch {
	case err != nil:
		return collections{}, err
	case disabled:
		return collections{}, nil
	case slug != "":
		return collections{vindex: slug, vision: slug}, nil
	}
	return collections{vindex: e.HFCollection, vision: mirror.CollectionTitle}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// byteSize is a flag.Value for sizes: a whole number of bytes with an
// optional unit, decimal (KB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB).
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		s string
		m int64
	}{{"TB", 1e12}, {"TiB", 1 << 40}, {"GB", 1e9}, {"GiB", 1 << 30}, {"MB", 1e6}, {"MiB", 1 << 20}, {"KB", 1e3}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a size: use a whole number of bytes with an optional unit, e.g. 50GB, 512MiB or 1000000")
	}
	if n > 0 && mult > (1<<63-1)/n {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// durationFlag is a flag.Value for durations that says what it wants when
// a value does not parse: a bare number gets the same number with a unit.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		if _, nerr := strconv.ParseFloat(strings.TrimSpace(s), 64); nerr == nil {
			return fmt.Errorf("not a duration: use a unit, e.g. %ss", strings.TrimSpace(s))
		}
		return errors.New("not a duration: use a number with a unit, e.g. 60s, 2m or 1h30m")
	}
	*d = durationFlag(v)
	return nil
}
