package mirror

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// MaxRegularFile bounds a regular (non-LFS) source file, which is committed
// inline, base64-encoded in the commit request; the Hub itself refuses
// regular text files over 10 MB.
const MaxRegularFile = 32 << 20

// aheadBlock and aheadBlocks bound the bytes of multipart parts that run
// ahead of their file's in-order hash: they wait in at most aheadBlocks
// blocks of aheadBlock bytes, shared by every file of every publish in the
// process, and a part that finds none free pauses until its file's hash
// catches up or a block comes back. 48 MiB lets three 16 MiB parts finish
// while the fourth, the one the hash is at, streams; peak memory stays the
// same whatever the file size, the number of files or --jobs.
const (
	aheadBlock  = 1 << 20
	aheadBlocks = 48
)

// aheadPool is that pool. Its blocks live outside the Go heap (see
// offHeap): on the heap, 48 MiB of long-lived buffers would double the
// garbage collector's target (GOGC=100 lets the heap grow to twice what is
// live), so the few KiB of garbage each HTTP request leaves would pile up
// for gigabytes before the first collection, and peak memory would grow
// with the file size, up to about twice the pool.
var aheadPool = sync.OnceValue(func() *blockPool { return newBlockPool(aheadBlock, aheadBlocks) })

// MismatchError says a file's bytes are not what the source tree promised.
// It aborts the publish before anything is committed.
type MismatchError struct {
	Path, What, Expected, Actual string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: expected %s, got %s", e.Path, e.What, e.Expected, e.Actual)
}

// Permanent stops the Hub client from retrying a transfer that failed on a
// mismatch: the same source would fail the same way.
func (e *MismatchError) Permanent() bool { return true }

// copied is what copying one file produced.
type copied struct {
	method string
	// sha256 and size are a regular file's, which is committed inline: its
	// bytes are read again from the source while the commit is sent, never
	// kept.
	sha256  string
	size    int64
	summary *safetensors.Summary
	// gitOID is the git blob id of a regular file's bytes: for an LFS
	// source file committed inline, the id the sidecar gives it. head is
	// its first bytes, preupload's sample.
	gitOID string
	head   []byte
}

type copier struct {
	opts  *Options
	p     *Plan
	prog  *progress.Reporter
	slots chan struct{} // one per concurrent transfer (file or part)
	moved atomic.Int64
	// modes is preupload's answer per path ("lfs", "regular", "ignored");
	// ignored holds the paths the Hub ignores.
	modes   map[string]string
	ignored map[string]bool
	// promoted maps each regular source file stored in LFS (as the Hub
	// asked) to its sha256, the oid its lfsFile line names.
	promoted map[string]string

	// headers holds the header summaries checkHeaders read before the
	// copy; only read while copies run. A file it describes is not scanned
	// again as it streams: that would hold its header (up to
	// safetensors.HeaderLimit) a second time.
	headers map[string]*safetensors.Summary

	mu   sync.Mutex
	done map[string]*copied
}

func (c *copier) set(path string, cp *copied) {
	c.mu.Lock()
	c.done[path] = cp
	c.mu.Unlock()
}

// get returns what copying path produced, nil if it is not copied yet.
func (c *copier) get(path string) *copied {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done[path]
}

func (c *copier) acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *copier) release() { <-c.slots }

// copyAll brings every file of p.Copy into the sidecar's storage (or memory,
// for regular files), fastest way first.
func (c *copier) copyAll(ctx context.Context) error {
	src := map[string]hub.TreeEntry{}
	for _, s := range c.p.source {
		src[s.Path] = s
	}
	// Each file goes the way preupload said (modes.go): an LFS source
	// file may become a plain file, a regular one may go to LFS.
	var lfs, regular []hub.TreeEntry
	for _, a := range c.p.Copy {
		s := src[a.Path]
		mode := c.modeOf(s)
		// A regular file the Hub wants in LFS is pending while only its
		// hashing read is done (method "inline").
		if cp := c.get(a.Path); cp != nil && (cp.method != "inline" || mode != "lfs" || s.LFS != nil) {
			continue // copied before a re-plan
		}
		switch {
		case mode == "lfs" && s.LFS == nil:
			// Streamed into LFS like any LFS file, under the sha256 its
			// hashing read found (copyRegular checked its git blob id).
			cp := c.get(a.Path)
			if cp == nil {
				return fmt.Errorf("%s: its bytes were not hashed before the upload", s.Path)
			}
			c.mu.Lock()
			c.promoted[s.Path] = cp.sha256
			c.mu.Unlock()
			s.LFS = &hub.LFSInfo{OID: cp.sha256, Size: s.Size}
			lfs = append(lfs, s)
		case mode == "lfs":
			lfs = append(lfs, s)
		default:
			regular = append(regular, s)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Jobs)
	for _, s := range regular {
		g.Go(func() error { return c.copyRegular(gctx, s) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(lfs) == 0 {
		return nil
	}

	// 1. Server-side duplication for files the Hub can copy by hash.
	var dup []hub.DuplicateFile
	for _, s := range lfs {
		if s.XetHash != "" {
			dup = append(dup, hub.DuplicateFile{XetHash: s.XetHash, SHA256: s.LFS.OID, Filename: s.Path})
		}
	}
	if len(dup) > 0 {
		failed, err := c.opts.Dest.DuplicateLFS(ctx, c.p.SourceRepo, c.p.SidecarRepo, dup)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.prog.Logf("server-side duplicate unavailable (%s); copying the bytes instead", c.opts.Dest.Redact(err.Error()))
		} else {
			bad := map[string]bool{}
			for _, f := range failed {
				bad[f.SHA256] = true
			}
			var rest []hub.TreeEntry
			for _, s := range lfs {
				if s.XetHash != "" && !bad[s.LFS.OID] {
					c.set(s.Path, &copied{method: "duplicate"})
					c.prog.Done(s.Path, s.Size, "duplicate: copied server-side")
					continue
				}
				rest = append(rest, s)
			}
			lfs = rest
		}
	}
	if len(lfs) == 0 {
		return nil
	}

	// 2. The LFS batch says which objects the sidecar already stores.
	objs := make([]hub.LFSObject, 0, len(lfs))
	seen := map[string]bool{}
	for _, s := range lfs {
		if !seen[s.LFS.OID] {
			seen[s.LFS.OID] = true
			objs = append(objs, hub.LFSObject{OID: s.LFS.OID, Size: s.Size})
		}
	}
	answers, err := c.opts.Dest.LFSBatch(ctx, c.p.SidecarRepo, "main", objs)
	if err != nil {
		return fmt.Errorf("asking %s's LFS storage for upload URLs: %w", c.p.SidecarRepo, describeWrite(err, c.p.SidecarRepo))
	}
	byOID := map[string]*hub.LFSObject{}
	for i := range answers {
		byOID[answers[i].OID] = &answers[i]
	}
	// 3. Stream the rest: source GET -> storage PUT, hashed as bytes pass.
	g, gctx = errgroup.WithContext(ctx)
	uploading := map[string]bool{}
	for _, s := range lfs {
		obj := byOID[s.LFS.OID]
		if obj == nil {
			return fmt.Errorf("LFS batch for %s did not answer for %s (%s)", c.p.SidecarRepo, s.Path, s.LFS.OID)
		}
		if !obj.NeedsUpload() || uploading[s.LFS.OID] {
			if uploading[s.LFS.OID] {
				// Same bytes under two paths: the first upload serves both;
				// its verification covers the content.
				c.set(s.Path, &copied{method: "stored"})
				c.prog.Done(s.Path, s.Size, "stored: same bytes as another file of this commit")
				continue
			}
			c.set(s.Path, &copied{method: "stored"})
			c.prog.Done(s.Path, s.Size, "stored: the sidecar already holds these bytes")
			continue
		}
		uploading[s.LFS.OID] = true
		g.Go(func() error { return c.stream(gctx, s, obj) })
	}
	return g.Wait()
}

// copyRegular reads a small regular file through once for its sha256 (the
// card lists it) and checks its size and git blob id; the commit reads it
// again as it is sent.
func (c *copier) copyRegular(ctx context.Context, s hub.TreeEntry) error {
	if s.Size > MaxRegularFile {
		return fmt.Errorf("%s: regular (non-LFS) file of %s is over the %s limit", s.Path, HumanBytes(s.Size), HumanBytes(MaxRegularFile))
	}
	f, err := c.opts.Source.Open(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, 0)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", s.Path, err)
	}
	defer f.Close()
	blob, sum, head := newBlobHash(s.Size), sha256.New(), &headBuf{}
	n, err := io.Copy(io.MultiWriter(blob, sum, head), io.LimitReader(f, s.Size+1))
	if err != nil {
		return fmt.Errorf("downloading %s: %w", s.Path, err)
	}
	if n != s.Size {
		return &MismatchError{Path: s.Path, What: "size", Expected: strconv.FormatInt(s.Size, 10), Actual: strconv.FormatInt(n, 10)}
	}
	sha, gitOID := hex.EncodeToString(sum.Sum(nil)), hex.EncodeToString(blob.Sum(nil))
	if s.LFS != nil {
		// An LFS source file the Hub wants as a plain file (modes.go).
		if sha != s.LFS.OID {
			return &MismatchError{Path: s.Path, What: "sha256", Expected: s.LFS.OID, Actual: sha}
		}
	} else if id := gitOID; id != s.OID {
		return &MismatchError{Path: s.Path, What: "git blob id", Expected: s.OID, Actual: id}
	}
	c.set(s.Path, &copied{method: "inline", sha256: sha, size: s.Size, gitOID: gitOID, head: head.b})
	// Regular files are also fetched for the card's facts; only those the
	// commit carries are copies.
	for _, a := range c.p.Copy {
		if a.Path == s.Path {
			c.prog.Done(s.Path, s.Size, "inline")
			break
		}
	}
	return nil
}

// GitBlobID is git's object id for a blob with content b.
func GitBlobID(b []byte) string {
	h := newBlobHash(int64(len(b)))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// newBlobHash returns a hash that, fed a blob's size bytes, sums to git's
// object id for it.
func newBlobHash(size int64) hash.Hash {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// openRegular is a regular file's content for the commit: read from the
// source at the pinned sha as its line is sent, its git blob id checked as
// the bytes pass. A mismatch withholds the last chunk, so the Hub never
// receives a whole commit with other bytes than the source tree promised.
func (c *copier) openRegular(s hub.TreeEntry) hub.BodyFunc {
	return func(ctx context.Context) (io.ReadCloser, error) {
		f, err := c.opts.Source.Open(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, 0)
		if err != nil {
			return nil, err
		}
		if s.LFS != nil {
			// An LFS source file the Hub wants inline: its sha256 is what
			// the source tree promises.
			return &verifyReader{r: f, c: f, path: s.Path, size: s.Size, want: s.LFS.OID, what: "sha256", h: sha256.New(), tee: io.Discard, moved: new(atomic.Int64)}, nil
		}
		return &verifyReader{r: f, c: f, path: s.Path, size: s.Size, want: s.OID, what: "git blob id", h: newBlobHash(s.Size), tee: io.Discard, moved: new(atomic.Int64)}, nil
	}
}

// headBuf keeps the first sampleSize bytes written through it.
type headBuf struct{ b []byte }

func (h *headBuf) Write(p []byte) (int, error) {
	if n := sampleSize - len(h.b); n > 0 {
		h.b = append(h.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// stream copies one LFS file from the source into the sidecar's storage.
func (c *copier) stream(ctx context.Context, s hub.TreeEntry, obj *hub.LFSObject) error {
	parts, multi, err := obj.Multipart()
	if err != nil {
		return err
	}
	fp := c.prog.Begin(s.Path, s.Size)
	var scan *safetensors.Scanner
	var sink io.Writer = io.Discard
	if strings.HasSuffix(s.Path, ".safetensors") && c.headers[s.Path] == nil {
		scan = safetensors.NewScanner(s.Size)
		sink = scan
	}
	method := "stream"
	if multi {
		method = "multipart"
		if err := c.multipart(ctx, s, obj, parts, fp, sink); err != nil {
			return err
		}
	} else {
		if err := c.acquire(ctx); err != nil {
			return err
		}
		var last *verifyReader
		err := c.opts.Dest.UploadBasic(ctx, obj.Actions.Upload, s.Size, func(ctx context.Context) (io.ReadCloser, error) {
			f, err := c.opts.Source.Open(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, 0)
			if err != nil {
				return nil, err
			}
			fp.Reset()
			var w io.Writer = io.Discard
			if scan != nil {
				scan = safetensors.NewScanner(s.Size)
				w = scan
			}
			last = &verifyReader{r: f, c: f, path: s.Path, size: s.Size, want: s.LFS.OID, h: sha256.New(), tee: w, fp: fp, moved: &c.moved}
			return last, nil
		})
		c.release()
		if err != nil {
			var me *MismatchError
			if errors.As(err, &me) {
				return me
			}
			return fmt.Errorf("uploading %s: %w", s.Path, err)
		}
		if last == nil || !last.ok {
			return fmt.Errorf("uploading %s: storage accepted the upload before its bytes were verified", s.Path)
		}
	}
	if obj.Actions.Verify != nil {
		if err := c.opts.Dest.VerifyLFS(ctx, obj.Actions.Verify, s.LFS.OID, s.Size); err != nil {
			return fmt.Errorf("verifying %s with the Hub: %w", s.Path, err)
		}
	}
	cp := &copied{method: method}
	if scan != nil {
		if sum, err := scan.Summary(); err == nil {
			cp.summary = &sum
		} else {
			c.prog.Logf("%s: not summarised: %v", s.Path, err)
		}
	}
	c.set(s.Path, cp)
	c.prog.Finish(fp, method)
	return nil
}

// verifyReader passes a file's bytes through, hashing and counting them;
// when the last byte arrives it checks sha256 and size and, on a mismatch,
// withholds that last chunk and fails, so storage never receives a complete
// body with the wrong content.
type verifyReader struct {
	r     io.Reader
	c     io.Closer
	path  string
	size  int64
	want  string
	h     hash.Hash
	tee   io.Writer
	what  string         // what want is; "" means sha256
	fp    *progress.File // nil: no progress line
	moved *atomic.Int64
	n     int64
	ok    bool
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if int64(n) > v.size-v.n {
		return 0, &MismatchError{Path: v.path, What: "size", Expected: strconv.FormatInt(v.size, 10), Actual: "more bytes than that"}
	}
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n == v.size && !v.ok {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			what := v.what
			if what == "" {
				what = "sha256"
			}
			return 0, &MismatchError{Path: v.path, What: what, Expected: v.want, Actual: got}
		}
		v.ok = true
	}
	v.tee.Write(p[:n])
	if v.fp != nil {
		v.fp.Add(int64(n))
	}
	v.moved.Add(int64(n))
	if err == io.EOF && v.n != v.size {
		return n, &MismatchError{Path: v.path, What: "size", Expected: strconv.FormatInt(v.size, 10), Actual: strconv.FormatInt(v.n, 10)}
	}
	return n, err
}

func (v *verifyReader) Close() error { return v.c.Close() }

// multipart uploads the parts in parallel, each from its own ranged GET, and
// hashes the whole file in order as the parts' bytes pass.
func (c *copier) multipart(ctx context.Context, s hub.TreeEntry, obj *hub.LFSObject, parts []hub.Part, fp *progress.File, scan io.Writer) error {
	h := sha256.New()
	sink := newOrderedSink(io.MultiWriter(h, scan), parts, aheadPool())
	// The pool outlives this publish: whatever way this returns, blocks
	// still holding bytes of parts not yet hashed go back to it.
	defer sink.abort(errSinkClosed)
	etags := make([]string, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	for i, part := range parts {
		// Parts take their slots in order, so the part the hash waits for
		// always holds one: a part blocked on the sink never starves it.
		if err := c.acquire(gctx); err != nil {
			break
		}
		g.Go(func() error {
			defer c.release()
			etag, err := c.opts.Dest.UploadPart(gctx, part, func(ctx context.Context) (io.ReadCloser, error) {
				f, err := c.opts.Source.OpenRange(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, part.Offset, part.Size)
				if err != nil {
					return nil, err
				}
				return &partReader{f: f, sink: sink, i: i, size: part.Size, path: s.Path, fp: fp, moved: &c.moved}, nil
			})
			if err != nil {
				sink.abort(err)
				var me *MismatchError
				if errors.As(err, &me) {
					return me
				}
				return fmt.Errorf("uploading %s part %d/%d: %w", s.Path, part.Number, len(parts), err)
			}
			etags[i] = etag
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		sink.abort(err)
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !sink.complete() {
		return fmt.Errorf("uploading %s: parts finished before every byte was hashed", s.Path)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.LFS.OID {
		return &MismatchError{Path: s.Path, What: "sha256", Expected: s.LFS.OID, Actual: got}
	}
	if err := c.opts.Dest.CompleteMultipart(ctx, obj.Actions.Upload, s.LFS.OID, etags); err != nil {
		return fmt.Errorf("completing the upload of %s: %w", s.Path, err)
	}
	return nil
}

// partReader feeds one part's bytes to its PUT and to the ordered sink.
type partReader struct {
	f     io.ReadCloser
	sink  *orderedSink
	i     int
	off   int64
	size  int64
	path  string
	fp    *progress.File
	moved *atomic.Int64
}

func (r *partReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if int64(n) > r.size-r.off {
		return 0, &MismatchError{Path: r.path, What: "size", Expected: "the source tree's size", Actual: "more bytes"}
	}
	if n > 0 {
		if werr := r.sink.write(r.i, r.off, p[:n]); werr != nil {
			return 0, werr
		}
		r.off += int64(n)
		r.fp.Add(int64(n))
		r.moved.Add(int64(n))
	}
	if err == io.EOF && r.off != r.size {
		return n, &MismatchError{Path: r.path, What: "size", Expected: "the source tree's size", Actual: fmt.Sprintf("part %d short by %d bytes", r.i+1, r.size-r.off)}
	}
	return n, err
}

func (r *partReader) Close() error { return r.f.Close() }

// blockPool hands out at most max blocks of size bytes, carved on first use
// from one off-heap arena and then reused, so that buffering parts makes no
// garbage, leaves the garbage collector's pacing alone and has a fixed
// ceiling. The arena is never freed: a pool lives as long as the process.
type blockPool struct {
	size  int
	free  chan []byte
	quota chan int // indexes of the blocks not yet handed out
	once  sync.Once
	arena []byte
}

func newBlockPool(size, max int) *blockPool {
	p := &blockPool{size: size, free: make(chan []byte, max), quota: make(chan int, max)}
	for i := range max {
		p.quota <- i
	}
	return p
}

// block returns block i of the arena, mapping the arena on first use (its
// pages cost memory only once written).
func (p *blockPool) block(i int) []byte {
	p.once.Do(func() { p.arena = offHeap(p.size * cap(p.quota)) })
	return p.arena[i*p.size : i*p.size : (i+1)*p.size]
}

// get returns a block, or nil if wake is closed first.
func (p *blockPool) get(wake <-chan struct{}) []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	select {
	case b := <-p.free:
		return b
	case i := <-p.quota:
		return p.block(i)
	case <-wake:
		return nil
	}
}

func (p *blockPool) put(b []byte) { p.free <- b[:0] }

// orderedSink hashes the parts of one file in file order while the parts
// arrive in parallel. Bytes of the part the hash is at go straight through;
// bytes of later parts wait in blocks from a shared pool, and when the pool
// is empty their reader pauses until the hash reaches its part or a block
// is returned. The part the hash is at never waits, so a file always
// progresses. A retried part re-sends bytes the sink already has; they are
// skipped.
type orderedSink struct {
	mu    sync.Mutex
	w     io.Writer
	pool  *blockPool
	parts []sinkPart
	next  int
	err   error
	moved chan struct{} // closed (and replaced) when next advances or on abort
}

type sinkPart struct {
	size, got int64
	bufs      [][]byte
}

func newOrderedSink(w io.Writer, parts []hub.Part, pool *blockPool) *orderedSink {
	s := &orderedSink{w: w, pool: pool, parts: make([]sinkPart, len(parts)), moved: make(chan struct{})}
	for i, p := range parts {
		s.parts[i].size = p.Size
	}
	s.advance()
	return s
}

func (s *orderedSink) write(i int, off int64, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		if s.err != nil {
			return s.err
		}
		st := &s.parts[i]
		if off < st.got { // already have these bytes from an earlier attempt
			k := min(st.got-off, int64(len(p)))
			p, off = p[k:], off+k
			continue
		}
		if off > st.got {
			return fmt.Errorf("part %d: bytes at %d arrived before bytes at %d", i+1, off, st.got)
		}
		if i == s.next {
			s.w.Write(p)
			st.got += int64(len(p))
			s.advance()
			return nil
		}
		if n := len(st.bufs); n > 0 && len(st.bufs[n-1]) < cap(st.bufs[n-1]) {
			b := st.bufs[n-1]
			k := min(cap(b)-len(b), len(p))
			st.bufs[n-1] = append(b, p[:k]...)
			st.got += int64(k)
			p, off = p[k:], off+int64(k)
			continue
		}
		wake := s.moved
		s.mu.Unlock()
		b := s.pool.get(wake)
		s.mu.Lock()
		if b != nil {
			if s.err != nil || i <= s.next { // no longer needed
				s.pool.put(b)
				continue
			}
			st.bufs = append(st.bufs, b)
		}
	}
	return nil
}

// advance moves the hash past every complete part and drains the buffered
// bytes of the part it reaches. Called with mu held.
func (s *orderedSink) advance() {
	moved := false
	for s.next < len(s.parts) {
		st := &s.parts[s.next]
		for _, b := range st.bufs {
			s.w.Write(b)
			s.pool.put(b)
		}
		st.bufs = nil
		if st.got < st.size {
			break
		}
		s.next++
		moved = true
	}
	if moved {
		s.wake()
	}
}

func (s *orderedSink) wake() {
	close(s.moved)
	s.moved = make(chan struct{})
}

// errSinkClosed fails a write that comes after its file's multipart upload
// returned.
var errSinkClosed = errors.New("multipart upload already finished")

// abort fails every writer and gives the buffered blocks back. Only the
// first call counts.
func (s *orderedSink) abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = err
	for i := range s.parts {
		for _, b := range s.parts[i].bufs {
			s.pool.put(b)
		}
		s.parts[i].bufs = nil
	}
	s.wake()
}

func (s *orderedSink) complete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next == len(s.parts)
}

// headerBytes bounds the bytes of the safetensors headers being parsed at
// once in the process: one header at the limit, or many small ones (real
// headers are a few hundred KiB at most).
var headerBytes = semaphore.NewWeighted(safetensors.HeaderLimit)

// headerSummary reads just a safetensors file's header from the source (two
// small ranged GETs) for files whose bytes did not pass through us. The
// header streams into the parse, so memory follows the number of tensors,
// not the header's bytes, and a header over safetensors.HeaderLimit is
// refused from its length prefix alone.
func headerSummary(ctx context.Context, cl *hub.Client, repo, sha, path string, size int64) (*safetensors.Summary, error) {
	if size < 8 {
		return nil, fmt.Errorf("%s: %d bytes is too short for safetensors", path, size)
	}
	f, err := cl.OpenRange(ctx, repo, sha, path, 0, 8)
	if err != nil {
		return nil, err
	}
	var prefix [8]byte
	_, err = io.ReadFull(f, prefix[:])
	f.Close()
	if err != nil {
		return nil, err
	}
	n, err := safetensors.HeaderLength(prefix, size)
	if err != nil {
		return nil, err
	}
	// Parsing holds up to about three times a header's longest JSON token
	// (the decoder's buffer and the token), so the headers read at once
	// are bounded by their bytes, not only by --jobs.
	if err := headerBytes.Acquire(ctx, n); err != nil {
		return nil, err
	}
	defer headerBytes.Release(n)
	f, err = cl.OpenRange(ctx, repo, sha, path, 8, n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum, err := safetensors.ParseHeader(f, n, size)
	if err != nil {
		return nil, err
	}
	return &sum, nil
}
