package action

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// maxAnnotations bounds the error annotations one run emits; GitHub shows
// only the first ten per step anyway, and the summary lists them all.
const maxAnnotations = 50

// loadCatalog loads the catalog the catalog input names (a config or a
// single manifest file), or the default one, from the workspace.
func (r *runner) loadCatalog() (*catalog.Catalog, error) {
	// A pull request controls the config and the files it names: nothing
	// outside the checkout may be read, and so echoed into a comment.
	opts := catalog.Options{Dir: r.workspace, Root: r.workspace}
	if p := r.in.Catalog; p != "" {
		full := r.path(p)
		if !fileExists(full) {
			return nil, fmt.Errorf("catalog %s is not in the workspace: check the catalog input, and that actions/checkout runs before this step", p)
		}
		full, err := catalog.Confine(r.workspace, full)
		if err != nil {
			return nil, fmt.Errorf("catalog input %s: %w", p, err)
		}
		manifest, err := isManifest(full)
		if err != nil {
			return nil, err
		}
		if manifest {
			opts.Manifest = p
		} else {
			opts.Config = p
		}
	}
	c, err := catalog.Load(opts)
	if err != nil {
		return nil, fmt.Errorf("load the catalog: %w", err)
	}
	return c, nil
}

// isManifest tells a catalog file (top-level models:) from an operator
// config (top-level catalogs:). Anything else is left to the config loader,
// which reports it with a position.
func isManifest(path string) (bool, error) {
	data, err := catalog.ReadFile(path)
	var tl *catalog.TooLargeError
	if errors.As(err, &tl) {
		return false, nil // the loader reports the size at the file's first line
	}
	if err != nil {
		return false, fmt.Errorf("read the catalog: %w", err)
	}
	return isManifestData(data), nil
}

// isManifestData reports whether data is a catalog file (top-level
// models:) rather than an operator config.
func isManifestData(data []byte) bool {
	var top yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil || len(top.Content) == 0 {
		return false // the loader reports syntax errors with positions
	}
	m := top.Content[0]
	if m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "models":
			return true
		case "catalogs", "catalogues":
			return false
		}
	}
	return false
}

// annotate emits the catalog's problems as annotations at file:line:col and
// returns the ones that fail validation.
func (r *runner) annotate(c *catalog.Catalog) []catalog.Problem {
	errs := c.Errors(false)
	isErr := make(map[string]bool, len(errs))
	for _, p := range errs {
		isErr[p.String()] = true
	}
	// A problem in the built-in catalog (only possible in a broken build)
	// has no file in the repository, unless one of its sources has that
	// very path.
	builtinPath, localPath := "", map[string]bool{}
	for _, src := range c.Sources {
		if src.Builtin() {
			builtinPath = src.Path
		} else {
			localPath[src.Path] = true
		}
	}
	n := 0
	for _, p := range c.Problems {
		if n == maxAnnotations {
			r.warningf("%d more catalog problems are listed in the job summary", len(c.Problems)-n)
			break
		}
		n++
		fields := map[string]string{"title": "skulk-weights catalog"}
		if f := r.repoPath(p.Pos.File); f != "" && (p.Pos.File != builtinPath || localPath[p.Pos.File]) {
			fields["file"] = f
		}
		if p.Pos.Line > 0 {
			fields["line"] = fmt.Sprint(p.Pos.Line)
			fields["col"] = fmt.Sprint(p.Pos.Col)
		}
		msg := p.Message
		if p.Key != "" {
			msg = p.Key + ": " + msg
		}
		a := r.gha.WithFieldsMap(fields)
		if isErr[p.String()] {
			r.failed = true
			a.Errorf("%s", r.scrub(msg))
		} else {
			a.Warningf("%s", r.scrub(msg))
		}
	}
	out := make([]catalog.Problem, len(errs))
	for i, p := range errs {
		if f := r.repoPath(p.Pos.File); f != "" {
			p.Pos.File = f
		}
		out[i] = p
	}
	return out
}

// ownerCheck refuses a sidecar outside the owner the catalog source
// publishes under. A source without hf_owner (a single manifest file) is
// bound to the owner of the entry's own hf_repo. A collection input of the
// form owner/slug must belong to that owner too: filing into it is a write.
func ownerCheck(e *catalog.Entry, collection string) error {
	want, from := "", ""
	if e.Source != nil && e.Source.HFOwner != "" {
		want, from = e.Source.HFOwner, "the catalog source's hf_owner"
	} else {
		want, _, _ = strings.Cut(e.HFRepo, "/")
		from = "the owner of hf_repo " + e.HFRepo
	}
	got, _, _ := strings.Cut(e.VisionSidecarRepo, "/")
	if want == "" || got != want {
		return fmt.Errorf("%s: refusing to write %s: its owner %q is not %s (%q)", e.ID(), e.VisionSidecarRepo, got, from, want)
	}
	if _, slug, err := mirror.ParseCollection(collection); err == nil && slug != "" {
		if owner, _, _ := strings.Cut(slug, "/"); owner != want {
			return fmt.Errorf("%s: refusing to file %s into collection %s: its owner %q is not %s (%q)", e.ID(), e.VisionSidecarRepo, slug, owner, from, want)
		}
	}
	return nil
}
