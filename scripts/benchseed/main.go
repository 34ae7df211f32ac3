// Command benchseed fills a repo on a running local hub (skulk-weights
// devhub) with generated safetensors files for the benchmarks, streaming them
// through the ordinary upload protocol: nothing is written to local disk.
//
//	go run ./scripts/benchseed -endpoint URL -token TOKEN -repo ns/name -files 4 -size 268435456
//
// -json N adds N regular JSON files, from -json-min to -json-max bytes
// (sizes evenly spread), committed inline; -header wide|fat replaces the
// weights by files whose header is exactly safetensors.HeaderLimit bytes:
// one with as many one-element tensors as fit (wide), or -files of them
// with one tensor and a __metadata__ value that fills the rest (fat).
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
	"github.com/Foxlight-Foundation/skulk-weights/scripts/internal/seed"
)

func main() {
	endpoint := flag.String("endpoint", "", "hub URL")
	token := flag.String("token", "", "write token for the repo")
	repo := flag.String("repo", "", "owner/name to create and fill")
	files := flag.Int("files", 4, "number of safetensors files")
	size := flag.Int64("size", 256<<20, "size of each file in bytes")
	prefix := flag.String("prefix", "model", "file name prefix")
	flag.IntVar(&jsonFiles, "json", 0, "number of regular JSON files")
	flag.Int64Var(&jsonMin, "json-min", 6<<20, "size of the smallest JSON file")
	flag.Int64Var(&jsonMax, "json-max", 30<<20, "size of the largest JSON file")
	flag.StringVar(&header, "header", "", "wide or fat: one file with a header of safetensors.HeaderLimit bytes instead of -files")
	flag.Parse()
	if err := run(*endpoint, *token, *repo, *prefix, *files, *size); err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

var (
	jsonFiles        int
	jsonMin, jsonMax int64
	header           string
)

func run(endpoint, token, repo, prefix string, n int, size int64) error {
	ctx := context.Background()
	c := hub.New(endpoint, token)
	if err := c.CreateRepo(ctx, repo, false); err != nil && !errors.Is(err, hub.ErrConflict) {
		return err
	}
	type weight struct {
		path string
		size int64
		open func() (seed.Source, error)
	}
	var weights []weight
	for i := range n {
		weights = append(weights, weight{fmt.Sprintf("%s-%05d-of-%05d.safetensors", prefix, i+1, n), size, func() (seed.Source, error) {
			return safetensors.NewSizedGenerator(uint64(1000+i), size, "BF16")
		}})
	}
	switch header {
	case "":
	case "wide":
		g, err := safetensors.NewWideGenerator(7, safetensors.HeaderLimit)
		if err != nil {
			return err
		}
		weights = []weight{{prefix + "-wide-header.safetensors", g.Size(), func() (seed.Source, error) {
			return safetensors.NewWideGenerator(7, safetensors.HeaderLimit)
		}}}
	case "fat":
		// -files of them, all the same bytes: one upload, one header read
		// per path.
		b := fatHeader()
		weights = nil
		for i := range n {
			weights = append(weights, weight{fmt.Sprintf("%s-fat-header-%d.safetensors", prefix, i+1), int64(len(b)), func() (seed.Source, error) { return bytes.NewReader(b), nil }})
		}
	default:
		return fmt.Errorf("-header %q: want wide or fat", header)
	}
	var ops []hub.CommitOp
	for _, w := range weights {
		path, size, open := w.path, w.size, w.open
		oid, err := seed.UploadLFS(ctx, c, repo, size, open)
		if err != nil {
			return err
		}
		ops = append(ops, hub.CommitOp{Kind: "lfsFile", Path: path, OID: oid, Size: size})
	}
	for i := range jsonFiles {
		n := jsonMin
		if jsonFiles > 1 {
			n += (jsonMax - jsonMin) * int64(i) / int64(jsonFiles-1)
		}
		ops = append(ops, hub.CommitOp{Kind: "file", Path: fmt.Sprintf("extra/data-%03d.json", i), Size: n,
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(jsonContent(i, n)), nil }})
	}
	ops = append(ops,
		hub.CommitOp{Kind: "file", Path: "config.json", Content: []byte(`{"model_type": "moonvit"}` + "\n")},
		hub.CommitOp{Kind: "file", Path: "README.md", Content: []byte("---\nlicense: apache-2.0\n---\n# benchmark vision encoder\n")})
	info, err := c.Commit(ctx, repo, "main", hub.CommitRequest{Summary: "seed", Ops: ops})
	if err != nil {
		return err
	}
	fmt.Println(info.OID)
	return nil
}

// jsonContent is n bytes of a JSON document, generated as it is read.
func jsonContent(i int, n int64) io.Reader {
	head := fmt.Sprintf(`{"file":%d,"data":"`, i)
	body := io.LimitReader(repeat{fmt.Sprintf("%08x", i*7919)}, n-int64(len(head))-2)
	return io.MultiReader(strings.NewReader(head), body, strings.NewReader(`"}`))
}

// repeat reads its string over and over.
type repeat struct{ s string }

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.s[i%len(r.s)]
	}
	return len(p), nil
}

// fatHeader is a safetensors file whose header is exactly
// safetensors.HeaderLimit bytes, nearly all of it one __metadata__ string:
// the longest single JSON token a header can hold.
func fatHeader() []byte {
	const tensor = `,"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
	const open = `{"__metadata__":{"pad":"`
	pad := safetensors.HeaderLimit - len(open) - len(`"}`) - len(tensor)
	b := binary.LittleEndian.AppendUint64(nil, safetensors.HeaderLimit)
	b = append(b, open...)
	b = append(b, bytes.Repeat([]byte("x"), pad)...)
	b = append(b, `"}`...)
	b = append(b, tensor...)
	return append(b, 0)
}
