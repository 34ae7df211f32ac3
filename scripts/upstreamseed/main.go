// Command upstreamseed fills a repo on a running local hub (skulk-weights
// devhub) with a generated upstream checkpoint (internal/upstream: language
// shards, the vision tower and projector in the last two, an MTP layer) for
// scripts/extract-bench.sh, streaming each file twice from its generator
// (hash, then upload): nothing is written to local disk.
//
//	go run ./scripts/upstreamseed -endpoint URL -token TOKEN -repo ns/name -shards 16 -size 1073741824 -vision 1073741824
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upstream"
	"github.com/Foxlight-Foundation/skulk-weights/scripts/internal/seed"
)

func main() {
	endpoint := flag.String("endpoint", "", "hub URL")
	token := flag.String("token", "", "write token for the repo")
	repo := flag.String("repo", "", "owner/name to create and fill")
	shards := flag.Int("shards", 16, "number of shards")
	size := flag.Int64("size", 1<<30, "bytes of language tensors per shard")
	vision := flag.Int64("vision", 1<<30, "bytes of vision tensors, in the last two shards")
	flag.Parse()
	if err := seedUpstream(*endpoint, *token, *repo, upstream.Layout{Shards: *shards, LanguageBytes: *size, VisionBytes: *vision, MTP: true, Seed: 1}); err != nil {
		fmt.Fprintln(os.Stderr, "upstreamseed:", err)
		os.Exit(1)
	}
}

// seedUpstream uploads a generated checkpoint file by file, each streamed
// twice from its generator (hash, then upload), and commits it.
func seedUpstream(endpoint, token, repo string, l upstream.Layout) error {
	ctx := context.Background()
	c := hub.New(endpoint, token)
	if err := c.CreateRepo(ctx, repo, false); err != nil && !errors.Is(err, hub.ErrConflict) {
		return err
	}
	files, err := upstream.Files(l)
	if err != nil {
		return err
	}
	var ops []hub.CommitOp
	for i, f := range files {
		if f.Size < 1<<20 {
			b, err := io.ReadAll(f.Content)
			if err != nil {
				return err
			}
			ops = append(ops, hub.CommitOp{Kind: "file", Path: f.Path, Content: b})
			continue
		}
		open := func() (seed.Source, error) {
			fs, err := upstream.Files(l)
			if err != nil {
				return nil, err
			}
			src, ok := fs[i].Content.(seed.Source)
			if !ok {
				return nil, fmt.Errorf("%s cannot be read at an offset", fs[i].Path)
			}
			return src, nil
		}
		oid, err := seed.UploadLFS(ctx, c, repo, f.Size, open)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		fmt.Fprintf(os.Stderr, "seeded %s (%d bytes)\n", f.Path, f.Size)
		ops = append(ops, hub.CommitOp{Kind: "lfsFile", Path: f.Path, OID: oid, Size: f.Size})
	}
	info, err := c.Commit(ctx, repo, "main", hub.CommitRequest{Summary: "seed upstream checkpoint", Ops: ops})
	if err != nil {
		return err
	}
	fmt.Println(info.OID)
	return nil
}
