package safetensors

import (
	"io"
	"testing"
)

// BenchmarkScanner measures the Scanner alone: a 64 MiB file held in memory
// is written to it in 1 MiB chunks, as io.Copy would.
func BenchmarkScanner(b *testing.B) {
	g, err := NewSizedGenerator(1, 64<<20, "BF16")
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(g)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := NewScanner(int64(len(data)))
		for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
			s.Write(p[:min(len(p), 1<<20)])
		}
		if _, err := s.Summary(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerator measures how fast the Generator produces bytes, which
// bounds how fast any benchmark fed by it can go.
func BenchmarkGenerator(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(256 << 20)
	for b.Loop() {
		g, err := NewSizedGenerator(1, 256<<20, "BF16")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{g}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
