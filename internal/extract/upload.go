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

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// MaxPartSize bounds the multipart part held in memory: the Hub's storage
// asks for parts of its chunk size and a part is re-sent on retry, so it is
// kept until it is accepted, as huggingface_hub keeps each chunk it reads.
const MaxPartSize = 64 << 20

// ErrChanged is matched when the bytes produced in the upload pass differ
// from those hashed in the first pass: the source is pinned to a commit, so
// only a source that serves different bytes for the same commit does this.
var ErrChanged = errors.New("source bytes changed between the hash pass and the upload pass")

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
		return 0, fmt.Errorf("%w: more than %d bytes", ErrChanged, c.size)
	}
	c.n += int64(n)
	c.sum.Write(p[:n])
	if c.n == c.size {
		if got := hex.EncodeToString(c.sum.Sum(nil)); got != c.want {
			return 0, fmt.Errorf("%w: sha256 %s, hashed %s", ErrChanged, got, c.want)
		}
	}
	if err == io.EOF && c.n != c.size {
		return n, fmt.Errorf("%w: %d of %d bytes", ErrChanged, c.n, c.size)
	}
	return n, err
}

func (c *checked) Close() error { return c.r.Close() }

// uploadObject sends one output file to the storage the LFS batch named:
// in one PUT, or part by part, each part buffered until storage accepts
// it, the whole hashed in order and checked before the upload completes.
func uploadObject(ctx context.Context, cl *hub.Client, obj *hub.LFSObject, path string, size int64, sha string, produce producer, scratch string) error {
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
		r, err := open(ctx)
		if err != nil {
			return err
		}
		defer r.Close()
		h := sha256.New()
		buf := make([]byte, chunk)
		etags := make([]string, len(parts))
		for i, p := range parts {
			b := buf[:p.Size]
			if _, err := io.ReadFull(r, b); err != nil {
				return fmt.Errorf("uploading %s part %d: %w", path, p.Number, err)
			}
			h.Write(b)
			if i == len(parts)-1 {
				if got := hex.EncodeToString(h.Sum(nil)); got != sha {
					return fmt.Errorf("uploading %s: %w: sha256 %s, hashed %s", path, ErrChanged, got, sha)
				}
			}
			etags[i], err = cl.UploadPart(ctx, p, func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(b)), nil
			})
			if err != nil {
				return fmt.Errorf("uploading %s part %d/%d: %w", path, p.Number, len(parts), err)
			}
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
