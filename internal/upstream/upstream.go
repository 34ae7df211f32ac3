// Package upstream generates sharded checkpoints laid out like an upstream
// multimodal release (Kimi K2.5: a DeepSeek-V3-style language model, its
// MTP layer, the MoonViT vision tower and projector) for the demo, the
// command tests and the extraction benchmark. Files are generated as they
// are read, so a checkpoint of any size costs no memory.
package upstream

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// File is one generated file of a checkpoint.
type File struct {
	Path    string
	Size    int64
	Content io.Reader
}

// Layout sizes a checkpoint.
type Layout struct {
	// Shards is the number of weight files (at least 2).
	Shards int
	// LanguageBytes is the size of the language-model tensors per shard.
	LanguageBytes int64
	// VisionBytes is the size of the vision tower and projector, split
	// over the last two shards.
	VisionBytes int64
	// MTP adds the MTP layer (FP8 weights with F32 block scales) to the
	// last shard and num_nextn_predict_layers 1 to config.json.
	MTP bool
	// Seed varies the bytes; Salt varies only the vision tensors' bytes
	// (an upstream fix of the encoder).
	Seed, Salt uint64
}

// Layers is the number of language layers a generated checkpoint declares;
// its MTP layer is model.layers.{Layers}.
const Layers = 4

// Files generates the checkpoint: shards, model.safetensors.index.json,
// config.json, preprocessor_config.json, a LICENSE and a card declaring
// Moonshot's license.
func Files(l Layout) ([]File, error) {
	if l.Shards < 2 {
		return nil, fmt.Errorf("upstream: %d shards; at least 2", l.Shards)
	}
	shards := make([][]safetensors.Tensor, l.Shards)
	const chunk = 8 << 20 // bytes of one language tensor at most
	for i := range shards {
		left := l.LanguageBytes
		for j := 0; left > 0; j++ {
			n := min(left, chunk) / 2048 * 2048
			if n == 0 {
				break
			}
			left -= n
			shards[i] = append(shards[i], safetensors.Tensor{
				Name:  fmt.Sprintf("model.layers.%d.mlp.experts.%d.down_proj.weight", i%Layers, i*1000+j),
				DType: "BF16", Shape: []int64{n / 2048, 1024},
			})
		}
	}
	// The vision tower: blocks of BF16 weights and F32 norms over the last
	// two shards; the projector in the second to last.
	last, prev := l.Shards-1, l.Shards-2
	blocks := 8
	per := max(l.VisionBytes/int64(blocks)/2048*2048, 2048)
	shards[prev] = append(shards[prev],
		safetensors.Tensor{Name: "mm_projector.proj.0.weight", DType: "BF16", Shape: []int64{64, 64}},
		safetensors.Tensor{Name: "mm_projector.proj.0.bias", DType: "F32", Shape: []int64{64}})
	for b := 0; b < blocks; b++ {
		sh := prev
		if b >= blocks/2 {
			sh = last
		}
		shards[sh] = append(shards[sh],
			safetensors.Tensor{Name: fmt.Sprintf("vision_tower.encoder.blocks.%d.wqkv.weight", b), DType: "BF16", Shape: []int64{per / 2048, 1024}},
			safetensors.Tensor{Name: fmt.Sprintf("vision_tower.encoder.blocks.%d.norm0.weight", b), DType: "F32", Shape: []int64{1024}})
	}
	if l.MTP {
		p := fmt.Sprintf("model.layers.%d.", Layers)
		shards[last] = append(shards[last],
			safetensors.Tensor{Name: p + "eh_proj.weight", DType: "F8_E4M3", Shape: []int64{256, 512}},
			safetensors.Tensor{Name: p + "eh_proj.weight_scale_inv", DType: "F32", Shape: []int64{2, 4}},
			safetensors.Tensor{Name: p + "enorm.weight", DType: "BF16", Shape: []int64{512}},
			safetensors.Tensor{Name: p + "hnorm.weight", DType: "BF16", Shape: []int64{512}},
			safetensors.Tensor{Name: p + "mlp.gate_proj.weight", DType: "F8_E4M3", Shape: []int64{300, 512}},
			safetensors.Tensor{Name: p + "mlp.gate_proj.weight_scale_inv", DType: "F32", Shape: []int64{3, 4}})
	}
	var out []File
	wm := map[string]string{}
	var total int64
	for i, ts := range shards {
		// A name-sorted writer interleaves the models' tensors.
		sort.Slice(ts, func(a, b int) bool { return ts[a].Name < ts[b].Name })
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, l.Shards)
		seed := l.Seed*1_000_003 + uint64(i)
		if i >= prev {
			seed += l.Salt * 7_919
		}
		g, err := safetensors.NewGenerator(seed, ts)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			wm[t.Name] = name
		}
		total += g.Size()
		out = append(out, File{Path: name, Size: g.Size(), Content: g})
	}
	idx, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": wm}, "", "  ")
	nextn := 0
	if l.MTP {
		nextn = 1
	}
	small := map[string]string{
		"model.safetensors.index.json": string(idx) + "\n",
		"config.json":                  fmt.Sprintf(`{"architectures":["KimiK25ForConditionalGeneration"],"model_type":"kimi_k25","num_hidden_layers":%d,"num_nextn_predict_layers":%d,"vision_config":{"model_type":"moonvit"}}`+"\n", Layers, nextn),
		"preprocessor_config.json":     `{"image_processor_type":"KimiK25ImageProcessor","patch_size":14}` + "\n",
		"LICENSE":                      "Modified MIT License\n\nCopyright (c) Moonshot AI\n",
		"README.md":                    "---\nlicense: other\nlicense_name: modified-mit\nlicense_link: LICENSE\n---\n# Kimi K2.5 (generated)\n",
	}
	for _, p := range []string{"model.safetensors.index.json", "config.json", "preprocessor_config.json", "LICENSE", "README.md"} {
		out = append(out, File{Path: p, Size: int64(len(small[p])), Content: strings.NewReader(small[p])})
	}
	return out, nil
}
