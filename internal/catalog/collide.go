package catalog

import (
	"fmt"
	"strings"
)

// repoFields are the entry fields that name a Hugging Face repo, in the
// order an entry's claims are made.
var repoFields = []string{
	fHFRepo, fSourceModel, fMTPSourceRepo, fMTPSidecarRepo,
	fAssistantModelRepo, fVisionSourceRepo, fVisionSidecarRepo,
}

// isSidecarField reports whether field names a repo a publish writes: the
// mirror commits into it, prunes what the source no longer has and replaces
// its README. Such a repo must belong to that one field of one entry.
func isSidecarField(field string) bool {
	return field == fMTPSidecarRepo || field == fVisionSidecarRepo
}

func repoValue(e *Entry, field string) string {
	switch field {
	case fHFRepo:
		return e.HFRepo
	case fSourceModel:
		return e.SourceModel
	case fMTPSourceRepo:
		return e.MTPSourceRepo
	case fMTPSidecarRepo:
		return e.MTPSidecarRepo
	case fAssistantModelRepo:
		return e.AssistantModelRepo
	case fVisionSourceRepo:
		return e.VisionSourceRepo
	case fVisionSidecarRepo:
		return e.VisionSidecarRepo
	}
	return ""
}

// RepoKey returns the form in which the Hub tells repo ids apart. The Hub
// resolves owner and name without regard to case: model_info on
// "MBZUAI/Bactrian-X" and on "mbzuai/bactrian-x" answers the same repo
// (huggingface/huggingface_hub#1453), so ids that differ only in case name
// one repo. Valid ids are ASCII, so lowering them is exact.
func RepoKey(id string) string { return strings.ToLower(id) }

// Claim is one repo id named by one field of one catalog entry.
type Claim struct {
	Repo  string // as the entry spells it
	Entry string // the entry's ID, <namespace>/<key>
	Field string // the YAML field, e.g. "hf_repo"
	Pos   Pos    // where the value is written

	src   *Source
	entry *Entry
}

// where says where the claim is written, as FILE:LINE.
func (c Claim) where() string {
	if c.Pos.Line == 0 {
		return c.Pos.File
	}
	return fmt.Sprintf("%s:%d", c.Pos.File, c.Pos.Line)
}

// Claims is every repo id the entries of a catalog name, grouped the way
// the Hub compares ids. mirror.Options carries it so that a publish can
// refuse a sidecar that another entry also names, whether or not its
// caller validated the catalog.
type Claims struct {
	claims []Claim
	// groups maps a RepoKey to the first and last of its claims; next
	// chains each claim to the following one of the same repo (-1: none).
	// A catalog of thousands of entries makes tens of thousands of claims
	// of which few collide, so groups cost one map entry, not a slice.
	groups map[string]group
	next   []int32
}

type group struct{ first, last int32 }

// NewClaims collects the repo ids entries name, in the entries' order.
// Values that are not owner/name ids are left out: they are reported by
// their own rule, and cannot name a repo.
func NewClaims(entries []*Entry) *Claims {
	cs := &Claims{groups: make(map[string]group, 2*len(entries))}
	for _, e := range entries {
		cs.claims = appendClaims(cs.claims, e)
	}
	cs.next = make([]int32, len(cs.claims))
	for i := range cs.claims {
		cs.next[i] = -1
		k := RepoKey(cs.claims[i].Repo)
		g, ok := cs.groups[k]
		if ok {
			cs.next[g.last] = int32(i)
			g.last = int32(i)
		} else {
			g = group{int32(i), int32(i)}
		}
		cs.groups[k] = g
	}
	return cs
}

// of returns the claims of the repo whose key is k, in catalog order.
func (cs *Claims) of(k string) []Claim {
	g, ok := cs.groups[k]
	if !ok {
		return nil
	}
	var out []Claim
	for i := g.first; i >= 0; i = cs.next[i] {
		out = append(out, cs.claims[i])
	}
	return out
}

// Claims returns the repo ids the catalog's entries name.
func (c *Catalog) Claims() *Claims {
	if c.claims == nil {
		c.claims = NewClaims(c.Entries)
	}
	return c.claims
}

func appendClaims(out []Claim, e *Entry) []Claim {
	id := ""
	for _, f := range repoFields {
		v := repoValue(e, f)
		if v == "" || !repoRE.MatchString(v) {
			continue
		}
		if id == "" {
			id = e.ID()
		}
		out = append(out, Claim{Repo: v, Entry: id, Field: f, Pos: e.fieldPos(f), src: e.Source, entry: e})
	}
	return out
}

// CollisionError reports a sidecar repo that something else in the catalog
// names too: another field of the same entry, or any repo field of another
// entry.
type CollisionError struct {
	Entry string // the entry whose sidecar it is
	Field string // vision_sidecar_repo or mtp_sidecar_repo
	Repo  string
	Other Claim
}

func (e *CollisionError) Error() string {
	return e.Entry + ": " + collisionMessage(e.Field, e.Repo, e.Other, e.Other.Entry == e.Entry)
}

// VisionSidecarConflict returns a *CollisionError when e's
// vision_sidecar_repo is also named by another of e's repo fields or by any
// repo field of another entry in cs, and nil otherwise. e's own fields are
// always checked, so a nil cs still catches a sidecar that is its own
// source or vindex repo.
func (cs *Claims) VisionSidecarConflict(e *Entry) error {
	return cs.sidecarConflict(e, fVisionSidecarRepo)
}

// MTPSidecarConflict is VisionSidecarConflict for e's mtp_sidecar_repo.
func (cs *Claims) MTPSidecarConflict(e *Entry) error {
	return cs.sidecarConflict(e, fMTPSidecarRepo)
}

func (cs *Claims) sidecarConflict(e *Entry, field string) error {
	repo := repoValue(e, field)
	if repo == "" {
		return nil
	}
	k := RepoKey(repo)
	var candidates []Claim
	for _, c := range appendClaims(nil, e) {
		if c.Field != field && RepoKey(c.Repo) == k {
			candidates = append(candidates, c)
		}
	}
	if cs != nil {
		// e may come from another load of the same catalog, so it is
		// recognised by its ID, not by identity.
		for _, c := range cs.of(k) {
			if c.Entry != e.ID() {
				candidates = append(candidates, c)
			}
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	// A repo the catalog reads says more about the damage than another
	// sidecar does, so it is named first.
	other := candidates[0]
	for _, c := range candidates {
		if !isSidecarField(c.Field) {
			other = c
			break
		}
	}
	return &CollisionError{Entry: e.ID(), Field: field, Repo: repo, Other: other}
}

// collisionMessage says that field's repo is also other's. same says other
// is a field of the same entry.
func collisionMessage(field, repo string, other Claim, same bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s is also ", field, clip(repo))
	var notes []string
	if same {
		fmt.Fprintf(&b, "this entry's %s", other.Field)
		if other.Pos.Line > 0 {
			notes = append(notes, fmt.Sprintf("line %d", other.Pos.Line))
		}
	} else {
		fmt.Fprintf(&b, "the %s of %s", other.Field, clip(other.Entry))
		if w := other.where(); w != "" {
			notes = append(notes, clip(w))
		}
	}
	if other.Repo != repo {
		notes = append(notes, fmt.Sprintf("spelt %s; the Hub ignores case in repo ids", clip(other.Repo)))
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	b.WriteString("; a sidecar needs a repo of its own")
	return b.String()
}

// checkCollisions reports every sidecar whose repo something else in cs
// names too, once per sidecar.
//
// A problem is reported at the sidecar field, naming the other holder: the
// sidecar is what a publish would damage or be damaged through. Two
// sidecars sharing a repo are reported at the later one, as duplicates
// are. A sidecar in an earlier source (the built-in catalog, then the
// config's sources in order) that collides with a later source's field is
// reported at that later field instead: the later file is the one its
// author can change.
func checkCollisions(cs *Claims, add func(Problem)) {
	srcIndex := map[*Source]int{}
	for _, c := range cs.claims {
		if _, ok := srcIndex[c.src]; !ok {
			srcIndex[c.src] = len(srcIndex)
		}
	}
	report := func(at, other Claim) {
		msg := collisionMessage(at.Field, at.Repo, other, at.entry == other.entry)
		add(Problem{Pos: at.Pos, Key: oneLine(clip(at.entry.Key)), Message: oneLine(msg)})
	}
	for _, g := range cs.groups {
		if g.first == g.last {
			continue
		}
		group := cs.of(RepoKey(cs.claims[g.first].Repo))
		for i, c := range group {
			if !isSidecarField(c.Field) {
				continue
			}
			var against []Claim
			var earlierSidecar *Claim
			for j := range group {
				o := group[j]
				switch {
				case j == i:
				case isSidecarField(o.Field):
					if j < i && earlierSidecar == nil {
						earlierSidecar = &group[j]
					}
				case srcIndex[o.src] > srcIndex[c.src]:
					report(o, c)
				default:
					against = append(against, o)
				}
			}
			switch {
			case len(against) > 0:
				report(c, ownFirst(against, c.entry))
			case earlierSidecar != nil:
				report(c, *earlierSidecar)
			}
		}
	}
}

// ownFirst returns the claim of cs made by e, or else the first one.
func ownFirst(cs []Claim, e *Entry) Claim {
	for _, c := range cs {
		if c.entry == e {
			return c
		}
	}
	return cs[0]
}
