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
	head   string // "" when the repo does not exist
	access hub.Access
	files  map[string]hub.TreeEntry
	card   []byte
}

func readSidecar(ctx context.Context, o *Options) (*sidecarState, error) {
	st := &sidecarState{files: map[string]hub.TreeEntry{}}
	info, err := o.Dest.RepoInfo(ctx, o.SidecarRepo, "main")
	switch {
	case errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrRevisionNotFound):
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
	if d, ok := st.files["README.md"]; ok && d.LFS == nil && d.Size <= maxCardRead {
		f, err := o.Dest.Open(ctx, o.SidecarRepo, st.head, "README.md", 0)
		if err == nil {
			st.card, err = io.ReadAll(io.LimitReader(f, maxCardRead))
			f.Close()
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
	// written is what the last planned commit writes.
	var written int64
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
				if err := r.hashPass(ctx); err != nil {
					return sidecar.Pass{}, abortErr(err)
				}
				if err := r.fetchConfigs(ctx); err != nil {
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
		r.configs[c] = b
	}
	return nil
}

// commitOps lists what the commit must change against the sidecar's head,
// uploading the weight files its storage does not hold yet.
func (r *run) commitOps(ctx context.Context, st *sidecarState, lic card.License, fallback bool, res *Result) (hub.CommitRequest, int64, error) {
	o := r.opts
	req := hub.CommitRequest{
		Summary:     fmt.Sprintf("Add %s sidecar from %s@%s", map[string]string{KindMTP: "MTP", KindVision: "vision"}[o.Selection.Kind], o.SourceRepo, r.src.SHA),
		Description: fmt.Sprintf("%s cut out of %s at commit %s by skulk-weights %s (selection %s).", r.plan().Resolved, o.SourceRepo, r.src.SHA, o.ToolVersion, o.selectionKey()),
	}
	if o.Selection.Kind == KindMTP {
		req.Summary = fmt.Sprintf("Add MTP sidecar from %s@%s", o.SourceRepo, r.src.SHA)
	}
	keep := map[string]bool{"README.md": true}
	var files []card.File
	var written int64
	var upload []*OutFile
	for _, f := range r.layout.Files {
		keep[f.Path] = true
		files = append(files, card.File{Path: f.Path, Size: f.Size, OID: GitBlobID(lfsPointer(f.SHA256, f.Size)), SHA256: f.SHA256})
		if d, ok := st.files[f.Path]; ok && d.LFS != nil && d.LFS.OID == f.SHA256 {
			continue
		}
		upload = append(upload, f)
		req.Ops = append(req.Ops, hub.CommitOp{Kind: "lfsFile", Path: f.Path, OID: f.SHA256, Size: f.Size})
		written += f.Size
	}
	inline := func(p string, b []byte) {
		keep[p] = true
		files = append(files, card.File{Path: p, Size: int64(len(b)), OID: GitBlobID(b), SHA256: sha256Hex(b)})
		if d, ok := st.files[p]; ok && d.LFS == nil && d.OID == GitBlobID(b) {
			return
		}
		req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: p, Content: b})
		written += int64(len(b))
	}
	if r.layout.Index != nil {
		inline(IndexFile, r.layout.Index)
	}
	for _, c := range o.Configs {
		if b, ok := r.configs[c]; ok {
			inline(c, b)
		}
	}
	var prune []string
	for p := range st.files {
		if managed(p) && !keep[p] {
			prune = append(prune, p)
		}
	}
	sort.Strings(prune)
	for _, p := range prune {
		req.Ops = append(req.Ops, hub.CommitOp{Kind: "deletedFile", Path: p})
	}
	res.Pruned = prune
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })

	facts := card.Facts{
		Endpoint: o.Dest.Endpoint(), SidecarRepo: o.SidecarRepo, SourceRepo: o.SourceRepo, SourceSHA: r.src.SHA,
		TargetModel: o.TargetModel, CatalogKey: o.CatalogKey, ToolVersion: o.ToolVersion, License: lic, LicenseFallback: fallback,
		SourceAccess: hub.AccessOf(r.info), SidecarAccess: st.access, Files: files,
	}
	x := card.Extraction{Artifact: o.artifact(), Selection: o.selectionKey(), Resolved: r.resolved, Inputs: r.inputs(), Converted: o.Selection.Kind == KindMTP}
	for _, t := range r.src.Selected {
		tp := card.TensorProv{Name: t.Name, Shard: t.Shard, Offsets: []int64{t.Begin, t.End}, DType: t.DType, Shape: t.Shape, SHA256: r.sums[t.Name]}
		if tp.Shape == nil {
			tp.Shape = []int64{}
		}
		for _, c := range r.layout.Companions {
			if c.Name == t.Name {
				tp.Role = "scale"
			}
		}
		x.Tensors = append(x.Tensors, tp)
	}
	readme := card.RenderExtraction(facts, x)
	if d, ok := st.files["README.md"]; !ok || d.LFS != nil || d.OID != GitBlobID(readme) {
		req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: "README.md", Content: readme})
	}
	if len(req.Ops) == 0 {
		return req, 0, nil
	}
	if err := r.upload(ctx, upload, res); err != nil {
		return req, 0, err
	}
	return req, written, nil
}

// upload sends the files the sidecar's storage lacks, one at a time.
func (r *run) upload(ctx context.Context, files []*OutFile, res *Result) error {
	if len(files) == 0 {
		return nil
	}
	o := r.opts
	objs := make([]hub.LFSObject, len(files))
	for i, f := range files {
		objs[i] = hub.LFSObject{OID: f.SHA256, Size: f.Size}
	}
	answers, err := o.Dest.LFSBatch(ctx, o.SidecarRepo, "main", objs)
	if err != nil {
		return fmt.Errorf("asking %s's LFS storage for upload URLs: %w", o.SidecarRepo, describeWrite(err, o.SidecarRepo))
	}
	by := map[string]*hub.LFSObject{}
	for i := range answers {
		by[answers[i].OID] = &answers[i]
	}
	for _, f := range files {
		obj := by[f.SHA256]
		if obj == nil {
			return fmt.Errorf("LFS batch for %s did not answer for %s", o.SidecarRepo, f.Path)
		}
		if obj.Error != nil {
			return fmt.Errorf("LFS storage of %s refuses %s: %s", o.SidecarRepo, f.Path, obj.Error.Message)
		}
		if !obj.NeedsUpload() {
			r.prog.Done(f.Path, f.Size, "stored: the sidecar already holds these bytes")
			continue
		}
		f := f
		produce := func(ctx context.Context, w io.Writer) error { return writeFile(ctx, r.rd, f, w, nil) }
		if err := uploadObject(ctx, o.Dest, obj, f.Path, f.Size, f.SHA256, produce, r.spooled[f.Path], o.Jobs); err != nil {
			return err
		}
		res.BytesUploaded += f.Size
		r.prog.Done(f.Path, f.Size, "uploaded")
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
			if d, ok := got[p]; !ok || d.OID != GitBlobID(b) {
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
