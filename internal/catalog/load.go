package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	builtin "github.com/Foxlight-Foundation/skulk-weights/catalog"
)

// Operator config file names: the current one, and the legacy one still
// read (with a warning) when the current one is absent.
const (
	ConfigFile       = "skulk-weights.yaml"
	LegacyConfigFile = "skulk-vindex.yaml"
)

// Options says which catalogs a run loads.
type Options struct {
	// Config is an operator config file adding sources to the built-in
	// catalog. "" means ./skulk-weights.yaml (or the legacy
	// ./skulk-vindex.yaml) in Dir when present.
	Config string
	// Manifest loads this single catalog file alone, without namespace.
	// It excludes Config.
	Manifest string
	// Dir resolves relative paths; "" means the process's directory.
	Dir string
	// Root, when set, confines every file Load reads (the manifest, the
	// config and each catalog a config names) to this directory, after
	// symlinks are resolved: a file outside it is refused without being
	// read. The GitHub Action sets it to the repository checkout, since a
	// pull request controls the config and its paths; the CLI leaves it
	// empty so an operator may point anywhere.
	Root string
	// FS, when set, is where every file is read from instead of the
	// operating system: paths are slash-separated and relative to its
	// root, Dir and Root are not used, and a path that leaves the root
	// (absolute, or climbing with "..") is refused as one outside Root is.
	// The GitHub Action reads a pull request's base commit through it.
	FS fs.FS
	// Strict makes warnings fail validation. Load records it only for
	// callers; Errors takes it explicitly.
	Strict bool
}

// Bounds on what one operator config may make a run read. Every source is
// read, parsed and checked on every run (on every push to a pull request,
// twice: at its head and at its base), and one catalog file may be a
// source many times under different namespaces, so the per-file limit
// alone would let a one-line-per-source config multiply the work without
// bound. 32 sources is far more than an organisation splits its catalog
// into; 64 MiB for all catalog files together is twice the per-file limit
// and over five times the largest catalog measured (35,000 entries in 12
// MB, validated in 1.7 s with 217 MiB of memory).
const (
	MaxSources   = 32
	MaxTotalSize = 64 << 20
)

// totalSizeLimit is MaxTotalSize; tests lower it, since parsing 64 MiB of
// YAML to reach it takes seconds (tens of seconds under -race).
var totalSizeLimit int64 = MaxTotalSize

// ErrConfigAndManifest is returned when both --config and --manifest are given.
var ErrConfigAndManifest = errors.New("--config and --manifest are mutually exclusive")

// FindConfig returns the operator config a command run in dir reads when
// none is named: ConfigFile, else LegacyConfigFile, in dir or, when dir is
// inside a git work tree, in the nearest parent up to that tree's root (the
// directory holding .git), never above it. Outside a work tree only dir is
// searched. The path is relative to dir; "" means there is none.
func FindConfig(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	top := abs
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			top = d
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break // not in a work tree: only dir itself
		}
		d = parent
	}
	for d := abs; ; d = filepath.Dir(d) {
		for _, name := range []string{ConfigFile, LegacyConfigFile} {
			// Whatever the name is, Load reads it or says why it cannot.
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				rel, err := filepath.Rel(abs, filepath.Join(d, name))
				if err != nil {
					return filepath.Join(d, name)
				}
				return rel
			}
		}
		if d == top || filepath.Dir(d) == d {
			return ""
		}
	}
}

// BuiltinSource returns the source of the built-in catalog.
func BuiltinSource() *Source {
	return &Source{
		Path:         builtin.FoxlightPath,
		Namespace:    builtin.FoxlightNamespace,
		HFOwner:      builtin.FoxlightHFOwner,
		HFCollection: builtin.FoxlightHFCollection,
		builtin:      true,
	}
}

// Load reads the catalogs opts selects and checks every rule, within each
// file and across sources. The error reports only what stops loading
// altogether (a file named on the command line that cannot be read); rule
// violations, including those in the config file, are in Problems.
func Load(opts Options) (*Catalog, error) {
	if opts.Config != "" && opts.Manifest != "" {
		return nil, ErrConfigAndManifest
	}
	var files fileReader = osFiles{dir: opts.Dir, root: opts.Root}
	if opts.FS != nil {
		files = fsFiles{opts.FS}
	}
	c := &Catalog{}
	if opts.Manifest != "" {
		src := &Source{Path: opts.Manifest}
		data, ok, err := c.readFile(files, opts.Manifest, src)
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		if ok {
			c.addSource(src, data)
		}
		c.finish()
		return c, nil
	}

	c.addSource(BuiltinSource(), builtin.Foxlight)

	cfgPath, legacy := opts.Config, false
	if cfgPath == "" {
		for _, name := range []string{ConfigFile, LegacyConfigFile} {
			if files.exists(name) {
				cfgPath = name
				break
			}
		}
	}
	if cfgPath == "" {
		c.finish()
		return c, nil
	}
	legacy = filepath.Base(cfgPath) == LegacyConfigFile
	data, ok, err := c.readFile(files, cfgPath, nil)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !ok {
		c.finish() // too large: reported at the config's first line
		return c, nil
	}
	if legacy {
		c.Problems = append(c.Problems, Problem{
			Pos: Pos{File: cfgPath, Line: 1, Col: 1}, Warning: true,
			Message: fmt.Sprintf("%s is the legacy config name; rename it to %s", LegacyConfigFile, ConfigFile),
		})
	}
	srcs, problems := parseConfig(cfgPath, data)
	c.Problems = append(c.Problems, problems...)
	var total int64
	for _, s := range srcs {
		p := files.join(cfgPath, s.Path)
		src := &Source{Path: p, Namespace: s.Namespace, HFOwner: s.HFOwner, HFCollection: s.HFCollection}
		data, ok, err := c.readFile(files, p, src)
		if errors.Is(err, ErrOutsideRoot) {
			// The path's text is the operator's own; where a symlink
			// leads is not repeated, nor anything read from there.
			c.Problems = append(c.Problems, Problem{Pos: s.pathPos, Key: s.Namespace, Message: fmt.Sprintf("refusing catalog %s: it resolves outside the repository; catalog paths must name files inside it", s.Path)})
			continue
		}
		if err != nil {
			msg := err.Error()
			var pe *fs.PathError
			if errors.As(err, &pe) {
				msg = pe.Err.Error()
			}
			c.Problems = append(c.Problems, Problem{Pos: s.pathPos, Key: s.Namespace, Message: fmt.Sprintf("cannot read catalog %s: %s", p, msg)})
			continue
		}
		if !ok {
			continue
		}
		if total += int64(len(data)); total > totalSizeLimit {
			c.Problems = append(c.Problems, Problem{Pos: s.pathPos, Key: s.Namespace, Message: fmt.Sprintf("catalog %s brings the catalogs of this config to %d bytes; all of them together may hold at most %s", p, total, sizeText(totalSizeLimit))})
			break
		}
		c.addSource(src, data)
	}
	c.finish()
	return c, nil
}

// readFile reads one catalog or config file through files. A file over the
// size limit is not an error but a problem at its first line, like any
// other rule it breaks, named as file; ok is then false. src, when not
// nil, is recorded even so, so callers still see which files the catalog
// is made of.
func (c *Catalog) readFile(files fileReader, file string, src *Source) (data []byte, ok bool, err error) {
	data, err = files.read(file)
	var tl *TooLargeError
	if errors.As(err, &tl) {
		c.Problems = append(c.Problems, Problem{Pos: Pos{File: file, Line: 1, Col: 1}, Message: tl.Error()})
		if src != nil {
			c.Sources = append(c.Sources, src)
		}
		return nil, false, nil
	}
	return data, err == nil, err
}

// fileReader is where Load reads files from: the operating system, or an
// fs.FS.
type fileReader interface {
	// exists reports whether name is there to be read.
	exists(name string) bool
	// read returns name's bytes, refusing (with ErrOutsideRoot) a file
	// outside the root and reading at most MaxFileSize bytes.
	read(name string) ([]byte, error)
	// join resolves a config's catalog path against the config's own.
	join(config, name string) string
}

type osFiles struct{ dir, root string }

func (o osFiles) exists(name string) bool {
	_, err := os.Stat(resolve(o.dir, name))
	return err == nil
}

func (o osFiles) read(name string) ([]byte, error) {
	full, err := Confine(o.root, resolve(o.dir, name))
	if err != nil {
		return nil, err
	}
	return ReadFile(full)
}

func (osFiles) join(config, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(config), name)
}

type fsFiles struct{ fsys fs.FS }

func (f fsFiles) exists(name string) bool {
	_, err := fs.Stat(f.fsys, name)
	return err == nil
}

func (f fsFiles) read(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: ErrOutsideRoot}
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return readOpened(name, file)
}

func (fsFiles) join(config, name string) string {
	if path.IsAbs(name) {
		return name // refused by read: it leaves the root
	}
	return path.Join(path.Dir(config), name)
}

func (c *Catalog) addSource(src *Source, data []byte) {
	entries, problems := parse(src.Path, data, src, false)
	c.Sources = append(c.Sources, src)
	c.Entries = append(c.Entries, entries...)
	c.Problems = append(c.Problems, problems...)
}

// finish checks uniqueness across sources and sorts the problems.
func (c *Catalog) finish() {
	u := newUniq()
	add := func(p Pos, key string, warning bool, format string, args ...any) {
		c.Problems = append(c.Problems, Problem{Pos: p, Key: key, Warning: warning, Message: fmt.Sprintf(format, args...)})
	}
	for _, e := range c.Entries {
		u.check(e, add, true)
	}
	checkCollisions(c.Claims(), func(p Problem) { c.Problems = append(c.Problems, p) })
	c.Problems = sortProblems(c.Problems)
}

// sizeText writes a limit in MiB when it is a whole number of them.
func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func resolve(dir, p string) string {
	if dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// configSource is one item of the config's catalogs list.
type configSource struct {
	Source
	pathPos Pos
}

var configItemFields = []string{"path", "namespace", "hf_owner", "hf_collection"}

// parseConfig reads an operator config: a mapping with a catalogs list
// (legacy spelling: catalogues) of path, namespace, hf_owner and optional
// hf_collection. Only items without errors are returned.
func parseConfig(file string, data []byte) ([]configSource, []Problem) {
	d := decode(file, data)
	if d.root == nil {
		return nil, d.problems
	}
	root := d.resolve(d.root)
	if root == nil {
		return nil, d.problems
	}
	if root.Kind != yaml.MappingNode {
		d.add(d.pos(root), "", false, "top level must be a mapping with a catalogs list")
		return nil, d.problems
	}
	var list *yaml.Node
	var listField string
	for _, f := range d.fields(root, "") {
		switch f.name {
		case "catalogs", "catalogues":
			if list != nil {
				d.add(d.pos(f.key), "", false, "use either catalogs or catalogues, not both")
				continue
			}
			if f.name == "catalogues" {
				d.add(d.pos(f.key), "", true, "catalogues is the legacy spelling; use catalogs")
			}
			list, listField = f.value, f.name
		default:
			d.add(d.pos(f.key), "", true, "%s", unknownField(f.name, []string{"catalogs"}))
		}
	}
	if list == nil {
		d.add(d.pos(root), "", false, "catalogs must be a list")
		return nil, d.problems
	}
	seq := d.resolve(list)
	if seq == nil {
		return nil, d.problems
	}
	if isNull(seq) {
		return nil, d.problems // "catalogs:" with nothing under it adds no source
	}
	if seq.Kind != yaml.SequenceNode {
		d.add(d.pos(list), "", false, "%s must be a list", listField)
		return nil, d.problems
	}
	items := seq.Content
	if len(items) > MaxSources {
		d.add(d.pos(items[MaxSources]), fmt.Sprintf("%s[%d]", listField, MaxSources), false,
			"%s lists %d sources; a config may list at most %d: merge some catalog files", listField, len(items), MaxSources)
		items = items[:MaxSources]
	}
	namespaces := map[string]bool{builtin.FoxlightNamespace: true}
	var out []configSource
	for i, item := range items {
		n := d.resolve(item)
		if n == nil {
			break
		}
		label := fmt.Sprintf("%s[%d]", listField, i)
		if n.Kind != yaml.MappingNode {
			d.add(d.pos(item), label, false, "catalog source must be a mapping with path, namespace and hf_owner")
			continue
		}
		vals := map[string]*yaml.Node{}
		for _, f := range d.fields(n, label) {
			vals[f.name] = f.value
			if !contains(configItemFields, f.name) {
				d.add(d.pos(f.key), label, true, "%s", unknownField(f.name, configItemFields))
			}
		}
		ok := true
		get := func(f string, required bool) string {
			v, present := vals[f]
			if !present || isNull(v) {
				if required {
					d.add(d.pos(n), label, false, "%s must be a non-empty string", f)
					ok = false
				}
				return ""
			}
			s, isStr := str(v)
			if !isStr || strings.TrimSpace(s) == "" {
				d.add(d.pos(v), label, false, "%s must be a non-empty string", f)
				ok = false
				return ""
			}
			return s
		}
		src := configSource{Source: Source{
			Path:         get("path", true),
			Namespace:    get("namespace", true),
			HFOwner:      get("hf_owner", true),
			HFCollection: get("hf_collection", false),
		}}
		if src.Namespace != "" {
			label = src.Namespace
			switch {
			case !namespaceRE.MatchString(src.Namespace):
				d.add(d.pos(vals["namespace"]), label, false, "namespace must match %s", namespaceRE)
				ok = false
			case namespaces[src.Namespace]:
				d.add(d.pos(vals["namespace"]), label, false, "duplicate namespace '%s'", src.Namespace)
				ok = false
			}
			namespaces[src.Namespace] = true
		}
		if src.HFOwner != "" && (!ownerRE.MatchString(src.HFOwner) || hfRepoIDProblem(src.HFOwner+"/x") != "") {
			d.add(d.pos(vals["hf_owner"]), label, false, "hf_owner must be a Hugging Face user or organization name")
			ok = false
		}
		if src.HFCollection != "" {
			if !repoRE.MatchString(src.HFCollection) {
				d.add(d.pos(vals["hf_collection"]), label, false, "hf_collection must look like owner/slug")
				ok = false
			} else if src.HFOwner != "" && owner(src.HFCollection) != src.HFOwner {
				d.add(d.pos(vals["hf_collection"]), label, false, "hf_collection owner must be '%s'", src.HFOwner)
				ok = false
			}
		}
		if ok && !d.bombed {
			src.pathPos = d.pos(vals["path"])
			out = append(out, src)
		}
	}
	return out, d.problems
}
