package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upstream"
)

// The upstream part of the demo: the example catalog's entry, the checkpoint
// it reads and its MTP sidecar.
const (
	demoUpstreamModel = "kimi-k2-5-upstream-full-q4-k"
	demoUpstreamRepo  = "moonshotai/Kimi-K2.5"
	demoMTPSidecar    = "FoxlightAI/kimi-k2-5-mtp"
)

// demoUpstream seeds a 64-shard checkpoint laid out like Kimi K2.5
// (language layers in every shard, the vision tower and projector in the
// last two, an MTP layer) and publishes catalog/kimi-k2-5-upstream.yaml's
// entry from it: a dry run, the extraction of both sidecars (the vision
// sidecar moves from the third-party mirror to the upstream cut, pruning
// the mirrored files), and a republish that reads nothing.
func demoUpstream(ctx context.Context, h *devhub.Hub, pubEnv Env, out io.Writer, jobs int) error {
	files, err := upstream.Files(upstream.Layout{Shards: 64, LanguageBytes: 1 << 20, VisionBytes: 8 << 20, MTP: true, Seed: 7})
	if err != nil {
		return err
	}
	var seed []devhub.SeedFile
	var total int64
	for _, f := range files {
		seed = append(seed, devhub.SeedFile{Path: f.Path, Content: f.Content})
		total += f.Size
	}
	if err := h.CreateRepo(demoUpstreamRepo, devhub.RepoOptions{}); err != nil {
		return err
	}
	if _, err := h.CommitFiles(demoUpstreamRepo, "main", "Upload Kimi K2.5", seed, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nseeded %s: a full checkpoint of 64 shards (%s): language layers in every shard, the vision tower and projector in the last two, an MTP layer\n",
		demoUpstreamRepo, mirror.HumanBytes(total))
	manifest := filepath.Join(pubEnv.Dir, "kimi-k2-5-upstream.yaml")
	if err := os.WriteFile(manifest, catalog.KimiUpstream, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "the entry of catalog/kimi-k2-5-upstream.yaml cuts both sidecars out of it by ranged reads\n\n")
	run := func(step, what string, extra ...string) error {
		fmt.Fprintf(out, "== %s: %s\n", step, what)
		before := h.Stats()
		start := time.Now()
		args := append([]string{"--manifest", manifest, "--model", demoUpstreamModel, "--jobs", fmt.Sprint(jobs)}, extra...)
		code := runCommand(ctx, publishCmd, args, pubEnv)
		after := h.Stats()
		fmt.Fprintf(out, "  hub saw: %s\n", statsDelta(before, after, time.Since(start)))
		read := after.FileBytesServed[demoUpstreamRepo] - before.FileBytesServed[demoUpstreamRepo]
		fmt.Fprintf(out, "  read from %s: %s of its %s; MTP sidecar commits %d\n\n", demoUpstreamRepo, mirror.HumanBytes(read), mirror.HumanBytes(total),
			after.Commits[demoMTPSidecar]-before.Commits[demoMTPSidecar])
		if code != ExitOK {
			return fmt.Errorf("%s: publish exited %d", step, code)
		}
		return nil
	}
	if err := run("5/7", "dry run: the index and the headers of the shards that matter, nothing else", "--dry-run"); err != nil {
		return err
	}
	if err := run("6/7", "extract the MTP sidecar (BF16) and the vision sidecar (bytes unchanged)"); err != nil {
		return err
	}
	return run("7/7", "republish with nothing changed upstream")
}
