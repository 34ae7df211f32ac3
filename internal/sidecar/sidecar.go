// Package sidecar owns the steps every sidecar publisher shares, whatever
// makes the files (internal/mirror copies a repo, internal/extract cuts
// tensors out of a checkpoint): the license a sidecar inherits, creating it
// with its source's access and never loosening it, the commit loop (one
// parentCommit-guarded commit, planned again when the sidecar moved, a lost
// answer settled by the head) and the check after it, explaining a refused
// write, the SKULK_WEIGHTS_COLLECTION setting and filing into a collection,
// and git's blob id.
package sidecar

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// Collection titles, per artifact, as the original publisher names them.
const (
	VisionCollection = "Vision Sidecars"
	MTPCollection    = "MTP Sidecars"
)

// Logf receives progress lines; nil discards them.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

var slugRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

var collectionDisable = map[string]bool{"0": true, "false": true, "no": true, "none": true, "off": true, "disabled": true}

// ParseCollection reads a SKULK_WEIGHTS_COLLECTION value: a disabling
// value (0, false, no, none, off, disabled; trimmed, any case) turns
// filing off, an owner/slug names the collection to file into, and an
// empty value leaves slug "" meaning "the owner's collection for the
// artifact, found by title". Anything else is an error with the original's
// message.
func ParseCollection(v string) (disabled bool, slug string, err error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return false, "", nil
	case collectionDisable[strings.ToLower(v)]:
		return true, "", nil
	case slugRE.MatchString(v):
		return false, v, nil
	}
	return false, "", errors.New("SKULK_WEIGHTS_COLLECTION must look like owner/slug or be 'none'")
}

// FindLicense reads the license from the source's card (cardData, read at
// sourceSHA), falling back to targetModel's card. fallback reports the
// license did not come from the source.
func FindLicense(ctx context.Context, cl *hub.Client, sourceRepo, sourceSHA string, cardData map[string]any, targetModel string, logf Logf) (l card.License, fallback bool) {
	if l, ok := card.LicenseFrom(cardData); ok {
		l.From, l.Revision = sourceRepo, sourceSHA
		return l, false
	}
	if m := targetModel; m != "" && m != sourceRepo {
		info, err := cl.RepoInfo(ctx, m, "")
		if err == nil {
			if l, ok := card.LicenseFrom(info.CardData); ok {
				l.From, l.Revision = m, info.SHA
				logf.printf("%s declares no license; using %s's license %s", sourceRepo, m, l.ID)
				return l, true
			}
		}
	}
	if targetModel == "" || targetModel == sourceRepo {
		logf.printf("warning: %s declares no license", sourceRepo)
	} else {
		logf.printf("warning: neither %s nor %s declares a license", sourceRepo, targetModel)
	}
	return card.License{}, true
}

// EnsureRepo creates the sidecar as a model repo, private when its source
// is (the gate, which creation cannot set, is RaiseAccess's). An existing
// repo is left as it is.
func EnsureRepo(ctx context.Context, cl *hub.Client, repo string, private bool, logf Logf) error {
	err := cl.CreateRepo(ctx, repo, private)
	switch {
	case err == nil && private:
		logf.printf("created %s as a private repo", repo)
		return nil
	case err == nil:
		logf.printf("created %s", repo)
		return nil
	case errors.Is(err, hub.ErrConflict):
		return nil
	}
	return fmt.Errorf("creating %s: %w", repo, DescribeWrite(err, repo))
}

// DescribeWrite explains a refused write.
func DescribeWrite(err error, repo string) error {
	if errors.Is(err, hub.ErrForbidden) || errors.Is(err, hub.ErrUnauthorized) {
		owner, _, _ := strings.Cut(repo, "/")
		return fmt.Errorf("the token cannot write to %s: it needs write access to that repo (or to %s's repos): %w", repo, owner, err)
	}
	return err
}

// AccessRefusal is the message for an existing sidecar that holds files
// and is less restricted than its source; field is the catalog field that
// names the sidecar.
func AccessRefusal(sidecar string, have hub.Access, source string, src hub.Access, field string) string {
	return fmt.Sprintf("refusing to publish %s: it is %s, but its source %s is %s; a sidecar must be at least as restricted as its source. "+
		"skulk-weights never changes an existing sidecar's settings: make %s %s on the Hub, or point %s at another repo. Nothing was written",
		sidecar, have, source, src, sidecar, have.Join(src), field)
}

// RaiseAccess gives an empty sidecar (new, or left so by an interrupted
// run) its source's access, sending only the settings that must change.
func RaiseAccess(ctx context.Context, cl *hub.Client, sidecar string, have hub.Access, source string, src hub.Access, logf Logf) error {
	want := have.Join(src)
	var s hub.RepoSettings
	if want.Private != have.Private {
		s.Private = &want.Private
	}
	if want.Gate != have.Gate {
		s.Gate = &want.Gate
	}
	if err := cl.UpdateRepoSettings(ctx, sidecar, s); err != nil {
		return fmt.Errorf("making %s %s like its source %s, before any weight is written: %w", sidecar, want, source, DescribeWrite(err, sidecar))
	}
	logf.printf("%s is now %s, as its source %s (it holds no file yet)", sidecar, want, source)
	return nil
}

// FileCollection adds repo to slug, or to the owner's collection called
// title (found by title, created if missing), and returns the slug.
func FileCollection(ctx context.Context, cl *hub.Client, repo, slug, title string) (string, error) {
	owner, _, _ := strings.Cut(repo, "/")
	if slug == "" {
		cols, err := cl.ListCollections(ctx, owner)
		if err != nil {
			return "", fmt.Errorf("failed to ensure collection %s/'%s': %w", owner, title, err)
		}
		for _, col := range cols {
			if col.Title == title && (col.Owner.Name == "" || col.Owner.Name == owner) {
				slug = col.Slug
				break
			}
		}
		if slug == "" {
			col, err := cl.CreateCollection(ctx, owner, title)
			switch {
			case err == nil || (errors.Is(err, hub.ErrConflict) && col != nil && col.Slug != ""):
				slug = col.Slug
			default:
				return "", fmt.Errorf("failed to ensure collection %s/'%s': %w", owner, title, err)
			}
		}
	}
	if err := cl.AddCollectionItem(ctx, slug, "model", repo); err != nil && !errors.Is(err, hub.ErrConflict) {
		return "", fmt.Errorf("failed to add %s to collection %s: %w", repo, slug, err)
	}
	return slug, nil
}

// GitBlobID is git's object id for a blob with content b.
func GitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
