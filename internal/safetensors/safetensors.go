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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// MaxHeaderSize is the largest header the Scanner accepts. It matches the
// limit of the reference implementation, so a file it refuses is one no
// safetensors loader would open either.
const MaxHeaderSize = 100_000_000

// ErrInvalid is the target of errors.Is for every error that says a file is
// not a valid safetensors file (as opposed to being truncated by its caller).
var ErrInvalid = errors.New("invalid safetensors file")

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

// parseHeader checks a header against a data region of dataLen bytes and
// summarises it. Everything the format requires is checked: known dtypes,
// element counts that fit in int64, byte lengths that match shapes, and
// offsets that tile the data region exactly, with no overlap and no hole.
func parseHeader(header []byte, dataLen int64) (Summary, error) {
	if len(bytes.TrimSpace(header)) == 0 || header[0] != '{' {
		return Summary{}, invalidf("header does not start with a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return Summary{}, invalidf("header is not JSON: %v", err)
	}
	type span struct {
		name       string
		begin, end int64
	}
	var (
		spans  []span
		seen   = map[string]bool{}
		dtypes = map[string]bool{}
		params int64
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Summary{}, invalidf("header is not JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return Summary{}, invalidf("header is not JSON: unexpected %v", tok)
		}
		if seen[name] {
			return Summary{}, invalidf("header names %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return Summary{}, invalidf("__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		var ti tensorInfo
		if err := dec.Decode(&ti); err != nil {
			return Summary{}, invalidf("tensor %q: %v", name, err)
		}
		width, ok := dtypeBits[ti.DType]
		if !ok {
			return Summary{}, invalidf("tensor %q: unknown dtype %q", name, ti.DType)
		}
		if ti.Shape == nil {
			return Summary{}, invalidf("tensor %q: no shape", name)
		}
		n := int64(1)
		for _, d := range ti.Shape {
			if d < 0 {
				return Summary{}, invalidf("tensor %q: negative dimension %d", name, d)
			}
			hi, lo := bits.Mul64(uint64(n), uint64(d))
			if hi != 0 || lo > math.MaxInt64 {
				return Summary{}, invalidf("tensor %q: shape %v has too many elements", name, ti.Shape)
			}
			n = int64(lo)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(width))
		if hi != 0 || lo > math.MaxInt64 {
			return Summary{}, invalidf("tensor %q: shape %v is too large", name, ti.Shape)
		}
		if lo%8 != 0 {
			return Summary{}, invalidf("tensor %q: %d elements of %s do not fill whole bytes", name, n, ti.DType)
		}
		size := int64(lo / 8)
		if len(ti.DataOffsets) != 2 {
			return Summary{}, invalidf("tensor %q: data_offsets must be [begin, end]", name)
		}
		b, e := ti.DataOffsets[0], ti.DataOffsets[1]
		if b < 0 || e < b || e > dataLen {
			return Summary{}, invalidf("tensor %q: data_offsets [%d, %d] outside the %d-byte data region", name, b, e, dataLen)
		}
		if e-b != size {
			return Summary{}, invalidf("tensor %q: data_offsets span %d bytes, shape %v of %s needs %d", name, e-b, ti.Shape, ti.DType, size)
		}
		if params > math.MaxInt64-n {
			return Summary{}, invalidf("parameter count overflows")
		}
		params += n
		dtypes[ti.DType] = true
		spans = append(spans, span{name, b, e})
	}
	if _, err := dec.Token(); err != nil {
		return Summary{}, invalidf("header is not JSON: %v", err)
	}
	// Only padding may follow the object.
	if rest := header[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return Summary{}, invalidf("header has trailing data after the JSON object")
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
			return Summary{}, invalidf("tensor %q overlaps another tensor at byte %d", s.name, s.begin)
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
