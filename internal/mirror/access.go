package mirror

import (
	"context"
	"errors"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
)

// A sidecar is never more reachable than its source: it is private when the
// source is, and gated at least as strictly (manual > auto > not gated).
// The two settings are separate axes on the Hub and are compared
// separately (hub.Access.Covers).
//
// A new sidecar gets the source's access before any weight reaches it: it
// is created private when the source is private, then gated with the
// source's mode, then its settings are read back from the Hub, and only
// when they cover the source's does the first upload start. An existing
// sidecar is never loosened, and never changed either: one less restricted
// than its source is refused (its owner changes its settings, or the
// catalog, on purpose), one more restricted is left as it is. The one
// exception is a sidecar that holds nothing yet but the Hub's initial
// .gitattributes: a run stopped between creating and gating it left it
// so, and raising it to the source's access loses nothing.

// ErrHiddenSource is matched by a plan's error when, read without a token,
// the source could not be seen: on the Hub a private repo and a missing one
// answer alike to such a reader.
var ErrHiddenSource = errors.New("the source cannot be read without a token")

// hiddenError is a source a reader without a token could not see. Its text
// leaves out the Hub's own 401 message, which speaks of a password to a
// reader that sent none; errors.Is still finds the Hub's error.
type hiddenError struct {
	repo, rev string
	hub       error
}

func (e *hiddenError) Error() string {
	return fmt.Sprintf("resolving %s@%s: %v: %s is private or does not exist (the Hub answers both alike without a token); if it is private, its sidecar is created private",
		e.repo, e.rev, ErrHiddenSource, e.repo)
}

func (e *hiddenError) Unwrap() []error { return []error{ErrHiddenSource, e.hub} }

// emptySidecar reports whether the sidecar holds no file but the Hub's
// initial .gitattributes.
func emptySidecar(p *Plan) bool {
	for path := range p.sidecar {
		if path != ".gitattributes" {
			return false
		}
	}
	return true
}

// checkAccess refuses an existing sidecar that holds files and is less
// restricted than its source. Nothing is written before it runs.
func checkAccess(p *Plan) error {
	if p.SidecarHead == "" || p.SidecarAccess.Covers(p.SourceAccess) || emptySidecar(p) {
		return nil
	}
	want := p.SidecarAccess.Join(p.SourceAccess)
	return &PlanError{Msg: fmt.Sprintf("refusing to publish %s: it is %s, but its source %s is %s; a sidecar must be at least as restricted as its source. "+
		"skulk-weights never changes an existing sidecar's settings: make %s %s on the Hub, or point vision_sidecar_repo at another repo. Nothing was written",
		p.SidecarRepo, p.SidecarAccess, p.SourceRepo, p.SourceAccess, p.SidecarRepo, want)}
}

// requireAccess is the last check before the first byte is uploaded: the
// sidecar, as the Hub last described it, covers the source.
func requireAccess(p *Plan) error {
	switch {
	case p.SidecarAccess.Covers(p.SourceAccess):
		return nil
	case p.SidecarHead == "":
		return fmt.Errorf("refusing to upload to %s: it cannot be read after it was created, so its access cannot be checked; nothing was written", p.SidecarRepo)
	}
	return fmt.Errorf("refusing to upload to %s: the Hub reports it %s after its settings were changed, which does not cover its source %s (%s); nothing was written",
		p.SidecarRepo, p.SidecarAccess, p.SourceRepo, p.SourceAccess)
}

// raiseAccess gives an empty sidecar (new, or left so by an interrupted
// run) the source's access: only the settings that must change are sent.
// It reports whether it changed anything; the caller then reads the
// sidecar again.
func raiseAccess(ctx context.Context, opts *Options, p *Plan, prog *progress.Reporter) (bool, error) {
	if p.SidecarHead == "" || p.SidecarAccess.Covers(p.SourceAccess) {
		return false, nil
	}
	if !emptySidecar(p) {
		return false, checkAccess(p)
	}
	want := p.SidecarAccess.Join(p.SourceAccess)
	var s hub.RepoSettings
	if want.Private != p.SidecarAccess.Private {
		s.Private = &want.Private
	}
	if want.Gate != p.SidecarAccess.Gate {
		s.Gate = &want.Gate
	}
	if err := opts.Dest.UpdateRepoSettings(ctx, p.SidecarRepo, s); err != nil {
		return false, fmt.Errorf("making %s %s like its source %s, before any weight is written: %w", p.SidecarRepo, want, p.SourceRepo, describeWrite(err, p.SidecarRepo))
	}
	prog.Logf("%s is now %s, as its source %s (it holds no file yet)", p.SidecarRepo, want, p.SourceRepo)
	return true, nil
}
