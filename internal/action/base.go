package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

// maxListedFiles is how many files GitHub lists for one pull request at
// most; a list that long may be missing some.
const maxListedFiles = 3000

// baseCatalog loads the catalog as the pull request's base commit had it:
// the same config (or manifest) and every source it named there, with the
// namespaces, owners and collections the base gave them. Diffing it with
// the head's effective catalog shows what merging changes, including a
// change to skulk-weights.yaml alone (a new source, a namespace renamed, an
// hf_owner changed) that touches no catalog file.
//
// Files the pull request does not touch are the same at both ends and are
// read from the checkout; the others are read at baseSHA through the
// contents API. A GitHub read that fails for another reason than a missing
// file fails the diff: a half-read base would show entries as added that
// merely could not be read.
func (r *runner) baseCatalog(ctx context.Context, files []ChangedFile, baseSHA string, headManifest bool) (*catalog.Catalog, error) {
	b := &baseFS{ctx: ctx, r: r, ref: baseSHA, cache: map[string][]byte{}, complete: len(files) < maxListedFiles,
		changed: map[string]bool{}, added: map[string]bool{}}
	for _, f := range files {
		switch {
		case f.Status == "added":
			b.added[f.Name] = true
		case f.Status == "renamed" && f.Previous != "":
			b.changed[f.Previous] = true
			b.added[f.Name] = true
		default:
			b.changed[f.Name] = true
		}
	}
	opts := catalog.Options{FS: b}
	if r.in.Catalog != "" {
		name := r.repoPath(r.path(r.in.Catalog))
		data, err := fs.ReadFile(b, name)
		switch {
		case b.err != nil:
			return nil, b.err
		case errors.Is(err, fs.ErrNotExist) && headManifest:
			return &catalog.Catalog{}, nil // the manifest is new: everything in it is added
		case errors.Is(err, fs.ErrNotExist):
			// A new config: the base published the built-in catalog only.
		case err != nil:
			opts.Config = name // unreadable as it is at the head too: the loader reports it
		case isManifestData(data):
			opts.Manifest = name
		default:
			opts.Config = name
		}
	}
	c, err := catalog.Load(opts)
	if b.err != nil {
		return nil, b.err
	}
	if err != nil {
		return nil, fmt.Errorf("load the base catalog: %w", err)
	}
	return c, nil
}

// baseFS is the repository at the base commit, as an fs.FS for
// catalog.Load.
type baseFS struct {
	ctx context.Context
	r   *runner
	ref string
	// changed holds the base paths the pull request modified, removed or
	// renamed away; added the head paths it created.
	changed, added map[string]bool
	// complete says the file list holds every file the pull request
	// touches; when GitHub cut it short, every file is read at the base.
	complete bool
	cache    map[string][]byte
	err      error // the first read that failed other than as missing
}

func (b *baseFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	data, ok := b.cache[name]
	if !ok {
		var err error
		data, err = b.read(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		b.cache[name] = data
	}
	return &memFile{Reader: bytes.NewReader(data), name: name, size: int64(len(data))}, nil
}

func (b *baseFS) read(name string) ([]byte, error) {
	if b.complete && !b.changed[name] {
		if b.added[name] {
			return nil, fs.ErrNotExist
		}
		// Untouched: the checkout has the base's bytes. Confine keeps a
		// symlink from leading the read out of the repository.
		full, err := catalog.Confine(b.r.workspace, filepath.Join(b.r.workspace, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		return catalog.ReadFile(full)
	}
	data, err := b.r.gh.FileAt(b.ctx, b.r.owner, b.r.repo, name, b.ref)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fs.ErrNotExist
	case err != nil:
		// A file that is there but could not be read: the loader would
		// only note it, so the diff is failed here instead.
		if b.err == nil {
			b.err = err
		}
		return nil, err
	}
	b.r.infof("%s changed in this pull request (%d bytes at the base)", name, len(data))
	return data, nil
}

// memFile is a file read into memory; catalog files are bounded in size.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Name() string               { return filepath.Base(f.name) }
func (f *memFile) Size() int64                { return f.size }
func (f *memFile) Mode() fs.FileMode          { return 0o444 }
func (f *memFile) ModTime() time.Time         { return time.Time{} }
func (f *memFile) IsDir() bool                { return false }
func (f *memFile) Sys() any                   { return nil }
