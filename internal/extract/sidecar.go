package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// maxCardRead bounds the sidecar card read back: a card lists every
// source tensor, about 250 bytes each.
const maxCardRead = 16 << 20

// sidecarState is the sidecar's head as a publish plans against it.
type sidecarState struct {
	head   string // "" when the repo does not exist (or is hidden)
	access hub.Access
	// hidden says a reader without a token got "not found": the Hub
	// answers so for a private repo too.
	hidden bool
	files  map[string]hub.TreeEntry
	card   []byte
}

func readSidecar(ctx context.Context, o *Options) (*sidecarState, error) {
	st := &sidecarState{files: map[string]hub.TreeEntry{}}
	info, err := o.Dest.RepoInfo(ctx, o.SidecarRepo, "main")
	switch {
	case errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrRevisionNotFound):
		st.hidden = !o.Dest.HasToken() && errors.Is(err, hub.ErrRepoNotFound)
		return st, nil
	case err != nil:
		return nil, fmt.Errorf("reading sidecar %s: %w", o.SidecarRepo, err)
	}
	st.head, st.access = info.SHA, hub.AccessOf(info)
	if err := st.access.Check(o.SidecarRepo); err != nil {
		return nil, fmt.Errorf("refusing to publish into %s: %w; nothing was written", o.SidecarRepo, err)
	}
	tree, err := o.Dest.ListTree(ctx, o.SidecarRepo, st.head)
	if err != nil {
		return nil, fmt.Errorf("listing sidecar %s@%s: %w", o.SidecarRepo, short(st.head), err)
	}
	for _, t := range tree {
		if t.Type == "" || t.Type == "file" {
			st.files[t.Path] = t
		}
	}
	// The card is read in whichever storage the Hub asked for it.
	if d, ok := st.files["README.md"]; ok && d.Size <= maxCardRead {
		f, err := o.Dest.Open(ctx, o.SidecarRepo, st.head, "README.md", 0)
		if err == nil {
			st.card, err = io.ReadAll(io.LimitReader(f, maxCardRead))
			f.Close()
		}
		if err != nil && !o.Dest.HasToken() && (errors.Is(err, hub.ErrGated) || errors.Is(err, hub.ErrUnauthorized)) {
			// A gated sidecar's files are closed to a plan without a
			// token: it cannot say the sidecar is up to date, which the
			// publish (with the token) finds out.
			st.card, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the card of %s: %w", o.SidecarRepo, err)
		}
	}
	return st, nil
}

// empty reports whether the sidecar holds nothing but the Hub's initial
// .gitattributes.
func (st *sidecarState) empty() bool {
	for p := range st.files {
		if p != ".gitattributes" {
			return false
		}
	}
	return true
}

// record is what a sidecar's card says an earlier extraction was made of.
type record struct {
	artifact, sourceRepo, sourceSHA, selection string
	inputs                                     map[string]string
	files                                      map[string]card.File
}

func parseRecord(readme []byte) (*record, bool) {
	if readme == nil {
		return nil, false
	}
	fm, err := card.FrontMatter(readme)
	if err != nil {
		return nil, false
	}
	fox, _ := fm["foxlight"].(map[string]any)
	x, _ := fox["extraction"].(map[string]any)
	rec := &record{inputs: map[string]string{}}
	rec.artifact, _ = fox["artifact_type"].(string)
	rec.sourceRepo, _ = fox["source_repo"].(string)
	rec.sourceSHA, _ = fox["source_revision"].(string)
	rec.selection, _ = x["selection"].(string)
	list, _ := x["inputs"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		p, ok1 := m["path"].(string)
		oid, ok2 := m["oid"].(string)
		if !ok1 || !ok2 || p == "" {
			return nil, false
		}
		rec.inputs[p] = oid
	}
	files, err := card.Recorded(readme)
	if err != nil || len(list) == 0 || rec.selection == "" {
		return nil, false
	}
	rec.files = files
	return rec, true
}

// upToDate says whether the sidecar already holds what this extraction
// would produce: same artifact, source repo and selection, every input file
// of the recorded extraction unchanged in the source tree (same git oid),
// and every recorded file still in the sidecar with its recorded oid and
// nothing else managed beside them. It reads no source file.
func upToDate(o *Options, s *Source, st *sidecarState) bool {
	rec, ok := parseRecord(st.card)
	if !ok || rec.artifact != o.artifact() || rec.sourceRepo != o.SourceRepo || rec.selection != o.selectionKey() {
		return false
	}
	for p, oid := range rec.inputs {
		if s.Files[p].OID != oid {
			return false
		}
	}
	for p, f := range rec.files {
		d, ok := st.files[p]
		if !ok || d.OID != f.OID || d.Size != f.Size || (d.LFS != nil && d.LFS.OID != f.SHA256) {
			return false
		}
	}
	for p := range st.files {
		if _, ok := rec.files[p]; managed(p) && !ok {
			return false
		}
	}
	return true
}

// Publish extracts the selection from the source at its pinned commit into
// the sidecar: one atomic commit (weights, index, configs and card), made
// only if something changed, verified after it lands, then filed in the
// collection.
func Publish(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	start := time.Now()
	if !opts.Dest.HasToken() {
		return nil, ErrNoToken
	}
	if err := opts.refuseCollision(); err != nil {
		return nil, err
	}
	r, err := pin(ctx, &opts)
	if err != nil {
		return nil, err
	}
	defer r.prog.Close()
	// Spooled files are scratch: gone after the run, whatever its outcome.
	defer r.removeSpooled()
	r.prog.Logf("pinned %s@%s to %s", opts.SourceRepo, opts.SourceRevision, r.src.SHA)
	lic, fallback := findLicense(ctx, &opts, r)

	res := &Result{}
	// written is what the last planned commit writes; before is the
	// sidecar as the first pass saw it, before any write.
	var written int64
	var before *sidecarState
	loop := &sidecar.CommitLoop{
		Dest: opts.Dest, Repo: opts.SidecarRepo, MaxReplans: opts.MaxReplans, Logf: r.prog.Logf,
		Plan: func(ctx context.Context, attempt int, lost bool) (sidecar.Pass, error) {
			// Creating the repo and raising its access each cost a pass too;
			// a Hub that never shows their effect does not loop forever.
			if attempt > opts.MaxReplans+2 {
				return sidecar.Pass{}, fmt.Errorf("publishing %s: the sidecar did not settle after %d attempts; nothing was committed", opts.SidecarRepo, attempt)
			}
			st, err := readSidecar(ctx, &opts)
			if err != nil {
				return sidecar.Pass{}, err
			}
			if before == nil {
				before = st
			}
			if err := checkAccess(&opts, r, st); err != nil {
				return sidecar.Pass{}, err
			}
			if r.layout == nil && upToDate(&opts, r.src, st) {
				if !lost {
					r.prog.Logf("%s already holds this extraction (same selection, same source files); nothing to read", opts.SidecarRepo)
				}
				return sidecar.Pass{Head: st.head}, nil
			}
			if r.layout == nil {
				if err := r.load(ctx); err != nil {
					return sidecar.Pass{}, err
				}
				p := r.plan()
				r.prog.Logf("selected %d tensors (%s) in %d of %d files: %s of %s touched; reading %s",
					p.Tensors, p.Resolved, len(p.Shards), len(r.src.Files), humanBytes(p.SelectedBytes), humanBytes(p.ShardBytes), humanBytes(p.ReadBytes))
				if err := r.fetchConfigs(ctx); err != nil {
					return sidecar.Pass{}, abortErr(err)
				}
				// A card the Hub would refuse fails here, before the
				// tensor reads: only the index and headers were read.
				if err := r.checkDraftCard(ctx, st, lic, fallback); err != nil {
					return sidecar.Pass{}, abortErr(err)
				}
				if err := r.hashPass(ctx); err != nil {
					return sidecar.Pass{}, abortErr(err)
				}
			}
			if st.head == "" {
				if err := ensureRepo(ctx, &opts, r); err != nil {
					return sidecar.Pass{}, err
				}
				return sidecar.Pass{Again: true}, nil
			}
			if raised, err := raiseAccess(ctx, &opts, r, st); err != nil {
				return sidecar.Pass{}, err
			} else if raised {
				return sidecar.Pass{Again: true}, nil
			}
			if !st.access.Covers(hub.AccessOf(r.info)) {
				return sidecar.Pass{}, fmt.Errorf("refusing to upload to %s: the Hub reports it %s, which does not cover its source %s (%s); nothing was written",
					opts.SidecarRepo, st.access, opts.SourceRepo, hub.AccessOf(r.info))
			}
			req, w, err := r.commitOps(ctx, st, lic, fallback, res)
			if err != nil {
				return sidecar.Pass{}, abortErr(err)
			}
			written = w
			return sidecar.Pass{Head: st.head, Request: req}, nil
		},
		Check: func(ctx context.Context, commit string) error { return r.verify(ctx, commit, res.Pruned) },
	}
	out, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	commit := out.Commit
	res.UpToDate = out.UpToDate
	if commit != "" && !out.Landed {
		res.BytesWritten = written
	}
	if r.layout != nil {
		res.Plan = r.plan()
		if before != nil {
			res.Plan.seen(before)
		}
	}
	res.BytesRead = r.rd.n.Load()
	res.Commit = commit
	if err := loop.Verify(ctx, out); err != nil {
		return res, err
	}
	if !opts.CollectionDisabled {
		slug, err := fileCollection(ctx, &opts)
		if err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
		res.Collection = slug
	}
	res.Duration = time.Since(start)
	return res, nil
}

func abortErr(err error) error { return fmt.Errorf("%w; nothing was committed", err) }

// fetchConfigs downloads the configs the sidecar copies (small regular
// files, committed inline) and checks each against its git blob id.
func (r *run) fetchConfigs(ctx context.Context) error {
	r.configs = map[string][]byte{}
	for _, c := range r.opts.Configs {
		e, ok := r.src.Files[c]
		if !ok {
			continue
		}
		if e.Size > 32<<20 {
			return fmt.Errorf("%s is %d bytes; a config of at most 32 MiB is copied", c, e.Size)
		}
		b, err := r.rd.readAll(ctx, c, 0, e.Size)
		if err != nil {
			return err
		}
		if e.LFS == nil && GitBlobID(b) != e.OID {
			return fmt.Errorf("%s: git blob id mismatch: expected %s, got %s", c, e.OID, GitBlobID(b))
		}
		if e.LFS != nil && sha256Hex(b) != e.LFS.OID {
			return fmt.Errorf("%s: sha256 mismatch: expected %s, got %s", c, e.LFS.OID, sha256Hex(b))
		}
		r.configs[c] = b
	}
	return nil
}

// verify lists the sidecar at commit and checks every file the commit
// wrote and every file it pruned.
func (r *run) verify(ctx context.Context, commit string, pruned []string) error {
	return sidecar.VerifyTree(ctx, r.opts.Dest, r.opts.SidecarRepo, commit, func(got map[string]hub.TreeEntry) []string {
		var bad []string
		for _, f := range r.layout.Files {
			d, ok := got[f.Path]
			if !ok || d.LFS == nil || d.LFS.OID != f.SHA256 || d.Size != f.Size {
				bad = append(bad, fmt.Sprintf("%s: expected sha256 %s size %d", f.Path, f.SHA256, f.Size))
			}
		}
		check := func(p string, b []byte) {
			// In git or in LFS, as preupload asked.
			if d, ok := got[p]; !(&piece{size: int64(len(b)), sha256: sha256Hex(b), content: b}).held(d, ok) {
				bad = append(bad, p+": missing or different")
			}
		}
		if r.layout.Index != nil {
			check(IndexFile, r.layout.Index)
		}
		for c, b := range r.configs {
			check(c, b)
		}
		for _, p := range pruned {
			if _, ok := got[p]; ok {
				bad = append(bad, p+": still present after pruning")
			}
		}
		sort.Strings(bad)
		return bad
	})
}

func lfsPointer(sha string, size int64) []byte {
	return []byte(fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha, size))
}

// removeSpooled deletes the run's directory in the scratch directory and
// the files the hash pass spooled there.
func (r *run) removeSpooled() {
	if r.spoolDir != "" {
		os.RemoveAll(r.spoolDir)
	}
}
