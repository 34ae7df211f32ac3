package safetensors

import (
	"bytes"
	"fmt"
	"slices"
)

// Scanner reads a safetensors header from a file's bytes as they stream past,
// typically as one arm of an io.MultiWriter next to the hash and the upload.
//
// It keeps only the header: the data region is counted, never stored. It
// never fails the copy it watches: Write always accepts every byte, and any
// problem with the file is reported by Summary, leaving the caller to decide
// whether a file that is not valid safetensors should stop a mirror.
type Scanner struct {
	size    int64 // expected file size, or -1 if unknown
	written int64
	lenBuf  [8]byte
	n       int64 // header length, once known
	header  []byte
	err     error
	done    bool // header complete and parsed into sum (or err set)
	sum     Summary
	parsed  bool
}

// NewScanner returns a Scanner for a file of size bytes. A negative size means
// the size is not known in advance; the header length is then only checked
// against MaxHeaderSize until the stream ends.
func NewScanner(size int64) *Scanner {
	if size < 0 {
		size = -1
	}
	return &Scanner{size: size, n: -1}
}

// Write consumes the next bytes of the file. It always returns len(p), nil.
func (s *Scanner) Write(p []byte) (int, error) {
	total := len(p)
	if s.err != nil || s.done {
		s.written += int64(total)
		return total, nil
	}
	for len(p) > 0 && s.err == nil && !s.done {
		switch {
		case s.written < 8:
			k := copy(s.lenBuf[s.written:], p)
			s.written += int64(k)
			p = p[k:]
			if s.written == 8 {
				s.setLength()
			}
		default:
			// Take no more than the header still needs; append grows the
			// buffer only as real bytes arrive, so a lying length prefix in
			// a short stream never turns into a large allocation.
			need := s.n - int64(len(s.header))
			k := int64(len(p))
			if k > need {
				k = need
			}
			s.header = append(s.header, p[:k]...)
			s.written += k
			p = p[k:]
			if int64(len(s.header)) == s.n {
				s.done = true
			}
		}
	}
	s.written += int64(len(p))
	return total, nil
}

func (s *Scanner) setLength() {
	n, err := HeaderLength(s.lenBuf, s.size)
	if err != nil {
		s.err = err
		return
	}
	s.n = n
	s.header = make([]byte, 0, min(n, 64<<10))
}

// Summary reports the tensors the header declares, once the whole file has
// been written. It returns an error wrapping ErrInvalid if the file is not a
// valid safetensors file, one matching ErrHeaderTooLarge if its header is
// over HeaderLimit, or a plain error if fewer (or more) bytes arrived than
// the size given to NewScanner.
func (s *Scanner) Summary() (Summary, error) {
	if s.size >= 0 && s.written != s.size {
		return Summary{}, fmt.Errorf("safetensors scan saw %d of %d bytes", s.written, s.size)
	}
	if s.err != nil {
		return Summary{}, s.err
	}
	if s.written < 8 {
		return Summary{}, invalidf("file of %d bytes is shorter than the 8-byte header length", s.written)
	}
	if !s.done {
		return Summary{}, invalidf("file ends inside its %d-byte header", s.n)
	}
	if !s.parsed {
		s.sum, s.err = parseHeader(bytes.NewReader(s.header), s.n, s.written-8-s.n)
		s.parsed = true
		s.header = nil
	}
	if s.err != nil {
		return Summary{}, s.err
	}
	sum := s.sum
	sum.DTypes = slices.Clone(s.sum.DTypes)
	return sum, nil
}
