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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upstream"
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
		open := func() (io.ReadSeeker, error) {
			fs, err := upstream.Files(l)
			if err != nil {
				return nil, err
			}
			return fs[i].Content.(io.ReadSeeker), nil
		}
		oid, err := uploadLFS(ctx, c, repo, f.Size, open)
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

func uploadLFS(ctx context.Context, c *hub.Client, repo string, size int64, open func() (io.ReadSeeker, error)) (string, error) {
	g, err := open()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, g); err != nil {
		return "", err
	}
	oid := hex.EncodeToString(h.Sum(nil))
	objs, err := c.LFSBatch(ctx, repo, "main", []hub.LFSObject{{OID: oid, Size: size}})
	if err != nil {
		return "", err
	}
	obj := &objs[0]
	if !obj.NeedsUpload() {
		return oid, nil
	}
	parts, multi, err := obj.Multipart()
	if err != nil {
		return "", err
	}
	if !multi {
		return oid, c.UploadBasic(ctx, obj.Actions.Upload, size, func(context.Context) (io.ReadCloser, error) {
			g, err := open()
			return io.NopCloser(g), err
		})
	}
	var etags []string
	for _, p := range parts {
		etag, err := c.UploadPart(ctx, p, func(context.Context) (io.ReadCloser, error) {
			g, err := open()
			if err != nil {
				return nil, err
			}
			if _, err := g.Seek(p.Offset, io.SeekStart); err != nil {
				return nil, err
			}
			return io.NopCloser(io.LimitReader(g, p.Size)), nil
		})
		if err != nil {
			return "", err
		}
		etags = append(etags, etag)
	}
	return oid, c.CompleteMultipart(ctx, obj.Actions.Upload, oid, etags)
}
