package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// A file is stored in the sidecar the way the Hub asks for it, not the way
// the source happened to store it: the official clients send preupload the
// real size and first 512 bytes of every file and commit each one as its
// answer says (huggingface_hub _commit_api.py _fetch_upload_modes,
// @huggingface/hub lib/commit.ts), and the Hub refuses binary files over
// 1 MB committed as plain git files. A source may hold a small text file in
// LFS (its own .gitattributes) or a small binary file in git; the sidecar
// then stores the same bytes the other way, so it is compared with its
// source by content (sha256 and git blob id of the bytes), not by git id.

// sampleSize is how much of a file preupload is shown.
const sampleSize = 512

// preupload asks the Hub how each file of the commit is to be stored,
// showing it the real card and the first bytes of every file (read with one
// small ranged GET for an LFS file not in hand). It needs write access, so
// it is also the permission check before any byte moves. Files the Hub
// says to ignore leave the plan: the sidecar cannot hold them.
func (c *copier) preupload(ctx context.Context, readme []byte) error {
	src := map[string]hub.TreeEntry{}
	for _, s := range c.p.source {
		src[s.Path] = s
	}
	samples := make([][]byte, len(c.p.Copy))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Jobs)
	for i, a := range c.p.Copy {
		if cp := c.done[a.Path]; cp != nil && cp.content != nil {
			samples[i] = cp.content[:min(len(cp.content), sampleSize)]
			continue
		}
		s := src[a.Path]
		g.Go(func() error {
			b, err := c.sample(gctx, s)
			samples[i] = b
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	files := []hub.PreuploadFile{{Path: "README.md", Size: int64(len(readme)), Sample: readme[:min(len(readme), sampleSize)]}}
	for i, a := range c.p.Copy {
		files = append(files, hub.PreuploadFile{Path: a.Path, Size: a.Size, Sample: samples[i]})
	}
	res, _, err := c.opts.Dest.Preupload(ctx, c.p.SidecarRepo, "main", files)
	if err != nil {
		return fmt.Errorf("checking write access to %s: %w", c.p.SidecarRepo, describeWrite(err, c.p.SidecarRepo))
	}
	c.modes = map[string]string{}
	for _, r := range res {
		switch {
		case r.ShouldIgnore:
			c.modes[r.Path] = "ignored"
		case r.UploadMode == "lfs" || r.UploadMode == "regular":
			c.modes[r.Path] = r.UploadMode
		default:
			return fmt.Errorf("preupload for %s answered upload mode %q for %s", c.p.SidecarRepo, r.UploadMode, r.Path)
		}
	}
	kept := c.p.Copy[:0]
	c.p.CopyBytes = 0
	for _, a := range c.p.Copy {
		if c.modes[a.Path] == "ignored" {
			c.ignored[a.Path] = true
			c.prog.Logf("%s: the Hub ignores this path in %s (its .gitignore); left out of the commit and the card", a.Path, c.p.SidecarRepo)
			continue
		}
		kept = append(kept, a)
		c.p.CopyBytes += a.Size
	}
	c.p.Copy = kept
	return nil
}

// sample reads the first bytes of a source file.
func (c *copier) sample(ctx context.Context, s hub.TreeEntry) ([]byte, error) {
	n := min(s.Size, sampleSize)
	f, err := c.opts.Source.OpenRange(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, 0, n)
	if err != nil {
		return nil, fmt.Errorf("reading the first bytes of %s: %w", s.Path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, n))
	if err != nil {
		return nil, fmt.Errorf("reading the first bytes of %s: %w", s.Path, err)
	}
	return b, nil
}

// modeOf is how s is stored in the sidecar: as preupload said, else as the
// source stores it.
func (c *copier) modeOf(s hub.TreeEntry) string {
	if m := c.modes[s.Path]; m != "" {
		return m
	}
	if s.LFS != nil {
		return "lfs"
	}
	return "regular"
}

// uploadPromoted puts regular source files the Hub wants in LFS into the
// sidecar's LFS storage from the bytes in hand (regular files are small:
// MaxRegularFile bounds them).
func (c *copier) uploadPromoted(ctx context.Context, files []hub.TreeEntry) error {
	if len(files) == 0 {
		return nil
	}
	var objs []hub.LFSObject
	shas := map[string]string{}
	for _, s := range files {
		cp := c.done[s.Path]
		if cp == nil || cp.content == nil {
			return fmt.Errorf("%s: its bytes were not fetched before the upload", s.Path)
		}
		sha := sha256Hex(cp.content)
		if _, dup := shas[sha]; !dup {
			objs = append(objs, hub.LFSObject{OID: sha, Size: int64(len(cp.content))})
		}
		shas[s.Path] = sha
	}
	answers, err := c.opts.Dest.LFSBatch(ctx, c.p.SidecarRepo, "main", objs)
	if err != nil {
		return fmt.Errorf("asking %s's LFS storage for upload URLs: %w", c.p.SidecarRepo, describeWrite(err, c.p.SidecarRepo))
	}
	byOID := map[string]*hub.LFSObject{}
	for i := range answers {
		byOID[answers[i].OID] = &answers[i]
	}
	sent := map[string]bool{}
	for _, s := range files {
		content, sha := c.done[s.Path].content, shas[s.Path]
		obj := byOID[sha]
		if obj == nil {
			return fmt.Errorf("LFS batch for %s did not answer for %s (%s)", c.p.SidecarRepo, s.Path, sha)
		}
		method := "stored"
		if obj.NeedsUpload() && !sent[sha] {
			if err := c.putBytes(ctx, obj, content); err != nil {
				return fmt.Errorf("uploading %s: %w", s.Path, err)
			}
			sent[sha] = true
			method = "lfs"
		}
		c.set(s.Path, &copied{method: method, content: content, lfs: true, sha256: sha})
		c.prog.Done(s.Path, s.Size, method+": stored in LFS as the Hub asks (the source keeps it in git)")
	}
	return nil
}

// putBytes sends content to the storage URLs of obj, basic or multipart.
func (c *copier) putBytes(ctx context.Context, obj *hub.LFSObject, content []byte) error {
	open := func(b []byte) hub.BodyFunc {
		return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	parts, multi, err := obj.Multipart()
	if err != nil {
		return err
	}
	if !multi {
		err = c.opts.Dest.UploadBasic(ctx, obj.Actions.Upload, int64(len(content)), open(content))
	} else {
		etags := make([]string, len(parts))
		for i, p := range parts {
			if etags[i], err = c.opts.Dest.UploadPart(ctx, p, open(content[p.Offset:p.Offset+p.Size])); err != nil {
				return err
			}
		}
		err = c.opts.Dest.CompleteMultipart(ctx, obj.Actions.Upload, obj.OID, etags)
	}
	if err == nil && obj.Actions.Verify != nil {
		err = c.opts.Dest.VerifyLFS(ctx, obj.Actions.Verify, obj.OID, obj.Size)
	}
	return err
}

// sameAcrossModes reports whether a source file and a sidecar file stored
// the other way (one in LFS, one in git) hold the same bytes: the git file
// is read (it is small) and its sha256 compared with the LFS oid, its git
// blob id with its own. Any failure to read counts as a difference: the
// file is then copied again.
func sameAcrossModes(ctx context.Context, opts *Options, p *Plan, s, d hub.TreeEntry) bool {
	if s.Size != d.Size || (s.LFS == nil) == (d.LFS == nil) || s.Size > MaxRegularFile || (s.LFS != nil && s.LFS.Size != s.Size) {
		return false
	}
	cl, repo, rev, git, lfs := opts.Source, p.SourceRepo, p.SourceSHA, s, d
	if s.LFS != nil {
		cl, repo, rev, git, lfs = opts.Dest, p.SidecarRepo, p.SidecarHead, d, s
	}
	f, err := cl.Open(ctx, repo, rev, git.Path, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, git.Size+1))
	if err != nil || int64(len(b)) != git.Size {
		return false
	}
	return GitBlobID(b) == git.OID && sha256Hex(b) == lfs.LFS.OID
}

// storedAsAsked reports whether the sidecar entry d holds the bytes of
// source file s in the way this run stored them, or, for a file the run
// did not copy, the way the plan found them.
func (c *copier) storedAsAsked(s, d hub.TreeEntry) bool {
	if sameContent(s, d) {
		return true
	}
	if cp := c.done[s.Path]; cp != nil {
		switch {
		case cp.lfs:
			return d.LFS != nil && d.LFS.OID == cp.sha256 && d.Size == s.Size
		case cp.content != nil && s.LFS != nil:
			return d.LFS == nil && d.OID == GitBlobID(cp.content) && d.Size == s.Size
		}
	}
	held, ok := c.p.sidecar[s.Path]
	return ok && c.p.across[s.Path] && held.OID == d.OID
}

// checkSmallLFS checks the bytes of an LFS source file the Hub wants as a
// plain git file.
func checkSmallLFS(s hub.TreeEntry, b []byte) error {
	if int64(len(b)) != s.Size {
		return &MismatchError{Path: s.Path, What: "size", Expected: strconv.FormatInt(s.Size, 10), Actual: strconv.Itoa(len(b))}
	}
	if got := sha256Hex(b); got != s.LFS.OID {
		return &MismatchError{Path: s.Path, What: "sha256", Expected: s.LFS.OID, Actual: got}
	}
	return nil
}
