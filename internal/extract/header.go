package extract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// Tensor is one tensor of a source shard as its header states it, with its
// bytes' place in the shard file.
type Tensor struct {
	Name  string
	DType string
	Shape []int64
	// Shard is the path of the file holding the tensor.
	Shard string
	// Begin and End are the tensor's data bytes in the shard file:
	// 8 + header length + data_offsets.
	Begin, End int64
}

// Size is the byte size of the tensor's data.
func (t *Tensor) Size() int64 { return t.End - t.Begin }

// MaxHeaderRead bounds the header of one shard an extraction reads: the
// same limit as safetensors.HeaderLimit, which the mirror applies.
const MaxHeaderRead = safetensors.HeaderLimit

// headerLength checks the 8-byte length prefix of a shard of fileSize bytes
// with safetensors.HeaderLength. Every refusal matches ErrInvalid and names
// the shard; one over the limit also matches safetensors.ErrHeaderTooLarge.
func headerLength(prefix []byte, fileSize int64, shard string) (int64, error) {
	var p [8]byte
	copy(p[:], prefix)
	n, err := safetensors.HeaderLength(p, fileSize)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalid, shard, err)
	}
	return n, nil
}

// parseHeader reads a shard's JSON header and returns its tensors sorted by
// their place in the file. It checks everything a loader would: known
// dtypes, element counts that fit, byte lengths that match the shapes, and
// data offsets that tile the data region exactly (no overlap, no hole, none
// past the end).
func parseHeader(header []byte, fileSize int64, shard string) ([]Tensor, error) {
	hlen := int64(len(header))
	dataLen := fileSize - 8 - hlen
	if len(bytes.TrimSpace(header)) == 0 || header[0] != '{' {
		return nil, invalidf("%s: header does not start with a JSON object", shard)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("%s: header is not JSON: %v", shard, err)
	}
	var out []Tensor
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("%s: header is not JSON: %v", shard, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, invalidf("%s: header is not JSON: unexpected %v", shard, tok)
		}
		if seen[name] {
			return nil, invalidf("%s: header names %q twice", shard, name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, invalidf("%s: __metadata__ is not a map of strings: %v", shard, err)
			}
			continue
		}
		if why := badTensorName(name); why != "" {
			return nil, invalidf("%s: tensor name %q: %s", shard, name, why)
		}
		var ti struct {
			DType       string  `json:"dtype"`
			Shape       []int64 `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := dec.Decode(&ti); err != nil {
			return nil, invalidf("%s: tensor %q: %v", shard, name, err)
		}
		width, ok := safetensors.DTypeBits(ti.DType)
		if !ok {
			return nil, invalidf("%s: tensor %q: unknown dtype %q", shard, name, ti.DType)
		}
		if ti.Shape == nil {
			return nil, invalidf("%s: tensor %q: no shape", shard, name)
		}
		n := int64(1)
		for _, d := range ti.Shape {
			if d < 0 {
				return nil, invalidf("%s: tensor %q: negative dimension %d", shard, name, d)
			}
			hi, lo := bits.Mul64(uint64(n), uint64(d))
			if hi != 0 || lo > math.MaxInt64 {
				return nil, invalidf("%s: tensor %q: shape %v has too many elements", shard, name, ti.Shape)
			}
			n = int64(lo)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(width))
		if hi != 0 || lo > math.MaxInt64 || lo%8 != 0 {
			return nil, invalidf("%s: tensor %q: shape %v of %s is not a whole number of bytes that fits", shard, name, ti.Shape, ti.DType)
		}
		size := int64(lo / 8)
		if len(ti.DataOffsets) != 2 {
			return nil, invalidf("%s: tensor %q: data_offsets must be [begin, end]", shard, name)
		}
		b, e := ti.DataOffsets[0], ti.DataOffsets[1]
		if b < 0 || e < b || e > dataLen {
			return nil, invalidf("%s: tensor %q: data_offsets [%d, %d] outside the %d-byte data region", shard, name, b, e, dataLen)
		}
		if e-b != size {
			return nil, invalidf("%s: tensor %q: data_offsets span %d bytes, but shape %v of %s needs %d", shard, name, e-b, ti.Shape, ti.DType, size)
		}
		out = append(out, Tensor{Name: name, DType: ti.DType, Shape: ti.Shape, Shard: shard, Begin: 8 + hlen + b, End: 8 + hlen + e})
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("%s: header is not JSON: %v", shard, err)
	}
	if rest := header[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return nil, invalidf("%s: header has trailing data after the JSON object", shard)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Begin != out[j].Begin {
			return out[i].Begin < out[j].Begin
		}
		return out[i].End < out[j].End
	})
	at := 8 + hlen
	for _, t := range out {
		switch {
		case t.Begin < at:
			return nil, invalidf("%s: tensor %q overlaps another tensor at data offset %d", shard, t.Name, t.Begin-8-hlen)
		case t.Begin > at:
			return nil, invalidf("%s: data region has a hole at data offsets [%d, %d)", shard, at-8-hlen, t.Begin-8-hlen)
		}
		at = t.End
	}
	if at != fileSize {
		return nil, invalidf("%s: tensors cover %d bytes of the %d-byte data region", shard, at-8-hlen, dataLen)
	}
	return out, nil
}
