package extract_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

const (
	token   = "hf_extracttest_s3cr3t_token_value"
	srcRepo = "moonshotai/Kimi-K2.5"
	dstRepo = "FoxlightAI/kimi-k2-5-vision"
	mtpRepo = "FoxlightAI/kimi-k2-5-mtp"
)

var fast = hub.RetryPolicy{MaxRetries: 4, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond, MaxServerWait: 5 * time.Second}

// tensor is one tensor of a fixture file, with its data.
type tensor struct {
	name, dtype string
	shape       []int64
	data        []byte
}

// buildFile lays out a safetensors file the way the reference writer does:
// data in the given order, header padded to 8 bytes.
func buildFile(ts []tensor) []byte {
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, t := range ts {
		hdr[t.name] = map[string]any{"dtype": t.dtype, "shape": t.shape, "data_offsets": []int64{off, off + int64(len(t.data))}}
		off += int64(len(t.data))
	}
	js, _ := json.Marshal(hdr)
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(js)))
	b.Write(js)
	for _, t := range ts {
		b.Write(t.data)
	}
	return b.Bytes()
}

// noise is n deterministic pseudo-random bytes.
func noise(seed string, n int) []byte {
	var s uint64 = 1469598103934665603
	for _, c := range seed {
		s = (s ^ uint64(c)) * 1099511628211
	}
	out := make([]byte, n)
	for i := range out {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		out[i] = byte(s)
	}
	return out
}

// checkpoint is a fixture: shard name -> tensors, plus small files.
type checkpoint struct {
	shards map[string][]tensor
	small  map[string]string
}

func (c *checkpoint) files() []devhub.SeedFile {
	wm := map[string]string{}
	var total int64
	var names []string
	for sh := range c.shards {
		names = append(names, sh)
	}
	sort.Strings(names)
	var out []devhub.SeedFile
	for _, sh := range names {
		for _, t := range c.shards[sh] {
			wm[t.name] = sh
			total += int64(len(t.data))
		}
		out = append(out, devhub.SeedFile{Path: sh, Content: bytes.NewReader(buildFile(c.shards[sh]))})
	}
	idx, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": wm}, "", "  ")
	out = append(out, devhub.SeedFile{Path: extract.IndexFile, Content: bytes.NewReader(idx)})
	for p, s := range c.small {
		out = append(out, devhub.SeedFile{Path: p, Content: strings.NewReader(s)})
	}
	return out
}

// find returns the fixture tensor called name.
func (c *checkpoint) find(name string) tensor {
	for _, ts := range c.shards {
		for _, t := range ts {
			if t.name == name {
				return t
			}
		}
	}
	panic("no tensor " + name)
}

// kimi is a 64-shard checkpoint laid out like Kimi K2.5: language layers
// in every shard, the vision tower and projector in the last two.
func kimi(salt string) *checkpoint {
	c := &checkpoint{shards: map[string][]tensor{}, small: map[string]string{
		"config.json":              `{"model_type":"kimi_k25","text_config":{"num_hidden_layers":64,"num_nextn_predict_layers":0}}`,
		"preprocessor_config.json": `{"image_processor_type":"KimiK25ImageProcessor"}`,
		"README.md":                "---\nlicense: other\nlicense_name: modified-mit\nlicense_link: LICENSE\n---\n# Kimi\n",
		"LICENSE":                  "Modified MIT License\n",
		"tokenizer_config.json":    `{}`,
	}}
	for i := 1; i <= 64; i++ {
		sh := fmt.Sprintf("model-%05d-of-00064.safetensors", i)
		var ts []tensor
		for j := 0; j < 3; j++ {
			n := fmt.Sprintf("language_model.model.layers.%d.mlp.w%d.weight", i, j)
			ts = append(ts, tensor{n, "BF16", []int64{16, 32}, noise(n, 1024)})
		}
		c.shards[sh] = ts
	}
	// Shard 63: the projector and the first half of the tower, language
	// tensors between them, as a name-sorted writer interleaves them.
	add := func(sh, name, dtype string, shape []int64, size int) {
		c.shards[sh] = append(c.shards[sh], tensor{name, dtype, shape, noise(salt+name, size)})
	}
	s63, s64 := "model-00063-of-00064.safetensors", "model-00064-of-00064.safetensors"
	add(s63, "mm_projector.proj.0.weight", "BF16", []int64{64, 64}, 8192)
	add(s63, "mm_projector.proj.0.bias", "F32", []int64{64}, 256)
	c.shards[s63] = append(c.shards[s63][2:], c.shards[s63][:2]...) // language tensors in between
	for k := 0; k < 6; k++ {
		add(s63, fmt.Sprintf("vision_tower.encoder.blocks.%d.attn.wqkv.weight", k), "BF16", []int64{32, 96}, 6144)
	}
	for k := 6; k < 12; k++ {
		add(s64, fmt.Sprintf("vision_tower.encoder.blocks.%d.attn.wqkv.weight", k), "BF16", []int64{32, 96}, 6144)
		add(s64, fmt.Sprintf("vision_tower.encoder.blocks.%d.norm.weight", k), "F32", []int64{3}, 12)
	}
	return c
}

type env struct {
	t   *testing.T
	h   *devhub.Hub
	url string
	cl  *hub.Client
	log *syncbuf.Buffer

	mu     sync.Mutex
	titles []string
}

// lastTitle is the summary of the last commit sent.
func (e *env) lastTitle() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.titles) == 0 {
		return ""
	}
	return e.titles[len(e.titles)-1]
}

func setup(t *testing.T, opts ...devhub.Option) *env {
	t.Helper()
	h, err := devhub.New(append([]devhub.Option{devhub.WithToken(token, "write:FoxlightAI/*")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, h: h, log: &syncbuf.Buffer{}}
	// Commit summaries are recorded on their way in: the local hub does
	// not list commits.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/commit/") {
			b, _ := io.ReadAll(r.Body)
			var first struct {
				Value struct {
					Summary string `json:"summary"`
				} `json:"value"`
			}
			json.NewDecoder(bytes.NewReader(b)).Decode(&first)
			e.mu.Lock()
			e.titles = append(e.titles, first.Value.Summary)
			e.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); h.Close() })
	e.url = srv.URL
	e.cl = hub.New(srv.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(e.log, f+"\n", a...) }))
	return e
}

func (e *env) seed(repo string, c *checkpoint, msg string) string {
	e.t.Helper()
	if _, err := e.h.Head(repo, "main"); err != nil {
		if err := e.h.CreateRepo(repo, devhub.RepoOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	sha, err := e.h.CommitFiles(repo, "main", msg, c.files(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return sha
}

func (e *env) visionOpts() extract.Options {
	return extract.Options{Source: e.cl, Dest: e.cl, SourceRepo: srcRepo, SidecarRepo: dstRepo,
		Selection:   extract.Selection{Kind: extract.KindVision, Prefixes: []string{"vision_tower.", "mm_projector."}},
		TargetModel: srcRepo, CatalogKey: "foxlight/kimi-k2-5-full-q4-k", Progress: e.log, ToolVersion: "test"}
}

func (e *env) publish(o extract.Options) *extract.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := extract.Publish(ctx, o)
	if err != nil {
		e.t.Fatalf("publish: %v\nlog:\n%s", err, e.log)
	}
	return r
}

// download reads a file of repo at main.
func (e *env) download(repo, path string) []byte {
	e.t.Helper()
	f, err := e.cl.Open(context.Background(), repo, "main", path, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// parsed is a safetensors file read back: tensor name -> (dtype, shape, data).
type parsed struct {
	meta    map[string]string
	tensors map[string]tensor
	hlen    int
}

func parseFile(t *testing.T, b []byte) parsed {
	t.Helper()
	n := binary.LittleEndian.Uint64(b[:8])
	if (8+n)%8 != 0 {
		t.Errorf("data region starts at %d, not 8-byte aligned", 8+n)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	p := parsed{tensors: map[string]tensor{}, hlen: int(n)}
	data := b[8+n:]
	type span struct{ b, e int64 }
	var spans []span
	for k, v := range raw {
		if k == "__metadata__" {
			json.Unmarshal(v, &p.meta)
			continue
		}
		var ti struct {
			DType string  `json:"dtype"`
			Shape []int64 `json:"shape"`
			Off   []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &ti); err != nil {
			t.Fatal(err)
		}
		p.tensors[k] = tensor{k, ti.DType, ti.Shape, data[ti.Off[0]:ti.Off[1]]}
		spans = append(spans, span{ti.Off[0], ti.Off[1]})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].b < spans[j].b })
	var at int64
	for _, s := range spans {
		if s.b != at {
			t.Errorf("data region not contiguous at %d", at)
		}
		at = s.e
	}
	if at != int64(len(data)) {
		t.Errorf("tensors cover %d of %d data bytes", at, len(data))
	}
	return p
}

func t0() context.Context { return context.Background() }
