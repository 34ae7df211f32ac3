// Package bf16 converts checkpoint tensors to BF16 exactly as the models' own
// reference code does, streaming: it owns the numeric core of the MTP
// sidecar, whose tensors are all BF16 and unquantized.
//
// Three steps, in the order an extraction runs them:
//
//   - Pair takes the tensors of a selection (name, dtype, shape, as the
//     safetensors headers state them), pairs each quantized weight with its
//     scale companion ("<t>_scale_inv", DeepSeek-V3 style, or "<p>.scale"
//     for "<p>.weight", DeepSeek-V4 style) and returns a Job for every
//     tensor to write, the companions not to write, and an *Error for every
//     tensor it cannot convert. Plan does the same for one tensor.
//   - A Job knows, before any data is read, the output shape and byte size
//     (two bytes an element), so the safetensors header can be written
//     first, and the size of its scale (at most MaxScaleBytes).
//   - NewConverter takes a Job, a reader of the tensor's raw bytes and the
//     scale's bytes, and produces the BF16 bytes as an io.Reader or through
//     WriteTo, in fixed-size chunks: memory does not depend on the tensor's
//     size, and a source that ends early is an error, never zero-filled.
//
// The arithmetic: BF16 is copied; F16 and F32 round to nearest even on the
// bit pattern (F16 first widens exactly to F32); NaN stays NaN with its sign,
// ±Inf and ±0 keep theirs. Quantized weights dequantize in float32 — the
// weight value and the scale, both exact as float32, multiplied once as the
// reference kernels do (DeepSeek-V3 inference/kernel.py weight_dequant:
// y = x * s with s the stored weight_scale_inv, not its reciprocal;
// DeepSeek-V4 inference/convert.py: weight.float() * scale.float()) — then
// round once to BF16. Plan lists the layouts; any other combination of
// weight and scale is ErrUnknownLayout, never a guess. The scalar functions
// (FromF32, F16ToF32, E4M3ToF32, E5M2ToF32, E8M0ToF32, E2M1ToF32, ToF32) are
// the same conversions one value at a time.
package bf16
