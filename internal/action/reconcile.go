package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

// entryOutcome is what a reconcile did for one entry.
type entryOutcome struct {
	Entry  *catalog.Entry
	Plan   *Plan   // dry run
	Result *Result // publish
	Err    error
	// Extracts are the entry's extracted sidecars (MTP, and vision with
	// vision_source_tensors); Plan, Result and Err are the whole-repo
	// vision mirror's.
	Extracts []extraction
}

// push reconciles after a push to the default branch and reports back on
// the merged pull request. Pushes to other branches are not publishes.
func (r *runner) push(ctx context.Context) error {
	ev := r.event
	if ev.Ref == "" || ev.After == "" {
		return errors.New("the push payload has no ref / after")
	}
	if ev.Deleted || zeroSHA(ev.After) {
		r.noticef("push deleted %s: nothing to publish", ev.Ref)
		return nil
	}
	def := ""
	if ev.Repository != nil {
		def = ev.Repository.DefaultBranch
	}
	if def == "" {
		return errors.New("the push payload has no repository.default_branch")
	}
	if ev.Ref != "refs/heads/"+def {
		r.noticef("push to %s, not the default branch %s: nothing to publish", ev.Ref, def)
		r.output("models", []string{})
		return nil
	}
	if zeroSHA(ev.Before) {
		r.infof("push created %s; reconciling every entry", ev.Ref)
	}
	return r.reconcile(ctx)
}

// reconcile brings every selected entry with a vision sidecar to its
// desired state (or, in a dry run, plans it). It carries on past a failed
// entry so one bad source does not hold back the others, and fails at the
// end if any failed.
func (r *runner) reconcile(ctx context.Context) error {
	model, artifact, dryRun := r.in.Model, r.in.Artifact, r.in.DryRun
	if r.eventName == "workflow_dispatch" {
		// The dispatch form's inputs fill in what the step did not set.
		if model == "" {
			model = r.event.dispatchInput("model")
		}
		if v := r.event.dispatchInput("artifact"); v != "" && (artifact == "" || artifact == "all") {
			artifact = v
		}
		if !r.in.dryRunSet {
			v, err := parseBool("dry-run", r.event.dispatchInput("dry-run", "dry_run"), false)
			if err != nil {
				return fmt.Errorf("workflow_dispatch %w", err)
			}
			dryRun = v
		}
	}
	if err := checkArtifact(artifact); err != nil {
		return err
	}

	c, err := r.loadCatalog()
	if err != nil {
		return err
	}
	if problems := r.annotate(c); len(problems) > 0 {
		r.summary(renderProblemsOnly(r.cfg.Version, problems))
		return fmt.Errorf("the catalog has %d problem(s); nothing was published", len(problems))
	}

	entries, err := selectEntries(c, model, artifact)
	if err != nil {
		return err
	}
	if !dryRun && r.in.HFToken == "" {
		return errors.New("hf-token is empty: set it from a secret (hf-token: ${{ secrets.HF_TOKEN }}) to publish, or set dry-run: true")
	}

	token := r.in.HFToken
	m := r.cfg.NewMirror(MirrorConfig{Endpoint: r.in.HFEndpoint, Token: token, Collection: r.in.Collection, Version: r.cfg.Version, Log: r.log(), HubOptions: r.cfg.HubOptions, Claims: c.Claims()})
	x := r.cfg.NewExtractor(MirrorConfig{Endpoint: r.in.HFEndpoint, Token: token, Collection: r.in.Collection, Version: r.cfg.Version, Log: r.log(), HubOptions: r.cfg.HubOptions, Claims: c.Claims()})
	var outcomes []entryOutcome
	for _, e := range entries {
		o := entryOutcome{Entry: e, Extracts: extractions(e, artifact)}
		r.runExtractions(ctx, x, e, o.Extracts, dryRun)
		if !mirrors(e, artifact) {
			outcomes = append(outcomes, o)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if err := ownerCheck(e, r.in.Collection); err != nil {
			o.Err = err
		} else if dryRun {
			r.infof("%s: planning %s -> %s", e.ID(), e.VisionSourceRepo, e.VisionSidecarRepo)
			o.Plan, o.Err = m.Plan(ctx, e)
		} else {
			r.infof("%s: publishing %s -> %s", e.ID(), e.VisionSourceRepo, e.VisionSidecarRepo)
			o.Result, o.Err = m.Publish(ctx, e)
		}
		switch {
		case o.Err != nil:
			r.entryError(e, "vision_sidecar_repo", o.Err)
		case o.Result != nil && o.Result.UpToDate:
			r.infof("%s: up to date", e.ID())
		case o.Result != nil:
			r.infof("%s: committed %s (%d copied, %d pruned)", e.ID(), shortSHA(o.Result.Commit), o.Result.Copied, o.Result.Pruned)
		}
		if err := ctx.Err(); err != nil {
			outcomes = append(outcomes, o)
			break
		}
		outcomes = append(outcomes, o)
	}

	view := runView{Event: r.eventName, DryRun: dryRun, Version: r.cfg.Version, SHA: r.cfg.Getenv("GITHUB_SHA"), Model: model, Outcomes: outcomes}
	r.summary(renderRunSummary(view))
	r.writeOutputs(actedOn(view), runResult(view))

	if r.eventName == "push" && r.in.Comment && !dryRun {
		r.commentOnMergedPR(ctx, view)
	}
	return nil
}

// selectEntries picks the entries a run acts on: the one the model input
// names, or every entry with a vision (or, unless artifact is vision, MTP)
// sidecar from the repository's own catalog files. The built-in catalog travels inside the binary and is
// loaded next to every config, but it is not the repository's: its
// entries are published only when model names one, never by "all", and a
// file of the same path in the repository changes nothing about that.
func selectEntries(c *catalog.Catalog, model, artifact string) ([]*catalog.Entry, error) {
	wanted := func(e *catalog.Entry) bool {
		switch artifact {
		case "mtp":
			return e.HasMTP()
		case "vision":
			return e.HasVision()
		}
		return e.HasVision() || e.HasMTP()
	}
	if model == "" || model == "all" {
		var out []*catalog.Entry
		for _, e := range c.Entries {
			if wanted(e) && !e.Source.Builtin() {
				out = append(out, e)
			}
		}
		return out, nil
	}
	e, err := c.Lookup(model)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", model, err)
	}
	switch {
	case artifact == "mtp" && !e.HasMTP():
		return nil, fmt.Errorf("no MTP sidecar configured for %s; add mtp_source_repo and mtp_sidecar_repo to the catalog entry", e.ID())
	case !wanted(e):
		return nil, fmt.Errorf("no vision sidecar configured for %s; add vision_source_repo and vision_sidecar_repo to the catalog entry", e.ID())
	}
	return []*catalog.Entry{e}, nil
}

// commentOnMergedPR reports a publish on the pull request the pushed commit
// came from. Not finding one (a direct push) is normal.
func (r *runner) commentOnMergedPR(ctx context.Context, view runView) {
	sha := r.event.After
	prs, err := r.gh.PullRequestsForCommit(ctx, r.owner, r.repo, sha)
	if err != nil {
		r.warningf("could not find the pull request of %s: %v", shortSHA(sha), err)
		return
	}
	number := 0
	for _, p := range prs {
		if p.Merged && strings.EqualFold(p.MergeCommitSHA, sha) {
			number = p.Number
			break
		}
		if number == 0 && p.Merged {
			number = p.Number
		}
	}
	if number == 0 {
		r.infof("no merged pull request contains %s; no comment", shortSHA(sha))
		return
	}
	// One comment per selection, so the legs of a matrix that each publish
	// one entry do not overwrite each other's report.
	marker := publishMarker
	if view.Model != "" && view.Model != "all" {
		marker = strings.TrimSuffix(publishMarker, " -->") + " " + mdSafe(view.Model) + " -->"
	}
	body := fitComment(r.scrub(marker+"\n"+renderRunSummary(view)), maxCommentBytes, r.summaryWhole())
	login := resolveLogin(ctx, r.gh, r.in.CommentLogin)
	outcome, url, err := upsertComment(ctx, r.gh, r.owner, r.repo, number, login, marker, body)
	if err != nil {
		r.warningf("%s", commentError(err, number, false, r.summaryWhole()))
		return
	}
	r.infof("publish comment on #%d %s: %s", number, outcome, url)
}
