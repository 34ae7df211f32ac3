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

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// MaxRegularFile bounds a regular (non-LFS) source file, which is committed
// inline and so held in memory; the Hub itself refuses regular text files
// over 10 MB.
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
	method  string
	content []byte // regular files, committed inline
	summary *safetensors.Summary
	// lfs marks a regular source file stored in LFS because the Hub asked
	// for it, under sha256, the hash of content.
	lfs    bool
	sha256 string
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

	mu   sync.Mutex
	done map[string]*copied
}

func (c *copier) set(path string, cp *copied) {
	c.mu.Lock()
	c.done[path] = cp
	c.mu.Unlock()
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
	var lfs, regular, promoted []hub.TreeEntry
	for _, a := range c.p.Copy {
		s := src[a.Path]
		mode := c.modeOf(s)
		if cp := c.done[a.Path]; cp != nil && (cp.lfs || mode != "lfs" || s.LFS != nil) {
			continue // copied before a re-plan
		}
		switch {
		case mode == "lfs" && s.LFS == nil:
			promoted = append(promoted, s)
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
	if err := c.uploadPromoted(ctx, promoted); err != nil {
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

// copyRegular fetches a small regular file and checks its git blob id.
func (c *copier) copyRegular(ctx context.Context, s hub.TreeEntry) error {
	if s.Size > MaxRegularFile {
		return fmt.Errorf("%s: regular (non-LFS) file of %s is over the %s limit", s.Path, HumanBytes(s.Size), HumanBytes(MaxRegularFile))
	}
	f, err := c.opts.Source.Open(ctx, c.p.SourceRepo, c.p.SourceSHA, s.Path, 0)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", s.Path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, s.Size+1))
	if err != nil {
		return fmt.Errorf("downloading %s: %w", s.Path, err)
	}
	if s.LFS != nil {
		// An LFS source file the Hub wants as a plain file.
		if err := checkSmallLFS(s, b); err != nil {
			return err
		}
	} else if int64(len(b)) != s.Size {
		return &MismatchError{Path: s.Path, What: "size", Expected: strconv.FormatInt(s.Size, 10), Actual: strconv.Itoa(len(b))}
	} else if id := GitBlobID(b); id != s.OID {
		return &MismatchError{Path: s.Path, What: "git blob id", Expected: s.OID, Actual: id}
	}
	c.set(s.Path, &copied{method: "inline", content: b})
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
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
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
	if strings.HasSuffix(s.Path, ".safetensors") {
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
	fp    *progress.File
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
			return 0, &MismatchError{Path: v.path, What: "sha256", Expected: v.want, Actual: got}
		}
		v.ok = true
	}
	v.tee.Write(p[:n])
	v.fp.Add(int64(n))
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

// headerSummary reads just a safetensors file's header from the source (two
// small ranged GETs) for files whose bytes did not pass through us.
func headerSummary(ctx context.Context, cl *hub.Client, repo, sha, path string, size int64) (*safetensors.Summary, error) {
	if size < 8 {
		return nil, fmt.Errorf("%s: %d bytes is too short for safetensors", path, size)
	}
	f, err := cl.OpenRange(ctx, repo, sha, path, 0, 8)
	if err != nil {
		return nil, err
	}
	var lenBuf [8]byte
	_, err = io.ReadFull(f, lenBuf[:])
	f.Close()
	if err != nil {
		return nil, err
	}
	scan := safetensors.NewScanner(size)
	scan.Write(lenBuf[:])
	n := int64(lenBuf[0]) | int64(lenBuf[1])<<8 | int64(lenBuf[2])<<16 | int64(lenBuf[3])<<24 |
		int64(lenBuf[4])<<32 | int64(lenBuf[5])<<40 | int64(lenBuf[6])<<48 | int64(lenBuf[7])<<56
	read := int64(8)
	if n > 0 && n <= safetensors.MaxHeaderSize && n <= size-8 {
		f, err := cl.OpenRange(ctx, repo, sha, path, 8, n)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(scan, io.LimitReader(f, n))
		f.Close()
		if err != nil {
			return nil, err
		}
		read += n
	}
	// The rest is only counted by the scanner: account for it without
	// fetching it, also when the length prefix was refused, so Summary
	// reports that rather than a short read.
	var zero [64 << 10]byte
	for rest := size - read; rest > 0; {
		k := min(rest, int64(len(zero)))
		scan.Write(zero[:k])
		rest -= k
	}
	sum, err := scan.Summary()
	if err != nil {
		return nil, err
	}
	return &sum, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
