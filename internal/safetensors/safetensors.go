// Package safetensors owns the safetensors file format as far as a mirror
// needs it: a Scanner that reads a file's header from the bytes streaming past
// on their way elsewhere, and a Generator that produces valid files of any size
// without holding them in memory.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON mapping tensor names to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" string map), then the data region the offsets index.
package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"sort"
)

// MaxHeaderSize is the largest header the format allows: the limit of the
// reference implementation, so a longer one is not a safetensors file.
const MaxHeaderSize = 100_000_000

// HeaderLimit is the largest header this package reads. It is below the
// format's MaxHeaderSize because a header is hostile input read before
// anything is decided: 16 MiB holds a quarter of a million tensor entries,
// some twenty times the tensors of the largest published checkpoints' shards
// (whose headers are a few hundred KiB), while reading and checking a
// header costs memory in proportion to its tensors.
const HeaderLimit = 16 << 20

// ErrInvalid is the target of errors.Is for every error that says a file is
// not a valid safetensors file (as opposed to being truncated by its caller).
var ErrInvalid = errors.New("invalid safetensors file")

// ErrHeaderTooLarge is the target of errors.Is for a *HeaderTooLargeError.
var ErrHeaderTooLarge = errors.New("safetensors header too large")

// HeaderTooLargeError says a file's header, allowed by the format, is over
// HeaderLimit. It does not match ErrInvalid: the file may be valid, this
// tool refuses to read it.
type HeaderTooLargeError struct {
	Size  uint64 // the header length the file declares
	Limit int64
}

func (e *HeaderTooLargeError) Error() string {
	return fmt.Sprintf("safetensors header of %d bytes (%.1f MiB) is over this tool's limit of %d bytes (%d MiB; the format allows up to %d)",
		e.Size, float64(e.Size)/(1<<20), e.Limit, e.Limit>>20, MaxHeaderSize)
}

// Is makes a *HeaderTooLargeError match ErrHeaderTooLarge.
func (e *HeaderTooLargeError) Is(target error) bool { return target == ErrHeaderTooLarge }

// Summary is what a model card shows about one safetensors file.
type Summary struct {
	// Tensors is the number of tensors in the file.
	Tensors int `json:"tensors"`
	// DTypes lists the dtypes the tensors use, sorted and without repeats.
	DTypes []string `json:"dtypes"`
	// Params is the total number of elements across all tensors.
	Params int64 `json:"params"`
}

// dtypeBits maps every dtype of the format to its width in bits. Sub-byte
// types (F4, F6_*) are packed, so a tensor's byte length is its element count
// times the width, divided by eight.
var dtypeBits = map[string]int64{
	"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
	"U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
}

// DTypeBits reports the width in bits of one element of dtype, and whether
// dtype is known.
func DTypeBits(dtype string) (int64, bool) {
	b, ok := dtypeBits[dtype]
	return b, ok
}

// tensorInfo is one entry of the header as the file states it.
type tensorInfo struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// HeaderLength reads the 8-byte length prefix of a file of size bytes (size
// < 0: unknown) and checks the header length it declares: at most
// MaxHeaderSize (ErrInvalid), within the file (ErrInvalid), at most
// HeaderLimit (ErrHeaderTooLarge) and long enough for a JSON object.
func HeaderLength(prefix [8]byte, size int64) (int64, error) {
	n := binary.LittleEndian.Uint64(prefix[:])
	switch {
	case n > MaxHeaderSize:
		return 0, invalidf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	case size >= 0 && (size < 8 || n > uint64(size-8)):
		return 0, invalidf("header length %d exceeds the %d bytes that follow it", n, max(size-8, 0))
	case n > HeaderLimit:
		return 0, &HeaderTooLargeError{Size: n, Limit: HeaderLimit}
	case n < 2:
		return 0, invalidf("header length %d is too small for a JSON object", n)
	}
	return int64(n), nil
}

// ParseHeader reads the n-byte JSON header of a file of size bytes from r
// (positioned just after the length prefix, which HeaderLength checked)
// and summarises it, checking it against the data region that follows
// without reading that region. The JSON is decoded token by token as it
// streams in: memory grows with the number of tensors (a few dozen bytes
// each), never with the header's bytes. A reader that ends early or fails
// is reported as a plain error, not as ErrInvalid: the file was not read.
func ParseHeader(r io.Reader, n, size int64) (Summary, error) {
	return parseHeader(r, n, size-8-n)
}

// nameSeed keys the hashes parseHeader keeps of tensor names: random per
// process, so no file can be made to collide on purpose.
var nameSeed = maphash.MakeSeed()

// headerReader is the header's n bytes: it counts what was read and tells
// a short or failing source from bad JSON.
type headerReader struct {
	r    io.Reader
	left int64
	err  error // the source's own failure, or io.ErrUnexpectedEOF
}

func (h *headerReader) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	k, err := h.r.Read(p)
	h.left -= int64(k)
	if err == io.EOF && h.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF && h.err == nil {
		h.err = err
	}
	return k, err
}

// parseHeader checks an n-byte header against a data region of dataLen
// bytes and summarises it. Everything the format requires is checked: known
// dtypes, element counts that fit in int64, byte lengths that match shapes,
// and offsets that tile the data region exactly, with no overlap and no
// hole. Of each tensor it keeps its span and a 64-bit hash of its name (to
// refuse a name given twice; two different names of one file collide with
// a chance of about one in 10^8 for the most tensors HeaderLimit admits).
func parseHeader(r io.Reader, n, dataLen int64) (Summary, error) {
	hr := &headerReader{r: r, left: n}
	br := bufio.NewReaderSize(hr, 32<<10)
	fail := func(err error) (Summary, error) {
		if hr.err != nil {
			if errors.Is(hr.err, io.ErrUnexpectedEOF) {
				return Summary{}, fmt.Errorf("safetensors header read ended after %d of %d bytes", n-hr.left, n)
			}
			return Summary{}, fmt.Errorf("reading the safetensors header: %w", hr.err)
		}
		return Summary{}, err
	}
	// Leading whitespace is not the object the format requires.
	if c, err := br.ReadByte(); err != nil || c != '{' {
		return fail(invalidf("header does not start with a JSON object"))
	}
	br.UnreadByte()
	dec := json.NewDecoder(br)
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return fail(invalidf("header is not JSON: %v", err))
	}
	type span struct{ begin, end int64 }
	var (
		spans  []span
		seen   = map[uint64]struct{}{}
		meta   bool
		dtypes = map[string]bool{}
		params int64
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(invalidf("header is not JSON: %v", err))
		}
		name, ok := tok.(string)
		if !ok {
			return fail(invalidf("header is not JSON: unexpected %v", tok))
		}
		if name == "__metadata__" {
			if meta {
				return fail(invalidf("header names %q twice", name))
			}
			meta = true
			if err := skipStringMap(dec); err != nil {
				return fail(invalidf("__metadata__ is not a map of strings: %v", err))
			}
			continue
		}
		key := maphash.String(nameSeed, name)
		if _, dup := seen[key]; dup {
			return fail(invalidf("header names %q twice", name))
		}
		seen[key] = struct{}{}
		var ti tensorInfo
		if err := dec.Decode(&ti); err != nil {
			return fail(invalidf("tensor %q: %v", name, err))
		}
		width, ok := dtypeBits[ti.DType]
		if !ok {
			return fail(invalidf("tensor %q: unknown dtype %q", name, ti.DType))
		}
		if ti.Shape == nil {
			return fail(invalidf("tensor %q: no shape", name))
		}
		n := int64(1)
		for _, d := range ti.Shape {
			if d < 0 {
				return fail(invalidf("tensor %q: negative dimension %d", name, d))
			}
			hi, lo := bits.Mul64(uint64(n), uint64(d))
			if hi != 0 || lo > math.MaxInt64 {
				return fail(invalidf("tensor %q: shape %v has too many elements", name, ti.Shape))
			}
			n = int64(lo)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(width))
		if hi != 0 || lo > math.MaxInt64 {
			return fail(invalidf("tensor %q: shape %v is too large", name, ti.Shape))
		}
		if lo%8 != 0 {
			return fail(invalidf("tensor %q: %d elements of %s do not fill whole bytes", name, n, ti.DType))
		}
		size := int64(lo / 8)
		if len(ti.DataOffsets) != 2 {
			return fail(invalidf("tensor %q: data_offsets must be [begin, end]", name))
		}
		b, e := ti.DataOffsets[0], ti.DataOffsets[1]
		if b < 0 || e < b || e > dataLen {
			return fail(invalidf("tensor %q: data_offsets [%d, %d] outside the %d-byte data region", name, b, e, dataLen))
		}
		if e-b != size {
			return fail(invalidf("tensor %q: data_offsets span %d bytes, shape %v of %s needs %d", name, e-b, ti.Shape, ti.DType, size))
		}
		if params > math.MaxInt64-n {
			return fail(invalidf("parameter count overflows"))
		}
		params += n
		dtypes[ti.DType] = true
		spans = append(spans, span{b, e})
	}
	if _, err := dec.Token(); err != nil {
		return fail(invalidf("header is not JSON: %v", err))
	}
	seen = nil
	// Only padding may follow the object.
	if err := onlySpaces(io.MultiReader(dec.Buffered(), br)); err != nil {
		return fail(err)
	}
	if hr.err != nil || hr.left > 0 {
		return fail(invalidf("file ends inside its %d-byte header", n))
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var at int64
	for _, s := range spans {
		switch {
		case s.begin < at:
			return Summary{}, invalidf("a tensor overlaps another at byte %d", s.begin)
		case s.begin > at:
			return Summary{}, invalidf("data region has a hole at bytes [%d, %d)", at, s.begin)
		}
		at = s.end
	}
	if at != dataLen {
		return Summary{}, invalidf("tensors cover %d bytes of a %d-byte data region", at, dataLen)
	}
	return summaryOf(len(spans), dtypes, params), nil
}

// skipStringMap reads one JSON object whose values are all strings,
// keeping none of it.
func skipStringMap(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("unexpected %v", tok)
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the key
			return err
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if _, ok := tok.(string); !ok {
			return fmt.Errorf("value %v is not a string", tok)
		}
	}
	_, err = dec.Token()
	return err
}

// onlySpaces reads r to its end and fails on anything but JSON whitespace.
func onlySpaces(r io.Reader) error {
	var buf [4 << 10]byte
	for {
		k, err := r.Read(buf[:])
		for _, c := range buf[:k] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return invalidf("header has trailing data after the JSON object")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
