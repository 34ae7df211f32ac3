package extract

// The sidecar steps every publishing engine shares with internal/mirror:
// license inheritance, creating the repo with its source's access, write
// errors, collection filing.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// findLicense reads the license from the source's card at the pinned sha,
// falling back to the target model's card.
func findLicense(ctx context.Context, o *Options, r *run) (card.License, bool) {
	if l, ok := card.LicenseFrom(r.info.CardData); ok {
		l.From, l.Revision = o.SourceRepo, r.src.SHA
		return l, false
	}
	if m := o.TargetModel; m != "" && m != o.SourceRepo {
		if info, err := o.Source.RepoInfo(ctx, m, ""); err == nil {
			if l, ok := card.LicenseFrom(info.CardData); ok {
				l.From, l.Revision = m, info.SHA
				r.prog.Logf("%s declares no license; using %s's license %s", o.SourceRepo, m, l.ID)
				return l, true
			}
		}
	}
	r.prog.Logf("warning: %s declares no license", o.SourceRepo)
	return card.License{}, true
}

// checkAccess refuses an existing sidecar that holds files and is less
// restricted than its source. Nothing is written before it runs.
func checkAccess(o *Options, r *run, st *sidecarState) error {
	src := hub.AccessOf(r.info)
	if st.head == "" || st.access.Covers(src) || st.empty() {
		return nil
	}
	return fmt.Errorf("refusing to publish %s: it is %s, but its source %s is %s; a sidecar must be at least as restricted as its source. "+
		"skulk-weights never changes an existing sidecar's settings: make %s %s on the Hub, or point the catalog at another repo. Nothing was written",
		o.SidecarRepo, st.access, o.SourceRepo, src, o.SidecarRepo, st.access.Join(src))
}

// ensureRepo creates the sidecar, private when its source is.
func ensureRepo(ctx context.Context, o *Options, r *run) error {
	private := hub.AccessOf(r.info).Private
	err := o.Dest.CreateRepo(ctx, o.SidecarRepo, private)
	switch {
	case err == nil:
		r.prog.Logf("created %s", o.SidecarRepo)
		return nil
	case errors.Is(err, hub.ErrConflict):
		return nil
	}
	return fmt.Errorf("creating %s: %w", o.SidecarRepo, describeWrite(err, o.SidecarRepo))
}

// raiseAccess gives an empty sidecar its source's access before any weight
// is written, and reports whether it changed anything.
func raiseAccess(ctx context.Context, o *Options, r *run, st *sidecarState) (bool, error) {
	src := hub.AccessOf(r.info)
	if st.access.Covers(src) || !st.empty() {
		return false, nil
	}
	want := st.access.Join(src)
	var s hub.RepoSettings
	if want.Private != st.access.Private {
		s.Private = &want.Private
	}
	if want.Gate != st.access.Gate {
		s.Gate = &want.Gate
	}
	if err := o.Dest.UpdateRepoSettings(ctx, o.SidecarRepo, s); err != nil {
		return false, fmt.Errorf("making %s %s like its source %s, before any weight is written: %w", o.SidecarRepo, want, o.SourceRepo, describeWrite(err, o.SidecarRepo))
	}
	r.prog.Logf("%s is now %s, as its source %s", o.SidecarRepo, want, o.SourceRepo)
	return true, nil
}

// describeWrite explains a refused write.
func describeWrite(err error, repo string) error {
	if errors.Is(err, hub.ErrForbidden) || errors.Is(err, hub.ErrUnauthorized) {
		owner, _, _ := strings.Cut(repo, "/")
		return fmt.Errorf("the token cannot write to %s: it needs write access to that repo (or to %s's repos): %w", repo, owner, err)
	}
	return err
}

// fileCollection adds the sidecar to the configured collection, or to its
// owner's collection titled for the artifact (created if missing).
func fileCollection(ctx context.Context, o *Options) (string, error) {
	owner, _, _ := strings.Cut(o.SidecarRepo, "/")
	slug, title := o.CollectionSlug, o.collectionTitle()
	if slug == "" {
		cols, err := o.Dest.ListCollections(ctx, owner)
		if err != nil {
			return "", fmt.Errorf("failed to ensure collection %s/'%s': %w", owner, title, err)
		}
		for _, c := range cols {
			if c.Title == title && (c.Owner.Name == "" || c.Owner.Name == owner) {
				slug = c.Slug
				break
			}
		}
		if slug == "" {
			c, err := o.Dest.CreateCollection(ctx, owner, title)
			if err != nil && !(errors.Is(err, hub.ErrConflict) && c != nil && c.Slug != "") {
				return "", fmt.Errorf("failed to ensure collection %s/'%s': %w", owner, title, err)
			}
			slug = c.Slug
		}
	}
	if err := o.Dest.AddCollectionItem(ctx, slug, "model", o.SidecarRepo); err != nil && !errors.Is(err, hub.ErrConflict) {
		return "", fmt.Errorf("failed to add %s to collection %s: %w", o.SidecarRepo, slug, err)
	}
	return slug, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
