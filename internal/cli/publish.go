package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// publishOptions is what a publish run was asked to do, after flag checks.
type publishOptions struct {
	Model, Artifact string
	DryRun, JSON    bool
	Jobs            int
	MaxBytes        int64
	MaxFiles        int
	// StallTimeout aborts (and retries) a transfer that moves no byte for
	// this long; 0 never does.
	StallTimeout time.Duration
	// Endpoint is HF_ENDPOINT as hub.CheckEndpoint accepted it.
	Endpoint string
}

// Defaults for the mirror's bounds.
const (
	defaultJobs     = 4
	defaultMaxBytes = 50_000_000_000 // 50 GB
	defaultMaxFiles = 10_000
)

const publishUsage = `usage: skulk-weights publish --model KEY [--artifact vision|vindex|mtp|all] [--dry-run] [flags]

Publish an entry's artifacts to the Hugging Face Hub. KEY is the catalog's
effective key, <namespace>/<key> (e.g. foxlight/kimi-k2-5-full-q4-k), not a
Hugging Face repo name.

This tool publishes vision sidecars: a byte-for-byte mirror of
vision_source_repo into vision_sidecar_repo. It does not build vindexes or
MTP sidecars yet: --artifact vindex|mtp fail without --dry-run, and
--artifact all (the default) skips them, saying so.

--dry-run prints the plan and needs neither network nor HF_TOKEN. A real run
needs HF_TOKEN with write access to the sidecar repo. SKULK_WEIGHTS_COLLECTION
overrides the entry's hf_collection (owner/slug), or disables collection
filing with none, off, false, no, 0 or disabled.
`

func runPublish(ctx context.Context, args []string, env Env) int {
	opts := publishOptions{Artifact: "all", Jobs: defaultJobs, MaxBytes: defaultMaxBytes, MaxFiles: defaultMaxFiles, StallTimeout: hub.DefaultTimeouts.Stall}
	var cf catalogFlags
	maxBytes := byteSize(opts.MaxBytes)
	fs := newFlagSet("publish", publishUsage)
	fs.StringVar(&opts.Model, "model", "", "catalog `KEY` to publish: <namespace>/<key> (required)")
	fs.StringVar(&opts.Artifact, "artifact", "all", "what to publish: `vision`, vindex, mtp or all")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print the plan; no network, no token")
	fs.BoolVar(&opts.JSON, "json", false, "print the plan (dry run) or the result as JSON on stdout")
	fs.IntVar(&opts.Jobs, "jobs", defaultJobs, "files copied in parallel")
	fs.Var(&maxBytes, "max-bytes", "refuse to mirror more than this `SIZE` (e.g. 50GB, 512MiB, 1000000)")
	fs.IntVar(&opts.MaxFiles, "max-files", defaultMaxFiles, "refuse to mirror more than this many files")
	fs.DurationVar(&opts.StallTimeout, "stall-timeout", hub.DefaultTimeouts.Stall, "retry a download or upload that moves no byte for this `DURATION` (0: wait forever)")
	cf.register(fs, false)
	pos, done, code := parseInterspersed(fs, args, env)
	if done {
		return code
	}
	opts.MaxBytes = int64(maxBytes)
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "skulk-weights publish: "+format+"\n", a...)
		fmt.Fprintln(env.Stderr, "Run 'skulk-weights publish --help' for usage.")
		return ExitUsage
	}
	switch {
	case len(pos) > 0:
		return usageErr("unexpected argument %q", pos[0])
	case opts.Model == "":
		return usageErr("--model is required")
	case !contains([]string{"vision", "vindex", "mtp", "all"}, opts.Artifact):
		return usageErr("--artifact must be vision, vindex, mtp or all, not %q", opts.Artifact)
	case opts.Jobs < 1:
		return usageErr("--jobs must be at least 1")
	case opts.MaxFiles < 1:
		return usageErr("--max-files must be at least 1")
	case opts.MaxBytes < 1:
		return usageErr("--max-bytes must be at least 1 byte")
	case opts.StallTimeout < 0:
		return usageErr("--stall-timeout must not be negative")
	}

	// The endpoint is printed in the plan and written into the card, so
	// one carrying credentials is refused before anything else.
	endpoint, err := hub.CheckEndpoint("HF_ENDPOINT", env.Getenv("HF_ENDPOINT"))
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		return ExitFailure
	}
	opts.Endpoint = endpoint

	cat, code := cf.load(env)
	if cat == nil {
		return code
	}
	for _, p := range cat.Problems {
		fmt.Fprintln(env.Stderr, p)
	}
	if errs := cat.Errors(false); len(errs) > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights: the catalog has %d %s; run 'skulk-weights catalog validate' for the full report\n", len(errs), plural(len(errs), "error"))
		return ExitFailure
	}
	e, err := cat.Lookup(opts.Model)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		return ExitFailure
	}
	coll, err := resolveCollections(e, env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
		return ExitFailure
	}
	plan := newPlan(e, opts, coll, env)

	if opts.DryRun {
		if opts.JSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(plan); err != nil {
				fmt.Fprintf(env.Stderr, "skulk-weights: %v\n", err)
				return ExitFailure
			}
			return ExitOK
		}
		plan.print(env.Stdout)
		fmt.Fprintln(env.Stdout, "dry run complete")
		return ExitOK
	}

	switch opts.Artifact {
	case "vindex":
		fmt.Fprintln(env.Stderr, "skulk-weights: this tool does not build vindexes yet; --artifact vindex is not supported (use --artifact vision)")
		return ExitFailure
	case "mtp":
		fmt.Fprintln(env.Stderr, "skulk-weights: this tool does not build MTP sidecars yet; --artifact mtp is not supported (use --artifact vision)")
		return ExitFailure
	case "vision":
		if !e.HasVision() {
			fmt.Fprintf(env.Stderr, "no vision sidecar configured for %s; add vision_source_repo and vision_sidecar_repo to the catalog entry, or use --artifact vindex\n", e.ID())
			return ExitFailure
		}
	}
	// The plan is a log of what is about to happen; the result goes to stdout.
	plan.printSummary(env.Stderr)
	for _, s := range plan.Skipped {
		fmt.Fprintf(env.Stdout, "skipped: %s\n", s)
	}
	if !e.HasVision() {
		fmt.Fprintf(env.Stderr, "nothing to publish for %s: no configured artifact is supported by this tool yet\n", e.ID())
		return ExitOK
	}
	return publishVision(ctx, cat, e, opts, env)
}

// publishPlan is what a publish run will do, as the dry run prints it.
type publishPlan struct {
	ModelKey     string      `json:"model_key"`
	Tier         string      `json:"tier"`
	Artifact     string      `json:"artifact"`
	SourceModel  string      `json:"source_model"`
	OutputPath   string      `json:"output_path"`
	TargetRepo   string      `json:"target_repo"`
	Collection   string      `json:"collection,omitempty"` // vindex collection slug; "" = disabled
	Slices       []string    `json:"slices"`
	Force        bool        `json:"force"`
	Vindex       string      `json:"vindex,omitempty"`
	MTP          string      `json:"mtp,omitempty"`
	Vision       *visionPlan `json:"vision,omitempty"`
	Skipped      []string    `json:"skipped,omitempty"`
	endpoint     string
	visionAsked  bool
	visionAbsent bool
}

type visionPlan struct {
	SourceRepo     string `json:"source_repo"`
	SourceRevision string `json:"source_revision,omitempty"`
	SidecarRepo    string `json:"sidecar_repo"`
	Step           string `json:"step"`
	Collection     string `json:"collection,omitempty"` // title; "" when no collection resolved
	// SidecarAccess says how restricted the sidecar will be: the source's
	// settings are read from the Hub at publish time, which a dry run does
	// not reach.
	SidecarAccess string `json:"sidecar_access"`
}

// sidecarAccessRule is what a dry run can say about the sidecar's access.
const sidecarAccessRule = "at least as restricted as the source (private if it is, gated at least as strictly), read from the Hub at publish time"

const (
	noVindexYet = "this tool does not build vindexes yet"
	noMTPYet    = "this tool does not build MTP sidecars yet"
	notConfig   = "not configured for this entry"
)

func newPlan(e *catalog.Entry, opts publishOptions, coll collections, env Env) *publishPlan {
	scratch := strings.TrimSpace(env.Getenv("SKULK_WEIGHTS_SCRATCH"))
	if scratch == "" {
		scratch = ".scratch"
	}
	p := &publishPlan{
		ModelKey: e.ID(), Tier: e.Tier, Artifact: opts.Artifact, SourceModel: e.SourceModel,
		OutputPath: filepath.Join(scratch, e.OutputName), TargetRepo: "hf://" + e.HFRepo,
		Collection: coll.vindex, Slices: e.Slices, endpoint: opts.Endpoint,
	}
	all := opts.Artifact == "all"
	if all || opts.Artifact == "vindex" {
		p.Vindex = noVindexYet
		if all {
			p.Skipped = append(p.Skipped, "vindex ("+noVindexYet+")")
		}
	}
	if all || opts.Artifact == "mtp" {
		p.MTP = noMTPYet
		if !e.HasMTP() {
			p.MTP = notConfig
		}
		if all {
			p.Skipped = append(p.Skipped, "mtp ("+p.MTP+")")
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
		} else {
			p.visionAbsent = true
			if all {
				p.Skipped = append(p.Skipped, "vision ("+notConfig+")")
			}
		}
	}
	return p
}

// printSummary writes the plan's summary lines in the original's order.
func (p *publishPlan) printSummary(w io.Writer) {
	fmt.Fprintf(w, "model key: %s\n", p.ModelKey)
	fmt.Fprintf(w, "tier: %s\n", p.Tier)
	fmt.Fprintf(w, "artifact: %s\n", p.Artifact)
	fmt.Fprintf(w, "source model: %s\n", p.SourceModel)
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
	case "mtp":
		fmt.Fprintf(w, "mtp step: %s\n", p.MTP)
	case "all":
		for _, s := range p.Skipped {
			if !strings.HasPrefix(s, "vision ") {
				fmt.Fprintf(w, "skipped: %s\n", s)
			}
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
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
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
		return 0, fmt.Errorf("%q is not a size: use a whole number with an optional unit (50GB, 512MiB)", s)
	}
	if n > 0 && mult > (1<<63-1)/n {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
