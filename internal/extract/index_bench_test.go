package extract

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParseIndex parses an index the size of a large MoE checkpoint's:
// 200,000 tensors in 64 shards (about 22 MB of JSON, twice DeepSeek-V3's tensor count).
// B/op is the memory one plan holds for it while it parses.
func BenchmarkParseIndex(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"metadata":{"total_size":1},"weight_map":{`)
	const tensors, shards = 200_000, 64
	for i := 0; i < tensors; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `"language_model.model.layers.%d.mlp.experts.%d.down_proj.weight_scale_inv":"model-%05d-of-%05d.safetensors"`,
			i/3000, i%3000, i%shards+1, shards)
	}
	buf.WriteString("}}")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		idx, err := ParseIndex(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(idx.WeightMap) != tensors || len(idx.Shards) != shards {
			b.Fatalf("%d tensors in %d shards", len(idx.WeightMap), len(idx.Shards))
		}
	}
}
