// Package catalog owns the YAML catalog: it parses catalog and operator
// config files keeping every value's position, checks every rule the
// publisher depends on, and answers lookups and diffs over the entries.
//
// Rule violations are never returned as Go errors. They are collected as
// Problems, sorted by position, so one run reports everything wrong with a
// catalog in the form FILE:LINE:COL: <key>: message.
package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a file. Line and Col count from 1; a zero Line means
// the problem concerns the file as a whole.
type Pos struct {
	File      string
	Line, Col int
}

// String formats p as FILE:LINE:COL.
func (p Pos) String() string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Source is one catalog file and the identity its entries publish under.
type Source struct {
	Path         string // as given (config-relative paths are resolved)
	Namespace    string // "" when a single file is loaded with --manifest
	HFOwner      string // required owner of every hf_repo; "" means unchecked
	HFCollection string // inherited by entries without hf_collection

	builtin bool // the catalog compiled into the binary
}

// Builtin reports whether s is the catalog compiled into the binary, not a
// file of the repository or directory being run in.
func (s *Source) Builtin() bool { return s != nil && s.builtin }

// Entry is one model of a catalog.
type Entry struct {
	Source *Source

	Key, SourceModel, Quant, Tier string
	Slices                        []string
	OutputName, HFRepo            string
	// HFCollection is the entry's own hf_collection or, when it has none,
	// the one inherited from its source.
	HFCollection string

	MTPSourceRepo, MTPSidecarRepo, AssistantModelRepo string

	VisionSourceRepo, VisionSidecarRepo string
	// VisionSourceRevision pins the branch, tag or commit of
	// VisionSourceRepo that the mirror copies; "" means the default branch.
	VisionSourceRevision string
	// VisionSourceTensors, when set, makes the vision sidecar an
	// extraction: the tensors whose names start with one of these prefixes
	// are cut out of VisionSourceRepo (the full checkpoint) by ranged
	// reads, instead of mirroring the whole repo.
	VisionSourceTensors []string
	// VisionSourceConfigs are the configs such an extraction copies; nil
	// means the default (config.json and the processor configs).
	VisionSourceConfigs []string

	// Pos is where the entry starts; FieldPos holds the position of each
	// field's value, keyed by the YAML field name.
	Pos      Pos
	FieldPos map[string]Pos

	inherited bool // HFCollection came from the source
}

// InheritsCollection reports whether HFCollection is the source's rather
// than the entry's own.
func (e *Entry) InheritsCollection() bool { return e.inherited }

// ID returns the entry's effective key, "<namespace>/<key>", or just the key
// when its source has no namespace.
func (e *Entry) ID() string {
	if e.Source == nil || e.Source.Namespace == "" {
		return e.Key
	}
	return e.Source.Namespace + "/" + e.Key
}

// HasVision reports whether the entry configures a vision sidecar.
func (e *Entry) HasVision() bool {
	return e.VisionSourceRepo != "" && e.VisionSidecarRepo != ""
}

// ExtractsVision reports whether the vision sidecar is cut out of a full
// checkpoint (vision_source_tensors) rather than mirrored whole.
func (e *Entry) ExtractsVision() bool { return e.HasVision() && len(e.VisionSourceTensors) > 0 }

// HasMTP reports whether the entry configures an MTP sidecar.
func (e *Entry) HasMTP() bool {
	return e.MTPSourceRepo != "" && e.MTPSidecarRepo != ""
}

// fieldPos returns the position of field's value, or the entry's own
// position when the field is absent.
func (e *Entry) fieldPos(field string) Pos {
	if p, ok := e.FieldPos[field]; ok {
		return p
	}
	return e.Pos
}

// Problem is one rule violation or warning.
type Problem struct {
	Pos     Pos
	Key     string // the entry's key (or models[i] when it has none); "" for file-level problems
	Warning bool
	Message string
}

// String formats the problem as FILE:LINE:COL: <key>: message, with
// "warning: " before the message of a warning.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Pos.String())
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// sortProblems orders problems by file, line, column, then text, and drops
// exact duplicates.
func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Message < b.Message
	})
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Catalog is every source loaded for one run, merged.
type Catalog struct {
	Sources  []*Source
	Entries  []*Entry
	Problems []Problem // sorted

	claims *Claims // built by Claims on first use
}

// Errors returns the problems that fail validation: errors always, and
// warnings too when strict is set.
func (c *Catalog) Errors(strict bool) []Problem {
	var out []Problem
	for _, p := range c.Problems {
		if !p.Warning || strict {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the problems that are only warnings.
func (c *Catalog) Warnings() []Problem {
	var out []Problem
	for _, p := range c.Problems {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// LookupError reports a catalog key that names no entry, with the closest
// keys that do exist.
type LookupError struct {
	ID      string
	Closest []string
}

func (e *LookupError) Error() string {
	msg := fmt.Sprintf("unknown catalog key %q", e.ID)
	if len(e.Closest) > 0 {
		msg += "; closest: " + strings.Join(e.Closest, ", ")
	}
	return msg + " (run 'skulk-weights catalog list' to see every key)"
}

// Lookup returns the entry whose ID is id. A bare key without namespace is
// accepted when exactly one source has it. An unknown id yields a
// *LookupError naming the closest keys.
func (c *Catalog) Lookup(id string) (*Entry, error) {
	var bare []*Entry
	for _, e := range c.Entries {
		if e.ID() == id {
			return e, nil
		}
		if e.Key == id {
			bare = append(bare, e)
		}
	}
	if len(bare) == 1 && !strings.Contains(id, "/") {
		return bare[0], nil
	}
	ids := make([]string, 0, len(c.Entries))
	for _, e := range c.Entries {
		ids = append(ids, e.ID())
	}
	return nil, &LookupError{ID: id, Closest: closest(id, ids, 3)}
}

// closest returns up to n candidates nearest to s by edit distance, nearest
// first; ties keep alphabetical order.
func closest(s string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	ss := make([]scored, 0, len(candidates))
	for _, c := range candidates {
		d := distance(s, c)
		// A candidate containing the query (or its key part) is a strong hint.
		if s != "" && strings.Contains(c, s) {
			d = min(d, len(c)-len(s)) / 2
		}
		ss = append(ss, scored{c, d})
	}
	sort.Slice(ss, func(i, j int) bool {
		if ss[i].d != ss[j].d {
			return ss[i].d < ss[j].d
		}
		return ss[i].s < ss[j].s
	})
	var out []string
	for i := 0; i < len(ss) && i < n; i++ {
		out = append(out, ss[i].s)
	}
	return out
}

// Suggest returns the candidate nearest to s by edit distance when it is
// near enough to be a typo of s: at most max(2, len(s)/3) edits away. The
// command line uses it for unknown commands and flags, the catalog for
// unknown fields.
func Suggest(s string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != "" && bestD <= max(2, len(s)/3)
}

// distance is the Levenshtein edit distance between a and b, in bytes.
func distance(a, b string) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
