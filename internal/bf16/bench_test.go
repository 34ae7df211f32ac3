package bf16

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// sink stands for where converted bytes go (a hash, a socket): it moves
// every byte it is given through one reused 64 KiB buffer, so copying to it
// costs what touching the bytes costs.
type sink struct{ buf [64 << 10]byte }

func (s *sink) Write(p []byte) (int, error) {
	for q := p; len(q) > 0; q = q[copy(s.buf[:], q):] {
	}
	return len(p), nil
}

// BenchmarkConvert converts one tensor per iteration to a sink and, in the
// same iterations (off the clock), io.Copy's the same source bytes to the
// same sink. ns/op and MB/s are the conversion alone, counting source bytes;
// copy-MB/s is the baseline and convert/copy the ratio of their wall times.
// On a shared machine wall time varies with the load, so MB/cpu-s and
// copy-MB/cpu-s give the same rates per second of CPU the process used.
//
//	go test -run '^$' -bench Convert ./internal/bf16
func BenchmarkConvert(b *testing.B) {
	for _, tc := range []struct {
		name   string
		tensor Spec
		scale  *Spec
	}{
		// 64 MiB of F32.
		{"F32", Spec{"f", DTypeF32, []int64{4096, 4096}}, nil},
		// A DeepSeek-V3 expert matrix, 7168×2048 F8_E4M3 (14 MiB), with
		// its F32 weight_scale_inv.
		{"E4M3xscale_inv", Spec{"w.weight", DTypeF8E4M3, []int64{7168, 2048}}, &Spec{"w.weight_scale_inv", DTypeF32, []int64{56, 16}}},
		// A DeepSeek-V4 FP4 expert, 2048×4096 values in I8 [2048, 2048].
		{"FP4xE8M0", Spec{"e.weight", DTypeI8, []int64{2048, 2048}}, &Spec{"e.scale", DTypeF8E8M0, []int64{2048, 128}}},
		// 32 MiB of BF16: the converter's own overhead.
		{"BF16copy", Spec{"c", DTypeBF16, []int64{4096, 4096}}, nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			job, err := Plan(tc.tensor, tc.scale)
			if err != nil {
				b.Fatal(err)
			}
			data := pattern(int(job.InSize))
			sc := pattern(int(job.ScaleSize))
			if tc.scale != nil && tc.scale.DType == DTypeF8E8M0 {
				for i := range sc {
					sc[i] = 100 + sc[i]%50
				}
			}
			var s sink
			var conv, plain, convCPU, plainCPU time.Duration
			b.SetBytes(job.InSize)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				t0, c0 := time.Now(), cpuTime()
				if _, err := io.Copy(&s, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				plain += time.Since(t0)
				plainCPU += cpuTime() - c0
				b.StartTimer()
				t0, c0 = time.Now(), cpuTime()
				c, err := NewConverter(job, bytes.NewReader(data), sc)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := c.WriteTo(&s); err != nil || n != job.OutSize {
					b.Fatal(n, err)
				}
				conv += time.Since(t0)
				convCPU += cpuTime() - c0
			}
			mb := float64(job.InSize) * float64(b.N) / 1e6
			b.ReportMetric(mb/plain.Seconds(), "copy-MB/s")
			b.ReportMetric(conv.Seconds()/plain.Seconds(), "convert/copy")
			if convCPU > 0 && plainCPU > 0 {
				b.ReportMetric(mb/convCPU.Seconds(), "MB/cpu-s")
				b.ReportMetric(mb/plainCPU.Seconds(), "copy-MB/cpu-s")
			}
		})
	}
}
