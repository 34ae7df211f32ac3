package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// Extractor is the part of the extract engine the action drives: the MTP
// sidecar, and a vision sidecar with vision_source_tensors. Plan must only
// read.
type Extractor interface {
	Plan(ctx context.Context, e *catalog.Entry, kind string) (*extract.Plan, error)
	Publish(ctx context.Context, e *catalog.Entry, kind string) (*extract.Result, error)
}

// extraction is what a run did (or would do) for one sidecar an entry cuts
// out of a checkpoint.
type extraction struct {
	Artifact string // mtp or vision
	Sidecar  string
	Plan     *extract.Plan
	Result   *extract.Result
	Err      error
}

// extractions lists the entry's extracted sidecars in the order a publish
// runs them (mtp, then vision), as the artifact input selects.
func extractions(e *catalog.Entry, artifact string) []extraction {
	var out []extraction
	all := artifact == "" || artifact == "all"
	if (all || artifact == "mtp") && e.HasMTP() {
		out = append(out, extraction{Artifact: "mtp", Sidecar: e.MTPSidecarRepo})
	}
	if (all || artifact == "vision") && e.ExtractsVision() {
		out = append(out, extraction{Artifact: "vision", Sidecar: e.VisionSidecarRepo})
	}
	return out
}

// mirrors reports whether the run mirrors e's vision sidecar whole.
func mirrors(e *catalog.Entry, artifact string) bool {
	return (artifact == "" || artifact == "all" || artifact == "vision") && e.HasVision() && !e.ExtractsVision()
}

func kindOf(artifact string) string {
	if artifact == "mtp" {
		return extract.KindMTP
	}
	return extract.KindVision
}

func fieldOf(artifact string) string {
	if artifact == "mtp" {
		return "mtp_sidecar_repo"
	}
	return "vision_sidecar_repo"
}

// runExtractions plans or publishes each of xs, reporting failures at the
// entry's sidecar field.
func (r *runner) runExtractions(ctx context.Context, x Extractor, e *catalog.Entry, xs []extraction, dryRun bool) {
	for i := range xs {
		xe := &xs[i]
		if err := sidecarOwnerCheck(e, xe.Sidecar, r.in.Collection); err != nil {
			xe.Err = err
		} else if dryRun {
			r.infof("%s: planning the %s sidecar %s", e.ID(), xe.Artifact, xe.Sidecar)
			xe.Plan, xe.Err = x.Plan(ctx, e, kindOf(xe.Artifact))
		} else {
			r.infof("%s: extracting the %s sidecar %s", e.ID(), xe.Artifact, xe.Sidecar)
			xe.Result, xe.Err = x.Publish(ctx, e, kindOf(xe.Artifact))
			if xe.Result != nil {
				xe.Plan = xe.Result.Plan
			}
		}
		switch {
		case xe.Err != nil && dryRun && unreadable(xe.Err):
			// A plan reads without a token: a private or gated source
			// cannot be read here, which the publish (with the token)
			// checks. A finding, not a failure, as for the mirror.
			r.entryWarning(e, fieldOf(xe.Artifact), xe.Err)
		case xe.Err != nil:
			r.entryError(e, fieldOf(xe.Artifact), xe.Err)
		case xe.Result != nil && xe.Result.UpToDate:
			r.infof("%s: %s sidecar up to date", e.ID(), xe.Artifact)
		case xe.Result != nil:
			r.infof("%s: %s sidecar committed %s (read %s)", e.ID(), xe.Artifact, shortSHA(xe.Result.Commit), humanBytes(xe.Result.BytesRead))
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// unreadable reports whether err says the source could not be read by a
// reader without a token (private, gated, or missing: the Hub answers
// alike).
func unreadable(err error) bool {
	return errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrGated) || errors.Is(err, hub.ErrUnauthorized)
}

// sidecarOwnerCheck is ownerCheck for any sidecar field of e.
func sidecarOwnerCheck(e *catalog.Entry, repo, collection string) error {
	c := *e
	c.VisionSidecarRepo = repo
	return ownerCheck(&c, collection)
}

// writeExtractions renders the extracted sidecars of an entry's plan or
// outcome: what is read and what is written.
func writeExtractions(b *strings.Builder, xs []extraction) {
	for _, x := range xs {
		fmt.Fprintf(b, "**%s sidecar** `hf://%s`, cut out of the checkpoint by ranged reads", x.Artifact, mdSafe(x.Sidecar))
		if x.Artifact == "mtp" {
			b.WriteString(", every tensor converted to BF16")
		}
		b.WriteString(":\n\n")
		if x.Err != nil && x.Result == nil && unreadable(x.Err) {
			fmt.Fprintf(b, "**Finding: the checkpoint cannot be read without a token,** and this plan never sends one: %s. On merge the publish reads it with the token, and creates the sidecar at least as restricted as the source.\n\n", mdSafe(x.Err.Error()))
			continue
		}
		if x.Err != nil {
			fmt.Fprintf(b, "**Failed:** %s\n\n", mdSafe(x.Err.Error()))
			continue
		}
		p := x.Plan
		if p == nil {
			if x.Result != nil && x.Result.UpToDate {
				b.WriteString("Up to date: the sidecar already holds this extraction of unchanged source files; nothing was read.\n\n")
			}
			continue
		}
		b.WriteString("| | |\n| --- | --- |\n")
		fmt.Fprintf(b, "| source | `hf://%s` at `%s` |\n", mdSafe(p.SourceRepo), mdSafe(p.SourceSHA))
		if x.Result == nil {
			// A plan: what it saw of the sidecar, without a token in a
			// pull request.
			seen := sidecarSeen{head: p.SidecarHead, hidden: p.SidecarHidden, source: p.SourceAccess}
			if p.SidecarAccess != nil {
				seen.access = *p.SidecarAccess
			}
			writeSidecarNow(b, seen)
			if p.UpToDate {
				b.WriteString("| up to date | the sidecar already holds this extraction of unchanged source files: nothing would be read or committed |\n")
			}
			writeAccessRows(b, seen)
		}
		fmt.Fprintf(b, "| selection | %s (%s) |\n", code(p.Selection), mdSafe(p.Resolved))
		scales := ""
		if p.Scales > 0 {
			scales = fmt.Sprintf(" + %d scales consumed", p.Scales)
		}
		fmt.Fprintf(b, "| tensors | %d%s, %s parameters |\n", p.Tensors, scales, thousands(p.Params))
		fmt.Fprintf(b, "| shards read | %d of %d (%s of %s): %s |\n", len(p.Shards), p.CheckpointShards, humanBytes(p.ShardBytes), humanBytes(p.CheckpointBytes), mdSafe(strings.Join(p.Shards, ", ")))
		fmt.Fprintf(b, "| bytes to read | %s of tensor data (%s selected) + %s of index and headers |\n", humanBytes(p.ReadBytes), humanBytes(p.SelectedBytes), humanBytes(p.HeaderBytes))
		for _, f := range p.Files {
			fmt.Fprintf(b, "| output | `%s`, %s |\n", mdSafe(f.Path), humanBytes(f.Size))
		}
		if res := x.Result; res != nil {
			outcome := "committed " + code(shortSHA(res.Commit))
			if res.UpToDate {
				outcome = "up to date"
			}
			fmt.Fprintf(b, "| outcome | %s; read %s, wrote %s |\n", outcome, humanBytes(res.BytesRead), humanBytes(res.BytesWritten))
		}
		b.WriteString("\n")
	}
}

func thousands(n int64) string { return progress.Thousands(n) }

// extractJSON is one extracted sidecar in the result output.
type extractJSON struct {
	Artifact    string          `json:"artifact"`
	SidecarRepo string          `json:"sidecar_repo"`
	Status      string          `json:"status"`
	Plan        *extract.Plan   `json:"plan,omitempty"`
	Result      *extract.Result `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`
}

func extractsJSON(xs []extraction) []extractJSON {
	var out []extractJSON
	for _, x := range xs {
		j := extractJSON{Artifact: x.Artifact, SidecarRepo: x.Sidecar, Plan: x.Plan, Result: x.Result}
		switch {
		case x.Err != nil:
			j.Status, j.Error = "failed", x.Err.Error()
		case x.Result != nil && x.Result.UpToDate:
			j.Status = "up-to-date"
		case x.Result != nil:
			j.Status = "published"
		case x.Plan != nil:
			j.Status = "planned"
		}
		if x.Result != nil {
			j.Plan = nil // the result holds it
		}
		out = append(out, j)
	}
	return out
}

// defaultExtractor builds the production Extractor on one Hub client.
func defaultExtractor(c MirrorConfig) Extractor {
	opts := append([]hub.Option{hub.WithUserAgent("skulk-weights/" + c.Version + " github-action")}, c.HubOptions...)
	return &hubExtractor{cfg: c, client: hub.New(c.Endpoint, c.Token, opts...)}
}

type hubExtractor struct {
	cfg    MirrorConfig
	client *hub.Client
}

func (x *hubExtractor) options(e *catalog.Entry, kind string) extract.Options {
	o := extract.Options{Source: x.client, Dest: x.client, TargetModel: e.SourceModel, CatalogKey: e.ID(),
		ToolVersion: x.cfg.Version, Progress: x.cfg.Log, Entry: e, Claims: x.cfg.Claims}
	if kind == extract.KindMTP {
		o.SourceRepo, o.SidecarRepo = e.MTPSourceRepo, e.MTPSidecarRepo
		o.Selection = extract.Selection{Kind: extract.KindMTP}
	} else {
		o.SourceRepo, o.SidecarRepo, o.SourceRevision = e.VisionSourceRepo, e.VisionSidecarRepo, e.VisionSourceRevision
		o.Selection = extract.Selection{Kind: extract.KindVision, Prefixes: e.VisionSourceTensors}
		o.Configs = e.VisionSourceConfigs
	}
	disabled, slug, err := sidecar.ParseCollection(x.cfg.Collection)
	if err == nil {
		o.CollectionDisabled, o.CollectionSlug = disabled, slug
	}
	return o
}

func (x *hubExtractor) Plan(ctx context.Context, e *catalog.Entry, kind string) (*extract.Plan, error) {
	return extract.MakePlan(ctx, x.options(e, kind))
}

func (x *hubExtractor) Publish(ctx context.Context, e *catalog.Entry, kind string) (*extract.Result, error) {
	if _, _, err := sidecar.ParseCollection(x.cfg.Collection); err != nil {
		return nil, err
	}
	return extract.Publish(ctx, x.options(e, kind))
}

// extractFailed reports whether any extraction failed.
func extractFailed(xs []extraction) bool {
	for _, x := range xs {
		if x.Err != nil {
			return true
		}
	}
	return false
}
