package extract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// maxPartsInFlight bounds the parts held in memory at once: one being read
// from the source while the others upload.
const maxPartsInFlight = 4

// uploadParts reads the file's bytes in order, one part at a time, and
// uploads each part as soon as it is read while the next one is read: at
// most min(jobs, maxPartsInFlight) parts are in memory. The whole is hashed
// in order; a mismatch is found before the last part is sent, so the
// upload is never completed with other bytes than the ones hashed.
func uploadParts(ctx context.Context, cl *hub.Client, parts []hub.Part, chunk int64, jobs int, path, sha string, open func() (io.ReadCloser, error)) ([]string, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	n := min(max(jobs, 1), maxPartsInFlight)
	free := make(chan []byte, n)
	for range n {
		free <- make([]byte, chunk)
	}
	h := sha256.New()
	etags := make([]string, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	var readErr error
	for i, p := range parts {
		if gctx.Err() != nil {
			break
		}
		var b []byte
		select {
		case b = <-free:
		case <-gctx.Done():
		}
		if b == nil {
			break
		}
		b = b[:p.Size]
		if _, err := io.ReadFull(r, b); err != nil {
			readErr = fmt.Errorf("uploading %s part %d: %w", path, p.Number, err)
			break
		}
		h.Write(b)
		if i == len(parts)-1 {
			if got := hex.EncodeToString(h.Sum(nil)); got != sha {
				readErr = fmt.Errorf("uploading %s: %w: sha256 %s, hashed %s", path, ErrChanged, got, sha)
				break
			}
		}
		g.Go(func() error {
			etag, err := cl.UploadPart(gctx, p, func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(b)), nil
			})
			free <- b[:cap(b)]
			if err != nil {
				return fmt.Errorf("uploading %s part %d/%d: %w", path, p.Number, len(parts), err)
			}
			etags[i] = etag
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return etags, nil
}

// uploadSpooled uploads the parts of a file spooled to disk (and hashed as
// it was written), in parallel, each read from its place in the file.
func uploadSpooled(ctx context.Context, cl *hub.Client, parts []hub.Part, jobs int, path, file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	etags := make([]string, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for i, p := range parts {
		g.Go(func() error {
			etag, err := cl.UploadPart(gctx, p, func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(f, p.Offset, p.Size)), nil
			})
			if err != nil {
				return fmt.Errorf("uploading %s part %d/%d: %w", path, p.Number, len(parts), err)
			}
			etags[i] = etag
			return nil
		})
	}
	return etags, g.Wait()
}

// MaxPartSize bounds a multipart part held in memory: the Hub's storage
// asks for parts of its chunk size and a part is re-sent on retry, so it is
// kept until it is accepted, as huggingface_hub keeps each chunk it reads.
// At most maxPartsInFlight parts are held at once.
const MaxPartSize = 64 << 20

// ErrChanged is matched when the bytes produced in the upload pass differ
// from those hashed in the first pass: the source is pinned to a commit, so
// only a source that serves different bytes for the same commit does this.
var ErrChanged = errors.New("source bytes changed between the hash pass and the upload pass")

// changedError is ErrChanged with what differed. It is permanent: the Hub
// client does not retry an upload whose source serves other bytes.
type changedError struct{ what string }

func changed(what string) error { return &changedError{what} }

func (e *changedError) Error() string   { return ErrChanged.Error() + ": " + e.what }
func (e *changedError) Unwrap() error   { return ErrChanged }
func (e *changedError) Permanent() bool { return true }

// producer writes an output file's bytes, from the start, to w.
type producer func(ctx context.Context, w io.Writer) error

// pipe runs produce in a goroutine and returns the reading end. Closing the
// reader stops the producer.
func pipe(ctx context.Context, produce producer) io.ReadCloser {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		err := produce(ctx, pw)
		pw.CloseWithError(err)
	}()
	return &pipeReader{PipeReader: pr, cancel: cancel}
}

type pipeReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (p *pipeReader) Close() error {
	p.cancel()
	return p.PipeReader.CloseWithError(errors.New("upload stopped reading"))
}

// checked passes size bytes through and checks their sha256 before the
// last one is handed over, so storage never completes an object with
// other bytes than the ones hashed.
type checked struct {
	r    io.ReadCloser
	size int64
	want string
	n    int64
	sum  interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

func newChecked(r io.ReadCloser, size int64, want string) *checked {
	return &checked{r: r, size: size, want: want, sum: sha256.New()}
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if int64(n) > c.size-c.n {
		return 0, changed(fmt.Sprintf("more than %d bytes", c.size))
	}
	c.n += int64(n)
	c.sum.Write(p[:n])
	if c.n == c.size {
		if got := hex.EncodeToString(c.sum.Sum(nil)); got != c.want {
			return 0, changed(fmt.Sprintf("sha256 %s, hashed %s", got, c.want))
		}
	}
	if err == io.EOF && c.n != c.size {
		return n, changed(fmt.Sprintf("%d of %d bytes", c.n, c.size))
	}
	return n, err
}

func (c *checked) Close() error { return c.r.Close() }

// uploadObject sends one output file to the storage the LFS batch named:
// in one PUT, or part by part, each part buffered until storage accepts
// it, the whole hashed in order and checked before the upload completes.
func uploadObject(ctx context.Context, cl *hub.Client, obj *hub.LFSObject, path string, size int64, sha string, produce producer, scratch string, jobs int) error {
	parts, multi, err := obj.Multipart()
	if err != nil {
		return err
	}
	open := func(ctx context.Context) (io.ReadCloser, error) {
		if scratch != "" {
			return os.Open(scratch)
		}
		return pipe(ctx, produce), nil
	}
	if !multi {
		err := cl.UploadBasic(ctx, obj.Actions.Upload, size, func(ctx context.Context) (io.ReadCloser, error) {
			r, err := open(ctx)
			if err != nil {
				return nil, err
			}
			return newChecked(r, size, sha), nil
		})
		if err != nil {
			return fmt.Errorf("uploading %s: %w", path, err)
		}
	} else {
		var chunk int64
		for _, p := range parts {
			chunk = max(chunk, p.Size)
		}
		if chunk > MaxPartSize && scratch == "" {
			return fmt.Errorf("uploading %s: the Hub asks for %d-byte parts, over the %d bytes held in memory; use a scratch directory", path, chunk, MaxPartSize)
		}
		var etags []string
		if scratch != "" {
			etags, err = uploadSpooled(ctx, cl, parts, jobs, path, scratch)
		} else {
			etags, err = uploadParts(ctx, cl, parts, chunk, jobs, path, sha, func() (io.ReadCloser, error) { return open(ctx) })
		}
		if err != nil {
			return err
		}
		if err := cl.CompleteMultipart(ctx, obj.Actions.Upload, sha, etags); err != nil {
			return fmt.Errorf("completing the upload of %s: %w", path, err)
		}
	}
	if obj.Actions.Verify != nil {
		if err := cl.VerifyLFS(ctx, obj.Actions.Verify, sha, size); err != nil {
			return fmt.Errorf("verifying %s with the Hub: %w", path, err)
		}
	}
	return nil
}
