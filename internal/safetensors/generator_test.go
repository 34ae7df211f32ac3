package safetensors

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"
)

func readAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGeneratorLayout(t *testing.T) {
	g, err := NewGenerator(1, []Tensor{
		{Name: "patch_embed.proj.weight", DType: "BF16", Shape: []int64{1152, 3, 14, 14}},
		{Name: "patch_embed.proj.bias", DType: "F32", Shape: []int64{1152}},
		{Name: "scale", DType: "F32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Tensors: 3, DTypes: []string{"BF16", "F32"}, Params: 1152*3*14*14 + 1152 + 1}
	if got := g.Summary(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Summary() = %+v, want %+v", got, want)
	}
	data := readAll(t, g)
	if int64(len(data)) != g.Size() {
		t.Fatalf("read %d bytes, Size() = %d", len(data), g.Size())
	}
	if (len(g.header)-8)%8 != 0 {
		t.Errorf("header of %d bytes does not align the data region", len(g.header)-8)
	}
	wantSize := int64(len(g.header)) + 1152*3*14*14*2 + 1152*4 + 4
	if g.Size() != wantSize {
		t.Errorf("Size() = %d, want %d", g.Size(), wantSize)
	}
	got, err := scan(t, g.Size(), data, 1000)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("scanner: %+v, %v; want %+v", got, err, want)
	}
}

func TestGeneratorRejectsBadLayouts(t *testing.T) {
	for name, ts := range map[string][]Tensor{
		"unknown dtype":  {{Name: "a", DType: "F128", Shape: []int64{1}}},
		"duplicate":      {{Name: "a", DType: "U8", Shape: []int64{1}}, {Name: "a", DType: "U8", Shape: []int64{1}}},
		"metadata name":  {{Name: "__metadata__", DType: "U8", Shape: []int64{1}}},
		"negative dim":   {{Name: "a", DType: "U8", Shape: []int64{-2}}},
		"partial byte":   {{Name: "a", DType: "F4", Shape: []int64{3}}},
		"overflow shape": {{Name: "a", DType: "F64", Shape: []int64{1 << 40, 1 << 40}}},
	} {
		if _, err := NewGenerator(1, ts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSizedGeneratorExactSizes(t *testing.T) {
	sizes := []int64{160, 161, 167, 168, 200, 999, 4096, 65537, 1 << 20, 3<<20 + 5}
	for _, dtype := range []string{"", "F32", "F64", "U8", "F4", "F6_E3M2"} {
		for _, size := range sizes {
			g, err := NewSizedGenerator(uint64(size), size, dtype)
			if err != nil {
				t.Fatalf("%s %d: %v", dtype, size, err)
			}
			if g.Size() != size {
				t.Fatalf("%s %d: Size() = %d", dtype, size, g.Size())
			}
			data := readAll(t, g)
			if int64(len(data)) != size {
				t.Fatalf("%s %d: read %d bytes", dtype, size, len(data))
			}
			got, err := scan(t, size, data, 1<<16)
			if err != nil {
				t.Fatalf("%s %d: scanner: %v", dtype, size, err)
			}
			if want := g.Summary(); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %d: scanner %+v, generator %+v", dtype, size, got, want)
			}
		}
	}
}

func TestSizedGeneratorSplitsLargeFiles(t *testing.T) {
	g, err := NewSizedGenerator(3, 100<<20, "BF16")
	if err != nil {
		t.Fatal(err)
	}
	// 100 MiB in tensors of at most 32 MiB.
	if n := g.Summary().Tensors; n != 4 {
		t.Errorf("Tensors = %d, want 4", n)
	}
	if p := g.Summary().Params; p*2 > g.Size() || p*2 < g.Size()-int64(len(g.header)) {
		t.Errorf("Params = %d does not fit a %d-byte file", p, g.Size())
	}
}

func TestSizedGeneratorTooSmall(t *testing.T) {
	for _, size := range []int64{-1, 0, 8, 40} {
		if _, err := NewSizedGenerator(1, size, "F32"); err == nil {
			t.Errorf("size %d: no error", size)
		}
	}
	if _, err := NewSizedGenerator(1, 1000, "Q4"); err == nil {
		t.Error("unknown dtype: no error")
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	sum := func(seed uint64) [32]byte {
		g, err := NewSizedGenerator(seed, 1<<20+3, "F16")
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(readAll(t, g))
	}
	if sum(5) != sum(5) {
		t.Error("same seed, different bytes")
	}
	if sum(5) == sum(6) {
		t.Error("different seeds, same bytes")
	}
}

// TestGeneratorReader runs the standard reader checks (Read in odd sizes,
// ReadAt, Seek) against the generator's own full output, and checks that the
// payload is not trivially constant.
func TestGeneratorReader(t *testing.T) {
	g, err := NewSizedGenerator(9, 300_001, "F32")
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, g)
	if bytes.Count(want[len(g.header):], []byte{0}) > len(want)/100 {
		t.Error("payload is mostly zero bytes")
	}
	for _, r := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
		g.Seek(0, io.SeekStart)
		if got := readAll(t, r(g)); !bytes.Equal(got, want) {
			t.Fatal("chunked read differs from full read")
		}
	}
	g.Seek(0, io.SeekStart)
	if err := iotest.TestReader(g, want); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		off := rng.Int64N(g.Size())
		n := rng.IntN(100)
		p := make([]byte, n)
		k, _ := g.ReadAt(p, off)
		if !bytes.Equal(p[:k], want[off:min(off+int64(n), g.Size())]) {
			t.Fatalf("ReadAt(%d, %d) differs", n, off)
		}
	}
}
