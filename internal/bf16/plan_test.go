package bf16

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestPlanErrors(t *testing.T) {
	w := func(dtype string, shape ...int64) Spec { return Spec{Name: "l.weight", DType: dtype, Shape: shape} }
	inv := func(dtype string, shape ...int64) *Spec {
		return &Spec{Name: "l.weight_scale_inv", DType: dtype, Shape: shape}
	}
	sib := func(dtype string, shape ...int64) *Spec { return &Spec{Name: "l.scale", DType: dtype, Shape: shape} }
	for _, tc := range []struct {
		tensor Spec
		scale  *Spec
		kind   error
		msg    string
	}{
		{w(DTypeF32, 2, -3), nil, ErrInvalid, "tensor l.weight: negative dimension -3 in shape [2 -3]"},
		{w(DTypeF32, 1<<40, 1<<40), nil, ErrInvalid, "tensor l.weight: shape [1099511627776 1099511627776] has too many elements"},
		{w(DTypeF32, 1<<31, 1<<31), nil, ErrInvalid, "tensor l.weight: shape [2147483648 2147483648] is too large"},
		{w(DTypeF8E4M3, 4, 1<<60), nil, ErrInvalid, "tensor l.weight: shape [4 1152921504606846976] is too large"},
		{w(DTypeI8, 0, 1<<61), sib(DTypeF8E8M0, 0, 1<<57), ErrInvalid, "tensor l.weight: shape [0 2305843009213693952] is too large"},
		{w("I32", 4), nil, ErrUnsupported, "tensor l.weight: dtype I32 cannot be converted to BF16 (supported: BF16, F16, F32, F8_E4M3, F8_E5M2, F8_E8M0, and I8 with a scale)"},
		{w("F64", 4), nil, ErrUnsupported, ""},
		{w(DTypeI8, 4, 4), nil, ErrUnknownLayout, "tensor l.weight: I8 has no scale; I8 weights convert only with a _scale_inv or .scale companion"},
		{w(DTypeF8E4M3, 130, 200), inv(DTypeF32, 2, 3), ErrUnknownLayout, "unknown scale layout for l.weight: weight [130 200] F8_E4M3, scale [2 3] F32"},
		{w(DTypeF8E4M3, 130, 200), inv(DTypeF32, 1, 2), ErrUnknownLayout, "unknown scale layout for l.weight: weight [130 200] F8_E4M3, scale [1 2] F32"},
		{w(DTypeF8E4M3, 130, 200), inv(DTypeF32, 4), ErrUnknownLayout, "unknown scale layout for l.weight: weight [130 200] F8_E4M3, scale [4] F32"},
		{w(DTypeF8E4M3, 2, 130, 200), inv(DTypeF32, 2, 2), ErrUnknownLayout, "unknown scale layout for l.weight: weight [2 130 200] F8_E4M3, scale [2 2] F32"},
		// DeepSeek-V3's weight_scale_inv is float32; an E8M0 one is no
		// layout the V3 code reads.
		{w(DTypeF8E4M3, 130, 200), inv(DTypeF8E8M0, 2, 2), ErrUnknownLayout, "unknown scale layout for l.weight: weight [130 200] F8_E4M3, scale [2 2] F8_E8M0"},
		{w(DTypeF8E4M3, 130, 200), sib(DTypeF16, 2, 2), ErrUnknownLayout, ""},
		{w(DTypeF8E5M2, 130, 200), inv(DTypeF32, 2, 2), ErrUnknownLayout, ""},
		{w(DTypeF32, 130, 200), inv(DTypeF32, 2, 2), ErrUnknownLayout, ""},
		{w(DTypeBF16, 130, 200), sib(DTypeF8E8M0, 2, 2), ErrUnknownLayout, ""},
		// A per-output-channel scale is a real layout elsewhere, not one the
		// cited reference code defines for these names.
		{w(DTypeF8E4M3, 256, 256), sib(DTypeF32, 256, 1), ErrUnknownLayout, "unknown scale layout for l.weight: weight [256 256] F8_E4M3, scale [256 1] F32"},
		// Packed FP4 needs a whole number of 32-value groups a row, an E8M0
		// scale, and the .scale name.
		{w(DTypeI8, 4, 24), sib(DTypeF8E8M0, 4, 2), ErrUnknownLayout, "unknown scale layout for l.weight: weight [4 24] I8, scale [4 2] F8_E8M0"},
		{w(DTypeI8, 4, 32), sib(DTypeF32, 4, 2), ErrUnknownLayout, ""},
		{w(DTypeI8, 4, 32), sib(DTypeF8E8M0, 4, 1), ErrUnknownLayout, ""},
		{w(DTypeI8, 4, 32), inv(DTypeF8E8M0, 4, 2), ErrUnknownLayout, ""},
		// Block INT8 under .scale is not a cited layout.
		{w(DTypeI8, 256, 256), sib(DTypeF32, 2, 2), ErrUnknownLayout, ""},
		{w(DTypeF8E8M0, 4, 4), sib(DTypeF8E8M0, 1, 1), ErrUnknownLayout, ""},
		{w(DTypeF8E4M3, 4, 4), &Spec{Name: "other.weight_scale_inv", DType: DTypeF32, Shape: []int64{1, 1}}, ErrInvalid,
			"tensor l.weight: other.weight_scale_inv is not its scale companion (expected l.weight_scale_inv or, for a .weight, <prefix>.scale)"},
		{w(DTypeF8E4M3, 4, 4), inv("U8", 1, 1), ErrUnsupported, "scale l.weight_scale_inv: dtype U8 is not a scale dtype"},
		{w(DTypeF8E4M3, 4, 4), inv(DTypeF32, 1, -1), ErrInvalid, "tensor l.weight_scale_inv: negative dimension -1 in shape [1 -1]"},
		{w(DTypeI8, 1<<26, 16), sib(DTypeF8E8M0, 1<<26, 1), ErrScaleTooLarge, "scale l.scale: 67108864 bytes, over the 33554432-byte limit for a scale tensor"},
		{w(DTypeF8E4M3, 1<<23, 1<<22), inv(DTypeF32, 1<<16, 1<<15), ErrScaleTooLarge, "scale l.weight_scale_inv: 8589934592 bytes, over the 33554432-byte limit for a scale tensor"},
	} {
		job, err := Plan(tc.tensor, tc.scale)
		if err == nil {
			t.Errorf("Plan(%v, %v) = %+v, want an error", tc.tensor, tc.scale, job)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, tc.kind) {
			t.Errorf("Plan(%v, %v): %v is not an *Error of kind %v", tc.tensor, tc.scale, err, tc.kind)
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("Plan(%v, %v):\n got  %s\n want %s", tc.tensor, tc.scale, err, tc.msg)
		}
	}
}

func TestPlanAccepts(t *testing.T) {
	for _, tc := range []struct {
		tensor     Spec
		scale      *Spec
		outShape   []int64
		in, scaleN int64
		method     string
	}{
		// DeepSeek-V3 model.layers.61.self_attn.kv_b_proj: [32768, 512].
		{Spec{"model.layers.61.self_attn.kv_b_proj.weight", DTypeF8E4M3, []int64{32768, 512}},
			&Spec{"model.layers.61.self_attn.kv_b_proj.weight_scale_inv", DTypeF32, []int64{256, 4}},
			[]int64{32768, 512}, 32768 * 512, 256 * 4 * 4, "F8_E4M3 x F32 _scale_inv per 128x128 block, float32, rounded once to BF16"},
		// DeepSeek-V3 q_a_proj [1536, 7168]: 12×56 tiles.
		{Spec{"model.layers.61.self_attn.q_a_proj.weight", DTypeF8E4M3, []int64{1536, 7168}},
			&Spec{"model.layers.61.self_attn.q_a_proj.weight_scale_inv", DTypeF32, []int64{12, 56}},
			[]int64{1536, 7168}, 1536 * 7168, 12 * 56 * 4, ""},
		// DeepSeek-V4-Flash wo_a [8192, 4096] with a [64, 32] E8M0 scale.
		{Spec{"layers.3.attn.wo_a.weight", DTypeF8E4M3, []int64{8192, 4096}},
			&Spec{"layers.3.attn.wo_a.scale", DTypeF8E8M0, []int64{64, 32}},
			[]int64{8192, 4096}, 8192 * 4096, 64 * 32, "F8_E4M3 x F8_E8M0 .scale per 128x128 block, float32, rounded once to BF16"},
		// A DeepSeek-V4-Flash FP4 expert w1: logical [2048, 4096], stored
		// as I8 [2048, 2048] with an E8M0 scale [2048, 128].
		{Spec{"mtp.0.ffn.experts.5.w1.weight", DTypeI8, []int64{2048, 2048}},
			&Spec{"mtp.0.ffn.experts.5.w1.scale", DTypeF8E8M0, []int64{2048, 128}},
			[]int64{2048, 4096}, 2048 * 2048, 2048 * 128, "FP4 E2M1 pairs in I8 (low nibble first) x F8_E8M0 .scale per 1x32 block, float32, rounded once to BF16"},
		{Spec{"x.weight", DTypeI8, []int64{7168, 2048}}, &Spec{"x.weight_scale_inv", DTypeF32, []int64{56, 16}},
			[]int64{7168, 2048}, 7168 * 2048, 56 * 16 * 4, "I8 x F32 _scale_inv per 128x128 block, float32, rounded once to BF16"},
		{Spec{"e", DTypeF16, []int64{3, 5}}, nil, []int64{3, 5}, 30, 0, "F16 to BF16, round to nearest even"},
		{Spec{"e", DTypeBF16, []int64{3, 5}}, nil, []int64{3, 5}, 30, 0, "BF16, copied unchanged"},
	} {
		job, err := Plan(tc.tensor, tc.scale)
		if err != nil {
			t.Errorf("Plan(%s): %v", tc.tensor.Name, err)
			continue
		}
		n := int64(1)
		for _, d := range tc.outShape {
			n *= d
		}
		if !slices.Equal(job.OutShape, tc.outShape) || job.OutSize != 2*n || job.InSize != tc.in || job.ScaleSize != tc.scaleN {
			t.Errorf("Plan(%s) = shape %v out %d in %d scale %d; want %v %d %d %d", tc.tensor.Name,
				job.OutShape, job.OutSize, job.InSize, job.ScaleSize, tc.outShape, 2*n, tc.in, tc.scaleN)
		}
		if tc.method != "" && job.Method != tc.method {
			t.Errorf("Plan(%s).Method = %q, want %q", tc.tensor.Name, job.Method, tc.method)
		}
	}
	// The job's shape is a copy: changing it does not change the tensor's.
	shape := []int64{2, 2}
	job, _ := Plan(Spec{"a", DTypeF32, shape}, nil)
	job.OutShape[0] = 9
	if shape[0] != 2 {
		t.Error("OutShape aliases the tensor's shape")
	}
}

func TestNewConverterChecksScale(t *testing.T) {
	job := mustPlan(t, Spec{"w.weight", DTypeF8E4M3, []int64{4, 4}}, &Spec{"w.weight_scale_inv", DTypeF32, []int64{1, 1}})
	for _, scale := range [][]byte{nil, {1, 2, 3}, {1, 2, 3, 4, 5}} {
		if _, err := NewConverter(job, bytes.NewReader(make([]byte, 16)), scale); !errors.Is(err, ErrInvalid) {
			t.Errorf("scale of %d bytes: %v, want ErrInvalid", len(scale), err)
		}
	}
	plain := mustPlan(t, Spec{"f", DTypeF32, []int64{4}}, nil)
	if _, err := NewConverter(plain, bytes.NewReader(make([]byte, 16)), []byte{1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("scale bytes without a scale: %v, want ErrInvalid", err)
	}
	// A hand-built job is planned again: a lie about its output is ignored.
	forged := job
	forged.OutSize, forged.InSize = 2, 1
	c, err := NewConverter(forged, bytes.NewReader(make([]byte, 16)), make([]byte, 4))
	if err != nil || c.OutSize() != 32 {
		t.Errorf("forged job: %v, OutSize %d", err, c.OutSize())
	}
	forged.Scale = &Spec{"w.weight_scale_inv", DTypeF32, []int64{9, 9}}
	if _, err := NewConverter(forged, bytes.NewReader(nil), make([]byte, 4)); !errors.Is(err, ErrUnknownLayout) {
		t.Errorf("forged scale shape: %v, want ErrUnknownLayout", err)
	}
}

func TestPair(t *testing.T) {
	in := []Spec{
		// DeepSeek-V3 style extra layer.
		{"model.layers.61.enorm.weight", DTypeBF16, []int64{7168}},
		{"model.layers.61.eh_proj.weight", DTypeF8E4M3, []int64{7168, 14336}},
		{"model.layers.61.eh_proj.weight_scale_inv", DTypeF32, []int64{56, 112}},
		{"model.layers.61.mlp.gate.e_score_correction_bias", DTypeF32, []int64{256}},
		// DeepSeek-V4 style mtp.* with E8M0 scales and an FP4 expert; the
		// scale comes first here, as a header may order it.
		{"mtp.0.ffn.experts.0.w1.scale", DTypeF8E8M0, []int64{2048, 128}},
		{"mtp.0.ffn.experts.0.w1.weight", DTypeI8, []int64{2048, 2048}},
		{"mtp.0.attn.wq_a.weight", DTypeF8E4M3, []int64{1024, 4096}},
		{"mtp.0.attn.wq_a.scale", DTypeF8E8M0, []int64{8, 32}},
		{"mtp.0.hc_head_scale", DTypeF32, []int64{1}},
		// Errors.
		{"orphan.weight_scale_inv", DTypeF32, []int64{1, 1}},
		{"both.weight", DTypeF8E4M3, []int64{128, 128}},
		{"both.weight_scale_inv", DTypeF32, []int64{1, 1}},
		{"both.scale", DTypeF8E8M0, []int64{1, 1}},
		{"bare.weight", DTypeF8E4M3, []int64{4, 4}},
		{"twice", DTypeBF16, []int64{1}},
		{"twice", DTypeBF16, []int64{1}},
		{"ids", "I32", []int64{8}},
		{"bad.weight", DTypeF8E4M3, []int64{256, 256}},
		{"bad.weight_scale_inv", DTypeF32, []int64{1, 1}},
		{"lone.scale", DTypeF8E8M0, []int64{2}},
		{"bare8", DTypeF8E5M2, []int64{4}},
		{"bare8.weight_scale_inv_scale_inv", DTypeF32, []int64{1}},
		{"x.weight", DTypeF8E4M3, []int64{1, 1}},
		{"x.weight_scale_inv", DTypeF32, []int64{1, 1}},
		{"x.weight_scale_inv_scale_inv", DTypeF32, []int64{1, 1}},
		{"y_scale_inv", DTypeF32, []int64{1, 1}},
		{"y_scale_inv_scale_inv", DTypeF32, []int64{1, 1}},
	}
	got := Pair(in)
	var names []string
	for _, j := range got.Jobs {
		names = append(names, j.Tensor.Name)
		if j.Scale != nil {
			names[len(names)-1] += " + " + j.Scale.Name
		}
	}
	wantJobs := []string{
		"model.layers.61.enorm.weight",
		"model.layers.61.eh_proj.weight + model.layers.61.eh_proj.weight_scale_inv",
		"model.layers.61.mlp.gate.e_score_correction_bias",
		"mtp.0.ffn.experts.0.w1.weight + mtp.0.ffn.experts.0.w1.scale",
		"mtp.0.attn.wq_a.weight + mtp.0.attn.wq_a.scale",
		"mtp.0.hc_head_scale",
		"twice",
		"x.weight + x.weight_scale_inv",
	}
	if !slices.Equal(names, wantJobs) {
		t.Errorf("jobs:\n%q\nwant\n%q", names, wantJobs)
	}
	if j := got.Jobs[3]; !slices.Equal(j.OutShape, []int64{2048, 4096}) || j.OutSize != 2048*4096*2 {
		t.Errorf("FP4 job %+v", j)
	}
	wantComp := []string{"model.layers.61.eh_proj.weight_scale_inv", "mtp.0.ffn.experts.0.w1.scale", "mtp.0.attn.wq_a.scale",
		"both.weight_scale_inv", "both.scale", "bad.weight_scale_inv", "x.weight_scale_inv"}
	if !slices.Equal(got.Companions, wantComp) {
		t.Errorf("companions:\n%q\nwant\n%q", got.Companions, wantComp)
	}
	var msgs []string
	for _, err := range got.Errors {
		var e *Error
		if !errors.As(err, &e) || e.Tensor == "" {
			t.Errorf("%v is not an *Error naming its tensor", err)
		}
		msgs = append(msgs, err.Error())
	}
	wantErrs := []string{
		"scale orphan.weight_scale_inv has no weight orphan.weight to scale",
		"tensor both.weight has two scale companions, both.weight_scale_inv and both.scale",
		"tensor bare.weight is F8_E4M3 without a scale companion (looked for bare.weight_scale_inv and, for a .weight, <prefix>.scale); its scale layout is unknown",
		"tensor twice is named twice",
		"tensor ids: dtype I32 cannot be converted to BF16 (supported: BF16, F16, F32, F8_E4M3, F8_E5M2, F8_E8M0, and I8 with a scale)",
		"unknown scale layout for bad.weight: weight [256 256] F8_E4M3, scale [1 1] F32",
		"scale lone.scale has no weight lone.weight to scale",
		"tensor bare8 is F8_E5M2 without a scale companion (looked for bare8_scale_inv and, for a .weight, <prefix>.scale); its scale layout is unknown",
		"scale bare8.weight_scale_inv_scale_inv has no weight bare8.weight_scale_inv to scale",
		"scale x.weight_scale_inv_scale_inv scales x.weight_scale_inv, itself a scale",
		"scale y_scale_inv has no weight y to scale",
		"scale y_scale_inv_scale_inv scales y_scale_inv, itself a scale",
	}
	if !slices.Equal(msgs, wantErrs) {
		t.Errorf("errors:\n%q\nwant\n%q", msgs, wantErrs)
	}
	if p := Pair(nil); len(p.Jobs)+len(p.Companions)+len(p.Errors) != 0 {
		t.Errorf("Pair(nil) = %+v", p)
	}
}
