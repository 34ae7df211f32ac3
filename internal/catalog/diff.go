package catalog

import (
	"slices"
	"sort"
)

// ChangeKind says how an entry differs between two catalogs.
type ChangeKind int

// Kinds of change, in the order a review reads them.
const (
	Added ChangeKind = iota + 1
	Changed
	Removed
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// Change is one entry added, changed or removed. Old is nil for Added, New
// is nil for Removed.
type Change struct {
	Kind     ChangeKind
	ID       string
	Old, New *Entry
}

// Diff compares two entry lists by ID and returns the changes sorted by ID.
// Positions do not count: moving an entry within its file is no change.
func Diff(base, head []*Entry) []Change {
	old := make(map[string]*Entry, len(base))
	for _, e := range base {
		old[e.ID()] = e
	}
	var out []Change
	seen := make(map[string]bool, len(head))
	for _, e := range head {
		id := e.ID()
		seen[id] = true
		switch o, ok := old[id]; {
		case !ok:
			out = append(out, Change{Kind: Added, ID: id, New: e})
		case !sameEntry(o, e):
			out = append(out, Change{Kind: Changed, ID: id, Old: o, New: e})
		}
	}
	for _, e := range base {
		if !seen[e.ID()] {
			out = append(out, Change{Kind: Removed, ID: e.ID(), Old: e})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// sameEntry compares everything an entry publishes, not where it is written.
func sameEntry(a, b *Entry) bool {
	return a.Key == b.Key && a.SourceModel == b.SourceModel && a.Quant == b.Quant &&
		a.Tier == b.Tier && slices.Equal(a.Slices, b.Slices) && a.OutputName == b.OutputName &&
		a.HFRepo == b.HFRepo && a.HFCollection == b.HFCollection &&
		a.MTPSourceRepo == b.MTPSourceRepo && a.MTPSidecarRepo == b.MTPSidecarRepo &&
		a.AssistantModelRepo == b.AssistantModelRepo &&
		a.VisionSourceRepo == b.VisionSourceRepo && a.VisionSidecarRepo == b.VisionSidecarRepo &&
		a.VisionSourceRevision == b.VisionSourceRevision &&
		slices.Equal(a.VisionSourceTensors, b.VisionSourceTensors) && slices.Equal(a.VisionSourceConfigs, b.VisionSourceConfigs)
}

// SourceChange is a catalog source added, removed or changed between two
// loads of a catalog. Old is nil for Added, New for Removed.
type SourceChange struct {
	Kind     ChangeKind
	Old, New *Source
}

// Renamed reports whether the source kept its file but took another
// namespace, which changes the key of every entry in it.
func (c SourceChange) Renamed() bool {
	return c.Kind == Changed && c.Old.Namespace != c.New.Namespace
}

// OwnerChanged reports whether the source publishes under another hf_owner.
func (c SourceChange) OwnerChanged() bool {
	return c.Kind == Changed && c.Old.HFOwner != c.New.HFOwner
}

// DiffSources compares the sources of two loads of a catalog, in head's
// order, then the removed ones in base's. A source is matched by its
// namespace, or else by its file (a namespace rename); it changed when its
// namespace, file, hf_owner or hf_collection differ. The built-in catalog
// is the same in both, since both loads use the binary's.
func DiffSources(base, head []*Source) []SourceChange {
	matched := make(map[*Source]bool, len(base))
	find := func(same func(*Source) bool) *Source {
		for _, b := range base {
			if !matched[b] && same(b) {
				matched[b] = true
				return b
			}
		}
		return nil
	}
	old := make(map[*Source]*Source, len(head))
	for _, h := range head {
		old[h] = find(func(b *Source) bool { return b.Builtin() == h.Builtin() && b.Namespace == h.Namespace })
	}
	for _, h := range head {
		if old[h] == nil {
			old[h] = find(func(b *Source) bool { return !b.Builtin() && !h.Builtin() && b.Path == h.Path })
		}
	}
	var out []SourceChange
	for _, h := range head {
		switch o := old[h]; {
		case o == nil:
			out = append(out, SourceChange{Kind: Added, New: h})
		case o.Namespace != h.Namespace || o.Path != h.Path || o.HFOwner != h.HFOwner || o.HFCollection != h.HFCollection:
			out = append(out, SourceChange{Kind: Changed, Old: o, New: h})
		}
	}
	for _, b := range base {
		if !matched[b] {
			out = append(out, SourceChange{Kind: Removed, Old: b})
		}
	}
	return out
}
