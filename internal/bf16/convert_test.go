package bf16

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// run converts data with scale through every way a caller can drive a
// Converter (WriteTo; Read with 1-, 3- and 4096-byte buffers; a source that
// yields one byte at a time) and checks they all give the same bytes, of
// OutSize length. It returns them as BF16 words.
func run(t *testing.T, job Job, data, scale []byte) []uint16 {
	t.Helper()
	var ways []struct {
		name string
		out  []byte
	}
	add := func(name string, src io.Reader, drive func(*Converter) ([]byte, error)) {
		c, err := NewConverter(job, src, scale)
		if err != nil {
			t.Fatalf("NewConverter(%s): %v", job.Tensor.Name, err)
		}
		if c.OutSize() != job.OutSize {
			t.Fatalf("OutSize %d, job says %d", c.OutSize(), job.OutSize)
		}
		out, err := drive(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ways = append(ways, struct {
			name string
			out  []byte
		}{name, out})
	}
	writeTo := func(c *Converter) ([]byte, error) {
		var buf bytes.Buffer
		n, err := c.WriteTo(&buf)
		if err == nil && n != int64(buf.Len()) {
			err = fmt.Errorf("WriteTo returned %d, wrote %d", n, buf.Len())
		}
		return buf.Bytes(), err
	}
	readBy := func(size int) func(*Converter) ([]byte, error) {
		return func(c *Converter) ([]byte, error) {
			var out []byte
			buf := make([]byte, size)
			for {
				n, err := c.Read(buf)
				out = append(out, buf[:n]...)
				if err == io.EOF {
					return out, nil
				}
				if err != nil {
					return out, err
				}
			}
		}
	}
	add("WriteTo", bytes.NewReader(data), writeTo)
	add("WriteTo from a one-byte source", iotest.OneByteReader(bytes.NewReader(data)), writeTo)
	add("Read 1", bytes.NewReader(data), readBy(1))
	add("Read 3", bytes.NewReader(data), readBy(3))
	add("Read 4096", iotest.HalfReader(bytes.NewReader(data)), readBy(4096))
	for _, w := range ways {
		if int64(len(w.out)) != job.OutSize {
			t.Fatalf("%s: %d bytes, want OutSize %d", w.name, len(w.out), job.OutSize)
		}
		if !bytes.Equal(w.out, ways[0].out) {
			t.Fatalf("%s gives other bytes than %s", w.name, ways[0].name)
		}
	}
	return bf16Words(ways[0].out)
}

func mustPlan(t *testing.T, tensor Spec, scale *Spec) Job {
	t.Helper()
	job, err := Plan(tensor, scale)
	if err != nil {
		t.Fatalf("Plan(%s): %v", tensor.Name, err)
	}
	return job
}

// TestConvertGolden checks every conversion path on hand-computed values.
func TestConvertGolden(t *testing.T) {
	for _, tc := range []struct {
		name         string
		tensor       Spec
		scale        *Spec
		data, sdata  []byte
		want         []uint16
		wantOutShape []int64
	}{
		{
			name:   "BF16 copied unchanged, NaN payloads included",
			tensor: Spec{Name: "norm.weight", DType: DTypeBF16, Shape: []int64{5}},
			data:   le16(0x3f80, 0x7f81, 0xffff, 0x8000, 0x0001),
			want:   []uint16{0x3f80, 0x7f81, 0xffff, 0x8000, 0x0001},
		},
		{
			name:   "F16 widened exactly then rounded",
			tensor: Spec{Name: "h", DType: DTypeF16, Shape: []int64{2, 3}},
			data:   le16(0x3c00, 0x7bff, 0x0001, 0xfe00, 0x7c01, 0x3c0c),
			want:   []uint16{0x3f80, 0x4780, 0x3380, 0xffc0, 0x7fc0, 0x3f82},
		},
		{
			name:   "F32 rounded to nearest even, NaN and overflow",
			tensor: Spec{Name: "f", DType: DTypeF32, Shape: []int64{6}},
			data:   le32bits(0x3f808000, 0x3f818000, 0x7f7fffff, 0x7f800001, 0xffffffff, 0x80000000),
			want:   []uint16{0x3f80, 0x3f82, 0x7f80, 0x7fc0, 0xffff, 0x8000},
		},
		{
			name:   "F8_E4M3 without a scale, exact",
			tensor: Spec{Name: "e", DType: DTypeF8E4M3, Shape: []int64{6}},
			data:   []byte{0x00, 0x80, 0x01, 0x7e, 0xfe, 0x7f},
			want:   []uint16{0x0000, 0x8000, 0x3b00, 0x43e0, 0xc3e0, 0x7ff0},
		},
		{
			name:   "F8_E5M2 without a scale: Inf and NaN",
			tensor: Spec{Name: "e5", DType: DTypeF8E5M2, Shape: []int64{4}},
			data:   []byte{0x3c, 0x7c, 0xfc, 0x7d},
			want:   []uint16{0x3f80, 0x7f80, 0xff80, 0x7fe0},
		},
		{
			name:   "F8_E8M0 without a scale",
			tensor: Spec{Name: "e8", DType: DTypeF8E8M0, Shape: []int64{3}},
			data:   []byte{0, 127, 254},
			want:   []uint16{0x0040, 0x3f80, 0x7f00},
		},
		{
			// weight_scale_inv is multiplied as stored: 2·0.5 = 1, not 2/0.5.
			name:   "DeepSeek-V3 F8_E4M3 x F32 weight_scale_inv",
			tensor: Spec{Name: "l.weight", DType: DTypeF8E4M3, Shape: []int64{2, 3}},
			scale:  &Spec{Name: "l.weight_scale_inv", DType: DTypeF32, Shape: []int64{1, 1}},
			data:   []byte{0x40, 0x7e, 0xfe, 0x01, 0x80, 0x38},
			sdata:  le32(0.5),
			want:   []uint16{0x3f80, 0x4360, 0xc360, 0x3a80, 0x8000, 0x3f00},
		},
		{
			// 1.5 x 0x3f2b5556 is exactly 1.00390625000..., just above the
			// BF16 tie 1 + 2^-8; the float32 product rounds onto the tie,
			// which then goes to the even 1.0. A single rounding of the exact
			// product would give 0x3f81: the reference rounds twice.
			name:   "float32 product, then BF16: two roundings as the reference kernel",
			tensor: Spec{Name: "d.weight", DType: DTypeF8E4M3, Shape: []int64{1, 1}},
			scale:  &Spec{Name: "d.weight_scale_inv", DType: DTypeF32, Shape: []int64{1, 1}},
			data:   []byte{0x3c},
			sdata:  le32bits(0x3f2b5556),
			want:   []uint16{0x3f80},
		},
		{
			name:   "DeepSeek-V4 F8_E4M3 x F8_E8M0 .scale",
			tensor: Spec{Name: "mtp.0.attn.wq_a.weight", DType: DTypeF8E4M3, Shape: []int64{1, 3}},
			scale:  &Spec{Name: "mtp.0.attn.wq_a.scale", DType: DTypeF8E8M0, Shape: []int64{1, 1}},
			data:   []byte{0x7e, 0x38, 0x81},
			sdata:  []byte{124}, // 2^-3
			want:   []uint16{0x4260, 0x3e00, 0xb980},
		},
		{
			name:   "F8_E4M3 x F32 .scale",
			tensor: Spec{Name: "a.weight", DType: DTypeF8E4M3, Shape: []int64{1, 2}},
			scale:  &Spec{Name: "a.scale", DType: DTypeF32, Shape: []int64{1, 1}},
			data:   []byte{0x38, 0x7e},
			sdata:  le32(3),
			want:   []uint16{0x4040, 0x44a8},
		},
		{
			name:   "F8_E4M3 x BF16 .scale",
			tensor: Spec{Name: "b.weight", DType: DTypeF8E4M3, Shape: []int64{1, 2}},
			scale:  &Spec{Name: "b.scale", DType: DTypeBF16, Shape: []int64{1, 1}},
			data:   []byte{0x38, 0xc0},
			sdata:  le16(0xbf00), // -0.5
			want:   []uint16{0xbf00, 0x3f80},
		},
		{
			name:   "F8_E8M0 scale 0xFF is NaN and gives NaN; 254 is 2^127",
			tensor: Spec{Name: "n.weight", DType: DTypeF8E4M3, Shape: []int64{1, 129}},
			scale:  &Spec{Name: "n.scale", DType: DTypeF8E8M0, Shape: []int64{1, 2}},
			data:   append(bytes.Repeat([]byte{0x38}, 128), 0x38),
			sdata:  []byte{0xff, 254},
			want:   append(slices.Repeat([]uint16{0x7fc0}, 128), 0x7f00),
		},
		{
			name:   "block INT8 x F32 weight_scale_inv",
			tensor: Spec{Name: "q.weight", DType: DTypeI8, Shape: []int64{1, 4}},
			scale:  &Spec{Name: "q.weight_scale_inv", DType: DTypeF32, Shape: []int64{1, 1}},
			data:   []byte{0x80, 0x7f, 0x00, 0xff}, // -128, 127, 0, -1
			sdata:  le32(0.25),
			want:   []uint16{0xc200, 0x41fe, 0x0000, 0xbe80},
		},
		{
			// Byte 0x21: low nibble 1 (0.5) first, then 2 (1.0); 0x8f: 0xf
			// (-6) then 8 (+0 in DeepSeek's table); scale 2^1.
			name:         "DeepSeek-V4 FP4 E2M1 pairs in I8 x F8_E8M0 per 32",
			tensor:       Spec{Name: "mtp.0.ffn.experts.0.w1.weight", DType: DTypeI8, Shape: []int64{1, 16}},
			scale:        &Spec{Name: "mtp.0.ffn.experts.0.w1.scale", DType: DTypeF8E8M0, Shape: []int64{1, 1}},
			data:         append([]byte{0x21, 0x8f, 0x7f, 0x00}, make([]byte, 12)...),
			sdata:        []byte{128},
			want:         append([]uint16{0x3f80, 0x4000, 0xc140, 0x0000, 0xc140, 0x4140, 0, 0}, make([]uint16, 24)...),
			wantOutShape: []int64{1, 32},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := mustPlan(t, tc.tensor, tc.scale)
			got := run(t, job, tc.data, tc.sdata)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %#04x\nwant %#04x", got, tc.want)
			}
			want := tc.wantOutShape
			if want == nil {
				want = tc.tensor.Shape
			}
			if !slices.Equal(job.OutShape, want) {
				t.Errorf("OutShape %v, want %v", job.OutShape, want)
			}
			if ref := refConvert(tc.tensor, tc.scale, tc.data, tc.sdata); !slices.Equal(ref, tc.want) {
				t.Errorf("the test's reference model disagrees with the hand values: %#04x", ref)
			}
		})
	}
}

// pattern returns n bytes cycling through every byte value in an order
// that changes from one row of 128 to the next.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + i/128*11)
	}
	return b
}

// TestPartialTiles converts a 130×200 weight with a 2×2 scale, one value per
// tile, and checks the tile every element was scaled by, at every tile
// boundary, then every element against the reference model.
func TestPartialTiles(t *testing.T) {
	const rows, cols = 130, 200
	scales := []float32{0.5, 3, -0.25, 1024} // tiles (0,0) (0,1) (1,0) (1,1)
	for _, layout := range []struct {
		name  string
		scale Spec
		sdata []byte
	}{
		{"V3 weight_scale_inv F32", Spec{Name: "w.weight_scale_inv", DType: DTypeF32, Shape: []int64{2, 2}}, le32(scales...)},
		// E8M0 can only hold powers of two: 2^-1, 2^2, 2^-2, 2^10.
		{"V4 .scale F8_E8M0", Spec{Name: "w.scale", DType: DTypeF8E8M0, Shape: []int64{2, 2}}, []byte{126, 129, 125, 137}},
	} {
		t.Run(layout.name, func(t *testing.T) {
			tile := func(r, c int) float32 {
				if layout.scale.DType == DTypeF8E8M0 {
					return E8M0ToF32(layout.sdata[r/128*2+c/128])
				}
				return scales[r/128*2+c/128]
			}
			tensor := Spec{Name: "w.weight", DType: DTypeF8E4M3, Shape: []int64{rows, cols}}
			data := pattern(rows * cols)
			// 1.0 (0x38) at the corners of every tile, so the output there is
			// the tile's scale itself.
			corners := [][2]int{{0, 0}, {0, 127}, {0, 128}, {0, 199}, {127, 0}, {127, 127}, {127, 128}, {127, 199},
				{128, 0}, {128, 127}, {128, 128}, {128, 199}, {129, 0}, {129, 127}, {129, 128}, {129, 199}}
			for _, rc := range corners {
				data[rc[0]*cols+rc[1]] = 0x38
			}
			job := mustPlan(t, tensor, &layout.scale)
			if job.OutSize != rows*cols*2 || job.ScaleSize != int64(len(layout.sdata)) {
				t.Fatalf("OutSize %d ScaleSize %d", job.OutSize, job.ScaleSize)
			}
			got := run(t, job, data, layout.sdata)
			for _, rc := range corners {
				r, c := rc[0], rc[1]
				tr, tc := 0, 0
				if r >= 128 {
					tr = 1
				}
				if c >= 128 {
					tc = 1
				}
				want := FromF32(tile(tr*128, tc*128))
				if g := got[r*cols+c]; g != want {
					t.Errorf("element (%d,%d) = %#04x, want the scale of tile (%d,%d) %#04x", r, c, g, tr, tc, want)
				}
			}
			ref := refConvert(tensor, &layout.scale, data, layout.sdata)
			if i := mismatch(got, ref); i >= 0 {
				t.Fatalf("element (%d,%d) = %#04x, reference %#04x", i/cols, i%cols, got[i], ref[i])
			}
		})
	}
}

// TestFP4Groups converts a packed FP4 weight of 3 rows × 64 values (32 bytes
// a row) with one E8M0 per row and group of 32, and checks every group
// boundary.
func TestFP4Groups(t *testing.T) {
	tensor := Spec{Name: "mtp.0.ffn.experts.7.w2.weight", DType: DTypeI8, Shape: []int64{3, 32}}
	scale := Spec{Name: "mtp.0.ffn.experts.7.w2.scale", DType: DTypeF8E8M0, Shape: []int64{3, 2}}
	sdata := []byte{127, 128, 129, 130, 120, 0} // 1, 2, 4, 8, 2^-7, 2^-127
	data := bytes.Repeat([]byte{0x72}, 3*32)    // low 2 (1.0), high 7 (6.0)
	job := mustPlan(t, tensor, &scale)
	if !slices.Equal(job.OutShape, []int64{3, 64}) || job.OutSize != 3*64*2 || job.InSize != 96 {
		t.Fatalf("job %+v", job)
	}
	got := run(t, job, data, sdata)
	for r := range 3 {
		for c := range 64 {
			s := E8M0ToF32(sdata[r*2+c/32])
			x := float32(1)
			if c%2 == 1 {
				x = 6
			}
			if want := FromF32(x * s); got[r*64+c] != want {
				t.Errorf("element (%d,%d) = %#04x, want %v·%v = %#04x", r, c, got[r*64+c], x, s, want)
			}
		}
	}
	// 1·2^-127 is a float32 (and BF16) subnormal, kept; 6·2^-127 = 1.5·2^-125.
	if got[2*64+32] != 0x0040 || got[2*64+33] != 0x0140 {
		t.Errorf("subnormal products: %#04x %#04x", got[2*64+32], got[2*64+33])
	}
	if i := mismatch(got, refConvert(tensor, &scale, data, sdata)); i >= 0 {
		t.Errorf("element %d differs from the reference model", i)
	}
}

// TestConvertAcrossChunks converts tensors larger than one chunk, with rows
// that do not align with chunks, for every scaled layout.
func TestConvertAcrossChunks(t *testing.T) {
	for _, tc := range []struct {
		tensor Spec
		scale  *Spec
	}{
		{Spec{Name: "x.weight", DType: DTypeF8E4M3, Shape: []int64{300, 1000}}, &Spec{Name: "x.weight_scale_inv", DType: DTypeF32, Shape: []int64{3, 8}}},
		{Spec{Name: "x.weight", DType: DTypeI8, Shape: []int64{257, 700}}, &Spec{Name: "x.weight_scale_inv", DType: DTypeF32, Shape: []int64{3, 6}}},
		{Spec{Name: "x.weight", DType: DTypeI8, Shape: []int64{70, 2048}}, &Spec{Name: "x.scale", DType: DTypeF8E8M0, Shape: []int64{70, 128}}},
		{Spec{Name: "x.weight", DType: DTypeF8E4M3, Shape: []int64{129, 1111}}, &Spec{Name: "x.scale", DType: DTypeBF16, Shape: []int64{2, 9}}},
		// 130 scale columns: columns k and k+128 share a table slot.
		{Spec{Name: "x.weight", DType: DTypeF8E4M3, Shape: []int64{129, 130 * 128}}, &Spec{Name: "x.weight_scale_inv", DType: DTypeF32, Shape: []int64{2, 130}}},
		{Spec{Name: "x.weight", DType: DTypeF8E4M3, Shape: []int64{200, 300}}, &Spec{Name: "x.scale", DType: DTypeF8E8M0, Shape: []int64{2, 3}}},
		{Spec{Name: "f", DType: DTypeF32, Shape: []int64{40000}}, nil},
		{Spec{Name: "h", DType: DTypeF16, Shape: []int64{3, 40000}}, nil},
	} {
		t.Run(tc.tensor.DType+"/"+fmt.Sprint(tc.tensor.Shape), func(t *testing.T) {
			job := mustPlan(t, tc.tensor, tc.scale)
			data := pattern(int(job.InSize))
			var sdata []byte
			if tc.scale != nil {
				sdata = pattern(int(job.ScaleSize))
				if tc.scale.DType == DTypeF8E8M0 {
					for i := range sdata {
						sdata[i] = 100 + sdata[i]%50
					}
				}
			}
			got := run(t, job, data, sdata)
			ref := refConvert(tc.tensor, tc.scale, data, sdata)
			if i := mismatch(got, ref); i >= 0 {
				t.Errorf("element %d = %#04x, reference %#04x", i, got[i], ref[i])
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestConvertShortData checks a source that ends early or fails is an error
// naming the tensor and never zero-filled output, however it is read.
func TestConvertShortData(t *testing.T) {
	tensor := Spec{Name: "mtp.0.eh_proj.weight", DType: DTypeF8E4M3, Shape: []int64{256, 300}}
	scale := Spec{Name: "mtp.0.eh_proj.weight_scale_inv", DType: DTypeF32, Shape: []int64{2, 3}}
	job := mustPlan(t, tensor, &scale)
	sdata := le32(1, 1, 1, 1, 1, 1)
	for _, short := range []int64{0, 1, job.InSize / 2, job.InSize - 1} {
		data := pattern(int(short))
		c, err := NewConverter(job, bytes.NewReader(data), sdata)
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.WriteTo(io.Discard)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d of %d bytes: WriteTo error %v, want io.ErrUnexpectedEOF", short, job.InSize, err)
		}
		want := fmt.Sprintf("tensor mtp.0.eh_proj.weight: data ended after %d of %d bytes", short, job.InSize)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if n >= job.OutSize {
			t.Errorf("%d of %d bytes: wrote %d bytes, the whole output", short, job.InSize, n)
		}
		// Every byte written before the error is a converted source byte.
		if n > 2*short {
			t.Errorf("%d source bytes gave %d output bytes", short, n)
		}
		if _, err2 := c.Read(make([]byte, 10)); err2 != err {
			t.Errorf("error is not sticky: %v then %v", err, err2)
		}
		c, _ = NewConverter(job, bytes.NewReader(data), sdata)
		if _, err := io.ReadAll(c); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Read: %v, want io.ErrUnexpectedEOF", err)
		}
	}
	boom := errors.New("connection reset")
	c, _ := NewConverter(job, io.MultiReader(bytes.NewReader(pattern(100)), failingReader{boom}), sdata)
	if _, err := c.WriteTo(io.Discard); !errors.Is(err, boom) || !strings.Contains(err.Error(), "at byte 100") {
		t.Errorf("source failure: %v", err)
	}
	c, _ = NewConverter(job, emptyReader{}, sdata)
	if _, err := c.WriteTo(io.Discard); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("source making no progress: %v, want io.ErrNoProgress", err)
	}
	// Extra bytes after the tensor are left unread.
	data := pattern(int(job.InSize) + 5)
	src := bytes.NewReader(data)
	c, _ = NewConverter(job, src, sdata)
	if _, err := c.WriteTo(io.Discard); err != nil || src.Len() != 5 {
		t.Errorf("with 5 bytes to spare: %v, %d left", err, src.Len())
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestConvertWriteErrors(t *testing.T) {
	job := mustPlan(t, Spec{Name: "f", DType: DTypeF32, Shape: []int64{100}}, nil)
	c, _ := NewConverter(job, bytes.NewReader(make([]byte, 400)), nil)
	if _, err := c.WriteTo(shortWriter{}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short write: %v", err)
	}
	if n, err := c.WriteTo(io.Discard); n != 0 || !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("after a short write the converter went on: %d bytes, %v", n, err)
	}
	// Read partly, then WriteTo the rest: nothing lost or repeated.
	data := le32(1, 2, 3, 4, 5)
	job = mustPlan(t, Spec{Name: "g", DType: DTypeF32, Shape: []int64{5}}, nil)
	c, _ = NewConverter(job, bytes.NewReader(data), nil)
	first := make([]byte, 1)
	if n, err := c.Read(first); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	var rest bytes.Buffer
	if _, err := c.WriteTo(&rest); err != nil {
		t.Fatal(err)
	}
	got := bf16Words(append(first, rest.Bytes()...))
	if want := []uint16{0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0}; !slices.Equal(got, want) {
		t.Errorf("got %#04x, want %#04x", got, want)
	}
}

// TestZeroDims checks tensors with a zero dimension convert to nothing, and
// a scalar to one value.
func TestZeroDims(t *testing.T) {
	for _, tc := range []struct {
		tensor Spec
		scale  *Spec
		size   int64
	}{
		{Spec{Name: "z.weight", DType: DTypeF8E4M3, Shape: []int64{0, 300}}, &Spec{Name: "z.weight_scale_inv", DType: DTypeF32, Shape: []int64{0, 3}}, 0},
		{Spec{Name: "z.weight", DType: DTypeI8, Shape: []int64{4, 0}}, &Spec{Name: "z.scale", DType: DTypeF8E8M0, Shape: []int64{4, 0}}, 0},
		{Spec{Name: "z", DType: DTypeF32, Shape: []int64{3, 0, 1 << 62}}, nil, 0},
		{Spec{Name: "s", DType: DTypeF32, Shape: []int64{}}, nil, 2},
	} {
		job := mustPlan(t, tc.tensor, tc.scale)
		if job.OutSize != tc.size {
			t.Errorf("%v: OutSize %d, want %d", tc.tensor.Shape, job.OutSize, tc.size)
		}
		got := run(t, job, le32(1), nil)
		if int64(len(got)*2) != tc.size {
			t.Errorf("%v: %d values", tc.tensor.Shape, len(got))
		}
	}
}
