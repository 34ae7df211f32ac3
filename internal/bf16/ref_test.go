package bf16

import (
	"encoding/binary"
	"math"
	"strings"
)

// refConvert is the test's own model of a conversion: one output element at
// a time, straight from the layout rules, with the scalar decoders and an
// exact float64 product rounded to float32 (the same as one float32
// multiplication, as a float64 holds the product of two float32 exactly),
// then refRound. It assumes Plan accepted t and s.
func refConvert(t Spec, s *Spec, data, scale []byte) []uint16 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	round := func(f float32) uint16 {
		u := math.Float32bits(f)
		if u&0x7fffffff > 0x7f800000 {
			return FromF32Bits(u)
		}
		return refRound(u)
	}
	mul := func(x, s float32) uint16 { return round(float32(float64(x) * float64(s))) }
	if s == nil {
		out := make([]uint16, n)
		for i := range out {
			switch t.DType {
			case DTypeBF16:
				out[i] = binary.LittleEndian.Uint16(data[2*i:])
			case DTypeF16:
				out[i] = round(F16ToF32(binary.LittleEndian.Uint16(data[2*i:])))
			case DTypeF32:
				out[i] = round(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
			case DTypeF8E4M3:
				out[i] = round(E4M3ToF32(data[i]))
			case DTypeF8E5M2:
				out[i] = round(E5M2ToF32(data[i]))
			case DTypeF8E8M0:
				out[i] = round(E8M0ToF32(data[i]))
			}
		}
		return out
	}
	scaleAt := func(i int64) float32 {
		switch s.DType {
		case DTypeF32:
			return math.Float32frombits(binary.LittleEndian.Uint32(scale[4*i:]))
		case DTypeBF16:
			return ToF32(binary.LittleEndian.Uint16(scale[2*i:]))
		}
		return E8M0ToF32(scale[i])
	}
	rows, cols := t.Shape[0], t.Shape[1]
	if t.DType == DTypeI8 && strings.HasSuffix(s.Name, SuffixScale) {
		// Packed FP4: byte (r, j) holds output columns 2j (low) and 2j+1.
		out := make([]uint16, 0, 2*n)
		for r := range rows {
			for j := range cols {
				b := data[r*cols+j]
				lo, hi := 2*j, 2*j+1
				groups := 2 * cols / 32
				out = append(out,
					mul(E2M1ToF32(b&0xf), scaleAt(r*groups+lo/32)),
					mul(E2M1ToF32(b>>4), scaleAt(r*groups+hi/32)))
			}
		}
		return out
	}
	scols := (cols + 127) / 128
	out := make([]uint16, 0, n)
	for r := range rows {
		for c := range cols {
			b := data[r*cols+c]
			x := E4M3ToF32(b)
			if t.DType == DTypeI8 {
				x = float32(int8(b))
			}
			out = append(out, mul(x, scaleAt(r/128*scols+c/128)))
		}
	}
	return out
}

func bf16Words(b []byte) []uint16 {
	w := make([]uint16, len(b)/2)
	for i := range w {
		w[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return w
}

func le32(fs ...float32) []byte {
	b := make([]byte, 4*len(fs))
	for i, f := range fs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func le32bits(us ...uint32) []byte {
	b := make([]byte, 4*len(us))
	for i, u := range us {
		binary.LittleEndian.PutUint32(b[4*i:], u)
	}
	return b
}

func le16(us ...uint16) []byte {
	b := make([]byte, 2*len(us))
	for i, u := range us {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
}

// mismatch returns the index of the first element where got and want
// differ, or -1. Two NaNs match whatever their bits: which NaN operand a
// multiplication propagates (and so its sign and payload) is the hardware's
// choice, in IEEE 754 as in the reference kernels.
func mismatch(got, want []uint16) int {
	if len(got) != len(want) {
		return min(len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] && !(isNaN16(got[i]) && isNaN16(want[i])) {
			return i
		}
	}
	return -1
}
