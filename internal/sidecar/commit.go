package sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// Pass is what one pass of a CommitLoop planned.
type Pass struct {
	// Again asks for another pass without committing: the pass changed the
	// sidecar (created it, raised its access) and its plan is stale.
	Again bool
	// Head is the sidecar head the plan was made against; the commit is
	// sent with it as parentCommit.
	Head string
	// Request is the commit; no Ops means the sidecar already holds
	// everything.
	Request hub.CommitRequest
}

// Outcome is how a CommitLoop ended.
type Outcome struct {
	// Commit is the commit made, or found to have landed; "" when the
	// sidecar was up to date.
	Commit string
	// UpToDate reports that nothing needed committing.
	UpToDate bool
	// Landed reports that Commit was made by an earlier pass whose answer
	// was lost, and found by a later plan that had nothing left to do.
	Landed bool
}

// CommitLoop is the commit step every sidecar publisher shares: one atomic
// commit guarded by parentCommit, planned again when the sidecar moved
// (412), never sent blindly twice. A commit the Hub never read whole
// (hub.ErrCommitNotSent) is sent again; one whose answer was lost
// (hub.ErrCommitOutcomeUnknown) is settled by the next plan, which reads
// the head again and finds either nothing left to do (it landed) or the
// same work (it did not, and parentCommit makes the resend safe).
type CommitLoop struct {
	Dest *hub.Client
	Repo string
	// MaxReplans bounds the passes a failed commit may cause.
	MaxReplans int
	Logf       Logf
	// Plan reads the sidecar and plans the commit, once a pass; pass
	// counts from 0 and lost reports that an earlier commit's answer was
	// lost.
	Plan func(ctx context.Context, pass int, lost bool) (Pass, error)
	// NameHead makes the line logged on a 412 name the head the plan was
	// made against.
	NameHead bool
	// Lost, when set, is called when a commit's answer was lost, before
	// the next pass plans again.
	Lost func()
	// Refuse, when set, picks out commit errors that are final even when
	// the Hub did not read the commit (a file that changed while it was
	// sent): its answer is returned, never retried.
	Refuse func(err error) error
	// Describe explains a commit error that is not retried; DescribeWrite
	// when nil.
	Describe func(err error) error
	// Check verifies the sidecar at a commit the loop made.
	Check func(ctx context.Context, commit string) error
}

// Run plans and commits until the sidecar holds the plan.
func (l *CommitLoop) Run(ctx context.Context) (Outcome, error) {
	lost := false
	for attempt := 0; ; attempt++ {
		p, err := l.Plan(ctx, attempt, lost)
		if err != nil {
			return Outcome{}, err
		}
		if p.Again {
			continue
		}
		if len(p.Request.Ops) == 0 {
			if lost {
				return Outcome{Commit: p.Head, Landed: true}, nil
			}
			return Outcome{UpToDate: true}, nil
		}
		req := p.Request
		req.ParentCommit = p.Head
		info, err := l.Dest.Commit(ctx, l.Repo, "main", req)
		if err == nil {
			return Outcome{Commit: info.OID}, nil
		}
		if ctx.Err() != nil {
			return Outcome{}, ctx.Err()
		}
		switch {
		case errors.Is(err, hub.ErrPreconditionFailed) && attempt < l.MaxReplans:
			if l.NameHead {
				l.Logf.printf("%s moved since the plan (%s); planning again", l.Repo, short(p.Head))
			} else {
				l.Logf.printf("%s moved since the plan; planning again", l.Repo)
			}
			continue
		case errors.Is(err, hub.ErrCommitNotSent) && l.refuse(err) == nil && attempt < l.MaxReplans:
			// The Hub never read the whole commit: nothing landed, and the
			// next pass sends it again (reading the files again).
			l.Logf.printf("the commit was not sent whole (%s); nothing landed, trying again", l.Dest.Redact(err.Error()))
			continue
		case errors.Is(err, hub.ErrCommitOutcomeUnknown) && attempt < l.MaxReplans:
			// parentCommit makes a resend safe: if the commit landed, the
			// head moved and the next plan shows it.
			l.Logf.printf("lost the answer to the commit (%s); reading the head to see whether it landed", l.Dest.Redact(err.Error()))
			lost = true
			if l.Lost != nil {
				l.Lost()
			}
			continue
		}
		if r := l.refuse(err); r != nil {
			return Outcome{}, fmt.Errorf("committing to %s: %w", l.Repo, r)
		}
		if l.Describe != nil {
			return Outcome{}, fmt.Errorf("committing to %s: %w", l.Repo, l.Describe(err))
		}
		return Outcome{}, fmt.Errorf("committing to %s: %w", l.Repo, DescribeWrite(err, l.Repo))
	}
}

func (l *CommitLoop) refuse(err error) error {
	if l.Refuse == nil {
		return nil
	}
	return l.Refuse(err)
}

// Verify checks the commit out made, after it lands; an up-to-date sidecar
// needs no check.
func (l *CommitLoop) Verify(ctx context.Context, out Outcome) error {
	if out.Commit == "" || out.UpToDate {
		return nil
	}
	l.Logf.printf("committed %s@%s; verifying", l.Repo, short(out.Commit))
	return l.Check(ctx, out.Commit)
}

// VerifyTree lists repo at commit and reports the problems check finds in
// its files, by path.
func VerifyTree(ctx context.Context, cl *hub.Client, repo, commit string, check func(got map[string]hub.TreeEntry) []string) error {
	tree, err := cl.ListTree(ctx, repo, commit)
	if err != nil {
		return fmt.Errorf("verifying %s@%s: %w", repo, short(commit), err)
	}
	got := map[string]hub.TreeEntry{}
	for _, t := range tree {
		got[t.Path] = t
	}
	if bad := check(got); len(bad) > 0 {
		return fmt.Errorf("verification of %s@%s failed: %s", repo, short(commit), strings.Join(bad, "; "))
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
