package devhub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// copyBufSize is the buffer every stored or served byte goes through: large
// enough that a GiB costs a few thousand read/write system calls, not the
// tens of thousands io.Copy's 32 KiB buffer makes.
const copyBufSize = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyBuf copies src to dst through a pooled copyBufSize buffer.
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(dst, src, *bp)
}

// store keeps file contents on disk, addressed by their sha256, so that a
// multi-GB file costs disk space and never memory.
type store struct {
	dir string
}

// blobInfo describes bytes just written to the store.
type blobInfo struct {
	SHA256 string
	Size   int64
	Head   []byte // the first 512 bytes, for the LFS/regular decision
}

// errDigest reports bytes whose size or sha256 differ from what was promised.
var errDigest = errors.New("content does not match the announced oid and size")

func newStore(dir string) (*store, error) {
	for _, d := range []string{"blobs", "tmp", "parts"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &store{dir: dir}, nil
}

func (s *store) path(sha string) string {
	return filepath.Join(s.dir, "blobs", sha[:2], sha[2:])
}

// has reports whether the object sha is stored, and its size.
func (s *store) has(sha string) (int64, bool) {
	if !hex64.MatchString(sha) {
		return 0, false
	}
	fi, err := os.Stat(s.path(sha))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

func (s *store) open(sha string) (*os.File, error) {
	if !hex64.MatchString(sha) {
		return nil, os.ErrNotExist
	}
	return os.Open(s.path(sha))
}

// headWriter keeps the first 512 bytes written through it.
type headWriter struct{ head []byte }

func (h *headWriter) Write(p []byte) (int, error) {
	if n := 512 - len(h.head); n > 0 {
		if n > len(p) {
			n = len(p)
		}
		h.head = append(h.head, p[:n]...)
	}
	return len(p), nil
}

// put streams r into the store, hashing while it writes to a temporary file
// that is renamed into place once complete. When wantSHA is not empty the
// content must hash to it, and when wantSize >= 0 it must have that size;
// otherwise put fails with errDigest and stores nothing. Reading stops one
// byte past wantSize so that an oversized body is never copied whole.
func (s *store) put(r io.Reader, wantSHA string, wantSize int64) (blobInfo, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return blobInfo{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	hw := &headWriter{}
	if wantSize >= 0 {
		r = io.LimitReader(r, wantSize+1)
	}
	n, err := copyBuf(io.MultiWriter(tmp, h, hw), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return blobInfo{}, err
	}
	info := blobInfo{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, Head: hw.head}
	return info, s.commit(tmp.Name(), info, wantSHA, wantSize)
}

// adopt moves a complete file the caller assembled and hashed (a multipart
// upload, whose parts were written in place and hashed as they landed) into
// the store: the bytes are written once, where they arrived. Like put, it
// fails with errDigest and stores nothing when the content is not
// wantSHA/wantSize; the file then stays where it is for the caller.
func (s *store) adopt(name, sha, wantSHA string, wantSize int64) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	return s.commit(name, blobInfo{SHA256: sha, Size: fi.Size()}, wantSHA, wantSize)
}

// commit checks a complete temporary file against what was promised and
// renames it into place.
func (s *store) commit(name string, info blobInfo, wantSHA string, wantSize int64) error {
	n := info.Size
	if wantSize >= 0 && n != wantSize {
		return fmt.Errorf("%w: got %d bytes, expected %d", errDigest, n, wantSize)
	}
	if wantSHA != "" && info.SHA256 != wantSHA {
		return fmt.Errorf("%w: sha256 is %s, expected %s", errDigest, info.SHA256, wantSHA)
	}
	dst := s.path(info.SHA256)
	if _, err := os.Stat(dst); err == nil {
		return nil // already stored: content addressing makes this a no-op
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(name, dst)
}

// gitSHA1 computes the git blob id of a stored object by reading it back.
func (s *store) gitSHA1(sha string, size int64) (string, error) {
	f, err := s.open(sha)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := newGitBlobHash(size)
	if _, err := copyBuf(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
