package extract_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
)

// The expected values below are computed here from the formats'
// definitions, independently of internal/bf16.

// e4m3 decodes OCP E4M3FN: bias 7, no infinities, NaN at S.1111.111.
func e4m3(b byte) float64 {
	s := 1.0
	if b&0x80 != 0 {
		s = -1
	}
	e, m := int(b>>3&0xF), float64(b&7)
	switch {
	case e == 15 && m == 7:
		return math.NaN()
	case e == 0:
		return s * m / 8 * math.Pow(2, -6)
	}
	return s * (1 + m/8) * math.Pow(2, float64(e-7))
}

// toBF16 rounds a float32 to the nearest BF16, ties to even, by comparing
// the two neighbours' distances.
func toBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x40 // quiet NaN, sign kept
	}
	lo := uint16(u >> 16)
	if uint32(lo)<<16 == u {
		return lo
	}
	hi := lo + 1
	dlo := math.Abs(float64(f) - float64(math.Float32frombits(uint32(lo)<<16)))
	dhi := math.Abs(float64(math.Float32frombits(uint32(hi)<<16)) - float64(f))
	switch {
	case dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bf16At(b []byte, i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) }

// checkBF16 compares every element of an output tensor with want(i).
func checkBF16(t *testing.T, name string, out tensor, n int, want func(i int) float32) {
	t.Helper()
	if out.dtype != "BF16" || len(out.data) != 2*n {
		t.Fatalf("%s: %s with %d bytes, want BF16 with %d", name, out.dtype, len(out.data), 2*n)
	}
	bad := 0
	for i := 0; i < n; i++ {
		w := want(i)
		got := bf16At(out.data, i)
		if w != w {
			if math.Float32frombits(uint32(got)<<16) == math.Float32frombits(uint32(got)<<16) {
				t.Errorf("%s[%d]: %#04x, want NaN", name, i, got)
				bad++
			}
		} else if got != toBF16(w) {
			t.Errorf("%s[%d]: %#04x, want %#04x (%g)", name, i, got, toBF16(w), w)
			bad++
		}
		if bad > 5 {
			t.Fatalf("%s: too many mismatches", name)
		}
	}
}

// deepseek is a DeepSeek-V3-style checkpoint: two language layers, the MTP
// layer model.layers.2 (num_hidden_layers 2, num_nextn_predict_layers 1)
// with FP8 weights and F32 weight_scale_inv, spread over three shards.
func deepseek() *checkpoint {
	fp8 := func(name string, n int) []byte {
		b := noise(name, n)
		for i := range b {
			if b[i]&0x7F == 0x7F { // keep NaNs to the chosen ones below
				b[i] ^= 0x08
			}
		}
		copy(b, []byte{0x7E, 0xFE, 0x7F, 0x01, 0x80, 0x00, 0x08, 0x07})
		return b
	}
	c := &checkpoint{shards: map[string][]tensor{}, small: map[string]string{
		"config.json": `{"model_type":"deepseek_v3","num_hidden_layers":2,"num_nextn_predict_layers":1}`,
		"README.md":   "---\nlicense: mit\n---\n",
	}}
	s1, s2, s3 := "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"
	c.shards[s1] = []tensor{
		{"model.layers.0.mlp.down_proj.weight", "BF16", []int64{8, 8}, noise("l0", 128)},
		{"model.layers.2.eh_proj.weight", "F8_E4M3", []int64{130, 260}, fp8("eh", 130*260)},
		{"model.layers.2.eh_proj.weight_scale_inv", "F32", []int64{2, 3}, f32bytes(0.5, 2, 1.5e-3, 3, 0.25, 1e30)},
	}
	c.shards[s2] = []tensor{
		{"model.layers.1.mlp.down_proj.weight", "BF16", []int64{8, 8}, noise("l1", 128)},
		{"model.layers.2.enorm.weight", "BF16", []int64{64}, noise("enorm", 128)},
		{"model.layers.2.hnorm.weight", "F32", []int64{8}, f32bytes(1, float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 1e-40, 3.0000002, 1.00390625, 65504)},
		{"model.layers.2.self_attn.o_proj.weight", "F16", []int64{4, 8}, noise("f16", 64)},
		{"model.layers.2.mlp.gate.weight", "F8_E4M3", []int64{128, 128}, fp8("gate", 128*128)},
	}
	c.shards[s3] = []tensor{
		{"model.embed_tokens.weight", "BF16", []int64{16, 8}, noise("emb", 256)},
		{"model.layers.2.mlp.gate.weight_scale_inv", "F32", []int64{1, 1}, f32bytes(0.0078125)},
	}
	return c
}

func (e *env) mtpOpts(repo string) extract.Options {
	return extract.Options{Source: e.cl, Dest: e.cl, SourceRepo: repo, SidecarRepo: mtpRepo,
		Selection: extract.Selection{Kind: extract.KindMTP}, TargetModel: repo, Progress: e.log, ToolVersion: "test"}
}

func TestMTPDeepSeekV3(t *testing.T) {
	e := setup(t)
	c := deepseek()
	const src = "deepseek-ai/DeepSeek-V3"
	sha := e.seed(src, c, "upload")
	res := e.publish(e.mtpOpts(src))
	if want := "Add MTP sidecar from " + src + "@" + sha; e.lastTitle() != want {
		t.Errorf("commit title %q, want %q", e.lastTitle(), want)
	}
	out := parseFile(t, e.download(mtpRepo, extract.MTPFile))
	if len(out.tensors) != 5 {
		t.Fatalf("mtp.safetensors holds %d tensors, want the 5 of model.layers.2 without scales: %v", len(out.tensors), out.tensors)
	}
	if res.Plan.Scales != 2 || res.Plan.Tensors != 5 {
		t.Errorf("plan: %d tensors, %d scales", res.Plan.Tensors, res.Plan.Scales)
	}

	// eh_proj: [130, 260] FP8 x weight_scale_inv [2, 3], y = x * s as
	// stored (DeepSeek-V3 kernel.py weight_dequant), partial edge tiles.
	w, s := c.find("model.layers.2.eh_proj.weight").data, c.find("model.layers.2.eh_proj.weight_scale_inv").data
	checkBF16(t, "eh_proj", out.tensors["model.layers.2.eh_proj.weight"], 130*260, func(i int) float32 {
		r, col := i/260, i%260
		sc := math.Float32frombits(binary.LittleEndian.Uint32(s[4*((r/128)*3+col/128):]))
		return float32(e4m3(w[i])) * sc
	})
	w, s = c.find("model.layers.2.mlp.gate.weight").data, c.find("model.layers.2.mlp.gate.weight_scale_inv").data
	checkBF16(t, "gate", out.tensors["model.layers.2.mlp.gate.weight"], 128*128, func(i int) float32 {
		return float32(e4m3(w[i])) * math.Float32frombits(binary.LittleEndian.Uint32(s))
	})
	hn := c.find("model.layers.2.hnorm.weight").data
	checkBF16(t, "hnorm", out.tensors["model.layers.2.hnorm.weight"], 8, func(i int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(hn[4*i:]))
	})
	en := c.find("model.layers.2.enorm.weight").data
	if string(out.tensors["model.layers.2.enorm.weight"].data) != string(en) {
		t.Error("enorm: BF16 not copied unchanged")
	}
	f16 := c.find("model.layers.2.self_attn.o_proj.weight").data
	checkBF16(t, "o_proj", out.tensors["model.layers.2.self_attn.o_proj.weight"], 32, func(i int) float32 {
		h := binary.LittleEndian.Uint16(f16[2*i:])
		sign, exp, man := float64(1), int(h>>10&0x1F), float64(h&0x3FF)
		if h&0x8000 != 0 {
			sign = -1
		}
		switch exp {
		case 0:
			return float32(sign * man / 1024 * math.Pow(2, -14))
		case 31:
			if man == 0 {
				return float32(math.Inf(int(sign)))
			}
			return float32(math.NaN())
		}
		return float32(sign * (1 + man/1024) * math.Pow(2, float64(exp-15)))
	})
	// Spot checks by hand: 448 x 0.5 = 224 (0x4360); -448 x 0.5; NaN;
	// the smallest subnormal 2^-9 x 0.5 = 2^-10 (0x3A80).
	eh := out.tensors["model.layers.2.eh_proj.weight"].data
	if bf16At(eh, 0) != 0x4360 || bf16At(eh, 1) != 0xC360 || bf16At(eh, 2)&0x7F80 != 0x7F80 || bf16At(eh, 2)&0x7F == 0 || bf16At(eh, 3) != 0x3A80 || bf16At(eh, 4) != 0x8000 {
		t.Errorf("eh_proj first values %#04x %#04x %#04x %#04x %#04x", bf16At(eh, 0), bf16At(eh, 1), bf16At(eh, 2), bf16At(eh, 3), bf16At(eh, 4))
	}

	fm, _ := card.FrontMatter(e.download(mtpRepo, "README.md"))
	if fm["foxlight"].(map[string]any)["artifact_type"] != "mtp-sidecar" || fm["license"] != "mit" {
		t.Errorf("card: %v", fm)
	}
	// Republish: nothing read.
	res = e.publish(e.mtpOpts(src))
	if !res.UpToDate || res.BytesRead != 0 {
		t.Errorf("republish: up to date %v, read %d", res.UpToDate, res.BytesRead)
	}
}

func TestMTPNamedWithE8M0Scales(t *testing.T) {
	e := setup(t)
	const src = "deepseek-ai/DeepSeek-V4-Flash"
	c := &checkpoint{shards: map[string][]tensor{
		"model-00001-of-00002.safetensors": {
			{"layers.0.ffn.w1.weight", "BF16", []int64{4, 4}, noise("l", 32)},
			{"mtp.0.ffn.w1.scale", "F8_E8M0", []int64{2, 2}, []byte{127, 130, 0, 126}},
			{"mtp.0.ffn.w1.weight", "F8_E4M3", []int64{200, 256}, noise("w1", 200*256)},
		},
		"model-00002-of-00002.safetensors": {
			{"mtp.0.norm.weight", "BF16", []int64{32}, noise("norm", 64)},
			{"embed.weight", "BF16", []int64{4, 4}, noise("e", 32)},
		},
	}, small: map[string]string{"config.json": `{"num_hidden_layers":1}`}}
	e.seed(src, c, "upload")
	e.publish(e.mtpOpts(src))
	out := parseFile(t, e.download(mtpRepo, extract.MTPFile))
	if len(out.tensors) != 2 {
		t.Fatalf("%d tensors", len(out.tensors))
	}
	w, sc := c.find("mtp.0.ffn.w1.weight").data, c.find("mtp.0.ffn.w1.scale").data
	checkBF16(t, "w1", out.tensors["mtp.0.ffn.w1.weight"], 200*256, func(i int) float32 {
		r, col := i/256, i%256
		return float32(e4m3(w[i])) * float32(math.Pow(2, float64(sc[(r/128)*2+col/128])-127))
	})
	if string(out.tensors["mtp.0.norm.weight"].data) != string(c.find("mtp.0.norm.weight").data) {
		t.Error("norm not copied")
	}
}

func TestNoMTP(t *testing.T) {
	e := setup(t)
	const src = "acme/plain"
	e.seed(src, &checkpoint{shards: map[string][]tensor{"model-00001-of-00001.safetensors": {{"model.layers.0.w", "BF16", []int64{2}, noise("x", 4)}}},
		small: map[string]string{"config.json": `{"num_hidden_layers":1,"num_nextn_predict_layers":0}`}}, "up")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := extract.Publish(ctx, e.mtpOpts(src))
	want := "no MTP head tensors found in acme/plain; confirm this model has native MTP heads (checked for mtp.* keys and model.layers.{N}.* via config.json)"
	if err == nil || !errors.Is(err, extract.ErrNoMTP) || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if _, err := e.h.Head(mtpRepo, "main"); err == nil {
		t.Error("the sidecar repo was created")
	}
}
