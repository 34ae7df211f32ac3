package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// An extraction's commit holds its weight files, their index, the configs
// it copies and its card. Each is stored the way the Hub's preupload asks
// (internal/sidecar's modes.go), and the card is checked by the Hub's
// validate-yaml before any byte moves, as huggingface_hub's create_commit
// checks a README.md (hf_api.py _validate_yaml).

// piece is one file of the sidecar's commit.
type piece struct {
	path   string
	size   int64
	sha256 string
	sample []byte
	// content holds the bytes of everything but a weight file; weight is a
	// weight file, produced from the source when it is uploaded.
	content []byte
	weight  *OutFile
	// mode is how preupload asked for it to be stored.
	mode string
}

// gitOID is the git id the piece has once stored in mode.
func (p *piece) gitOID(mode string) string {
	if mode == sidecar.ModeLFS || p.content == nil {
		return GitBlobID(lfsPointer(p.sha256, p.size))
	}
	return GitBlobID(p.content)
}

// held reports whether the sidecar entry d holds the piece's bytes, in
// either storage: the Hub may have asked for another mode then.
func (p *piece) held(d hub.TreeEntry, ok bool) bool {
	switch {
	case !ok || d.Size != p.size:
		return false
	case d.LFS != nil:
		return d.LFS.OID == p.sha256
	}
	return p.content != nil && d.OID == GitBlobID(p.content)
}

// ErrHubRefusesLayout is matched when the Hub's preupload answer leaves no
// way to store the sidecar: it ignores the weights, their index or the
// card, or asks for a weight file as a plain git file.
var ErrHubRefusesLayout = errors.New("the Hub's preupload answer does not allow this sidecar")

// pieces lists the files of the commit, weights first. The weights' hashes
// and samples are known once the hash pass has run.
func (r *run) pieces() []*piece {
	var out []*piece
	for _, f := range r.layout.Files {
		out = append(out, &piece{path: f.Path, size: f.Size, sha256: f.SHA256, sample: f.Sample, weight: f})
	}
	small := func(p string, b []byte) {
		out = append(out, &piece{path: p, size: int64(len(b)), sha256: sha256Hex(b), sample: sidecar.Sample(b), content: b})
	}
	if r.layout.Index != nil {
		small(IndexFile, r.layout.Index)
	}
	for _, c := range r.opts.Configs {
		if b, ok := r.configs[c]; ok {
			small(c, b)
		}
	}
	return out
}

// card renders the sidecar's card for the pieces, each recorded with the
// git id it has in the sidecar: the one it keeps when the sidecar already
// holds its bytes, else the one its mode gives it (LFS for weights and,
// until preupload says otherwise, git for the rest).
func (r *run) card(st *sidecarState, lic card.License, fallback bool, ps []*piece) []byte {
	o := r.opts
	var files []card.File
	for _, p := range ps {
		oid := p.gitOID(p.mode)
		if d, ok := st.files[p.path]; p.held(d, ok) {
			oid = d.OID
		}
		files = append(files, card.File{Path: p.path, Size: p.size, OID: oid, SHA256: p.sha256})
	}
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
	return card.RenderExtraction(facts, x)
}

// validateCard asks the Hub whether it accepts readme.
func (r *run) validateCard(ctx context.Context, readme []byte) error {
	if err := r.opts.Dest.ValidateYAML(ctx, readme); err != nil {
		return fmt.Errorf("the Hub refuses the model card of %s: %w", r.opts.SidecarRepo, err)
	}
	return nil
}

// checkDraftCard validates the card as it will be but for the hashes the
// hash pass computes, so a card the Hub would refuse costs the index and
// headers, not a read of every selected byte. The card committed is
// validated again once complete.
func (r *run) checkDraftCard(ctx context.Context, st *sidecarState, lic card.License, fallback bool) error {
	return r.validateCard(ctx, r.card(st, lic, fallback, r.pieces()))
}

// commitOps lists what the commit must change against the sidecar's head,
// validating the card and asking preupload how each file is stored, then
// uploads to LFS storage what the sidecar's storage does not hold yet.
func (r *run) commitOps(ctx context.Context, st *sidecarState, lic card.License, fallback bool, res *Result) (hub.CommitRequest, int64, error) {
	o := r.opts
	req := hub.CommitRequest{
		Summary:     fmt.Sprintf("Add %s sidecar from %s@%s", map[string]string{KindMTP: "MTP", KindVision: "vision"}[o.Selection.Kind], o.SourceRepo, r.src.SHA),
		Description: fmt.Sprintf("%s cut out of %s at commit %s by skulk-weights %s (selection %s).", r.plan().Resolved, o.SourceRepo, r.src.SHA, o.ToolVersion, o.selectionKey()),
	}
	ps := r.pieces()
	readme := r.card(st, lic, fallback, ps)
	validated := map[string]bool{}
	validate := func(readme []byte) error {
		if cur, ok := st.files["README.md"]; (&piece{size: int64(len(readme)), sha256: sha256Hex(readme), content: readme}).held(cur, ok) || validated[sha256Hex(readme)] {
			return nil
		}
		validated[sha256Hex(readme)] = true
		return r.validateCard(ctx, readme)
	}
	if err := validate(readme); err != nil {
		return req, 0, err
	}

	// Preupload sees every file of the commit, the card included.
	files := []hub.PreuploadFile{{Path: "README.md", Size: int64(len(readme)), Sample: sidecar.Sample(readme)}}
	for _, p := range ps {
		files = append(files, hub.PreuploadFile{Path: p.path, Size: p.size, Sample: p.sample})
	}
	modes, err := sidecar.UploadModes(ctx, o.Dest, o.SidecarRepo, files)
	if err != nil {
		return req, 0, err
	}
	kept := ps[:0]
	for _, p := range ps {
		p.mode = modes[p.path]
		switch {
		case p.mode == "":
			return req, 0, fmt.Errorf("preupload for %s answered nothing for %s", o.SidecarRepo, p.path)
		case p.mode == sidecar.ModeIgnored && p.weight == nil && p.path != IndexFile:
			r.prog.Logf("%s: the Hub ignores this path in %s (its .gitignore); left out of the commit and the card", p.path, o.SidecarRepo)
			delete(r.configs, p.path)
			continue
		case p.mode == sidecar.ModeIgnored:
			return req, 0, fmt.Errorf("%w: %s ignores %s (its .gitignore), so it could not hold its weights; remove the rule from the sidecar's .gitignore", ErrHubRefusesLayout, o.SidecarRepo, p.path)
		case p.mode == sidecar.ModeRegular && p.weight != nil:
			return req, 0, fmt.Errorf("%w: preupload for %s asks for %s (%d bytes of safetensors) as a plain git file; weight files are stored in LFS", ErrHubRefusesLayout, o.SidecarRepo, p.path, p.size)
		}
		kept = append(kept, p)
	}
	ps = kept
	cardMode := modes["README.md"]
	switch cardMode {
	case "":
		return req, 0, fmt.Errorf("preupload for %s answered nothing for README.md", o.SidecarRepo)
	case sidecar.ModeIgnored:
		return req, 0, fmt.Errorf("%w: %s ignores README.md (its .gitignore), where the sidecar records what it holds; remove the rule from the sidecar's .gitignore", ErrHubRefusesLayout, o.SidecarRepo)
	}
	// The card records each file as the Hub stores it, and only the files
	// the sidecar holds.
	if again := r.card(st, lic, fallback, ps); !bytes.Equal(again, readme) {
		readme = again
		if err := validate(readme); err != nil {
			return req, 0, err
		}
	}
	cardPiece := &piece{path: "README.md", size: int64(len(readme)), sha256: sha256Hex(readme), content: readme, mode: cardMode}

	keep := map[string]bool{"README.md": true}
	var written int64
	var upload []*piece
	for _, p := range append(ps, cardPiece) {
		keep[p.path] = true
		if d, ok := st.files[p.path]; p.held(d, ok) {
			continue
		}
		if p.mode == sidecar.ModeLFS {
			upload = append(upload, p)
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "lfsFile", Path: p.path, OID: p.sha256, Size: p.size})
		} else {
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: p.path, Content: p.content})
		}
		if p != cardPiece {
			written += p.size
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
	if len(req.Ops) == 0 {
		return req, 0, nil
	}
	if err := r.upload(ctx, upload, res); err != nil {
		return req, 0, err
	}
	return req, written, nil
}

// upload sends the files the sidecar's storage lacks, one at a time, each
// sha256 once.
func (r *run) upload(ctx context.Context, ps []*piece, res *Result) error {
	if len(ps) == 0 {
		return nil
	}
	o := r.opts
	var objs []hub.LFSObject
	seen := map[string]bool{}
	for _, p := range ps {
		if !seen[p.sha256] {
			seen[p.sha256] = true
			objs = append(objs, hub.LFSObject{OID: p.sha256, Size: p.size})
		}
	}
	answers, err := o.Dest.LFSBatch(ctx, o.SidecarRepo, "main", objs)
	if err != nil {
		return fmt.Errorf("asking %s's LFS storage for upload URLs: %w", o.SidecarRepo, describeWrite(err, o.SidecarRepo))
	}
	by := map[string]*hub.LFSObject{}
	for i := range answers {
		by[answers[i].OID] = &answers[i]
	}
	sent := map[string]bool{}
	for _, p := range ps {
		obj := by[p.sha256]
		if obj == nil {
			return fmt.Errorf("LFS batch for %s did not answer for %s", o.SidecarRepo, p.path)
		}
		if obj.Error != nil {
			return fmt.Errorf("LFS storage of %s refuses %s: %s", o.SidecarRepo, p.path, obj.Error.Message)
		}
		if !obj.NeedsUpload() || sent[p.sha256] {
			r.prog.Done(p.path, p.size, "stored: the sidecar already holds these bytes")
			continue
		}
		produce := func(ctx context.Context, w io.Writer) error {
			_, err := w.Write(p.content)
			return err
		}
		scratch := ""
		if f := p.weight; f != nil {
			produce = func(ctx context.Context, w io.Writer) error { return writeFile(ctx, r.rd, f, w, nil) }
			scratch = r.spooled[f.Path]
		}
		if err := uploadObject(ctx, o.Dest, obj, p.path, p.size, p.sha256, produce, scratch, o.Jobs); err != nil {
			return err
		}
		sent[p.sha256] = true
		res.BytesUploaded += p.size
		r.prog.Done(p.path, p.size, "uploaded")
	}
	return nil
}
