package mirror

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// CollectionTitle is the collection vision sidecars are filed into.
const CollectionTitle = sidecar.VisionCollection

// Result is what a publish did. It is the GitHub Action's `result` output.
type Result struct {
	Plan       *Plan         `json:"plan"`
	Commit     string        `json:"commit,omitempty"`
	UpToDate   bool          `json:"up_to_date"`
	Copied     int           `json:"copied"`
	Skipped    int           `json:"skipped"`
	Pruned     int           `json:"pruned"`
	BytesMoved int64         `json:"bytes_moved"`
	Duration   time.Duration `json:"duration_ns"`
	Collection string        `json:"collection,omitempty"` // slug filed into; "" if disabled
}

// ErrNoToken is returned by Publish when Dest has no token.
var ErrNoToken = errors.New("HF_TOKEN is required for non-dry-run publishing")

// ParseCollection reads a SKULK_WEIGHTS_COLLECTION value: a disabling
// value (0, false, no, none, off, disabled; trimmed, any case) turns
// filing off, an owner/slug names the collection to file into, and an
// empty value leaves slug "" meaning "the owner's Vision Sidecars,
// found by title". Anything else is an error with the original's message.
func ParseCollection(v string) (disabled bool, slug string, err error) {
	return sidecar.ParseCollection(v)
}

// Publish mirrors the entry's vision source into its sidecar: one atomic
// commit with every copied and pruned file and the model card, made only if
// something changed, verified after it lands, then filed in the collection.
func Publish(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	start := time.Now()
	if !opts.Dest.HasToken() {
		return nil, ErrNoToken
	}
	if err := refuseCollision(&opts); err != nil {
		return nil, err
	}
	colDisabled, colSlug, err := ParseCollection(opts.Collection)
	if err != nil {
		return nil, err
	}
	prog := progress.New(opts.Progress, opts.Terminal, opts.ProgressEvery, "copied")
	defer prog.Close()

	p, err := pinSource(ctx, &opts)
	if err != nil {
		return nil, err
	}
	prog.Logf("pinned %s@%s to %s (%d files)", p.SourceRepo, p.SourceRevision, p.SourceSHA, len(p.source))
	src := map[string]hub.TreeEntry{}
	for _, s := range p.source {
		src[s.Path] = s
	}
	lic, fallback := findLicense(ctx, &opts, p, prog)
	// headers keeps the header summaries read so far across re-plans.
	headers := map[string]*safetensors.Summary{}
	prepare := func() error {
		if err := planSidecar(ctx, &opts, p); err != nil {
			return err
		}
		if err := checkAccess(p); err != nil {
			return err
		}
		reuseCard(ctx, &opts, p, prog)
		return checkHeaders(ctx, &opts, p, headers)
	}

	c := &copier{opts: &opts, p: p, prog: prog, slots: make(chan struct{}, opts.Jobs), done: map[string]*copied{}, headers: headers,
		ignored: map[string]bool{}, promoted: map[string]string{}}
	// planPass plans one pass against the sidecar's head and makes what
	// its commit carries: the sidecar created with its source's access,
	// the files copied, the card rendered. No ops: nothing to change.
	planPass := func(ctx context.Context) (hub.CommitRequest, error) {
		// Headers are checked before anything is written, the sidecar
		// repo included.
		if err := prepare(); err != nil {
			return hub.CommitRequest{}, err
		}
		if p.SidecarHead == "" {
			if err := ensureRepo(ctx, &opts, p.SidecarRepo, p.SourceAccess.Private, prog); err != nil {
				return hub.CommitRequest{}, err
			}
			if err := prepare(); err != nil {
				return hub.CommitRequest{}, err
			}
		}
		// The sidecar gets its source's access before the first upload.
		if raised, err := raiseAccess(ctx, &opts, p, prog); err != nil {
			return hub.CommitRequest{}, err
		} else if raised {
			if err := prepare(); err != nil {
				return hub.CommitRequest{}, err
			}
		}
		if err := requireAccess(p); err != nil {
			return hub.CommitRequest{}, err
		}
		prog.Logf("plan against %s@%s: copy %d (%s), unchanged %d (%d described by the card), prune %d",
			p.SidecarRepo, short(p.SidecarHead), len(p.Copy), HumanBytes(p.CopyBytes), len(p.Skip), len(p.known), len(p.Prune))
		prog.SetTotal(len(p.Copy), p.CopyBytes)

		// Regular files are small: fetch those the card does not describe
		// (it lists their sha256) before asking for write access.
		if err := c.fetchRegular(ctx); err != nil {
			return hub.CommitRequest{}, abortErr(err)
		}
		// The card is made, and checked by the Hub's validate-yaml as
		// huggingface_hub's create_commit checks a README.md (hf_api.py),
		// before any byte moves: a card the Hub would refuse fails here.
		// The headers were read by checkHeaders, so the card's facts are
		// known before the copy.
		facts, err := c.facts(ctx, lic, fallback, headers)
		if err != nil {
			return hub.CommitRequest{}, abortErr(err)
		}
		readme := card.Render(facts)
		cardSame := false
		if d, ok := p.sidecar["README.md"]; ok && d.LFS == nil && d.OID == GitBlobID(readme) {
			cardSame = true
		}
		if !cardSame {
			if err := opts.Dest.ValidateYAML(ctx, readme); err != nil {
				return hub.CommitRequest{}, abortErr(fmt.Errorf("the Hub refuses the model card of %s: %w", p.SidecarRepo, err))
			}
		}
		if err := c.preupload(ctx, readme); err != nil {
			return hub.CommitRequest{}, abortErr(err)
		}
		if len(c.ignored) > 0 {
			// The card lists only what the sidecar holds.
			if facts, err = c.facts(ctx, lic, fallback, headers); err != nil {
				return hub.CommitRequest{}, abortErr(err)
			}
			readme = card.Render(facts)
			d, ok := p.sidecar["README.md"]
			cardSame = ok && d.LFS == nil && d.OID == GitBlobID(readme)
			if !cardSame {
				if err := opts.Dest.ValidateYAML(ctx, readme); err != nil {
					return hub.CommitRequest{}, abortErr(fmt.Errorf("the Hub refuses the model card of %s: %w", p.SidecarRepo, err))
				}
			}
		}
		if err := c.copyAll(ctx); err != nil {
			return hub.CommitRequest{}, abortErr(err)
		}
		req := hub.CommitRequest{
			Summary:     fmt.Sprintf("Mirror vision encoder from %s@%s", p.SourceRepo, short(p.SourceSHA)),
			Description: fmt.Sprintf("Byte-for-byte mirror of %s at commit %s, made by skulk-weights %s for catalog entry %s.", p.SourceRepo, p.SourceSHA, opts.ToolVersion, opts.Entry.ID()),
		}
		for _, a := range p.Copy {
			if cp := c.get(a.Path); cp.method == "inline" {
				req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: a.Path, Size: a.Size, Open: c.openRegular(src[a.Path])})
			} else if sha := c.promoted[a.Path]; sha != "" {
				// A regular source file stored in LFS, as the Hub asked.
				req.Ops = append(req.Ops, hub.CommitOp{Kind: "lfsFile", Path: a.Path, OID: sha, Size: a.Size})
			} else {
				req.Ops = append(req.Ops, hub.CommitOp{Kind: "lfsFile", Path: a.Path, OID: a.SHA256, Size: a.Size})
			}
		}
		for _, a := range p.Prune {
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "deletedFile", Path: a.Path})
		}
		if !cardSame {
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: "README.md", Content: readme})
		}
		return req, nil
	}
	res := &Result{Plan: p}
	// lostCopy and lostPrune are what the commit whose answer was lost
	// carried: if the next plan finds it landed, the result reports them.
	var lostCopy, lostPrune []FileAction
	loop := &sidecar.CommitLoop{
		Dest: opts.Dest, Repo: p.SidecarRepo, MaxReplans: opts.MaxReplans, Logf: prog.Logf, NameHead: true,
		Plan: func(ctx context.Context, _ int, _ bool) (sidecar.Pass, error) {
			req, err := planPass(ctx)
			return sidecar.Pass{Head: p.SidecarHead, Request: req}, err
		},
		Lost: func() { lostCopy, lostPrune = p.Copy, p.Prune },
		Refuse: func(err error) error {
			if errors.As(err, new(*MismatchError)) {
				return abortErr(err)
			}
			return nil
		},
		Describe: func(err error) error {
			if errors.Is(err, hub.ErrForbidden) {
				return describeWrite(err, p.SidecarRepo)
			}
			return err
		},
		Check: func(ctx context.Context, commit string) error { return verify(ctx, &opts, p, commit, c) },
	}
	out, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	commit := out.Commit
	res.UpToDate = out.UpToDate
	if out.Landed {
		// An earlier commit whose answer was lost did land: the result
		// reports what it carried, not the empty plan that found it.
		landed(p, lostCopy, lostPrune)
		prog.Logf("the commit whose answer was lost had landed: %s", commit)
	}

	for i := range p.Copy {
		if cp := c.get(p.Copy[i].Path); cp != nil {
			p.Copy[i].Method = cp.method
		}
	}
	res.Commit = commit
	res.Copied, res.Skipped, res.Pruned = len(p.Copy), len(p.Skip), len(p.Prune)
	res.BytesMoved = c.moved.Load()
	for _, a := range p.Copy {
		if cp := c.get(a.Path); cp != nil && cp.method == "inline" {
			res.BytesMoved += cp.size
		}
	}
	if res.UpToDate {
		res.Copied, res.Pruned = 0, 0
	}
	if err := loop.Verify(ctx, out); err != nil {
		return res, err
	}

	if colDisabled {
		prog.Logf("collection filing disabled by SKULK_WEIGHTS_COLLECTION")
	} else {
		slug, err := fileCollection(ctx, &opts, p.SidecarRepo, colSlug)
		if err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
		res.Collection = slug
	}
	res.Duration = time.Since(start)
	return res, nil
}

// landed makes p describe a commit that carried copies and prune: those
// files leave Skip, where the plan that found the commit had put them.
func landed(p *Plan, copies, prune []FileAction) {
	in := map[string]bool{}
	for _, a := range copies {
		in[a.Path] = true
	}
	skip := p.Skip[:0:0]
	for _, a := range p.Skip {
		if !in[a.Path] {
			skip = append(skip, a)
		}
	}
	p.Copy, p.Prune, p.Skip = copies, prune, skip
	p.CopyBytes = 0
	for _, a := range copies {
		p.CopyBytes += a.Size
	}
}

func abortErr(err error) error {
	return fmt.Errorf("%w; nothing was committed", err)
}

// findLicense reads the license from the vision source's card at the pinned
// sha, falling back to the entry's source_model card.
func findLicense(ctx context.Context, opts *Options, p *Plan, prog *progress.Reporter) (card.License, bool) {
	return sidecar.FindLicense(ctx, opts.Source, p.SourceRepo, p.SourceSHA, p.cardData, opts.Entry.SourceModel, prog.Logf)
}

// ensureRepo creates the sidecar as a model repo, private when its source
// is (the gate, which creation cannot set, is raiseAccess's).
func ensureRepo(ctx context.Context, opts *Options, repo string, private bool, prog *progress.Reporter) error {
	return sidecar.EnsureRepo(ctx, opts.Dest, repo, private, prog.Logf)
}

// describeWrite explains a refused write.
func describeWrite(err error, repo string) error { return sidecar.DescribeWrite(err, repo) }

// fetchRegular downloads every regular source file not yet in hand.
func (c *copier) fetchRegular(ctx context.Context) error {
	// The files to fetch are chosen before any fetch starts: the fetches
	// write to c.done, which this loop must not read meanwhile.
	var todo []hub.TreeEntry
	for _, s := range c.p.source {
		if _, ok := c.p.known[s.Path]; ok || s.LFS != nil || c.get(s.Path) != nil {
			continue
		}
		todo = append(todo, s)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Jobs)
	for _, s := range todo {
		g.Go(func() error { return c.copyRegular(gctx, s) })
	}
	return g.Wait()
}

// checkHeaders reads the header of every safetensors file at the pinned sha
// (two small ranged GETs each) that neither out nor the sidecar's card
// already describes, before anything is written, and adds it to out. A file
// whose header lies about its length or its tensors is not one a runtime
// can load; mirroring it would publish a broken sidecar, so the run is
// refused. A file the card describes is one the sidecar already holds with
// the same bytes, so it passed this check when it was copied.
func checkHeaders(ctx context.Context, opts *Options, p *Plan, out map[string]*safetensors.Summary) error {
	// The files to read are chosen before any reader starts: the readers
	// write to out, which the loop must not read meanwhile.
	var todo []hub.TreeEntry
	for _, s := range p.source {
		if _, ok := p.known[s.Path]; !ok && out[s.Path] == nil && strings.HasSuffix(s.Path, ".safetensors") {
			todo = append(todo, s)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, s := range todo {
		g.Go(func() error {
			sum, err := headerSummary(gctx, opts.Source, p.SourceRepo, p.SourceSHA, s.Path, s.Size)
			switch {
			case errors.Is(err, safetensors.ErrInvalid) || errors.Is(err, safetensors.ErrHeaderTooLarge) || (err != nil && s.Size < 8):
				return &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: %s: %v", p.SourceRepo, short(p.SourceSHA), s.Path, err), Err: err}
			case err != nil:
				return fmt.Errorf("reading the safetensors header of %s in %s@%s: %w", s.Path, p.SourceRepo, short(p.SourceSHA), err)
			}
			mu.Lock()
			out[s.Path] = sum
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// facts gathers the model card's facts; safetensors files whose bytes did
// not pass through the copy take their header from checkHeaders.
func (c *copier) facts(ctx context.Context, lic card.License, fallback bool, headers map[string]*safetensors.Summary) (card.Facts, error) {
	e := c.opts.Entry
	f := card.Facts{
		Endpoint: c.opts.Dest.Endpoint(), SidecarRepo: c.p.SidecarRepo, SourceRepo: c.p.SourceRepo, SourceSHA: c.p.SourceSHA,
		TargetModel: e.SourceModel, CatalogKey: e.ID(), ToolVersion: c.opts.ToolVersion, License: lic, LicenseFallback: fallback,
		SourceAccess: c.p.SourceAccess, SidecarAccess: c.p.SidecarAccess,
	}
	files := make([]card.File, len(c.p.source))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Jobs)
	for i, s := range c.p.source {
		if c.ignored[s.Path] {
			continue // the sidecar cannot hold it; dropped below
		}
		files[i] = card.File{Path: s.Path, Size: s.Size, OID: s.OID}
		if k, ok := c.p.known[s.Path]; ok {
			files[i].SHA256, files[i].Tensors = k.SHA256, k.Tensors
			continue
		}
		if s.LFS != nil {
			files[i].SHA256 = s.LFS.OID
		} else if cp := c.get(s.Path); cp != nil {
			files[i].SHA256 = cp.sha256
		}
		if !strings.HasSuffix(s.Path, ".safetensors") {
			continue
		}
		if cp := c.get(s.Path); cp != nil && cp.summary != nil {
			files[i].Tensors = cp.summary
			continue
		}
		if sum := headers[s.Path]; sum != nil {
			files[i].Tensors = sum
			continue
		}
		g.Go(func() error {
			sum, err := headerSummary(gctx, c.opts.Source, c.p.SourceRepo, c.p.SourceSHA, s.Path, s.Size)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				c.prog.Logf("%s: header not summarised: %v", s.Path, err)
				return nil
			}
			files[i].Tensors = sum
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return f, err
	}
	kept := files[:0]
	for _, fl := range files {
		if fl.Path != "" {
			kept = append(kept, fl)
		}
	}
	files = kept
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	f.Files = files
	return f, nil
}

// verify lists the sidecar at commit and checks every managed file against
// the source.
func verify(ctx context.Context, opts *Options, p *Plan, commit string, c *copier) error {
	return sidecar.VerifyTree(ctx, opts.Dest, p.SidecarRepo, commit, func(got map[string]hub.TreeEntry) []string {
		var bad []string
		for _, s := range p.source {
			d, ok := got[s.Path]
			switch {
			case c.ignored[s.Path]:
			case !ok:
				bad = append(bad, s.Path+": missing")
			case !c.storedAsAsked(s, d):
				bad = append(bad, fmt.Sprintf("%s: expected %s, found %s", s.Path, describeEntry(s), describeEntry(d)))
			}
		}
		for _, a := range p.Prune {
			if _, ok := got[a.Path]; ok {
				bad = append(bad, a.Path+": still present after pruning")
			}
		}
		return bad
	})
}

func describeEntry(t hub.TreeEntry) string {
	if t.LFS != nil {
		return fmt.Sprintf("sha256 %s size %d", t.LFS.OID, t.Size)
	}
	return fmt.Sprintf("git blob %s size %d (not LFS)", t.OID, t.Size)
}

// fileCollection adds the sidecar to slug, or to the owner's "Vision
// Sidecars" collection (found by title, created if missing).
func fileCollection(ctx context.Context, opts *Options, repo, slug string) (string, error) {
	return sidecar.FileCollection(ctx, opts.Dest, repo, slug, CollectionTitle)
}
