// Package upload owns uploading a local directory to a Hub repo as one
// commit, as `hf upload` does: the repo is created if missing, the Hub's
// preupload call decides which files go to LFS (large or binary ones) and
// which are committed inline, LFS objects the repo already stores are not
// sent again, and every file lands in a single atomic commit.
//
// Files are read through an os.Root opened on the directory, so no path
// and no symlink can lead the upload outside it. Like huggingface_hub's
// upload_folder, it skips .git/ and .cache/huggingface/ folders; a local
// .gitattributes is uploaded as an ordinary file, and the Hub applies the
// repo's own .gitattributes when it decides upload modes.
package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
)

// MaxInlineFile bounds a file the Hub asks to receive inline (regular mode):
// such files travel base64-encoded in the commit request. The Hub sends
// files over 10 MB to LFS.
const MaxInlineFile = 32 << 20

// maxInlineTotal bounds the bytes of all inline files of one upload: the
// commit carries them, base64-encoded, in one request (streamed, each file
// read from disk as its line is sent). A variable so tests can lower it.
var maxInlineTotal int64 = 256 << 20

// Options configures Upload.
type Options struct {
	Client *hub.Client
	Repo   string // owner/name of a model repo
	// Dir is the directory to upload; a regular file is uploaded alone
	// under its base name.
	Dir     string
	Message string // commit summary; a default names the tool
	Private bool   // create the repo private when it is missing
	Jobs    int    // concurrent transfers; default 4
	// Progress receives log and progress lines; nil discards them.
	Progress      io.Writer
	Terminal      bool
	ProgressEvery time.Duration // plain progress interval; default 5 s
}

// File is one uploaded file.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Mode is lfs, regular (committed inline) or ignored (the Hub said so).
	Mode string `json:"mode"`
	// Sent is false for an LFS object the repo already stored.
	Sent bool `json:"sent"`
}

// Result is what an upload did.
type Result struct {
	Repo      string        `json:"repo"`
	Created   bool          `json:"created"`
	Commit    string        `json:"commit"`
	CommitURL string        `json:"commit_url,omitempty"`
	Files     []File        `json:"files"`
	Bytes     int64         `json:"bytes"`      // size of every file
	BytesSent int64         `json:"bytes_sent"` // bytes that crossed the network
	Duration  time.Duration `json:"duration_ns"`
}

// RefusedError lists the paths of a directory the upload will not read.
type RefusedError struct {
	Dir   string
	Paths []string // "path (why)"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to upload %s: %s", e.Dir, strings.Join(e.Paths, ", "))
}

// local is one file found in the directory.
type local struct {
	path   string // slash-separated, relative to the root
	size   int64
	sha256 string
	sample []byte
	mod    time.Time
	mode   string
}

// maxCardBytes bounds the README.md sent to validate-yaml.
const maxCardBytes = 8 << 20

// Upload sends opts.Dir to opts.Repo in one commit.
func Upload(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	if opts.Jobs <= 0 {
		opts.Jobs = 4
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5 * time.Second
	}
	if !opts.Client.HasToken() {
		return nil, errors.New("a token is required to upload: set HF_TOKEN")
	}
	root, files, err := scan(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if len(files) == 0 {
		return nil, fmt.Errorf("nothing to upload: %s holds no files", opts.Dir)
	}
	prog := progress.New(opts.Progress, opts.Terminal, opts.ProgressEvery, "uploaded")
	defer prog.Close()
	res := &Result{Repo: opts.Repo}
	if err := hashAll(ctx, root, files, opts.Jobs); err != nil {
		return nil, err
	}
	for _, f := range files {
		res.Bytes += f.size
	}
	prog.Logf("read %d files (%s) from %s", len(files), progress.HumanBytes(res.Bytes), opts.Dir)

	// A README.md is checked by the Hub's validate-yaml before anything
	// else, as huggingface_hub's create_commit and upload_folder check it
	// (hf_api.py _validate_yaml): a card the Hub would refuse creates no
	// repo and moves no byte.
	for _, f := range files {
		if f.path != "README.md" {
			continue
		}
		if f.size > maxCardBytes {
			break // far beyond any card; the commit gets the Hub's answer
		}
		h, err := open(root, f)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(h, f.size))
		h.Close()
		if err != nil {
			return nil, fmt.Errorf("reading README.md: %w", err)
		}
		if err := opts.Client.ValidateYAML(ctx, b); err != nil {
			return nil, fmt.Errorf("README.md: %w; nothing was uploaded", err)
		}
	}
	created, err := ensureRepo(ctx, opts)
	if err != nil {
		return nil, err
	}
	if created {
		res.Created = true
		prog.Logf("created %s", opts.Repo)
	}
	pre := make([]hub.PreuploadFile, len(files))
	for i, f := range files {
		pre[i] = hub.PreuploadFile{Path: f.path, Size: f.size, Sample: f.sample}
	}
	modes, head, err := opts.Client.Preupload(ctx, opts.Repo, "main", pre)
	if err != nil {
		return nil, fmt.Errorf("asking %s how to upload: %w", opts.Repo, describeWrite(err, opts.Repo))
	}
	byPath := map[string]hub.PreuploadResult{}
	for _, m := range modes {
		byPath[m.Path] = m
	}
	var lfs []*local
	var total int64
	for _, f := range files {
		m, ok := byPath[f.path]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s's preupload answer says nothing of %s", opts.Repo, f.path)
		case m.ShouldIgnore:
			f.mode = "ignored"
			prog.Logf("the Hub ignores %s; not uploaded", f.path)
		case m.UploadMode == "lfs":
			f.mode = "lfs"
			lfs = append(lfs, f)
			total += f.size
		case m.UploadMode == "regular":
			if f.size > MaxInlineFile {
				return nil, fmt.Errorf("%s: the Hub wants its %s inline; the limit is %s", f.path, progress.HumanBytes(f.size), progress.HumanBytes(MaxInlineFile))
			}
			f.mode = "regular"
			total += f.size
		default:
			return nil, fmt.Errorf("%s: unknown upload mode %q", f.path, m.UploadMode)
		}
	}
	var inline int64
	for _, f := range files {
		if f.mode == "regular" {
			inline += f.size
		}
	}
	if inline > maxInlineTotal {
		return nil, fmt.Errorf("the Hub wants %s of small files committed inline, more than the %s one commit of this tool carries; upload them in parts", progress.HumanBytes(inline), progress.HumanBytes(maxInlineTotal))
	}
	prog.SetTotal(len(files), total)

	sent := map[string]bool{}
	var moved atomic.Int64
	if err := uploadLFS(ctx, opts, root, lfs, prog, sent, &moved); err != nil {
		return nil, err
	}
	req := hub.CommitRequest{Summary: opts.Message, ParentCommit: head}
	if req.Summary == "" {
		req.Summary = "Upload folder using skulk-weights"
	}
	for _, f := range files {
		switch f.mode {
		case "lfs":
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "lfsFile", Path: f.path, OID: f.sha256, Size: f.size})
		case "regular":
			req.Ops = append(req.Ops, hub.CommitOp{Kind: "file", Path: f.path, Size: f.size, Open: openInline(root, f)})
		}
	}
	info, err := commit(ctx, opts, req, prog)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.mode == "regular" {
			moved.Add(f.size)
			prog.Done(f.path, f.size, "regular")
		}
	}
	res.Commit, res.CommitURL = info.OID, info.URL
	for _, f := range files {
		res.Files = append(res.Files, File{Path: f.path, Size: f.size, SHA256: f.sha256, Mode: f.mode,
			Sent: f.mode == "regular" || sent[f.sha256]})
	}
	res.BytesSent = moved.Load()
	res.Duration = time.Since(start)
	prog.Logf("committed %s@%s", opts.Repo, info.OID)
	return res, nil
}

// scan lists the regular files under dir through an os.Root. It refuses
// (naming every one) symlinks that lead outside dir or to a directory, and
// special files, before anything is read.
func scan(dir string) (*os.Root, []*local, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	only := ""
	base := dir
	if fi.Mode().IsRegular() {
		base, only = filepath.Dir(dir), filepath.Base(dir)
	} else if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is neither a directory nor a regular file", dir)
	}
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, nil, err
	}
	var files []*local
	var refused []string
	add := func(p string) {
		fi, err := root.Stat(p)
		switch {
		case strings.ContainsFunc(p, unicode.IsControl):
			refused = append(refused, fmt.Sprintf("%q (a control character in the name)", p))
		case strings.ContainsRune(p, '\\'):
			refused = append(refused, fmt.Sprintf("%q (a backslash in the name; the Hub reads it as a separator)", p))
		case err != nil:
			refused = append(refused, fmt.Sprintf("%s (%s)", p, whyNot(err)))
		case fi.IsDir():
			refused = append(refused, p+" (a symlink to a directory; not followed)")
		case !fi.Mode().IsRegular():
			refused = append(refused, fmt.Sprintf("%s (not a regular file: %s)", p, fi.Mode().Type()))
		default:
			files = append(files, &local{path: p, size: fi.Size(), mod: fi.ModTime()})
		}
	}
	if only != "" {
		add(only)
	} else {
		err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != "." && ignoredDir(p) {
					return fs.SkipDir
				}
				return nil
			}
			add(p)
			return nil
		})
		if err != nil {
			root.Close()
			return nil, nil, err
		}
	}
	if len(refused) > 0 {
		root.Close()
		sort.Strings(refused)
		return nil, nil, &RefusedError{Dir: dir, Paths: refused}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return root, files, nil
}

// ignoredDir reports folders huggingface_hub's upload_folder never uploads
// (DEFAULT_IGNORE_PATTERNS): git's own data and the local-dir cache.
func ignoredDir(p string) bool {
	return path.Base(p) == ".git" || p == ".cache/huggingface" || strings.HasSuffix(p, "/.cache/huggingface")
}

func whyNot(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return "a symlink leading outside the directory; not followed"
	}
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// open opens a scanned file again and checks it is still the file that was
// scanned: a regular file of the same size and time.
func open(root *os.Root, f *local) (*os.File, error) {
	h, err := root.Open(f.path)
	if err != nil {
		return nil, err
	}
	fi, err := h.Stat()
	if err == nil && (!fi.Mode().IsRegular() || fi.Size() != f.size || !fi.ModTime().Equal(f.mod)) {
		err = fmt.Errorf("%s changed while it was being uploaded", f.path)
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// hashAll reads every file once for its sha256 and its first 512 bytes,
// which preupload needs to decide the upload mode.
func hashAll(ctx context.Context, root *os.Root, files []*local, jobs int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, f := range files {
		g.Go(func() error {
			h, err := open(root, f)
			if err != nil {
				return err
			}
			defer h.Close()
			sum := sha256.New()
			head := &sampleWriter{max: 512}
			n, err := io.Copy(io.MultiWriter(sum, head), &ctxReader{ctx: gctx, r: h})
			if err != nil {
				return fmt.Errorf("reading %s: %w", f.path, err)
			}
			if n != f.size {
				return fmt.Errorf("%s changed while it was being read", f.path)
			}
			f.sha256, f.sample = hex.EncodeToString(sum.Sum(nil)), head.b
			return nil
		})
	}
	return g.Wait()
}

type sampleWriter struct {
	b   []byte
	max int
}

func (s *sampleWriter) Write(p []byte) (int, error) {
	if k := s.max - len(s.b); k > 0 {
		s.b = append(s.b, p[:min(k, len(p))]...)
	}
	return len(p), nil
}

// ctxReader stops a long read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// openInline opens a small file for the inline commit as its line is sent,
// checking it still hashes to what preupload was told; a changed file cuts
// the request before its end, so it cannot land.
func openInline(root *os.Root, f *local) hub.BodyFunc {
	return func(context.Context) (io.ReadCloser, error) {
		h, err := open(root, f)
		if err != nil {
			return nil, err
		}
		return &checkedReader{f: h, want: f.sha256, size: f.size, path: f.path, h: sha256.New(), moved: new(atomic.Int64)}, nil
	}
}

// ensureRepo creates the repo unless it exists, and says whether it did.
func ensureRepo(ctx context.Context, opts Options) (bool, error) {
	err := opts.Client.CreateRepo(ctx, opts.Repo, opts.Private)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, hub.ErrConflict):
		return false, nil
	case errors.Is(err, hub.ErrForbidden) || errors.Is(err, hub.ErrUnauthorized):
		// A token scoped to one existing repo may not create repos; as
		// huggingface_hub's create_repo(exist_ok=True) does, go on when the
		// repo is there (preupload then checks the write access).
		if _, ierr := opts.Client.RepoInfo(ctx, opts.Repo, ""); ierr == nil {
			return false, nil
		}
	}
	return false, fmt.Errorf("creating %s: %w", opts.Repo, describeWrite(err, opts.Repo))
}

// describeWrite explains a refused write.
func describeWrite(err error, repo string) error {
	if errors.Is(err, hub.ErrForbidden) || errors.Is(err, hub.ErrUnauthorized) {
		return fmt.Errorf("the token cannot write to %s: it needs write access to that repo: %w", repo, err)
	}
	return err
}

// uploadLFS sends the LFS objects the repo does not store yet, each at most
// once, with at most opts.Jobs transfers (files or parts) at a time.
func uploadLFS(ctx context.Context, opts Options, root *os.Root, files []*local, prog *progress.Reporter, sent map[string]bool, moved *atomic.Int64) error {
	if len(files) == 0 {
		return nil
	}
	var objs []hub.LFSObject
	first := map[string]*local{}
	for _, f := range files {
		if first[f.sha256] == nil {
			first[f.sha256] = f
			objs = append(objs, hub.LFSObject{OID: f.sha256, Size: f.size})
		}
	}
	answers, err := opts.Client.LFSBatch(ctx, opts.Repo, "main", objs)
	if err != nil {
		return fmt.Errorf("asking %s's LFS storage for upload URLs: %w", opts.Repo, describeWrite(err, opts.Repo))
	}
	slots := make(chan struct{}, opts.Jobs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i := range answers {
		obj := &answers[i]
		f := first[obj.OID]
		if f == nil {
			return fmt.Errorf("the LFS batch of %s answered for an object nobody asked for (%s)", opts.Repo, obj.OID)
		}
		if !obj.NeedsUpload() {
			prog.Done(f.path, f.size, "lfs: already stored")
			continue
		}
		sent[obj.OID] = true
		g.Go(func() error { return sendObject(gctx, opts, root, f, obj, prog, slots, moved) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range files {
		if first[f.sha256] != f {
			prog.Done(f.path, f.size, "lfs: same bytes as "+first[f.sha256].path)
		}
	}
	return nil
}

// sendObject uploads one LFS object, basic or multipart as the Hub asked.
func sendObject(ctx context.Context, opts Options, root *os.Root, f *local, obj *hub.LFSObject, prog *progress.Reporter, slots chan struct{}, moved *atomic.Int64) error {
	parts, multi, err := obj.Multipart()
	if err != nil {
		return err
	}
	fp := prog.Begin(f.path, f.size)
	acquire := func() error {
		select {
		case slots <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	method := "lfs"
	if !multi {
		if err := acquire(); err != nil {
			return err
		}
		err := opts.Client.UploadBasic(ctx, obj.Actions.Upload, f.size, func(ctx context.Context) (io.ReadCloser, error) {
			h, err := open(root, f)
			if err != nil {
				return nil, err
			}
			fp.Reset()
			return &checkedReader{f: h, want: f.sha256, size: f.size, path: f.path, h: sha256.New(), fp: fp, moved: moved}, nil
		})
		<-slots
		if err != nil {
			return fmt.Errorf("uploading %s: %w", f.path, err)
		}
	} else {
		method = "lfs multipart"
		etags := make([]string, len(parts))
		g, gctx := errgroup.WithContext(ctx)
		for i, part := range parts {
			if err := acquire(); err != nil {
				break
			}
			g.Go(func() error {
				defer func() { <-slots }()
				etag, err := opts.Client.UploadPart(gctx, part, func(ctx context.Context) (io.ReadCloser, error) {
					h, err := open(root, f)
					if err != nil {
						return nil, err
					}
					return &partReader{f: h, r: io.NewSectionReader(h, part.Offset, part.Size), fp: fp, moved: moved}, nil
				})
				if err != nil {
					return fmt.Errorf("uploading %s part %d/%d: %w", f.path, part.Number, len(parts), err)
				}
				etags[i] = etag
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// The parts were read by range; the file must still be the one
		// whose sha256 the commit names.
		h, err := open(root, f)
		if err != nil {
			return err
		}
		h.Close()
		if err := opts.Client.CompleteMultipart(ctx, obj.Actions.Upload, f.sha256, etags); err != nil {
			return fmt.Errorf("completing the upload of %s: %w", f.path, err)
		}
	}
	if obj.Actions.Verify != nil {
		if err := opts.Client.VerifyLFS(ctx, obj.Actions.Verify, f.sha256, f.size); err != nil {
			return fmt.Errorf("verifying %s with the Hub: %w", f.path, err)
		}
	}
	prog.Finish(fp, method)
	return nil
}

// checkedReader streams a whole file, hashing it; when the last byte is
// read it checks the sha256 and withholds that last chunk on a mismatch,
// so storage never receives a complete body with other bytes than the
// commit names.
type checkedReader struct {
	f     *os.File
	want  string
	path  string
	size  int64
	n     int64
	h     hash.Hash
	fp    *progress.File // nil: no progress line
	moved *atomic.Int64
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if int64(n) > c.size-c.n {
		return 0, changedError(c.path)
	}
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.n == c.size && hex.EncodeToString(c.h.Sum(nil)) != c.want {
		return 0, changedError(c.path)
	}
	if c.fp != nil {
		c.fp.Add(int64(n))
	}
	c.moved.Add(int64(n))
	if err == io.EOF && c.n != c.size {
		return n, changedError(c.path)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.f.Close() }

// changedError is permanent: retrying would read the same changed file.
type changedError string

func (e changedError) Error() string   { return string(e) + " changed while it was being uploaded" }
func (e changedError) Permanent() bool { return true }

// partReader streams one part of a file.
type partReader struct {
	f     *os.File
	r     io.Reader
	fp    *progress.File
	moved *atomic.Int64
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.fp.Add(int64(n))
	p.moved.Add(int64(n))
	return n, err
}

func (p *partReader) Close() error { return p.f.Close() }

// commit posts the commit. Its answer lost, it reads the branch head: the
// commit is conditional on the head preupload saw, so while the head has
// not moved it did not land and is sent once more; a moved head is
// reported, since another writer may have moved it.
func commit(ctx context.Context, opts Options, req hub.CommitRequest, prog *progress.Reporter) (*hub.CommitInfo, error) {
	info, err := opts.Client.Commit(ctx, opts.Repo, "main", req)
	var changed changedError
	if errors.Is(err, hub.ErrCommitNotSent) && !errors.As(err, &changed) && ctx.Err() == nil {
		// The Hub never read the whole request: nothing landed.
		prog.Logf("the commit was not sent whole (%s); sending it again", opts.Client.Redact(err.Error()))
		info, err = opts.Client.Commit(ctx, opts.Repo, "main", req)
	}
	if errors.Is(err, hub.ErrCommitOutcomeUnknown) && ctx.Err() == nil {
		prog.Logf("lost the answer to the commit (%s); reading the head to see whether it landed", opts.Client.Redact(err.Error()))
		head, herr := opts.Client.ResolveRevision(ctx, opts.Repo, "main")
		switch {
		case herr != nil:
			return nil, fmt.Errorf("committing to %s: %w; reading the head failed too: %w", opts.Repo, err, herr)
		case head != req.ParentCommit:
			return nil, fmt.Errorf("committing to %s: the answer was lost and main is now at %s: check whether that commit holds this upload: %w", opts.Repo, head, err)
		}
		info, err = opts.Client.Commit(ctx, opts.Repo, "main", req)
	}
	switch {
	case err == nil:
		return info, nil
	case errors.Is(err, hub.ErrPreconditionFailed):
		return nil, fmt.Errorf("committing to %s: another commit landed while uploading; run the upload again: %w", opts.Repo, err)
	}
	return nil, fmt.Errorf("committing to %s: %w", opts.Repo, describeWrite(err, opts.Repo))
}
