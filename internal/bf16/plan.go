package bf16

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// Dtypes as safetensors headers spell them.
const (
	DTypeBF16   = "BF16"
	DTypeF16    = "F16"
	DTypeF32    = "F32"
	DTypeF8E4M3 = "F8_E4M3"
	DTypeF8E5M2 = "F8_E5M2"
	DTypeF8E8M0 = "F8_E8M0"
	DTypeI8     = "I8"
)

// Name suffixes of the two scale companions: "<t>_scale_inv" scales "<t>"
// (DeepSeek-V3's fp8_cast_bf16.py builds the name as weight_name +
// "_scale_inv"), and "<p>.scale" scales "<p>.weight" (DeepSeek-V4's
// inference/convert.py swaps "weight" for "scale").
const (
	SuffixScaleInv = "_scale_inv"
	SuffixScale    = ".scale"
)

// MaxScaleBytes bounds the size of a scale tensor, the only part of a
// conversion held in memory. The largest scale a cited layout gives a real
// checkpoint is a few hundred KiB (an FP4 expert of DeepSeek-V4: one byte per
// 32 weights); 32 MiB leaves room for a 1 G-parameter FP4 tensor and none for
// a hostile header.
const MaxScaleBytes = 32 << 20

// The kinds of error Plan, Pair and NewConverter return, for errors.Is. Each
// comes wrapped in an *Error that names the tensor.
var (
	// ErrInvalid means the metadata contradicts itself or the format: a
	// negative or overflowing shape, a scale of the wrong size, a scale with
	// no weight, a name given twice.
	ErrInvalid = errors.New("invalid tensor")
	// ErrUnsupported means the dtype has no conversion to BF16 here.
	ErrUnsupported = errors.New("dtype not convertible to BF16")
	// ErrUnknownLayout means a weight and its scale do not match a layout
	// the models' published reference code defines.
	ErrUnknownLayout = errors.New("unknown scale layout")
	// ErrScaleTooLarge means a scale tensor is over MaxScaleBytes.
	ErrScaleTooLarge = errors.New("scale tensor too large")
)

// Error is the error for one tensor. Its message says what is wrong and
// where; Err is one of the package's Err* kinds.
type Error struct {
	// Tensor is the name of the tensor the error is about.
	Tensor string
	// Err is ErrInvalid, ErrUnsupported, ErrUnknownLayout or
	// ErrScaleTooLarge.
	Err error
	msg string
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.Err }

func newError(tensor string, kind error, format string, args ...any) *Error {
	return &Error{Tensor: tensor, Err: kind, msg: fmt.Sprintf(format, args...)}
}

// Spec is a tensor as a safetensors header states it.
type Spec struct {
	Name  string
	DType string
	Shape []int64
}

// Job is the conversion of one tensor to BF16, decided from headers alone,
// before any data is read.
type Job struct {
	// Tensor is the tensor to convert.
	Tensor Spec
	// Scale is its scale companion, or nil.
	Scale *Spec
	// Method says in a few words how the values are computed, for plans and
	// model cards.
	Method string
	// OutShape is the shape of the BF16 result. It equals Tensor.Shape
	// except for packed FP4, whose last dimension doubles.
	OutShape []int64
	// OutSize is the byte size of the BF16 result: two bytes an element.
	OutSize int64
	// InSize is how many bytes of tensor data the conversion reads.
	InSize int64
	// ScaleSize is the byte size of the scale data (0 without a scale); it
	// is at most MaxScaleBytes.
	ScaleSize int64
}

// method is one conversion loop.
type method int

const (
	copyBF16 method = iota + 1
	fromF16
	fromF32
	fromByte  // one byte an element, through a 256-entry BF16 table
	blockE4M3 // F8_E4M3 × a scale per block
	blockI8   // I8 × a scale per block
	groupE2M1 // two E2M1 nibbles a byte × an F8_E8M0 scale per group
)

// plan is a Job with what the conversion loops need.
type plan struct {
	Job
	m       method
	inUnit  int // bytes read per unit
	outUnit int // bytes written per unit
	units   int64
	table   *[256]uint16 // fromByte
	cols    int64        // output columns of a scaled weight
	br, bc  int64        // block rows and columns, in output elements
	scols   int64        // scale columns
	sdtype  string
}

// dtypeBytes is the element width of every dtype a tensor or scale may have.
var dtypeBytes = map[string]int64{
	DTypeBF16: 2, DTypeF16: 2, DTypeF32: 4,
	DTypeF8E4M3: 1, DTypeF8E5M2: 1, DTypeF8E8M0: 1, DTypeI8: 1,
}

// Plan decides how tensor converts to BF16, with scale as its companion (nil
// for none), and checks everything the headers can show: known dtypes, shapes
// without negative dimensions or overflow, and a scale whose name, dtype and
// shape match a cited layout exactly, within MaxScaleBytes. The scale's name
// says which layout family applies: "<tensor>_scale_inv" or, for a tensor
// "<p>.weight", "<p>.scale".
//
// Without a scale: BF16 is copied; F16, F32, F8_E4M3, F8_E5M2 and F8_E8M0
// are converted value by value (F16 and F32 rounded to nearest even, the
// 8-bit floats exactly). I8 needs a scale. With one, the weight must be
// two-dimensional [R, C]:
//
//   - F8_E4M3 with "_scale_inv" F32 [ceil(R/128), ceil(C/128)]: y = x·s per
//     128×128 tile (DeepSeek-V3 inference/kernel.py weight_dequant).
//   - I8 with "_scale_inv" F32 [ceil(R/128), ceil(C/128)]: y = x·s per
//     128×128 tile (block INT8 checkpoints of DeepSeek-V3/R1 as SGLang's
//     blockwise_int8.py loads them).
//   - F8_E4M3 with ".scale" F8_E8M0, F32 or BF16 [ceil(R/128), ceil(C/128)]:
//     y = x·s per 128×128 tile (DeepSeek-V4 inference/model.py Linear,
//     convert.py).
//   - I8 with ".scale" F8_E8M0 [R, 2C/32]: each byte packs two FP4 E2M1
//     values, low nibble first, each group of 32 along a row scaled by one
//     E8M0 (DeepSeek-V4 FP4 experts, convert.py cast_e2m1fn_to_e4m3fn); the
//     result is [R, 2C].
//
// Every product is one float32 multiplication, rounded once to BF16.
func Plan(tensor Spec, scale *Spec) (Job, error) {
	p, err := newPlan(tensor, scale)
	if err != nil {
		return Job{}, err
	}
	return p.Job, nil
}

func newPlan(t Spec, s *Spec) (*plan, error) {
	n, err := count(t)
	if err != nil {
		return nil, err
	}
	width, ok := dtypeBytes[t.DType]
	if !ok {
		return nil, newError(t.Name, ErrUnsupported, "tensor %s: dtype %s cannot be converted to BF16 (supported: BF16, F16, F32, F8_E4M3, F8_E5M2, F8_E8M0, and I8 with a scale)", t.Name, t.DType)
	}
	if t.DType == DTypeF8E8M0 && s != nil {
		return nil, layoutError(t, s)
	}
	p := &plan{Job: Job{Tensor: t, Scale: s, OutShape: append([]int64{}, t.Shape...)}}
	if s == nil {
		p.inUnit, p.outUnit, p.units = int(width), 2, n
		switch t.DType {
		case DTypeBF16:
			p.m, p.Method = copyBF16, "BF16, copied unchanged"
		case DTypeF16:
			p.m, p.Method = fromF16, "F16 to BF16, round to nearest even"
		case DTypeF32:
			p.m, p.Method = fromF32, "F32 to BF16, round to nearest even"
		case DTypeF8E4M3:
			p.m, p.Method, p.table = fromByte, "F8_E4M3 to BF16, exact", e4m3BF
		case DTypeF8E5M2:
			p.m, p.Method, p.table = fromByte, "F8_E5M2 to BF16, exact", e5m2BF
		case DTypeF8E8M0:
			p.m, p.Method, p.table = fromByte, "F8_E8M0 to BF16, exact", e8m0BF
		case DTypeI8:
			return nil, newError(t.Name, ErrUnknownLayout, "tensor %s: I8 has no scale; I8 weights convert only with a %s or %s companion", t.Name, SuffixScaleInv, SuffixScale)
		}
		return p, p.sizes(n, 0)
	}
	if err := p.scaled(n); err != nil {
		return nil, err
	}
	return p, nil
}

// scaled fills in the plan of a weight with a scale companion.
func (p *plan) scaled(n int64) error {
	t, s := p.Tensor, *p.Scale
	sn, err := count(s)
	if err != nil {
		return err
	}
	swidth, ok := dtypeBytes[s.DType]
	if !ok {
		return newError(s.Name, ErrUnsupported, "scale %s: dtype %s is not a scale dtype", s.Name, s.DType)
	}
	inv := s.Name == t.Name+SuffixScaleInv
	sib := strings.HasSuffix(t.Name, ".weight") && s.Name == strings.TrimSuffix(t.Name, "weight")+"scale"
	if !inv && !sib {
		return newError(t.Name, ErrInvalid, "tensor %s: %s is not its scale companion (expected %s%s or, for a .weight, <prefix>%s)", t.Name, s.Name, t.Name, SuffixScaleInv, SuffixScale)
	}
	if len(t.Shape) != 2 || len(s.Shape) != 2 {
		return layoutError(t, &s)
	}
	r, c := t.Shape[0], t.Shape[1]
	p.cols = c
	switch {
	case t.DType == DTypeF8E4M3 && (inv && s.DType == DTypeF32 || sib && (s.DType == DTypeF8E8M0 || s.DType == DTypeF32 || s.DType == DTypeBF16)):
		p.m, p.br, p.bc = blockE4M3, 128, 128
	case t.DType == DTypeI8 && inv && s.DType == DTypeF32:
		p.m, p.br, p.bc = blockI8, 128, 128
	case t.DType == DTypeI8 && sib && s.DType == DTypeF8E8M0 && c%16 == 0:
		if c > 1<<60 {
			return newError(t.Name, ErrInvalid, "tensor %s: shape %v is too large", t.Name, t.Shape)
		}
		p.m, p.br, p.bc, p.cols = groupE2M1, 1, 32, 2*c
		p.OutShape[1] = 2 * c
	default:
		return layoutError(t, &s)
	}
	want := [2]int64{ceilDiv(r, p.br), ceilDiv(p.cols, p.bc)}
	if s.Shape[0] != want[0] || s.Shape[1] != want[1] {
		return layoutError(t, &s)
	}
	p.scols, p.sdtype = want[1], s.DType
	suffix := SuffixScaleInv
	if sib {
		suffix = SuffixScale
	}
	p.Method = fmt.Sprintf("%s x %s %s per %dx%d block, float32, rounded once to BF16", t.DType, s.DType, suffix, p.br, p.bc)
	if p.m == groupE2M1 {
		p.Method = fmt.Sprintf("FP4 E2M1 pairs in I8 (low nibble first) x %s %s per 1x32 block, float32, rounded once to BF16", s.DType, suffix)
	}
	if sn > MaxScaleBytes/swidth {
		return newError(s.Name, ErrScaleTooLarge, "scale %s: %d bytes, over the %d-byte limit for a scale tensor", s.Name, sn*swidth, MaxScaleBytes)
	}
	ssize := sn * swidth
	if p.m == groupE2M1 {
		p.inUnit, p.outUnit, p.units = 1, 4, n
		return p.sizes(2*n, ssize)
	}
	p.inUnit, p.outUnit, p.units = 1, 2, n
	return p.sizes(n, ssize)
}

// sizes records the byte sizes of a conversion producing out elements.
func (p *plan) sizes(out, scale int64) error {
	// Every count is at most 2^62 (see count), so out*2 and units*inUnit
	// (inUnit ≤ 4) fit in an int64 once out ≤ 2^61.
	if out > 1<<61 || p.units > 1<<60 {
		return newError(p.Tensor.Name, ErrInvalid, "tensor %s: shape %v is too large", p.Tensor.Name, p.Tensor.Shape)
	}
	p.OutSize, p.InSize, p.ScaleSize = 2*out, p.units*int64(p.inUnit), scale
	return nil
}

// count returns the element count of a shape, refusing negative dimensions
// and counts over 2^62, so byte sizes of any dtype here fit an int64.
func count(t Spec) (int64, error) {
	n := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return 0, newError(t.Name, ErrInvalid, "tensor %s: negative dimension %d in shape %v", t.Name, d, t.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > 1<<62 {
			return 0, newError(t.Name, ErrInvalid, "tensor %s: shape %v has too many elements", t.Name, t.Shape)
		}
		n = lo
	}
	return int64(n), nil
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0, without overflow: a single dimension
// may be near 2^63 when another is zero.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

func layoutError(t Spec, s *Spec) *Error {
	return newError(t.Name, ErrUnknownLayout, "unknown scale layout for %s: weight %v %s, scale %v %s", t.Name, t.Shape, t.DType, s.Shape, s.DType)
}
