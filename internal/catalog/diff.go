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
		a.VisionSourceRevision == b.VisionSourceRevision
}
