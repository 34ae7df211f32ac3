package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// A file is stored in the sidecar the way the Hub asks for it, not the way
// the source happened to store it (internal/sidecar's modes.go says why). A
// source may hold a small text file in LFS (its own .gitattributes) or a
// small binary file in git; the sidecar then stores the same bytes the
// other way, so it is compared with its source by content (sha256 and git
// blob id of the bytes), not by git id.

// sampleSize is how much of a file preupload is shown.
const sampleSize = sidecar.SampleSize

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
		s := src[a.Path]
		if cp := c.get(a.Path); cp != nil && cp.method == "inline" {
			samples[i] = cp.head // kept by the hashing read of a regular file
			continue
		}
		if s.Size == 0 {
			continue
		}
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
	modes, err := sidecar.UploadModes(ctx, c.opts.Dest, c.p.SidecarRepo, files)
	if err != nil {
		return err
	}
	c.modes = modes
	kept := c.p.Copy[:0]
	c.p.CopyBytes = 0
	for _, a := range c.p.Copy {
		if c.modes[a.Path] == sidecar.ModeIgnored {
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
	blob, sum := newBlobHash(git.Size), sha256.New()
	n, err := io.Copy(io.MultiWriter(blob, sum), io.LimitReader(f, git.Size+1))
	return err == nil && n == git.Size && hex.EncodeToString(blob.Sum(nil)) == git.OID && hex.EncodeToString(sum.Sum(nil)) == lfs.LFS.OID
}

// storedAsAsked reports whether the sidecar entry d holds the bytes of
// source file s in the way this run stored them, or, for a file the run
// did not copy, the way the plan found them.
func (c *copier) storedAsAsked(s, d hub.TreeEntry) bool {
	if sameContent(s, d) {
		return true
	}
	if cp := c.get(s.Path); cp != nil {
		switch sha := c.promoted[s.Path]; {
		case sha != "" && cp.method != "inline":
			return d.LFS != nil && d.LFS.OID == sha && d.Size == s.Size
		case cp.method == "inline" && s.LFS != nil:
			return d.LFS == nil && d.OID == cp.gitOID && d.Size == s.Size
		}
	}
	held, ok := c.p.sidecar[s.Path]
	return ok && c.p.across[s.Path] && held.OID == d.OID
}
