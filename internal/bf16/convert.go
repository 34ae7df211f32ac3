package bf16

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// chunkIn bounds the tensor bytes a Converter reads at a time, so its buffers
// stay a few hundred KiB whatever the tensor's size.
const chunkIn = 32 << 10

// maxEmptyReads is how many (0, nil) reads in a row a Converter accepts from
// its source before giving up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// Converter streams one tensor's BF16 bytes: it reads the tensor's raw
// little-endian bytes from a source and produces exactly OutSize bytes, in
// chunks, holding only the scale and fixed buffers in memory. It is an
// io.Reader and an io.WriterTo; it is not safe for concurrent use.
//
// The source must yield at least Job.InSize bytes; the Converter reads exactly
// that many. A source that ends early is an error wrapping
// io.ErrUnexpectedEOF, never zero-filled. Errors are sticky.
type Converter struct {
	p       *plan
	src     io.Reader
	scale   []byte
	slots   []*[256]uint32 // scaled layouts: see table
	keys    []int64
	in, out []byte
	pending []byte // converted bytes not yet returned by Read
	done    int64  // units converted
	read    int64  // source bytes read
	err     error
}

// NewConverter returns a Converter for job (from Plan or Pair) reading the
// tensor's bytes from data, with scale holding the scale tensor's bytes
// (nil without a scale). The job is planned again from its Tensor and Scale,
// so a Job built by hand is checked the same way; scale must be exactly
// ScaleSize bytes.
func NewConverter(job Job, data io.Reader, scale []byte) (*Converter, error) {
	p, err := newPlan(job.Tensor, job.Scale)
	if err != nil {
		return nil, err
	}
	if int64(len(scale)) != p.ScaleSize {
		return nil, newError(p.Tensor.Name, ErrInvalid, "tensor %s: scale data is %d bytes, want %d", p.Tensor.Name, len(scale), p.ScaleSize)
	}
	units := min(p.units, int64(chunkIn/p.inUnit))
	c := &Converter{p: p, src: data, scale: scale}
	if p.Scale != nil {
		n := 128
		if p.sdtype == DTypeF8E8M0 {
			n = 256
		}
		c.slots, c.keys = make([]*[256]uint32, n), make([]int64, n)
	}
	if units > 0 {
		c.in = make([]byte, units*int64(p.inUnit))
		c.out = make([]byte, units*int64(p.outUnit))
	}
	return c, nil
}

// OutSize is the number of bytes the Converter produces: two an element of
// Job.OutShape.
func (c *Converter) OutSize() int64 { return c.p.OutSize }

// Read reads converted BF16 bytes into b.
func (c *Converter) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) >= c.p.outUnit {
		// Convert straight into the caller's buffer.
		return c.fill(b)
	}
	n, err := c.fill(c.out)
	if err != nil {
		return 0, err
	}
	m := copy(b, c.out[:n])
	c.pending = c.out[m:n]
	return m, nil
}

// WriteTo writes all the converted bytes to w. A failed write is sticky
// too: the bytes it did not take are gone, so the Converter cannot go on.
func (c *Converter) WriteTo(w io.Writer) (int64, error) {
	var total int64
	write := func(b []byte) error {
		n, err := w.Write(b)
		total += int64(n)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
		if err != nil {
			c.err = err
		}
		return err
	}
	if len(c.pending) > 0 {
		b := c.pending
		c.pending = nil
		if err := write(b); err != nil {
			return total, err
		}
	}
	for {
		n, err := c.fill(c.out)
		if err == io.EOF {
			return total, nil
		}
		if err == nil {
			err = write(c.out[:n])
		}
		if err != nil {
			return total, err
		}
	}
}

// fill converts the next whole units that fit in dst, reading them from the
// source, and returns the bytes written to dst; io.EOF once all are done.
func (c *Converter) fill(dst []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	p := c.p
	if c.done == p.units {
		return 0, io.EOF
	}
	units := min(int64(len(dst)/p.outUnit), int64(len(c.in)/p.inUnit), p.units-c.done)
	in := c.in[:units*int64(p.inUnit)]
	n, err := readFull(c.src, in)
	c.read += int64(n)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("tensor %s: data ended after %d of %d bytes: %w", p.Tensor.Name, c.read, p.InSize, io.ErrUnexpectedEOF)
		} else {
			err = fmt.Errorf("tensor %s: reading data at byte %d: %w", p.Tensor.Name, c.read, err)
		}
		c.err = err
		return 0, err
	}
	out := dst[:units*int64(p.outUnit)]
	c.convert(out, in)
	c.done += units
	return len(out), nil
}

// readFull reads len(b) bytes, like io.ReadFull, but gives up with
// io.ErrNoProgress on a source that keeps returning nothing.
func readFull(r io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		switch {
		case n == len(b):
			return n, nil
		case err == io.EOF:
			return n, io.ErrUnexpectedEOF
		case err != nil:
			return n, err
		case m == 0:
			if empty++; empty >= maxEmptyReads {
				return n, io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return n, nil
}

// convert turns the source bytes of whole units into BF16 bytes in dst. The
// first unit of src is unit c.done of the tensor.
func (c *Converter) convert(dst, src []byte) {
	p := c.p
	switch p.m {
	case copyBF16:
		copy(dst, src)
	case fromF16:
		t := f16Table()
		for i := 0; i+1 < len(src); i += 2 {
			binary.LittleEndian.PutUint16(dst[i:], t[binary.LittleEndian.Uint16(src[i:])])
		}
	case fromF32:
		for i, j := 0, 0; i+3 < len(src); i, j = i+4, j+2 {
			binary.LittleEndian.PutUint16(dst[j:], FromF32Bits(binary.LittleEndian.Uint32(src[i:])))
		}
	case fromByte:
		t := p.table
		for i, b := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], t[b])
		}
	case blockE4M3, blockI8:
		c.blocks(dst, src)
	case groupE2M1:
		c.groups(dst, src)
	}
}

// blocks converts one-byte elements scaled per p.br×p.bc block, a run of
// elements sharing a scale at a time, each through the table of its scale.
func (c *Converter) blocks(dst, src []byte) {
	p := c.p
	row, col := c.done/p.cols, c.done%p.cols
	for i := 0; i < len(src); {
		run := int(min(p.bc-col%p.bc, p.cols-col, int64(len(src)-i)))
		t := c.table(row/p.br, col/p.bc)
		seg, out := src[i:i+run], dst[2*i:2*(i+run)]
		for k, b := range seg {
			binary.LittleEndian.PutUint16(out[2*k:], uint16(t[b]))
		}
		i += run
		if col += int64(run); col == p.cols {
			row, col = row+1, 0
		}
	}
}

// groups converts bytes of two FP4 E2M1 values (low nibble first) scaled per
// 1×32 group, a run of bytes sharing a scale at a time, each byte through
// the table of its scale.
func (c *Converter) groups(dst, src []byte) {
	p := c.p
	// row and col are those of the output element of src[i]'s low nibble.
	row, col := 2*c.done/p.cols, 2*c.done%p.cols
	for i := 0; i < len(src); {
		run := int(min((p.bc-col%p.bc)/2, (p.cols-col)/2, int64(len(src)-i)))
		t := c.table(row, col/p.bc)
		seg, out := src[i:i+run], dst[4*i:4*(i+run)]
		for k, b := range seg {
			binary.LittleEndian.PutUint32(out[4*k:], t[b])
		}
		i += run
		if col += 2 * int64(run); col == p.cols {
			row, col = row+1, 0
		}
	}
}

// table returns the table of the scale at row r, column k of the scale
// tensor: for every byte value of the weight, its BF16 result times that
// scale (two results, the low nibble's in the low half, for packed FP4).
// Each entry is computed by the same expression an element would be, so the
// output is the same bit for bit; the float32 multiplication and rounding
// just run once per byte value and scale instead of once per element.
//
// Tables are kept in slots: an F8_E8M0 scale has 256 possible values, one
// slot each, so each table is built once for the whole tensor; any other
// scale gets slot (its index mod 128), so a 128-row band of a weight up to
// 16,384 columns wide builds each of its tables once and reuses it 16,384
// times. At most 256 tables of 1 KiB exist.
func (c *Converter) table(r, k int64) *[256]uint32 {
	var key int64
	var s float32
	idx := r*c.p.scols + k
	switch c.p.sdtype {
	case DTypeF8E8M0:
		key = int64(c.scale[idx])
		s = e8m0F32[key]
	case DTypeF32:
		key, s = idx, math.Float32frombits(binary.LittleEndian.Uint32(c.scale[4*idx:]))
	default: // DTypeBF16
		key, s = idx, ToF32(binary.LittleEndian.Uint16(c.scale[2*idx:]))
	}
	slot := key % int64(len(c.slots))
	t := c.slots[slot]
	if t != nil && c.keys[slot] == key {
		return t
	}
	if t == nil {
		t = new([256]uint32)
		c.slots[slot] = t
	}
	c.keys[slot] = key
	switch c.p.m {
	case blockE4M3:
		for b := range t {
			t[b] = uint32(FromF32(float32(e4m3F32[b] * s)))
		}
	case blockI8:
		for b := range t {
			t[b] = uint32(FromF32(float32(float32(int8(b)) * s)))
		}
	case groupE2M1:
		for b := range t {
			t[b] = uint32(FromF32(float32(e2m1[b&0xf]*s))) | uint32(FromF32(float32(e2m1[b>>4]*s)))<<16
		}
	}
	return t
}
