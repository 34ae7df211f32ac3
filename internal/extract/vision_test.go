package extract_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
)

// untouched counts requests for the files of shards 1-62, which hold no
// selected tensor.
func untouched(e *env) *atomic.Int64 {
	var n atomic.Int64
	for _, glob := range []string{
		"/" + srcRepo + "/resolve/*/model-000[0-5]?-of-00064.safetensors",
		"/" + srcRepo + "/resolve/*/model-0006[0-2]-of-00064.safetensors",
	} {
		e.h.AddFault(devhub.Fault{Path: glob, Kind: devhub.FaultNone, Before: func() { n.Add(1) }})
	}
	return &n
}

func TestVisionFromUpstream(t *testing.T) {
	e := setup(t)
	c := kimi("v1")
	sha := e.seed(srcRepo, c, "upload Kimi")
	reads := untouched(e)

	before := e.h.Stats()
	res := e.publish(e.visionOpts())
	after := e.h.Stats()

	// The sidecar's tensors are the source's, byte for byte.
	got := parseFile(t, e.download(dstRepo, extract.VisionFile))
	var want []string
	var selected int64
	for _, ts := range c.shards {
		for _, tt := range ts {
			if strings.HasPrefix(tt.name, "vision_tower.") || strings.HasPrefix(tt.name, "mm_projector.") {
				want = append(want, tt.name)
				selected += int64(len(tt.data))
			}
		}
	}
	if len(got.tensors) != len(want) {
		t.Fatalf("sidecar has %d tensors, want %d", len(got.tensors), len(want))
	}
	for _, n := range want {
		src, out := c.find(n), got.tensors[n]
		if out.dtype != src.dtype || fmt.Sprint(out.shape) != fmt.Sprint(src.shape) || !bytes.Equal(out.data, src.data) {
			t.Errorf("%s: got %s %v (%d bytes), want %s %v (%d bytes), same bytes %v", n, out.dtype, out.shape, len(out.data), src.dtype, src.shape, len(src.data), bytes.Equal(out.data, src.data))
		}
	}
	if got.meta["skulk_weights.sha"] != sha || got.meta["skulk_weights.source"] != srcRepo {
		t.Errorf("metadata %v does not name %s@%s", got.meta, srcRepo, sha)
	}

	// Bytes read: the index, configs, two headers, and twice the selected
	// tensors; never a byte of the 62 other shards.
	if n := reads.Load(); n != 0 {
		t.Errorf("%d requests for shards holding no selected tensor", n)
	}
	served := after.FileBytesServed[srcRepo] - before.FileBytesServed[srcRepo]
	if served != res.BytesRead {
		t.Errorf("hub served %d bytes of %s, the result says %d were read", served, srcRepo, res.BytesRead)
	}
	if res.Plan.SelectedBytes != selected {
		t.Errorf("plan selects %d bytes, fixture has %d", res.Plan.SelectedBytes, selected)
	}
	if bound := 2*selected + res.Plan.HeaderBytes + int64(len(c.small["config.json"])+len(c.small["preprocessor_config.json"])); res.BytesRead > bound {
		t.Errorf("read %d bytes, bound 2 x %d selected + %d headers = %d", res.BytesRead, selected, res.Plan.HeaderBytes, bound)
	}
	if res.Plan.HeaderBytes > 40000 || len(res.Plan.Shards) != 2 {
		t.Errorf("header bytes %d over %d shards", res.Plan.HeaderBytes, len(res.Plan.Shards))
	}
	if after.Commits[dstRepo]-before.Commits[dstRepo] != 2 { // the repo's initial commit and ours
		t.Errorf("commits on the sidecar: %d", after.Commits[dstRepo]-before.Commits[dstRepo])
	}
	if !strings.HasPrefix(e.lastTitle(), "Add vision sidecar from "+srcRepo+"@"+sha) {
		t.Errorf("commit title %q", e.lastTitle())
	}

	// The card records where every tensor came from, re-checkable.
	readme := e.download(dstRepo, "README.md")
	fm, err := card.FrontMatter(readme)
	if err != nil {
		t.Fatal(err)
	}
	fox := fm["foxlight"].(map[string]any)
	if fox["artifact_type"] != "vision-sidecar" || fox["source_revision"] != sha || fm["license"] != "other" {
		t.Errorf("card front matter: %v", fm)
	}
	prov := fox["extraction"].(map[string]any)["tensors"].([]any)
	if len(prov) != len(want) {
		t.Fatalf("card lists %d tensors", len(prov))
	}
	for _, it := range prov {
		m := it.(map[string]any)
		shard := m["shard"].(string)
		off := m["offsets"].([]any)
		b, en := off[0].(int), off[1].(int)
		raw := e.download(srcRepo, shard)[b:en]
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) != m["sha256"] || !bytes.Equal(raw, c.find(m["name"].(string)).data) {
			t.Errorf("%s: provenance does not re-check against %s[%d:%d]", m["name"], shard, b, en)
		}
	}
	// The configs came along, unchanged; the tokenizer did not.
	if string(e.download(dstRepo, "preprocessor_config.json")) != c.small["preprocessor_config.json"] {
		t.Error("preprocessor_config.json differs")
	}
	if e.has(dstRepo, "tokenizer_config.json") {
		t.Error("tokenizer_config.json was copied")
	}

	// Again: nothing read, nothing committed.
	e.h.ClearFaults()
	before = e.h.Stats()
	res = e.publish(e.visionOpts())
	after = e.h.Stats()
	if !res.UpToDate || res.Commit != "" || res.BytesRead != 0 || after.FileBytesServed[srcRepo] != before.FileBytesServed[srcRepo] || after.Commits[dstRepo] != before.Commits[dstRepo] {
		t.Errorf("republish: up to date %v, commit %q, read %d (hub served %d), commits %d", res.UpToDate, res.Commit, res.BytesRead,
			after.FileBytesServed[srcRepo]-before.FileBytesServed[srcRepo], after.Commits[dstRepo]-before.Commits[dstRepo])
	}

	// An upstream change to a shard holding no selected tensor: no commit.
	s5 := "model-00005-of-00064.safetensors"
	c.shards[s5][0].data = noise("changed", len(c.shards[s5][0].data))
	e.seed(srcRepo, c, "retrain layer 5")
	before = e.h.Stats()
	res = e.publish(e.visionOpts())
	after = e.h.Stats()
	if !res.UpToDate || after.Commits[dstRepo] != before.Commits[dstRepo] || res.BytesRead != 0 {
		t.Errorf("unrelated change: up to date %v, commits %d, read %d", res.UpToDate, after.Commits[dstRepo]-before.Commits[dstRepo], res.BytesRead)
	}

	// A change to a selected tensor: one commit with the new bytes.
	s64 := "model-00064-of-00064.safetensors"
	for i := range c.shards[s64] {
		if c.shards[s64][i].name == "vision_tower.encoder.blocks.7.attn.wqkv.weight" {
			c.shards[s64][i].data = noise("new vision", len(c.shards[s64][i].data))
		}
	}
	sha2 := e.seed(srcRepo, c, "fix vision tower")
	before = e.h.Stats()
	res = e.publish(e.visionOpts())
	after = e.h.Stats()
	if res.UpToDate || after.Commits[dstRepo]-before.Commits[dstRepo] != 1 || res.Plan.SourceSHA != sha2 {
		t.Errorf("selected change: up to date %v, commits %d", res.UpToDate, after.Commits[dstRepo]-before.Commits[dstRepo])
	}
	got = parseFile(t, e.download(dstRepo, extract.VisionFile))
	if !bytes.Equal(got.tensors["vision_tower.encoder.blocks.7.attn.wqkv.weight"].data, c.find("vision_tower.encoder.blocks.7.attn.wqkv.weight").data) {
		t.Error("the changed tensor was not republished")
	}
}

func (e *env) has(repo, path string) bool {
	tree, err := e.cl.ListTree(t0(), repo, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range tree {
		if f.Path == path {
			return true
		}
	}
	return false
}

// TestRefusals: a checkpoint that lies, or a selection that cannot apply,
// stops the run before anything is written.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(files []devhub.SeedFile) []devhub.SeedFile
		sel    []string
		want   string
	}{
		{"index leaves the repo", func(fs []devhub.SeedFile) []devhub.SeedFile {
			return replace(fs, extract.IndexFile, `{"weight_map":{"vision_tower.a":"../other-org/model.safetensors"}}`)
		}, nil, `"../other-org/model.safetensors": path leaves the repository`},
		{"index names a missing shard", func(fs []devhub.SeedFile) []devhub.SeedFile {
			return replace(fs, extract.IndexFile, `{"weight_map":{"vision_tower.a":"model-00099-of-00099.safetensors","x":"model-00001-of-00064.safetensors"}}`)
		}, nil, "names shard model-00099-of-00099.safetensors, which"},
		{"header lies about a size", func(fs []devhub.SeedFile) []devhub.SeedFile {
			return replaceBytes(fs, "model-00064-of-00064.safetensors", buildFile([]tensor{
				{"vision_tower.encoder.blocks.6.attn.wqkv.weight", "BF16", []int64{32, 96}, noise("x", 6000)}}))
		}, nil, "but shape [32 96] of BF16 needs 6144"},
		{"index says a shard holds a tensor it does not", func(fs []devhub.SeedFile) []devhub.SeedFile {
			return replaceBytes(fs, "model-00064-of-00064.safetensors", buildFile([]tensor{{"other", "BF16", []int64{1}, noise("x", 2)}}))
		}, nil, "has no such tensor"},
		{"prefix matching nothing", nil, []string{"vision_tower.", "multi_modal_projector."}, `prefix "multi_modal_projector." matches no tensor`},
		{"whole model", nil, []string{"vision_tower.", "mm_projector.", "language_model."}, "that is the whole model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			files := kimi("v1").files()
			if tc.mutate != nil {
				files = tc.mutate(files)
			}
			if err := e.h.CreateRepo(srcRepo, devhub.RepoOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.h.CommitFiles(srcRepo, "main", "up", files, nil); err != nil {
				t.Fatal(err)
			}
			o := e.visionOpts()
			if tc.sel != nil {
				o.Selection.Prefixes = tc.sel
			}
			_, err := extract.Publish(t0(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if _, err := e.h.Head(dstRepo, "main"); err == nil {
				t.Error("the sidecar was created")
			}
		})
	}
}

func replace(fs []devhub.SeedFile, path, content string) []devhub.SeedFile {
	return replaceBytes(fs, path, []byte(content))
}

func replaceBytes(fs []devhub.SeedFile, path string, b []byte) []devhub.SeedFile {
	for i := range fs {
		if fs[i].Path == path {
			fs[i].Content = bytes.NewReader(b)
		}
	}
	return fs
}

// TestShardedMultipartResumed: an output over the shard size is split like
// save_pretrained splits it, files over the Hub's multipart threshold go up
// part by part, and ranged reads cut mid-body resume; the tensors are still
// the source's, byte for byte.
func TestShardedMultipartResumed(t *testing.T) {
	e := setup(t, devhub.WithLFSThreshold(1024), devhub.WithMultipart(20<<10, 8<<10))
	c := kimi("v1")
	e.seed(srcRepo, c, "upload")
	// Every third storage read is cut after 5,000 bytes.
	e.h.AddFault(devhub.Fault{Route: "blob", Kind: devhub.FaultCutBody, AfterBytes: 5000, Times: 3})
	o := e.visionOpts()
	o.MaxShardSize = 40_000
	res := e.publish(o)
	if len(res.Plan.Files) < 2 {
		t.Fatalf("%d output files, want the 74 KiB split at 40 kB", len(res.Plan.Files))
	}
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(e.download(dstRepo, extract.IndexFile), &idx); err != nil {
		t.Fatal(err)
	}
	seen := 0
	var total int64
	for i, f := range res.Plan.Files {
		if want := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(res.Plan.Files)); f.Path != want {
			t.Errorf("file %d is %s, want %s", i, f.Path, want)
		}
		got := parseFile(t, e.download(dstRepo, f.Path))
		for n, tt := range got.tensors {
			seen++
			total += int64(len(tt.data))
			if idx.WeightMap[n] != f.Path || !bytes.Equal(tt.data, c.find(n).data) {
				t.Errorf("%s in %s: index says %s, same bytes %v", n, f.Path, idx.WeightMap[n], bytes.Equal(tt.data, c.find(n).data))
			}
		}
	}
	if seen != len(idx.WeightMap) || idx.Metadata["total_size"] != total {
		t.Errorf("%d tensors in the files, %d in the index; total_size %d, want %d", seen, len(idx.WeightMap), idx.Metadata["total_size"], total)
	}
	if e.h.Stats().Requests["storage-part"] == 0 {
		t.Error("no multipart upload")
	}
	if !strings.Contains(e.log.String(), "resuming GET") {
		t.Error("no ranged read was resumed")
	}
}

// TestCollisionRefused: a sidecar the catalog also names as another repo is
// refused before any request.
func TestCollisionRefused(t *testing.T) {
	e := setup(t)
	o := e.visionOpts()
	o.Entry = &catalog.Entry{Key: "k", SourceModel: srcRepo, HFRepo: dstRepo, VisionSourceRepo: srcRepo, VisionSidecarRepo: dstRepo}
	before := e.h.Stats()
	_, err := extract.Publish(t0(), o)
	var ce *catalog.CollisionError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("got %v", err)
	}
	after := e.h.Stats()
	n := 0
	for _, v := range after.Requests {
		n += v
	}
	for _, v := range before.Requests {
		n -= v
	}
	if n != 0 {
		t.Errorf("%d requests before refusing", n)
	}
}

// TestSidecarMovesBeforeCommit: someone commits to the sidecar between the
// plan and the commit; the parentCommit guard refuses the stale commit,
// the run plans again and commits on top, keeping the other file.
func TestSidecarMovesBeforeCommit(t *testing.T) {
	e := setup(t)
	c := kimi("v1")
	e.seed(srcRepo, c, "upload")
	moved := false
	e.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Times: 1, Before: func() {
		if _, err := e.h.CommitFiles(dstRepo, "main", "someone else", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader("hi")}}, nil); err == nil {
			moved = true
		}
	}})
	res := e.publish(e.visionOpts())
	if !moved || res.Commit == "" || !strings.Contains(e.log.String(), "moved since the plan; planning again") {
		t.Fatalf("moved %v, commit %q\n%s", moved, res.Commit, e.log)
	}
	if !e.has(dstRepo, "NOTES.md") || !e.has(dstRepo, extract.VisionFile) {
		t.Error("the commit lost a file")
	}
	if res.BytesRead > 2*res.Plan.SelectedBytes+res.Plan.HeaderBytes+200 {
		t.Errorf("the re-plan read the source again: %d bytes", res.BytesRead)
	}
}

// TestScratchReadsOnceAndCleansUp: with a scratch directory the source is
// read once, and nothing is left in the directory afterwards.
func TestScratchReadsOnceAndCleansUp(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	o := e.visionOpts()
	o.Scratch = t.TempDir()
	res := e.publish(o)
	cfg := int64(len(kimi("v1").small["config.json"]) + len(kimi("v1").small["preprocessor_config.json"]))
	if res.BytesRead != res.Plan.SelectedBytes+res.Plan.HeaderBytes+cfg {
		t.Errorf("read %d bytes, want once %d selected + %d headers + %d configs", res.BytesRead, res.Plan.SelectedBytes, res.Plan.HeaderBytes, cfg)
	}
	left, _ := os.ReadDir(o.Scratch)
	if len(left) != 0 {
		t.Errorf("scratch holds %v after the run", left)
	}
}

// TestSelectionOverMaxBytes: a selection larger than the bound is refused
// after the headers, before any tensor byte is read or anything written.
func TestSelectionOverMaxBytes(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	o := e.visionOpts()
	o.MaxBytes = 10_000
	before := e.h.Stats().FileBytesServed[srcRepo]
	_, err := extract.Publish(t0(), o)
	if !errors.Is(err, extract.ErrTooLarge) || !strings.Contains(err.Error(), "over the 9.8 KiB limit (--max-bytes)") {
		t.Fatalf("got %v", err)
	}
	if read := e.h.Stats().FileBytesServed[srcRepo] - before; read > 40_000 {
		t.Errorf("read %d bytes before refusing", read)
	}
	if _, err := e.h.Head(dstRepo, "main"); err == nil {
		t.Error("the sidecar was created")
	}
}

// TestSourceChangingBetweenPassesAborts: bytes served differently in the
// upload pass than in the hash pass stop the run before the commit, and the
// upload is not retried against the changed bytes.
func TestSourceChangingBetweenPassesAborts(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	// Once the hash pass is over (the LFS batch comes next), one storage
	// read has a byte flipped.
	e.h.AddFault(devhub.Fault{Route: "lfs-batch", Kind: devhub.FaultNone, Times: 1, Before: func() {
		e.h.AddFault(devhub.Fault{Route: "blob", Kind: devhub.FaultFlipByte, AfterBytes: 100, Times: 1})
	}})
	_, err := extract.Publish(t0(), e.visionOpts())
	if !errors.Is(err, extract.ErrChanged) || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("got %v\n%s", err, e.log)
	}
	if n := e.h.Stats().Commits[dstRepo]; n != 1 {
		t.Errorf("%d commits on the sidecar, want only its initial one", n)
	}
	if n := e.h.Stats().Requests["storage-put"]; n > 1 {
		t.Errorf("%d uploads: the changed bytes were retried", n)
	}
}

// TestCommitCutIsSentAgain: a commit whose body was cut before the Hub read
// it whole landed nothing; the run reads the head (the client cannot tell a
// cut body from a lost answer), sends it again and commits once.
func TestCommitCutIsSentAgain(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	e.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultCutBody, AfterBytes: 300, Times: 1})
	res := e.publish(e.visionOpts())
	if res.Commit == "" || e.h.Stats().Commits[dstRepo] != 2 {
		t.Fatalf("commit %q, commits %d\n%s", res.Commit, e.h.Stats().Commits[dstRepo], e.log)
	}
	if l := e.log.String(); !strings.Contains(l, "not sent whole") && !strings.Contains(l, "reading the head to see whether it landed") {
		t.Errorf("no resend logged:\n%s", e.log)
	}
}
