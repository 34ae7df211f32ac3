package bf16

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// fuzzDTypes are the dtypes FuzzConvert picks from: every one Plan knows
// and two it refuses.
var fuzzDTypes = []string{DTypeBF16, DTypeF16, DTypeF32, DTypeF8E4M3, DTypeF8E5M2, DTypeF8E8M0, DTypeI8, "I32", "F64"}

// allocBound is the most a conversion may allocate besides the scale the
// caller holds: the Converter's two chunk buffers (32 KiB in, up to 128 KiB
// out for packed FP4), at most 256 scale tables of 1 KiB, and small change.
const allocBound = 512 << 10

// FuzzConvert plans and converts tensors of arbitrary dtype, shape, scale
// and bytes. It must never panic; every refusal must be an *Error of a known
// kind; an accepted plan must promise consistent sizes; a conversion must
// produce exactly OutSize bytes when the source holds InSize bytes (equal to
// the reference model's, when small enough to compare), fail with
// io.ErrUnexpectedEOF and fewer bytes when it holds less, and allocate no
// more than allocBound whatever the shape.
func FuzzConvert(f *testing.F) {
	f.Add(uint8(3), uint8(4), uint8(2), int64(130), int64(200), uint8(2), []byte{0x38, 0x7e, 0x7f}, le32(0.5, 2, 3, 4), uint8(3))
	f.Add(uint8(6), uint8(5), uint8(5), int64(3), int64(16), uint8(2), []byte{0x21, 0x8f}, []byte{127, 128, 200}, uint8(0))
	f.Add(uint8(6), uint8(5), uint8(5), int64(5), int64(48), uint8(2), []byte{0x21, 0x8f, 0x7f, 0x30}, []byte{127, 128, 0, 254, 0xff}, uint8(4))
	f.Add(uint8(6), uint8(4), uint8(2), int64(129), int64(129), uint8(2), bytes.Repeat([]byte{0x80}, 40), le32(-1, 1, 7, 0.25), uint8(1))
	f.Add(uint8(3), uint8(5), uint8(5), int64(1), int64(300), uint8(2), []byte{1, 2, 3}, []byte{0xff, 0, 254}, uint8(7))
	f.Add(uint8(2), uint8(0), uint8(0), int64(5), int64(1), uint8(1), le32bits(0x7f7fffff, 0x7f800001, 0x3f808000, 0xffffffff, 0), []byte(nil), uint8(2))
	f.Add(uint8(1), uint8(0), uint8(0), int64(1<<40), int64(1<<30), uint8(2), []byte{1, 2}, []byte(nil), uint8(0))
	f.Add(uint8(3), uint8(4), uint8(2), int64(300), int64(260), uint8(2), []byte{1, 2, 3}, le32(1, 2), uint8(0x85))
	f.Add(uint8(0), uint8(0), uint8(0), int64(0), int64(-1), uint8(3), []byte{}, []byte(nil), uint8(0))
	f.Fuzz(func(t *testing.T, wdt, kind, sdt uint8, r, c int64, rank uint8, data, sdata []byte, readSize uint8) {
		tensor := Spec{Name: "t.weight", DType: fuzzDTypes[int(wdt)%len(fuzzDTypes)]}
		for i := range int(rank % 4) {
			tensor.Shape = append(tensor.Shape, []int64{r, c, r % 7}[i])
		}
		var scale *Spec
		switch kind % 3 {
		case 1:
			scale = &Spec{Name: "t.weight_scale_inv"}
		case 2:
			scale = &Spec{Name: "t.scale"}
		}
		if scale != nil {
			scale.DType = fuzzDTypes[int(sdt)%len(fuzzDTypes)]
			// Half the time the shape a layout wants, so conversions run.
			switch {
			case kind&4 == 0:
				scale.Shape = []int64{int64(sdt) >> 4, int64(kind) >> 4}
			case tensor.DType == DTypeI8 && kind%3 == 2:
				scale.Shape = []int64{r, 2 * c / 32}
			default:
				scale.Shape = []int64{(r + 127) / 128, (c + 127) / 128}
			}
		}
		job, err := Plan(tensor, scale)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Tensor == "" {
				t.Fatalf("Plan error %v is not an *Error naming its tensor", err)
			}
			for _, kind := range []error{ErrInvalid, ErrUnsupported, ErrUnknownLayout, ErrScaleTooLarge} {
				if errors.Is(err, kind) {
					return
				}
			}
			t.Fatalf("Plan error %v is of no known kind", err)
		}
		n := int64(1)
		for _, d := range job.OutShape {
			n *= d
		}
		if job.OutSize != 2*n || job.OutSize < 0 || job.InSize < 0 || job.ScaleSize < 0 || job.ScaleSize > MaxScaleBytes {
			t.Fatalf("inconsistent job %+v", job)
		}
		// Give the converter a scale of the promised size, from the fuzzed
		// bytes; a wrong size must be refused.
		if job.ScaleSize > 1<<20 {
			return
		}
		sc := make([]byte, job.ScaleSize)
		for i := range sc {
			if len(sdata) > 0 {
				sc[i] = sdata[i%len(sdata)]
			}
		}
		if job.ScaleSize > 0 {
			if _, err := NewConverter(job, bytes.NewReader(data), sc[1:]); !errors.Is(err, ErrInvalid) {
				t.Fatalf("scale one byte short: %v", err)
			}
		}
		// The tensor's bytes: the fuzzed bytes repeated to InSize, so most
		// plans convert in full; when readSize's top bit is set, as many as
		// were given, so sources that end early are exercised too.
		if readSize&0x80 == 0 && len(data) > 0 && job.InSize <= 1<<20 {
			full := make([]byte, job.InSize)
			for i := range full {
				full[i] = data[i%len(data)]
			}
			data = full
		}
		f16Table() // built once per process, not per conversion

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		conv, err := NewConverter(job, bytes.NewReader(data), sc)
		if err != nil {
			t.Fatalf("NewConverter after Plan: %v", err)
		}
		var cw countWriter
		written, err := conv.WriteTo(&cw)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > allocBound {
			t.Fatalf("converting %v %s allocated %d bytes", tensor.Shape, tensor.DType, grew)
		}
		if written != cw.n {
			t.Fatalf("WriteTo returned %d, wrote %d", written, cw.n)
		}
		if int64(len(data)) < job.InSize {
			if !errors.Is(err, io.ErrUnexpectedEOF) || written >= job.OutSize {
				t.Fatalf("%d of %d bytes: wrote %d of %d, error %v", len(data), job.InSize, written, job.OutSize, err)
			}
			return
		}
		if err != nil || written != job.OutSize {
			t.Fatalf("wrote %d of %d: %v", written, job.OutSize, err)
		}
		if job.OutSize > 1<<16 {
			return
		}
		// The same through Read with a small buffer, against the reference.
		conv, _ = NewConverter(job, bytes.NewReader(data), sc)
		var out []byte
		buf := make([]byte, int(readSize&0x7f%9)+1)
		for {
			k, err := conv.Read(buf)
			out = append(out, buf[:k]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		}
		ref := refConvert(tensor, scale, data, sc)
		if i := mismatch(bf16Words(out), ref); i >= 0 {
			t.Fatalf("element %d = %#04x, reference %#04x", i, bf16Words(out)[i], ref[i])
		}
	})
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
