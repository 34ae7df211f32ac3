package extract

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestParseIndexRefuses(t *testing.T) {
	for _, tc := range []struct{ name, index, want string }{
		{"parent", `{"weight_map":{"a":"../other/model.safetensors"}}`, "leaves the repository"},
		{"inner parent", `{"weight_map":{"a":"x/../../y.safetensors"}}`, "leaves the repository"},
		{"absolute", `{"weight_map":{"a":"/etc/model.safetensors"}}`, "absolute path"},
		{"backslash", `{"weight_map":{"a":"..\\model.safetensors"}}`, "backslash"},
		{"url", `{"weight_map":{"a":"https://evil.example/model.safetensors"}}`, "URL"},
		{"not safetensors", `{"weight_map":{"a":"README.md"}}`, "not a .safetensors file"},
		{"control", `{"weight_map":{"a":"m\u0000.safetensors"}}`, "control character"},
		{"dot", `{"weight_map":{"a":"./model.safetensors"}}`, "leaves the repository"},
		{"not a string", `{"weight_map":{"a":7}}`, "not a string"},
		{"no map", `{"metadata":{}}`, "no weight_map"},
		{"null map", `{"weight_map":null}`, "no weight_map"},
		{"map not an object", `{"weight_map":["a.safetensors"]}`, "not an object"},
		{"value an object", `{"weight_map":{"a":{"b":"c.safetensors"}}}`, "not a string"},
		{"tensor twice", `{"weight_map":{"a":"1.safetensors","a":"2.safetensors"}}`, "listed twice"},
		{"map twice", `{"weight_map":{"a":"1.safetensors"},"weight_map":{"b":"2.safetensors"}}`, "weight_map twice"},
		{"truncated", `{"weight_map":{"a":"1.safetensors"`, "not a JSON object"},
		{"empty map", `{"weight_map":{}}`, "weight_map is empty"},
		{"not json", `[`, "not a JSON object"},
		{"metadata name", `{"weight_map":{"__metadata__":"m.safetensors"}}`, "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIndex([]byte(tc.index))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	idx, err := ParseIndex([]byte(`{"metadata":{"total_size":4},"weight_map":{"b":"s/2.safetensors","a":"1.safetensors","c":"1.safetensors"}}`))
	if err != nil || len(idx.Shards) != 2 || idx.Shards[0] != "1.safetensors" || idx.WeightMap["b"] != "s/2.safetensors" {
		t.Fatalf("%+v %v", idx, err)
	}
}

func header(js string, data int) (prefix []byte, h []byte, size int64) {
	prefix = make([]byte, 8)
	binary.LittleEndian.PutUint64(prefix, uint64(len(js)))
	return prefix, []byte(js), int64(8 + len(js) + data)
}

func TestParseHeaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, js string
		data     int
		want     string
	}{
		{"overlap", `{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[2,6]}}`, 6, "overlaps"},
		{"out of range", `{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}`, 4, "outside the 4-byte data region"},
		{"negative", `{"a":{"dtype":"BF16","shape":[2],"data_offsets":[-2,2]}}`, 4, "outside"},
		{"huge shape", `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4, "too many elements"},
		{"huge bytes", `{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, 4, "fits"},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4, "negative dimension"},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4, "needs 8"},
		{"unknown dtype", `{"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,4]}}`, 4, "unknown dtype"},
		{"hole", `{"a":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}}`, 4, "hole"},
		{"short cover", `{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, 4, "cover 2 bytes"},
		{"duplicate", `{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, 2, "twice"},
		{"trailing", `{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}xx`, 2, "trailing"},
		{"not object", `["a"]`, 0, "JSON object"},
		{"no shape", `{"a":{"dtype":"BF16","data_offsets":[0,2]}}`, 2, "no shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, h, size := header(tc.js, tc.data)
			_, err := parseHeader(h, size, "model-00001-of-00002.safetensors")
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "model-00001-of-00002.safetensors") {
				t.Fatalf("got %v, want an ErrInvalid naming the shard and saying %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		n    uint64
		size int64
		want string
	}{
		{0, 100, "too small for a JSON object"},
		{200_000_000, 300_000_000, "exceeds the 100000000-byte limit"},
		{1 << 62, 100, "exceeds the"},
		{93, 100, "exceeds the 92 bytes that follow it"},
		{20 << 20, 30 << 20, "over this tool's limit of 16777216 bytes"},
	} {
		p := make([]byte, 8)
		binary.LittleEndian.PutUint64(p, tc.n)
		if _, err := headerLength(p, tc.size, "s.safetensors"); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "s.safetensors") {
			t.Errorf("length %d in %d bytes: %v, want %q", tc.n, tc.size, err, tc.want)
		}
	}
	_, h, size := header(`{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]},"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}  `, 6)
	ts, err := parseHeader(h, size, "s.safetensors")
	if err != nil || len(ts) != 2 || ts[0].Name != "a" || ts[1].Begin != 8+int64(len(h))+2 {
		t.Fatalf("%+v %v", ts, err)
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":4},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"sub/m.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"a//b.safetensors","b":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ParseIndex(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		for name, sh := range idx.WeightMap {
			if badShardPath(sh) != "" || badTensorName(name) != "" || strings.Contains(sh, "..") && strings.Contains("/"+sh+"/", "/../") {
				t.Fatalf("accepted %q -> %q", name, sh)
			}
		}
	})
}

func FuzzShardHeader(f *testing.F) {
	f.Add([]byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`), int64(4))
	f.Add([]byte(`{"a":{"dtype":"F8_E4M3","shape":[3,0],"data_offsets":[0,0]}}`), int64(0))
	f.Fuzz(func(t *testing.T, h []byte, data int64) {
		if data < 0 || data > 1<<40 {
			return
		}
		size := 8 + int64(len(h)) + data
		ts, err := parseHeader(h, size, "s.safetensors")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		at := 8 + int64(len(h))
		for _, x := range ts {
			if x.Begin != at || x.End < x.Begin || x.End > size {
				t.Fatalf("accepted %+v at %d of %d", x, at, size)
			}
			at = x.End
		}
		if at != size {
			t.Fatalf("tensors end at %d of %d", at, size)
		}
	})
}
