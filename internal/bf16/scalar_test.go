package bf16

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refRound is an independent model of round-to-nearest-even from float32 to
// BF16, for finite and infinite inputs: it measures the distance from the
// value to the two BF16 neighbours (the truncation and the next value up in
// magnitude, 2^128 standing in for Inf) and picks the nearer, the even one
// on a tie.
func refRound(u uint32) uint16 {
	lo := uint16(u >> 16)
	if u&0xffff == 0 {
		return lo
	}
	hi := lo + 1
	val := func(b uint16) float64 {
		if b&0x7fff == 0x7f80 {
			return math.Copysign(math.Ldexp(1, 128), float64(ToF32(b)))
		}
		return float64(ToF32(b))
	}
	f := float64(math.Float32frombits(u))
	dlo, dhi := math.Abs(f-val(lo)), math.Abs(val(hi)-f)
	switch {
	case dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func isNaN16(b uint16) bool { return b&0x7f80 == 0x7f80 && b&0x7f != 0 }

func TestFromF32Golden(t *testing.T) {
	for _, tc := range []struct {
		in   uint32
		want uint16
		what string
	}{
		{0x00000000, 0x0000, "+0"},
		{0x80000000, 0x8000, "-0"},
		{0x7f800000, 0x7f80, "+Inf"},
		{0xff800000, 0xff80, "-Inf"},
		{0x3f800000, 0x3f80, "1.0 exact"},
		{0x3f808000, 0x3f80, "tie, even below: 1 + 2^-8 rounds down to 1"},
		{0x3f818000, 0x3f82, "tie, even above: rounds up to the even 0x3f82"},
		{0x3f807fff, 0x3f80, "just below a tie"},
		{0x3f808001, 0x3f81, "just above a tie"},
		{0xbf818000, 0xbf82, "negative tie rounds away from zero to even"},
		{0x3fffffff, 0x4000, "rounds up into the next exponent: 1.99999988 to 2"},
		{0x3f7fffff, 0x3f80, "rounds up into the next exponent: 0.99999994 to 1"},
		{0x7f7fffff, 0x7f80, "largest finite float32 rounds to +Inf (RNE and PyTorch agree)"},
		{0xff7fffff, 0xff80, "most negative finite float32 rounds to -Inf"},
		{0x7f7f7fff, 0x7f7f, "largest float32 that stays finite"},
		{0x7f7f8000, 0x7f80, "tie at the top, odd below: rounds to +Inf"},
		{0x00000001, 0x0000, "smallest subnormal rounds to +0"},
		{0x00018000, 0x0002, "subnormal tie, odd below: rounds up to even"},
		{0x00008000, 0x0000, "subnormal tie, even below: rounds to +0"},
		{0x807fffff, 0x8080, "largest negative subnormal rounds into the smallest normal"},
		{0x7fc00000, 0x7fc0, "canonical quiet NaN"},
		{0xffc00000, 0xffc0, "negative quiet NaN"},
		{0x7f800001, 0x7fc0, "NaN with a low payload: naive rounding gives +Inf"},
		{0xff800001, 0xffc0, "negative NaN with a low payload: naive rounding gives -Inf"},
		{0x7f807fff, 0x7fc0, "NaN whose naive rounding stays at the Inf pattern"},
		{0x7fffffff, 0x7fff, "NaN with every payload bit: naive rounding carries into -0"},
		{0xffffffff, 0xffff, "negative NaN with every payload bit"},
		{0x7fa00000, 0x7fe0, "signalling NaN is quieted, payload top kept"},
	} {
		if got := FromF32Bits(tc.in); got != tc.want {
			t.Errorf("FromF32Bits(%#08x) = %#04x, want %#04x (%s)", tc.in, got, tc.want, tc.what)
		}
		if got := FromF32(math.Float32frombits(tc.in)); got != tc.want {
			t.Errorf("FromF32(%#08x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

// TestFromF32Sweep compares FromF32Bits with refRound on every BF16 prefix
// (every sign and exponent) times the low halves where rounding decides
// something, plus random words, and checks the NaN rules on every NaN
// among them.
func TestFromF32Sweep(t *testing.T) {
	lows := []uint32{0, 1, 0x3fff, 0x7fff, 0x8000, 0x8001, 0xbfff, 0xffff}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(u uint32) {
		got := FromF32Bits(u)
		if u&0x7fffffff > 0x7f800000 {
			if !isNaN16(got) || got>>15 != uint16(u>>31) || got&0x40 == 0 || got&0x3f != uint16(u>>16)&0x3f {
				t.Fatalf("FromF32Bits(NaN %#08x) = %#04x: want a quiet NaN with the same sign and payload top", u, got)
			}
			return
		}
		if want := refRound(u); got != want {
			t.Fatalf("FromF32Bits(%#08x) = %#04x, want %#04x", u, got, want)
		}
	}
	for hi := range uint32(1 << 16) {
		for _, lo := range lows {
			check(hi<<16 | lo)
		}
		check(hi<<16 | rng.Uint32()&0xffff)
	}
}

func TestToF32(t *testing.T) {
	for _, b := range []uint16{0, 0x8000, 0x3f80, 0x7f80, 0xff80, 0x0001, 0x7fc1} {
		if got := math.Float32bits(ToF32(b)); got != uint32(b)<<16 {
			t.Errorf("ToF32(%#04x) has bits %#08x", b, got)
		}
		if FromF32(ToF32(b)) != b {
			t.Errorf("FromF32(ToF32(%#04x)) does not round-trip", b)
		}
	}
}

// refF16 decodes an IEEE half from its fields with math.Ldexp.
func refF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return math.Inf(int(sign))
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1024+m, e-25)
}

func TestF16Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got, want := F16ToF32(h), refF16(h)
		if math.IsNaN(want) {
			bits := math.Float32bits(got)
			if !math.IsNaN(float64(got)) || bits>>31 != uint32(h>>15) || bits&0x7fffff != uint32(h&0x3ff)<<13 {
				t.Fatalf("F16ToF32(%#04x) = %#08x, want a NaN with its sign and payload", h, bits)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF16Golden(t *testing.T) {
	for _, tc := range []struct {
		in       uint16
		f32      uint32
		bf16     uint16
		whatever string
	}{
		{0x0000, 0x00000000, 0x0000, "+0"},
		{0x8000, 0x80000000, 0x8000, "-0"},
		{0x3c00, 0x3f800000, 0x3f80, "1.0"},
		{0x0001, 0x33800000, 0x3380, "smallest subnormal 2^-24"},
		{0x03ff, 0x387fc000, 0x3880, "largest subnormal 1023·2^-24 rounds up to 2^-14"},
		{0x0400, 0x38800000, 0x3880, "smallest normal 2^-14"},
		{0x7bff, 0x477fe000, 0x4780, "max 65504 rounds to 65536"},
		{0xfbff, 0xc77fe000, 0xc780, "-65504"},
		{0x7c00, 0x7f800000, 0x7f80, "+Inf"},
		{0xfc00, 0xff800000, 0xff80, "-Inf"},
		{0x7c01, 0x7f802000, 0x7fc0, "signalling NaN, lowest payload: naive rounding would give +Inf"},
		{0x7e00, 0x7fc00000, 0x7fc0, "quiet NaN"},
		{0xfe00, 0xffc00000, 0xffc0, "negative quiet NaN"},
		{0xfd55, 0xffaaa000, 0xffea, "negative signalling NaN keeps sign and payload top"},
		{0x3c04, 0x3f808000, 0x3f80, "tie, even below"},
		{0x3c0c, 0x3f818000, 0x3f82, "tie, odd below"},
		{0x3c05, 0x3f80a000, 0x3f81, "above a tie"},
	} {
		f := F16ToF32(tc.in)
		if got := math.Float32bits(f); got != tc.f32 {
			t.Errorf("F16ToF32(%#04x) = %#08x, want %#08x (%s)", tc.in, got, tc.f32, tc.whatever)
		}
		if got := FromF32(f); got != tc.bf16 {
			t.Errorf("BF16 of F16 %#04x = %#04x, want %#04x (%s)", tc.in, got, tc.bf16, tc.whatever)
		}
	}
}

// refE4M3 decodes an E4M3FN byte from its fields with math.Ldexp.
func refE4M3(b byte) float64 {
	sign := 1.0
	if b&0x80 != 0 {
		sign = -1
	}
	e, m := int(b>>3)&0xf, float64(b&7)
	switch {
	case e == 0xf && m == 7:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(m/8, -6)
	}
	return sign * math.Ldexp(1+m/8, e-7)
}

func TestE4M3Exhaustive(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		got, want := E4M3ToF32(b), refE4M3(b)
		if math.IsNaN(want) {
			if math.Float32bits(got) != uint32(b&0x80)<<24|0x7ff00000 {
				t.Errorf("E4M3ToF32(%#02x) = %#08x, want the NaN 0x7ff00000 with sign", b, math.Float32bits(got))
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Errorf("E4M3ToF32(%#02x) = %v, want %v", b, got, want)
		}
		// Every E4M3 value is a BF16 value: the unscaled cast is exact.
		if float64(ToF32(e4m3BF[b])) != want {
			t.Errorf("BF16 of E4M3 %#02x = %v, want %v", b, ToF32(e4m3BF[b]), want)
		}
	}
}

func TestE4M3Golden(t *testing.T) {
	for _, tc := range []struct {
		in   byte
		want float64
		bf16 uint16
	}{
		{0x00, 0, 0x0000},
		{0x80, math.Copysign(0, -1), 0x8000},
		{0x01, 0.001953125, 0x3b00},  // smallest subnormal 1/8·2^-6 = 2^-9
		{0x07, 0.013671875, 0x3c60},  // largest subnormal 7/8·2^-6
		{0x08, 0.015625, 0x3c80},     // smallest normal 2^-6
		{0x38, 1, 0x3f80},            // 0.0111.000
		{0x3c, 1.5, 0x3fc0},          // 0.0111.100
		{0x7e, 448, 0x43e0},          // max finite 0.1111.110
		{0xfe, -448, 0xc3e0},         // min finite
		{0x77, 240, 0x4370},          // 0.1110.111: mantissa 7 is finite below the top exponent
		{0x81, -0.001953125, 0xbb00}, // negative subnormal
		{0x7f, math.NaN(), 0x7ff0},   // NaN
		{0xff, -math.NaN(), 0xfff0},  // negative NaN
		{0x78, 256, 0x4380},          // 0.1111.000 is finite (no Inf)
		{0x40, 2, 0x4000},            // 0.1000.000
		{0x30, 0.5, 0x3f00},          // 0.0110.000
		{0x3f, 1.875, 0x3ff0},        // 0.0111.111
		{0x06, 0.01171875, 0x3c40},   // 6/8·2^-6
		{0xc6, -3.5, 0xc060},         // 1.1000.110 = -(1+6/8)·2^1
		{0x5a, 20, 0x41a0},           // 0.1011.010 = 1.25·2^4
		{0x02, 0.00390625, 0x3b80},   // 2/8·2^-6
		{0x04, 0.0078125, 0x3c00},    // 4/8·2^-6
		{0x3d, 1.625, 0x3fd0},        // 0.0111.101
		{0x7d, 416, 0x43d0},          // 0.1111.101
		{0x4e, 7, 0x40e0},            // 0.1001.110 = (1+6/8)·2^2
		{0x31, 0.5625, 0x3f10},       // 0.0110.001
		{0xb8, -1, 0xbf80},           // 1.0111.000
		{0x28, 0.25, 0x3e80},         // 0.0101.000
		{0x10, 0.03125, 0x3d00},      // 0.0010.000
		{0x09, 0.017578125, 0x3c90},  // 0.0001.001
		{0x0f, 0.029296875, 0x3cf0},  // 0.0001.111
		{0x17, 0.05859375, 0x3d70},   // 0.0010.111
		{0x87, -0.013671875, 0xbc60}, // 1.0000.111
		{0x8f, -0.029296875, 0xbcf0}, // 1.0001.111
	} {
		got := E4M3ToF32(tc.in)
		if math.IsNaN(tc.want) {
			if !math.IsNaN(float64(got)) || math.Signbit(float64(got)) != (tc.in&0x80 != 0) {
				t.Errorf("E4M3ToF32(%#02x) = %v, want NaN with sign %v", tc.in, got, tc.in&0x80 != 0)
			}
		} else if float64(got) != tc.want || math.Signbit(float64(got)) != math.Signbit(tc.want) {
			t.Errorf("E4M3ToF32(%#02x) = %v, want %v", tc.in, got, tc.want)
		}
		if bf := FromF32(got); bf != tc.bf16 {
			t.Errorf("BF16 of E4M3 %#02x = %#04x, want %#04x", tc.in, bf, tc.bf16)
		}
	}
}

func TestE5M2Exhaustive(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		sign := 1.0
		if b&0x80 != 0 {
			sign = -1
		}
		e, m := int(b>>2)&0x1f, float64(b&3)
		got := E5M2ToF32(b)
		switch {
		case e == 0x1f && m == 0:
			if !math.IsInf(float64(got), int(sign)) {
				t.Errorf("E5M2ToF32(%#02x) = %v, want %v·Inf", b, got, sign)
			}
		case e == 0x1f:
			if !math.IsNaN(float64(got)) || math.Signbit(float64(got)) != (sign < 0) {
				t.Errorf("E5M2ToF32(%#02x) = %v, want NaN with its sign", b, got)
			}
			if !isNaN16(e5m2BF[b]) {
				t.Errorf("BF16 of E5M2 NaN %#02x = %#04x", b, e5m2BF[b])
			}
		default:
			want := sign * math.Ldexp(4+m, e-17)
			if e == 0 {
				want = sign * math.Ldexp(m, -16)
			}
			if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
				t.Errorf("E5M2ToF32(%#02x) = %v, want %v", b, got, want)
			}
			if float64(ToF32(e5m2BF[b])) != want {
				t.Errorf("BF16 of E5M2 %#02x = %v, want %v (exact)", b, ToF32(e5m2BF[b]), want)
			}
		}
	}
	// Hand-checked: max finite 57344 = 1.75·2^15, smallest subnormal 2^-16.
	if E5M2ToF32(0x7b) != 57344 || E5M2ToF32(0x01) != float32(math.Ldexp(1, -16)) || E5M2ToF32(0x3c) != 1 {
		t.Errorf("E5M2 hand values: 0x7b=%v 0x01=%v 0x3c=%v", E5M2ToF32(0x7b), E5M2ToF32(0x01), E5M2ToF32(0x3c))
	}
}

func TestE8M0Exhaustive(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		got := E8M0ToF32(b)
		if b == 0xff {
			if !math.IsNaN(float64(got)) {
				t.Errorf("E8M0ToF32(0xff) = %v, want NaN", got)
			}
			continue
		}
		if want := math.Ldexp(1, int(b)-127); float64(got) != want {
			t.Errorf("E8M0ToF32(%d) = %v, want 2^%d", b, got, int(b)-127)
		}
		if want := math.Ldexp(1, int(b)-127); float64(ToF32(e8m0BF[b])) != want {
			t.Errorf("BF16 of E8M0 %d = %v, want 2^%d (exact)", b, ToF32(e8m0BF[b]), int(b)-127)
		}
	}
	for _, tc := range []struct {
		in   byte
		f32  uint32
		bf16 uint16
	}{
		{0, 0x00400000, 0x0040},   // 2^-127, a subnormal in both
		{1, 0x00800000, 0x0080},   // 2^-126
		{127, 0x3f800000, 0x3f80}, // 1
		{128, 0x40000000, 0x4000}, // 2
		{254, 0x7f000000, 0x7f00}, // 2^127
		{255, 0x7fc00000, 0x7fc0}, // NaN
	} {
		if got := math.Float32bits(E8M0ToF32(tc.in)); got != tc.f32 {
			t.Errorf("E8M0ToF32(%d) = %#08x, want %#08x", tc.in, got, tc.f32)
		}
		if got := e8m0BF[tc.in]; got != tc.bf16 {
			t.Errorf("BF16 of E8M0 %d = %#04x, want %#04x", tc.in, got, tc.bf16)
		}
	}
}

func TestE2M1(t *testing.T) {
	for n := range byte(16) {
		sign := 1.0
		if n&8 != 0 {
			sign = -1
		}
		e, m := int(n>>1)&3, float64(n&1)
		want := sign * math.Ldexp(2+m, e-2)
		if e == 0 {
			want = sign * m / 2
		}
		got := E2M1ToF32(n)
		if float64(got) != want {
			t.Errorf("E2M1ToF32(%#x) = %v, want %v", n, got, want)
		}
		if E2M1ToF32(n|0xf0) != got {
			t.Errorf("E2M1ToF32 reads more than the low nibble of %#x", n|0xf0)
		}
	}
	// DeepSeek-V4's FP4_TABLE decodes nibble 8 to +0.0.
	if math.Signbit(float64(E2M1ToF32(8))) {
		t.Error("E2M1ToF32(8) is -0, want DeepSeek's +0")
	}
	if E2M1ToF32(7) != 6 || E2M1ToF32(0xf) != -6 || E2M1ToF32(1) != 0.5 {
		t.Errorf("E2M1 hand values: 7=%v f=%v 1=%v", E2M1ToF32(7), E2M1ToF32(0xf), E2M1ToF32(1))
	}
}
