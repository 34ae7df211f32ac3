package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// Steps as the plan names them.
const (
	mtpStep           = "extract the MTP head (mtp.* tensors, else model.layers.{num_hidden_layers}.* when config.json has num_nextn_predict_layers > 0) by ranged reads, every tensor converted to BF16"
	visionExtractStep = "extract the selected tensors by ranged reads + configs (no conversion)"
)

// extractOptions are the extract options of an entry's artifact.
func extractOptions(e *catalog.Entry, kind string, client *hub.Client, opts *publishOptions, env Env, progressW io.Writer) (extract.Options, error) {
	o := extract.Options{Entry: e,
		Source: client, Dest: client, TargetModel: e.SourceModel, CatalogKey: e.ID(),
		Jobs: opts.Jobs, MaxBytes: int64(opts.MaxBytes), Scratch: opts.Scratch, Progress: progressW, Terminal: isTerminal(env.Stderr), ToolVersion: version,
	}
	switch kind {
	case extract.KindMTP:
		o.SourceRepo, o.SidecarRepo = e.MTPSourceRepo, e.MTPSidecarRepo
		o.Selection = extract.Selection{Kind: extract.KindMTP}
	default:
		o.SourceRepo, o.SidecarRepo, o.SourceRevision = e.VisionSourceRepo, e.VisionSidecarRepo, e.VisionSourceRevision
		o.Selection = extract.Selection{Kind: extract.KindVision, Prefixes: e.VisionSourceTensors}
		o.Configs = e.VisionSourceConfigs
	}
	disabled, slug, err := sidecar.ParseCollection(env.Getenv("SKULK_WEIGHTS_COLLECTION"))
	if err != nil {
		return o, err
	}
	o.CollectionDisabled, o.CollectionSlug = disabled, slug
	return o, nil
}

// planExtraction reads the source's index and headers (no token needed for
// a public source; a token in the environment is used when there is one)
// and fills the artifact's plan. A dry run that cannot reach the Hub says
// so and carries on: the rest of the plan needs no network.
func planExtraction(ctx context.Context, e *catalog.Entry, kind string, opts *publishOptions, env Env) (*extract.Plan, error) {
	client, _, err := hub.FromEnv(env.Getenv, hub.WithUserAgent("skulk-weights/"+version), hub.WithRetryPolicy(hub.RetryPolicy{MaxRetries: 1, MinWait: 100 * time.Millisecond, MaxWait: time.Second, MaxServerWait: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	o, err := extractOptions(e, kind, client, opts, env, io.Discard)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	p, err := extract.MakePlan(ctx, o)
	if err != nil {
		return nil, errors.New(client.Redact(err.Error()))
	}
	return p, nil
}

// printExtractPlan writes the lines a dry run shows for an extraction.
func printExtractPlan(w io.Writer, name string, p *extract.Plan, err error) {
	if err != nil {
		fmt.Fprintf(w, "%s plan: not read from the Hub: %v\n", name, err)
		return
	}
	fmt.Fprintf(w, "%s source commit: %s\n", name, p.SourceSHA)
	fmt.Fprintf(w, "%s sidecar now: %s\n", name, extractSidecarNow(p))
	fmt.Fprintf(w, "%s selection: %s (%s)\n", name, p.Selection, p.Resolved)
	scales := ""
	if p.Scales > 0 {
		scales = fmt.Sprintf(" + %d scales consumed", p.Scales)
	}
	fmt.Fprintf(w, "%s tensors: %d%s, %s parameters\n", name, p.Tensors, scales, thousands(p.Params))
	fmt.Fprintf(w, "%s bytes to read: %s of tensor data (%s selected, read %s) + %s of index and headers\n", name,
		progress.HumanBytes(p.ReadBytes), progress.HumanBytes(p.SelectedBytes), map[bool]string{true: "once, spooled to --scratch", false: "twice: hash, then upload"}[p.ReadBytes == p.SelectedBytes], progress.HumanBytes(p.HeaderBytes))
	fmt.Fprintf(w, "%s shards: %d of %d (%s of %s): %s\n", name, len(p.Shards), p.CheckpointShards, progress.HumanBytes(p.ShardBytes), progress.HumanBytes(p.CheckpointBytes), strings.Join(p.Shards, ", "))
	for _, f := range p.Files {
		fmt.Fprintf(w, "%s output: %s (%s)\n", name, f.Path, progress.HumanBytes(f.Size))
	}
}

// extractSidecarNow says what a dry run saw of an extraction's sidecar. A
// plan without a token cannot tell a private sidecar from a missing one:
// the Hub answers both alike.
func extractSidecarNow(p *extract.Plan) string {
	switch {
	case p.SidecarHidden:
		return "not visible without a token: it does not exist yet, or it is private"
	case p.SidecarHead == "":
		return "does not exist yet: it would be created"
	}
	s := "at " + p.SidecarHead
	if p.SidecarAccess != nil {
		s += ", " + p.SidecarAccess.String()
	}
	if p.UpToDate {
		s += ", already holding this extraction: nothing would be read or committed"
	}
	return s
}

func thousands(n int64) string { return progress.Thousands(n) }

// publishExtract runs one extraction. It returns ok when the run may go on
// to the next artifact; otherwise exit is the command's exit code.
func publishExtract(ctx context.Context, cat *catalog.Catalog, e *catalog.Entry, kind string, opts *publishOptions, out *publishOutput, env Env) (exit int, ok bool) {
	name := map[string]string{extract.KindMTP: "mtp", extract.KindVision: "vision"}[kind]
	art := out.artifact(name)
	client, stderr, err := publishClient(opts, env, extract.ErrNoToken)
	if err != nil {
		return out.failArtifact(name, "no_token", err.Error()), false
	}
	o, err := extractOptions(e, kind, client, opts, env, stderr)
	if err != nil {
		return out.fail("invalid_environment", ExitFailure, err.Error()), false
	}
	// Every source's repo ids, so no sidecar is written that another entry
	// also names, even if validation missed it.
	o.Claims = cat.Claims()
	res, err := extract.Publish(ctx, o)
	if res != nil {
		art.Extraction = res
		art.published(res.UpToDate)
		printExtractResult(out.text, o, res)
	}
	if err != nil {
		return out.failPublish(ctx, art, client, name, e.ID(), err), false
	}
	return ExitOK, true
}

// printExtractResult writes the human summary of an extraction.
func printExtractResult(w io.Writer, o extract.Options, r *extract.Result) {
	if r.UpToDate {
		fmt.Fprintf(w, "%s already holds this extraction of %s\n", o.SidecarRepo, o.SourceRepo)
	}
	fmt.Fprintf(w, "sidecar:      %s\n", o.SidecarRepo)
	if p := r.Plan; p != nil {
		fmt.Fprintf(w, "source:       %s@%s\n", p.SourceRepo, p.SourceSHA)
		fmt.Fprintf(w, "tensors:      %d (%s parameters) from %d of %d shards\n", p.Tensors, thousands(p.Params), len(p.Shards), p.CheckpointShards)
		fmt.Fprintf(w, "shards:       %s touched of the checkpoint\n", progress.HumanBytes(p.ShardBytes))
		for _, f := range p.Files {
			fmt.Fprintf(w, "file:         %s %s sha256 %s\n", f.Path, progress.HumanBytes(f.Size), f.SHA256)
		}
	}
	if r.Commit != "" {
		fmt.Fprintf(w, "commit:       %s\n", r.Commit)
	} else {
		fmt.Fprintf(w, "commit:       none (nothing changed)\n")
	}
	fmt.Fprintf(w, "bytes read:   %s (%d)\n", progress.HumanBytes(r.BytesRead), r.BytesRead)
	fmt.Fprintf(w, "bytes written: %s (%d)\n", progress.HumanBytes(r.BytesWritten), r.BytesWritten)
	fmt.Fprintf(w, "pruned:       %d\n", len(r.Pruned))
	fmt.Fprintf(w, "time:         %s\n", r.Duration.Round(time.Millisecond))
	if r.Collection != "" {
		fmt.Fprintf(w, "collection:   %s\n", r.Collection)
	} else {
		fmt.Fprintf(w, "collection:   disabled\n")
	}
}
