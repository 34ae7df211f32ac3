package action

import (
	"context"
	"errors"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// entryPlan is what the plan comment says about one changed entry.
type entryPlan struct {
	Kind    catalog.ChangeKind
	ID      string
	Entry   *catalog.Entry // the head entry; the base one for Removed
	Old     *catalog.Entry
	Plan    *Plan
	PlanErr error // the Hub could not be read
	Refused error // the sidecar's owner is not allowed
	// Extracts are the entry's extracted sidecars, planned from the
	// source's index and headers.
	Extracts []extraction
}

// pullRequest plans the catalog changes of a pull request. It reads the
// Hub without any token, whatever hf-token holds, so it can never write.
func (r *runner) pullRequest(ctx context.Context) error {
	pr := r.event.PullRequest
	if pr == nil || pr.Base.SHA == "" || pr.Head.SHA == "" {
		return errors.New("the pull_request payload has no pull_request.base.sha / head.sha")
	}
	number := pr.Number
	if number == 0 {
		number = r.event.Number
	}
	if number == 0 {
		return errors.New("the pull_request payload has no pull request number")
	}
	fork := pr.Head.Repo == nil || pr.Base.Repo == nil || pr.Head.Repo.FullName != pr.Base.Repo.FullName
	r.infof("pull request #%d: %s (%s) into %s", number, pr.Head.Ref, shortSHA(pr.Head.SHA), pr.Base.Ref)

	head, err := r.loadCatalog()
	if err != nil {
		return err
	}
	problems := r.annotate(head)

	changes, sources, err := r.prChanges(ctx, number, pr.Base.SHA, head)
	if err != nil {
		// Without the diff there is no plan, but the validation above
		// still stands: report both.
		r.errorf("%v", err)
		r.summary(renderPRSummary(prView{Number: number, HeadSHA: pr.Head.SHA, Version: r.cfg.Version, Problems: problems, Catalog: head, DiffErr: err}))
		return nil
	}

	for _, sc := range sources {
		// The comment says so too; an annotation puts it on the checks page.
		switch {
		case sc.OwnerChanged():
			r.warningf("catalog source %s: hf_owner changes from %s to %s; on merge its sidecars are published under %s", sc.New.Namespace, sc.Old.HFOwner, sc.New.HFOwner, sc.New.HFOwner)
		case sc.Renamed():
			r.warningf("catalog source %s is renamed %s: every key in %s changes", sc.Old.Namespace, sc.New.Namespace, sc.New.Path)
		}
	}

	// No Token: this run reads the Hub anonymously whatever hf-token holds.
	reader := r.cfg.NewMirror(MirrorConfig{Endpoint: r.in.HFEndpoint, Collection: r.in.Collection, Version: r.cfg.Version, Log: r.log(), HubOptions: r.cfg.HubOptions, Claims: head.Claims()})
	extractor := r.cfg.NewExtractor(MirrorConfig{Endpoint: r.in.HFEndpoint, Collection: r.in.Collection, Version: r.cfg.Version, Log: r.log(), HubOptions: r.cfg.HubOptions, Claims: head.Claims()})
	var plans []entryPlan
	var models []string
	for _, ch := range changes {
		ep := entryPlan{Kind: ch.Kind, ID: ch.ID, Entry: ch.New, Old: ch.Old}
		if ch.Kind == catalog.Removed {
			ep.Entry = ch.Old
			plans = append(plans, ep)
			continue
		}
		if ep.Extracts = extractions(ch.New, "all"); len(ep.Extracts) > 0 {
			if !ch.New.HasVision() || ch.New.ExtractsVision() {
				models = append(models, ch.ID)
			}
			r.runExtractions(ctx, extractor, ch.New, ep.Extracts, true)
		}
		if ch.New.HasVision() && !ch.New.ExtractsVision() {
			models = append(models, ch.ID)
			if err := ownerCheck(ch.New, r.in.Collection); err != nil {
				ep.Refused = err
				r.entryError(ch.New, "vision_sidecar_repo", err)
			} else {
				r.infof("%s: planning %s -> %s", ch.ID, ch.New.VisionSourceRepo, ch.New.VisionSidecarRepo)
				ep.Plan, ep.PlanErr = reader.Plan(ctx, ch.New)
				var refusal *mirror.PlanError
				var collision *catalog.CollisionError
				switch {
				case errors.As(ep.PlanErr, &collision):
					// Validation already reported it where it is written.
					ep.Refused, ep.PlanErr = ep.PlanErr, nil
				case errors.As(ep.PlanErr, &refusal):
					// The Hub was read and the source is one a publish
					// would refuse: fail the check now, not on merge.
					ep.Refused, ep.PlanErr = ep.PlanErr, nil
					r.entryError(ch.New, "vision_source_repo", ep.Refused)
				case errors.Is(ep.PlanErr, mirror.ErrHiddenSource):
					// Not a pass: the comment says what could not be checked.
					r.entryWarning(ch.New, "vision_source_repo", ep.PlanErr)
				case ep.PlanErr != nil:
					r.warningf("%s: the Hub could not be read for the live plan: %v", ch.ID, ep.PlanErr)
				}
			}
		}
		plans = append(plans, ep)
	}

	view := prView{Number: number, HeadSHA: pr.Head.SHA, Version: r.cfg.Version, Problems: problems, Catalog: head, Sources: sources, Entries: plans}
	r.summary(renderPRSummary(view))
	r.writeOutputs(models, prResult(view))

	if r.in.Comment {
		body := fitComment(r.scrub(renderPRComment(view)), maxCommentBytes, r.summaryWhole())
		login := resolveLogin(ctx, r.gh, r.in.CommentLogin)
		outcome, url, err := upsertComment(ctx, r.gh, r.owner, r.repo, number, login, planMarker, body)
		if err != nil {
			// Failing to comment never fails the check: the plan is in
			// the summary, and a fork's token is read-only by design.
			r.warningf("%s", commentError(err, number, fork, r.summaryWhole()))
		} else {
			r.infof("plan comment %s: %s", outcome, url)
		}
	}
	if len(problems) > 0 {
		r.errorf("the catalog has %d problem(s); see the annotations and the job summary", len(problems))
	}
	return nil
}

// prChanges diffs the head's effective catalog (the config and every
// source it names, as loaded) against the base's, entry by entry and
// source by source.
func (r *runner) prChanges(ctx context.Context, number int, baseSHA string, head *catalog.Catalog) ([]catalog.Change, []catalog.SourceChange, error) {
	files, err := r.gh.PullRequestFiles(ctx, r.owner, r.repo, number)
	if err != nil {
		return nil, nil, err
	}
	headManifest := true
	for _, src := range head.Sources {
		headManifest = headManifest && !src.Builtin()
	}
	base, err := r.baseCatalog(ctx, files, baseSHA, headManifest && len(head.Sources) > 0)
	if err != nil {
		return nil, nil, err
	}
	return catalog.Diff(base.Entries, head.Entries), catalog.DiffSources(base.Sources, head.Sources), nil
}

// entryError reports err as an error annotation at the entry's field.
func (r *runner) entryError(e *catalog.Entry, field string, err error) {
	r.failed = true
	r.gha.WithFieldsMap(r.fieldsAt(e, field)).Errorf("%s", r.scrub(err.Error()))
}
