// Command benchseed fills a repo on a running local hub (skulk-weights
// devhub) with generated safetensors files for the benchmarks, streaming them
// through the ordinary upload protocol: nothing is written to local disk.
//
//	go run ./scripts/benchseed -endpoint URL -token TOKEN -repo ns/name -files 4 -size 268435456
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

func main() {
	endpoint := flag.String("endpoint", "", "hub URL")
	token := flag.String("token", "", "write token for the repo")
	repo := flag.String("repo", "", "owner/name to create and fill")
	files := flag.Int("files", 4, "number of safetensors files")
	size := flag.Int64("size", 256<<20, "size of each file in bytes")
	prefix := flag.String("prefix", "model", "file name prefix")
	flag.Parse()
	if err := run(*endpoint, *token, *repo, *prefix, *files, *size); err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

func run(endpoint, token, repo, prefix string, n int, size int64) error {
	ctx := context.Background()
	c := hub.New(endpoint, token)
	if err := c.CreateRepo(ctx, repo, false); err != nil && !errors.Is(err, hub.ErrConflict) {
		return err
	}
	var ops []hub.CommitOp
	for i := range n {
		path := fmt.Sprintf("%s-%05d-of-%05d.safetensors", prefix, i+1, n)
		open := func() (*safetensors.Generator, error) {
			return safetensors.NewSizedGenerator(uint64(1000+i), size, "BF16")
		}
		g, err := open()
		if err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.Copy(h, g); err != nil {
			return err
		}
		oid := hex.EncodeToString(h.Sum(nil))
		objs, err := c.LFSBatch(ctx, repo, "main", []hub.LFSObject{{OID: oid, Size: size}})
		if err != nil {
			return err
		}
		obj := &objs[0]
		if obj.NeedsUpload() {
			parts, multi, err := obj.Multipart()
			if err != nil {
				return err
			}
			if !multi {
				err = c.UploadBasic(ctx, obj.Actions.Upload, size, func(context.Context) (io.ReadCloser, error) {
					g, err := open()
					return io.NopCloser(g), err
				})
			} else {
				var etags []string
				for _, p := range parts {
					etag, err := c.UploadPart(ctx, p, func(context.Context) (io.ReadCloser, error) {
						g, err := open()
						if err != nil {
							return nil, err
						}
						return io.NopCloser(io.NewSectionReader(g, p.Offset, p.Size)), nil
					})
					if err != nil {
						return err
					}
					etags = append(etags, etag)
				}
				err = c.CompleteMultipart(ctx, obj.Actions.Upload, oid, etags)
			}
			if err != nil {
				return err
			}
		}
		ops = append(ops, hub.CommitOp{Kind: "lfsFile", Path: path, OID: oid, Size: size})
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
