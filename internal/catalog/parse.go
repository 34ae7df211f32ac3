package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Field names of a catalog entry, in the order the reference lists them.
const (
	fKey                  = "key"
	fSourceModel          = "source_model"
	fQuant                = "quant"
	fTier                 = "tier"
	fSlices               = "slices"
	fOutputName           = "output_name"
	fHFRepo               = "hf_repo"
	fHFCollection         = "hf_collection"
	fMTPSourceRepo        = "mtp_source_repo"
	fMTPSidecarRepo       = "mtp_sidecar_repo"
	fAssistantModelRepo   = "assistant_model_repo"
	fVisionSourceRepo     = "vision_source_repo"
	fVisionSidecarRepo    = "vision_sidecar_repo"
	fVisionSourceRevision = "vision_source_revision"
	fVisionSourceTensors  = "vision_source_tensors"
	fVisionSourceConfigs  = "vision_source_configs"
)

// EntryFields lists every field a catalog entry may have, required first.
var EntryFields = []string{
	fKey, fSourceModel, fQuant, fTier, fSlices, fOutputName, fHFRepo,
	fHFCollection, fMTPSourceRepo, fMTPSidecarRepo, fAssistantModelRepo,
	fVisionSourceRepo, fVisionSidecarRepo, fVisionSourceRevision,
	fVisionSourceTensors, fVisionSourceConfigs,
}

// Allowed values.
var (
	Quants = []string{"q4k"}
	Tiers  = []string{"smoke", "moe"}
	Slices = []string{"full", "expert-server"}
)

var (
	keyRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	repoRE      = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	namespaceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	ownerRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// Parse reads one catalog file's bytes and checks every rule that concerns
// that file alone. src gives the namespace, the required hf_repo owner and
// the collection entries inherit; nil means none of these (a --manifest
// file). Entries are returned even when they break rules, as long as they
// have a key, so that listing and diffing still work on a broken catalog.
func Parse(file string, data []byte, src *Source) ([]*Entry, []Problem) {
	return parse(file, data, src, true)
}

// parse is Parse; collisions says whether to check for sidecars that share
// a repo. Load leaves that to its check across every source, which covers
// each file too.
func parse(file string, data []byte, src *Source, collisions bool) ([]*Entry, []Problem) {
	if src == nil {
		src = &Source{Path: file}
	}
	d := decode(file, data)
	if d.root == nil {
		return nil, sortProblems(d.problems)
	}
	root := d.resolve(d.root)
	if root == nil {
		return nil, sortProblems(d.problems)
	}
	if root.Kind != yaml.MappingNode {
		d.add(d.pos(root), "", false, "top level must be a mapping with a non-empty models list")
		return nil, sortProblems(d.problems)
	}
	var models *yaml.Node
	for _, f := range d.fields(root, "") {
		if f.name == "models" {
			models = f.value
			continue
		}
		if strings.HasPrefix(f.name, "x-") || strings.HasPrefix(f.name, ".") {
			continue // room for anchors shared by entries, as in Compose files
		}
		d.add(d.pos(f.key), "", true, "%s", unknownField(f.name, []string{"models"}))
	}
	if models == nil {
		d.add(d.pos(root), "", false, "models must be a non-empty list")
		return nil, sortProblems(d.problems)
	}
	seq := d.resolve(models)
	if seq == nil {
		return nil, sortProblems(d.problems)
	}
	if seq.Kind != yaml.SequenceNode || len(seq.Content) == 0 {
		d.add(d.pos(models), "", false, "models must be a non-empty list")
		return nil, sortProblems(d.problems)
	}

	var entries []*Entry
	u := newUniq()
	for i, item := range seq.Content {
		n := d.resolve(item)
		if n == nil {
			break
		}
		label := fmt.Sprintf("models[%d]", i)
		if n.Kind != yaml.MappingNode {
			d.add(d.pos(item), label, false, "entry must be a mapping")
			continue
		}
		e := d.entry(n, label, src)
		if d.bombed {
			break
		}
		if e == nil {
			continue
		}
		entries = append(entries, e)
		u.check(e, d.add, false)
	}
	if collisions && !d.bombed {
		checkCollisions(NewClaims(entries), func(p Problem) { d.problems = append(d.problems, p) })
	}
	return entries, sortProblems(d.problems)
}

// entry reads and checks one entry mapping. It returns nil when the entry
// has no usable key.
func (d *doc) entry(m *yaml.Node, label string, src *Source) *Entry {
	fs := d.fields(m, label)
	if d.bombed {
		return nil
	}
	vals := make(map[string]*yaml.Node, len(fs))
	e := &Entry{Source: src, Pos: d.pos(m), FieldPos: make(map[string]Pos, len(fs))}
	for _, f := range fs {
		vals[f.name] = f.value
		e.FieldPos[f.name] = d.pos(f.value)
	}
	// The key names every other problem, so read it first.
	name := label
	if k, ok := str(vals[fKey]); ok && strings.TrimSpace(k) != "" {
		e.Key = k
		name = k
	}
	c := &checker{d: d, e: e, name: name}
	for _, f := range fs {
		if !knownField(f.name) {
			c.warnAt(d.pos(f.key), "%s", unknownField(f.name, EntryFields))
		}
	}

	required := func(f string, dst *string) bool {
		v, ok := str(vals[f])
		if !ok || strings.TrimSpace(v) == "" {
			c.errf(f, "%s must be a non-empty string", f)
			return false
		}
		*dst = v
		return true
	}
	optional := func(f string, dst *string) bool {
		n, present := vals[f]
		if !present || isNull(n) {
			return false
		}
		v, ok := str(n)
		if !ok || strings.TrimSpace(v) == "" {
			c.errf(f, "%s must be a non-empty string", f)
			return false
		}
		*dst = v
		return true
	}

	if required(fKey, &e.Key) && !keyRE.MatchString(e.Key) {
		c.errf(fKey, "key must be lowercase kebab-case")
	}
	if required(fSourceModel, &e.SourceModel) {
		c.repo(fSourceModel, e.SourceModel, "source_model must look like owner/name")
	}
	if required(fQuant, &e.Quant) && !contains(Quants, e.Quant) {
		c.errf(fQuant, "unsupported quant '%s'", e.Quant)
	}
	if required(fTier, &e.Tier) && !contains(Tiers, e.Tier) {
		c.errf(fTier, "unsupported tier '%s'", e.Tier)
	}
	e.Slices = c.slices(vals[fSlices])
	if required(fOutputName, &e.OutputName) {
		if strings.Contains(e.OutputName, "/") || !strings.HasSuffix(e.OutputName, ".vindex") || e.OutputName == ".vindex" {
			c.errf(fOutputName, "output_name must be a .vindex basename")
		}
	}
	hfOwner := ""
	if required(fHFRepo, &e.HFRepo) && c.repo(fHFRepo, e.HFRepo, "hf_repo must look like owner/name") {
		hfOwner = owner(e.HFRepo)
		if src.HFOwner != "" && hfOwner != src.HFOwner {
			c.errf(fHFRepo, "hf_repo owner must be '%s'", src.HFOwner)
		}
	}

	if optional(fHFCollection, &e.HFCollection) {
		if !repoRE.MatchString(e.HFCollection) {
			c.errf(fHFCollection, "hf_collection must look like owner/slug")
		} else if src.HFOwner != "" && owner(e.HFCollection) != src.HFOwner {
			c.errf(fHFCollection, "hf_collection owner must be '%s'", src.HFOwner)
		}
	} else {
		e.HFCollection, e.inherited = src.HFCollection, src.HFCollection != ""
	}

	// The MTP pair.
	hasMS := optional(fMTPSourceRepo, &e.MTPSourceRepo)
	hasMD := optional(fMTPSidecarRepo, &e.MTPSidecarRepo)
	if hasMS != hasMD {
		c.errf(pick(hasMS, fMTPSourceRepo, fMTPSidecarRepo), "mtp_source_repo and mtp_sidecar_repo must both be set together or not at all")
	}
	if hasMS {
		c.repo(fMTPSourceRepo, e.MTPSourceRepo, "mtp_source_repo must look like owner/name")
	}
	if hasMD && c.repo(fMTPSidecarRepo, e.MTPSidecarRepo, "mtp_sidecar_repo must look like owner/name") &&
		hfOwner != "" && owner(e.MTPSidecarRepo) != hfOwner {
		c.errf(fMTPSidecarRepo, "mtp_sidecar_repo owner must be '%s'", hfOwner)
	}
	if optional(fAssistantModelRepo, &e.AssistantModelRepo) {
		c.repo(fAssistantModelRepo, e.AssistantModelRepo, "assistant_model_repo must look like owner/name")
		if hasMS {
			c.errf(fAssistantModelRepo, "assistant_model_repo and mtp_source_repo are mutually exclusive")
		}
	}

	// The vision pair.
	hasVS := optional(fVisionSourceRepo, &e.VisionSourceRepo)
	hasVD := optional(fVisionSidecarRepo, &e.VisionSidecarRepo)
	if hasVS != hasVD {
		c.errf(pick(hasVS, fVisionSourceRepo, fVisionSidecarRepo), "vision_source_repo and vision_sidecar_repo must both be set together or not at all")
	}
	if hasVS {
		c.repo(fVisionSourceRepo, e.VisionSourceRepo, "vision_source_repo must look like owner/name")
	}
	if hasVD && c.repo(fVisionSidecarRepo, e.VisionSidecarRepo, "vision_sidecar_repo must look like owner/name") {
		if hfOwner != "" && owner(e.VisionSidecarRepo) != hfOwner {
			c.errf(fVisionSidecarRepo, "vision_sidecar_repo owner must be '%s'", hfOwner)
		}
		if e.SourceModel != "" && strings.Contains(e.SourceModel, "/") {
			want := SourceSlug(e.SourceModel) + "-vision"
			if got := name2(e.VisionSidecarRepo); got != want {
				c.warnf(fVisionSidecarRepo, "vision_sidecar_repo name '%s' differs from the conventional '%s' (<source-slug>-vision, from source_model)", got, want)
			}
		}
	}
	if optional(fVisionSourceRevision, &e.VisionSourceRevision) {
		if !hasVS {
			c.errf(fVisionSourceRevision, "vision_source_revision requires vision_source_repo")
		}
		if why := checkRevision(e.VisionSourceRevision); why != "" {
			c.errf(fVisionSourceRevision, "vision_source_revision '%s' is not a valid branch, tag or commit: %s", e.VisionSourceRevision, why)
		} else if isShortHex(e.VisionSourceRevision) {
			c.warnf(fVisionSourceRevision, "vision_source_revision '%s' looks like an abbreviated commit; the Hub resolves only full 40-hex commit ids", e.VisionSourceRevision)
		}
	}
	if n, ok := vals[fVisionSourceTensors]; ok {
		e.VisionSourceTensors = c.stringList(fVisionSourceTensors, n, "a tensor-name prefix such as vision_tower.", checkPrefix)
		if !hasVS {
			c.errf(fVisionSourceTensors, "vision_source_tensors requires vision_source_repo")
		}
	}
	if n, ok := vals[fVisionSourceConfigs]; ok {
		e.VisionSourceConfigs = c.stringList(fVisionSourceConfigs, n, "a file name such as config.json", checkConfigName)
		if len(e.VisionSourceTensors) == 0 {
			c.errf(fVisionSourceConfigs, "vision_source_configs requires vision_source_tensors (a whole-repo mirror copies every config)")
		}
	}
	if e.Key == "" {
		return nil
	}
	return e
}

// checkPrefix says why p cannot select tensors, or "".
func checkPrefix(p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return "an empty prefix would select every tensor"
	case strings.ContainsAny(p, "*?["):
		return "it is a prefix, not a glob: drop the wildcard (vision_tower. selects vision_tower.*)"
	case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "control character"
	}
	return ""
}

// checkConfigName says why n cannot name a config file at the root of the
// source repo, or "".
func checkConfigName(n string) string {
	switch {
	case strings.TrimSpace(n) == "":
		return "empty file name"
	case strings.ContainsAny(n, "/\\") || n == "." || n == "..":
		return "a file at the repo root, without a directory"
	case !strings.HasSuffix(n, ".json"):
		return "configs are .json files"
	case n == "model.safetensors.index.json":
		return "the index is written by the extraction"
	case strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "control character"
	}
	return ""
}

// stringList reads a non-empty list of distinct strings, each checked by
// bad; problems point at the item.
func (c *checker) stringList(f string, n *yaml.Node, what string, bad func(string) string) []string {
	seq := c.d.resolve(n)
	if seq == nil || c.d.bombed {
		return nil
	}
	if seq.Kind != yaml.SequenceNode || len(seq.Content) == 0 {
		c.errf(f, "%s must be a non-empty list, each item %s", f, what)
		return nil
	}
	var out []string
	for i, item := range seq.Content {
		s, ok := str(c.d.resolve(item))
		if c.d.bombed {
			return nil
		}
		at := c.d.pos(item)
		switch {
		case !ok:
			c.d.add(at, c.name, false, "%s[%d] must be a string: %s", f, i, what)
			return nil
		case bad(s) != "":
			c.d.add(at, c.name, false, "%s[%d] %q: %s", f, i, s, bad(s))
			return nil
		case contains(out, s):
			c.d.add(at, c.name, false, "%s[%d] %q is listed twice", f, i, s)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// checker records problems about one entry.
type checker struct {
	d    *doc
	e    *Entry
	name string
}

func (c *checker) errf(field, format string, args ...any) {
	c.d.add(c.e.fieldPos(field), c.name, false, format, args...)
}

func (c *checker) warnf(field, format string, args ...any) {
	c.d.add(c.e.fieldPos(field), c.name, true, format, args...)
}

func (c *checker) warnAt(p Pos, format string, args ...any) {
	c.d.add(p, c.name, true, format, args...)
}

// repo checks an owner/name repo id: first the original's form rule (with
// its message), then the Hub's own naming rules.
func (c *checker) repo(field, id, formMsg string) bool {
	if !repoRE.MatchString(id) {
		c.errf(field, "%s", formMsg)
		return false
	}
	if why := hfRepoIDProblem(id); why != "" {
		c.errf(field, "%s '%s' is not a valid Hugging Face repo id: %s", field, id, why)
		return false
	}
	return true
}

func (c *checker) slices(n *yaml.Node) []string {
	if n == nil {
		c.errf(fSlices, "slices must be a non-empty list")
		return nil
	}
	seq := c.d.resolve(n)
	if seq == nil {
		return nil
	}
	if seq.Kind != yaml.SequenceNode || len(seq.Content) == 0 {
		c.errf(fSlices, "slices must be a non-empty list")
		return nil
	}
	var out, bad []string
	for _, item := range seq.Content {
		s, ok := str(c.d.resolve(item))
		if c.d.bombed {
			return nil
		}
		if !ok {
			c.errf(fSlices, "slices must contain only strings")
			return nil
		}
		out = append(out, s)
		if !contains(Slices, s) && !contains(bad, s) {
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		c.errf(fSlices, "unsupported slices %s", pyList(bad))
	}
	if contains(out, "full") && len(out) > 1 {
		c.errf(fSlices, "full must not be combined with other slices")
	}
	return out
}

// uniq finds entries that repeat a key, output_name or hf_repo.
type uniq struct {
	ids, outputs, repos map[string]*Entry
}

func newUniq() *uniq {
	return &uniq{ids: map[string]*Entry{}, outputs: map[string]*Entry{}, repos: map[string]*Entry{}}
}

// check records e and reports what it repeats. With acrossSources set, only
// repeats of an entry from another source are reported (Parse already
// reported those within one file) and a repeated key is a "duplicate
// catalog key".
func (u *uniq) check(e *Entry, add func(Pos, string, bool, string, ...any), acrossSources bool) {
	seen := func(m map[string]*Entry, v string) bool {
		if v == "" {
			return false
		}
		first, dup := m[v]
		if !dup {
			m[v] = e
			return false
		}
		return !acrossSources || first.Source != e.Source
	}
	if seen(u.ids, e.ID()) {
		if acrossSources {
			add(e.fieldPos(fKey), e.Key, false, "duplicate catalog key %s", e.ID())
		} else {
			add(e.fieldPos(fKey), e.Key, false, "duplicate key")
		}
	}
	if seen(u.outputs, e.OutputName) {
		add(e.fieldPos(fOutputName), e.Key, false, "duplicate output_name %s", e.OutputName)
	}
	if seen(u.repos, e.HFRepo) {
		add(e.fieldPos(fHFRepo), e.Key, false, "duplicate hf_repo %s", e.HFRepo)
	}
}

func knownField(name string) bool { return contains(EntryFields, name) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// owner returns the part of an owner/name id before the slash.
func owner(id string) string {
	o, _, _ := strings.Cut(id, "/")
	return o
}

// name2 returns the part of an owner/name id after the slash.
func name2(id string) string {
	_, n, _ := strings.Cut(id, "/")
	return n
}

// pyList formats strings the way Python prints a list of them, as the
// original's messages do: ['a', 'b'].
func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
