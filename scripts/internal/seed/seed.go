// Package seed is what the scripts that fill a local hub with generated
// files share: streaming a file into a repo's LFS storage through the
// ordinary upload protocol, nothing written to local disk.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// Source is a generated file's bytes, read from the start or at any offset.
type Source interface {
	io.Reader
	io.ReaderAt
}

// UploadLFS hashes the size bytes open yields, asks repo's LFS storage for
// them and, unless it already holds them, uploads them (in parts when the
// storage asks for parts), opening the file afresh for each pass. It
// returns the bytes' sha256, the oid a commit names them by.
func UploadLFS(ctx context.Context, c *hub.Client, repo string, size int64, open func() (Source, error)) (string, error) {
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
			return io.NopCloser(io.NewSectionReader(g, p.Offset, p.Size)), nil
		})
		if err != nil {
			return "", err
		}
		etags = append(etags, etag)
	}
	return oid, c.CompleteMultipart(ctx, obj.Actions.Upload, oid, etags)
}
