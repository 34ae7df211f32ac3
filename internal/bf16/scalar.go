package bf16

import (
	"math"
	"math/bits"
	"sync"
)

// FromF32 rounds f to the nearest BF16, ties to even, and returns its bits.
// See FromF32Bits.
func FromF32(f float32) uint16 { return FromF32Bits(math.Float32bits(f)) }

// FromF32Bits rounds the float32 whose bits are u to the nearest BF16, ties
// to even, and returns its bits. Finite values round exactly as PyTorch's
// c10::detail::round_to_nearest_even does (the rounding of
// tensor.to(torch.bfloat16)); a finite value past the largest BF16 by half a
// unit or more, including the largest float32, becomes ±Inf, as there and in
// IEEE 754. ±0 and ±Inf keep their bits.
//
// A NaN stays a NaN with its sign and the top of its payload, quieted: adding
// the rounding bias to a NaN, as the finite path does, would turn a NaN whose
// payload lives in the low 16 bits into ±Inf (0x7F800001) and a full payload
// into -0 (0x7FFFFFFF carries out of the sign bit). This is what IEEE 754
// §6.2.3 recommends for narrowing a NaN and what x86's VCVTNEPS2BF16 does;
// PyTorch's scalar path instead returns the positive 0x7FC0 for every NaN.
func FromF32Bits(u uint32) uint16 {
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x0040
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// ToF32 returns the float32 the BF16 bits b stand for. It is exact: BF16 is
// the top half of a float32.
func ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F16ToF32 returns the IEEE 754 half-precision value h as a float32. It is
// exact for every input, subnormals included; a NaN keeps its sign and its
// payload (shifted into the top of the float32 mantissa), as PyTorch's
// c10::detail::fp16_ieee_to_fp32_value does.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// A subnormal man·2^-24: shift its leading one up to the implicit bit.
	shift := uint32(bits.LeadingZeros32(man) - 21)
	return math.Float32frombits(sign | (127-14-shift)<<23 | (man<<shift)&0x3ff<<13)
}

// E4M3ToF32 returns the F8_E4M3 (E4M3FN) value b as a float32: 1 sign, 4
// exponent bits with bias 7, 3 mantissa bits; subnormals (m/8)·2^-6; no
// infinities; the largest finite value is ±448 (S.1111.110) and the only NaNs
// are S.1111.111 (0x7F, 0xFF). The conversion is exact. A NaN keeps its sign
// and has the bits PyTorch's c10 fp8e4m3fn_to_fp32_value gives it
// (0x7FF00000). The format is the E4M3 of the OCP 8-bit Floating Point
// Specification (OFP8) 1.0.
func E4M3ToF32(b byte) float32 {
	sign := uint32(b&0x80) << 24
	exp := uint32(b>>3) & 0xf
	man := uint32(b & 7)
	switch {
	case exp == 0xf && man == 7:
		return math.Float32frombits(sign | 0x7ff00000)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-7)<<23 | man<<20)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// A subnormal man·2^-9: shift its leading one up to the implicit bit.
	shift := uint32(bits.LeadingZeros32(man) - 28)
	return math.Float32frombits(sign | (127-6-shift)<<23 | (man<<shift)&7<<20)
}

// E5M2ToF32 returns the F8_E5M2 value b as a float32: 1 sign, 5 exponent bits
// with bias 15, 2 mantissa bits, with infinities (S.11111.00) and NaNs
// (S.11111.xx, xx ≠ 00) as in IEEE 754. It is the top byte of an IEEE half,
// so the conversion is exact (OCP OFP8 1.0; PyTorch's fp8e5m2_to_fp32_value
// converts it the same way).
func E5M2ToF32(b byte) float32 { return F16ToF32(uint16(b) << 8) }

// E8M0ToF32 returns the F8_E8M0 scale b as a float32: 2^(b−127), exponent
// only, no sign; 0xFF is NaN (OCP Microscaling Formats (MX) 1.0, §5.4.1).
// b = 0 gives 2^-127, a float32 subnormal; like PyTorch's
// Float8_e8m0fnu::operator float, the conversion is exact for every b.
func E8M0ToF32(b byte) float32 {
	switch b {
	case 0xff:
		return math.Float32frombits(0x7fc00000)
	case 0:
		return math.Float32frombits(0x00400000)
	}
	return math.Float32frombits(uint32(b) << 23)
}

// e2m1 is DeepSeek's decoding table for FP4 E2M1 nibbles (FP4_TABLE in
// DeepSeek-V4's inference/convert.py). Nibble 8 decodes to +0.0 there, not
// the -0.0 of the OCP MX bit pattern; the table is followed as published.
var e2m1 = [16]float32{
	0, 0.5, 1, 1.5, 2, 3, 4, 6,
	0, -0.5, -1, -1.5, -2, -3, -4, -6,
}

// E2M1ToF32 returns the FP4 E2M1 value of the low nibble of n, decoded with
// DeepSeek-V4's own table: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives,
// with nibble 0x8 decoding to +0.
func E2M1ToF32(n byte) float32 { return e2m1[n&0xf] }

// Lookup tables for the per-element loops, built on first use from the scalar
// functions above so the two cannot disagree.
var (
	f16Table = sync.OnceValue(func() *[1 << 16]uint16 {
		var t [1 << 16]uint16
		for i := range t {
			t[i] = FromF32(F16ToF32(uint16(i)))
		}
		return &t
	})
	e4m3F32 = table8(E4M3ToF32)
	e8m0F32 = table8(E8M0ToF32)
	e4m3BF  = tableBF(E4M3ToF32)
	e5m2BF  = tableBF(E5M2ToF32)
	e8m0BF  = tableBF(E8M0ToF32)
)

func table8(f func(byte) float32) *[256]float32 {
	var t [256]float32
	for i := range t {
		t[i] = f(byte(i))
	}
	return &t
}

func tableBF(f func(byte) float32) *[256]uint16 {
	var t [256]uint16
	for i := range t {
		t[i] = FromF32(f(byte(i)))
	}
	return &t
}
