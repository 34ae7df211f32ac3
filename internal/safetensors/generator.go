package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// Tensor describes one tensor for a Generator to lay out.
type Tensor struct {
	Name  string
	DType string
	Shape []int64
}

// Generator produces a valid safetensors file: a header for its tensors
// followed by a pseudo-random payload derived from a seed. Any byte of the
// file is computed from its offset, so the file is never held in memory, two
// generators with the same seed and layout produce the same bytes, and
// ReadAt and Seek cost nothing. A Generator is an io.Reader, io.ReaderAt and
// io.Seeker; it is not safe for concurrent Read calls (ReadAt is).
type Generator struct {
	seed   uint64
	header []byte // length prefix + JSON + padding
	size   int64
	pos    int64
	sum    Summary
}

// maxGeneratedTensor bounds the byte size of one tensor NewSizedGenerator
// lays out, so large files get many tensors as real checkpoints do.
const maxGeneratedTensor = 32 << 20

// NewGenerator lays out tensors in the order given, contiguously, and returns
// a Generator for the resulting file. The header is padded with spaces so the
// data region starts on an 8-byte boundary.
func NewGenerator(seed uint64, tensors []Tensor) (*Generator, error) {
	entries := make(map[string]any, len(tensors)+1)
	entries["__metadata__"] = map[string]string{"format": "pt"}
	var off int64
	dtypes := map[string]bool{}
	var params int64
	for _, t := range tensors {
		if t.Name == "__metadata__" {
			return nil, errors.New("safetensors: a tensor cannot be named __metadata__")
		}
		if _, dup := entries[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: tensor %q named twice", t.Name)
		}
		width, ok := dtypeBits[t.DType]
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		n := int64(1)
		for _, d := range t.Shape {
			hi, lo := bits.Mul64(uint64(n), uint64(d))
			if d < 0 || hi != 0 || lo > 1<<62 {
				return nil, fmt.Errorf("safetensors: tensor %q: bad shape %v", t.Name, t.Shape)
			}
			n = int64(lo)
		}
		if n > (1<<62)/width || n*width%8 != 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s is not a whole number of bytes", t.Name, t.Shape, t.DType)
		}
		size := n * width / 8
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		entries[t.Name] = tensorInfo{DType: t.DType, Shape: shape, DataOffsets: []int64{off, off + size}}
		off += size
		params += n
		dtypes[t.DType] = true
	}
	js, err := json.Marshal(entries)
	if err != nil {
		return nil, fmt.Errorf("safetensors: encode header: %w", err)
	}
	padded := (len(js) + 7) &^ 7
	g := newGenerator(seed, js, padded, off)
	g.sum = summaryOf(len(tensors), dtypes, params)
	return g, nil
}

// NewSizedGenerator returns a Generator for a file of exactly size bytes whose
// tensors all have the given dtype ("" means BF16). The payload is split into
// tensors of at most 32 MiB; the header's padding absorbs whatever the dtype's
// width leaves over.
func NewSizedGenerator(seed uint64, size int64, dtype string) (*Generator, error) {
	if dtype == "" {
		dtype = "BF16"
	}
	width, ok := dtypeBits[dtype]
	if !ok {
		return nil, fmt.Errorf("safetensors: unknown dtype %q", dtype)
	}
	// The smallest run of whole bytes holding whole elements.
	g := int64(gcd(uint64(width), 8))
	unitBytes, unitElems := width/g, 8/g
	maxT := maxGeneratedTensor / unitBytes * unitBytes

	layout := func(data int64) []Tensor {
		var ts []Tensor
		for i := 0; data > 0 || i == 0; i++ {
			b := min(data, maxT)
			data -= b
			elems := b / unitBytes * unitElems
			shape := []int64{elems}
			if elems >= 1024 && elems%1024 == 0 {
				shape = []int64{elems / 1024, 1024}
			}
			ts = append(ts, Tensor{Name: fmt.Sprintf("vision_tower.blocks.%04d.weight", i), DType: dtype, Shape: shape})
		}
		return ts
	}
	var headerGuess int64
	for range 16 {
		data := (size - 8 - headerGuess) / unitBytes * unitBytes
		if data < 0 {
			break
		}
		gen, err := NewGenerator(seed, layout(data))
		if err != nil {
			return nil, err
		}
		js := gen.header[8:]
		for len(js) > 0 && js[len(js)-1] == ' ' {
			js = js[:len(js)-1]
		}
		room := size - 8 - data
		if int64(len(js)) <= room {
			out := newGenerator(seed, js, int(room), data)
			out.sum = gen.sum
			return out, nil
		}
		headerGuess = int64(len(js))
	}
	return nil, fmt.Errorf("safetensors: %d bytes is too small for a safetensors file of %s", size, dtype)
}

// NewWideGenerator returns a Generator for a file whose header is exactly
// headerLen bytes (rounded up to a multiple of 8) and holds as many tensors
// as fit, each one U8 element under a short name: the most tensors, so the
// most work for a reader, that a header of that length can declare.
func NewWideGenerator(seed uint64, headerLen int) (*Generator, error) {
	headerLen = (headerLen + 7) &^ 7
	if headerLen < 8 {
		return nil, errors.New("safetensors: header too short")
	}
	js := make([]byte, 0, headerLen)
	js = append(js, '{')
	var n int64
	for {
		entry := fmt.Appendf(nil, `"t%d":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}`, n, n, n+1)
		if n > 0 {
			entry = append([]byte{','}, entry...)
		}
		if len(js)+len(entry)+1 > headerLen {
			break
		}
		js = append(js, entry...)
		n++
	}
	js = append(js, '}')
	g := newGenerator(seed, js, headerLen, n)
	dtypes := map[string]bool{}
	if n > 0 {
		dtypes["U8"] = true
	}
	g.sum = summaryOf(int(n), dtypes, n)
	return g, nil
}

func newGenerator(seed uint64, js []byte, paddedLen int, dataLen int64) *Generator {
	h := make([]byte, 8+paddedLen)
	binary.LittleEndian.PutUint64(h, uint64(paddedLen))
	n := copy(h[8:], js)
	for i := 8 + n; i < len(h); i++ {
		h[i] = ' '
	}
	return &Generator{seed: seed, header: h, size: int64(len(h)) + dataLen}
}

func summaryOf(tensors int, dtypes map[string]bool, params int64) Summary {
	s := Summary{Tensors: tensors, DTypes: make([]string, 0, len(dtypes)), Params: params}
	for d := range dtypes {
		s.DTypes = append(s.DTypes, d)
	}
	slices.Sort(s.DTypes)
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Size reports the length of the file in bytes.
func (g *Generator) Size() int64 { return g.size }

// Summary reports what a Scanner will find in the file.
func (g *Generator) Summary() Summary {
	s := g.sum
	s.DTypes = slices.Clone(g.sum.DTypes)
	return s
}

// Read implements io.Reader.
func (g *Generator) Read(p []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	n, err := g.ReadAt(p, g.pos)
	g.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (g *Generator) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.pos
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, errors.New("safetensors: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("safetensors: negative position")
	}
	g.pos = offset
	return offset, nil
}

// ReadAt implements io.ReaderAt.
func (g *Generator) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("safetensors: negative offset")
	}
	if off >= g.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := g.size - off; int64(want) > rest {
		p = p[:rest]
	}
	n := 0
	if hl := int64(len(g.header)); off < hl {
		k := copy(p, g.header[off:])
		n += k
		off += int64(k)
	}
	g.fillPayload(p[n:], off-int64(len(g.header)))
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// fillPayload writes the payload bytes starting at payload offset off. Each
// aligned 8-byte word is a splitmix64 hash of the seed and the word's index,
// so any range can be produced independently of what came before it.
func (g *Generator) fillPayload(p []byte, off int64) {
	for len(p) > 0 {
		w := uint64(off) >> 3
		skip := int(off & 7)
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], mix(g.seed, w))
		if skip == 0 && len(p) >= 8 {
			// Fast path: whole words straight into p.
			k := len(p) &^ 7
			for i := 0; i < k; i += 8 {
				binary.LittleEndian.PutUint64(p[i:], mix(g.seed, w))
				w++
			}
			p = p[k:]
			off += int64(k)
			continue
		}
		k := copy(p, buf[skip:])
		p = p[k:]
		off += int64(k)
	}
}

func mix(seed, w uint64) uint64 {
	z := seed + (w+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
