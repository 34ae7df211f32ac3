package catalog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotRegular is returned by ReadFile for a path that is not a regular
// file: a directory, a device such as /dev/zero, a named pipe or a socket.
// Reading those either fails, blocks forever or never ends.
var ErrNotRegular = errors.New("not a regular file")

// ErrOutsideRoot is returned by Confine for a path that resolves outside
// the root it must stay in.
var ErrOutsideRoot = errors.New("outside the repository")

// Confine resolves path's symlinks and returns the real path, or an error
// matching ErrOutsideRoot when it is not root or inside it. A path that
// does not exist is judged by its text, so a missing file outside the root
// reads as outside rather than as missing. An empty root confines nothing:
// path is returned as it is.
func Confine(root, path string) (string, error) {
	if root == "" {
		return path, nil
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	realRoot := absRoot
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		realRoot = r
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		if !within(absRoot, abs) && !within(realRoot, abs) {
			return "", &fs.PathError{Op: "read", Path: path, Err: ErrOutsideRoot}
		}
		return abs, nil
	}
	if !within(realRoot, real) {
		return "", &fs.PathError{Op: "read", Path: path, Err: ErrOutsideRoot}
	}
	return real, nil
}

// within reports whether p is root or below it; both are absolute and clean.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// TooLargeError is returned by ReadFile for a file over MaxFileSize bytes.
type TooLargeError struct {
	// Size is the file's size, or -1 when the file grew past the limit
	// while it was read and its final size is unknown.
	Size int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("file grew past the %d MiB limit while it was read", MaxFileSize>>20)
	}
	return fmt.Sprintf("file is %d bytes; the limit is %d MiB", e.Size, MaxFileSize>>20)
}

// ReadFile reads a catalog or config file. Unlike os.ReadFile it never
// holds more than MaxFileSize+1 bytes: the size is checked before reading,
// and the read itself is bounded so a file that grows meanwhile cannot
// exhaust memory. Anything but a regular file is refused before it is
// opened, since opening a named pipe blocks until a writer appears.
func ReadFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, st); err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, &TooLargeError{Size: st.Size()}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The path may have been swapped between Stat and Open.
	return readOpened(path, f)
}

// readOpened reads an open file that must be a regular one of at most
// MaxFileSize bytes, checking so from the file itself.
func readOpened(name string, f fs.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := regular(name, st); err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, &TooLargeError{Size: st.Size()}
	}
	return readBounded(f, st.Size())
}

// readBounded reads r to its end, failing with a *TooLargeError as soon as
// it has seen more than MaxFileSize bytes. hint sizes the buffer; growth
// past it is capped at the limit, so even an endless reader costs at most
// about twice MaxFileSize in allocations.
func readBounded(r io.Reader, hint int64) ([]byte, error) {
	const limit = MaxFileSize + 1
	buf := make([]byte, 0, min(max(hint, 0)+512, limit))
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				return nil, &TooLargeError{Size: -1}
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func regular(path string, st fs.FileInfo) error {
	if st.Mode().IsRegular() {
		return nil
	}
	kind := "special file"
	switch m := st.Mode(); {
	case m.IsDir():
		kind = "directory"
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "device"
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind)}
}
