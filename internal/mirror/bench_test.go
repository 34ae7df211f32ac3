package mirror_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// BenchmarkMirror mirrors four 64 MiB safetensors files (multipart, 16 MiB
// parts, --jobs 4) through an in-process devhub into a fresh sidecar per
// iteration, and in the same iteration downloads the same bytes plainly
// (GET, follow the redirect, discard) from the same hub. ns/op is the
// mirror alone; download-ns/op is the baseline and mirror/download their
// ratio. Set TMPDIR to a tmpfs to keep the disk out of the hub's side.
func BenchmarkMirror(b *testing.B) {
	const files, size = 4, 64 << 20
	h, err := devhub.New(devhub.WithToken(token, "write:FoxlightAI/*,write:third-party/*"))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(func() { srv.Close(); h.Close() })
	if err := h.CreateRepo(srcRepo, devhub.RepoOptions{}); err != nil {
		b.Fatal(err)
	}
	var seedFiles []devhub.SeedFile
	var paths []string
	for i := range files {
		g, err := safetensors.NewSizedGenerator(uint64(i+1), size, "BF16")
		if err != nil {
			b.Fatal(err)
		}
		p := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, files)
		paths = append(paths, p)
		seedFiles = append(seedFiles, devhub.SeedFile{Path: p, Content: g})
	}
	if _, err := h.CommitFiles(srcRepo, "main", "seed", seedFiles, nil); err != nil {
		b.Fatal(err)
	}
	cl := hub.New(srv.URL, token)
	download := func() {
		for _, p := range paths {
			resp, err := http.Get(srv.URL + "/" + srcRepo + "/resolve/main/" + p)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("downloaded %d bytes of %s: %v", n, p, err)
			}
		}
	}
	ctx := context.Background()
	var down, mir time.Duration
	b.SetBytes(files * size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t0 := time.Now()
		download()
		down += time.Since(t0)
		b.StartTimer()
		t0 = time.Now()
		res, err := mirror.Publish(ctx, mirror.Options{
			Entry: &catalog.Entry{Key: "bench", SourceModel: "moonshotai/Kimi-K2.5", VisionSourceRepo: srcRepo,
				VisionSidecarRepo: fmt.Sprintf("FoxlightAI/bench-%d", i), Source: &catalog.Source{Namespace: "foxlight"}},
			Source: cl, Dest: cl, Jobs: 4, Collection: "none", ToolVersion: "bench",
		})
		mir += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if res.BytesMoved < files*size {
			b.Fatalf("moved %d bytes, want %d", res.BytesMoved, files*size)
		}
	}
	b.ReportMetric(float64(down.Nanoseconds())/float64(b.N), "download-ns/op")
	b.ReportMetric(mir.Seconds()/down.Seconds(), "mirror/download")
}
