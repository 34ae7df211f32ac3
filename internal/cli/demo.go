package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

var demoCmd = &command{
	name:    "demo",
	summary: "run the whole vision-sidecar flow against an in-process local hub",
	about: `
Run the whole vision-sidecar flow offline: start a local Hub on loopback,
seed a third-party vision repo (third-party/kimi-k2-5-vision) with generated
safetensors shards, a config and a license, then publish the built-in entry
foxlight/kimi-k2-5-full-q4-k four times through HF_ENDPOINT:

  1. first mirror           every file is copied, the card written, one commit
  2. republish              nothing changed: no commit, no weight bytes moved
  3. upstream replaces a shard   only that shard is copied
  4. upstream removes a shard    the sidecar prunes it

Then it seeds a full 64-shard checkpoint laid out like moonshotai/Kimi-K2.5
and publishes catalog/kimi-k2-5-upstream.yaml's entry from it:

  5. dry run                only the index and two headers are read
  6. extraction             the MTP head (BF16) and the vision tensors, cut out
                            by ranged reads; the mirrored files are pruned
  7. republish              nothing read, nothing committed

Each step prints the publish summary and what the Hub saw (requests, bytes,
commits); at the end the demo prints the model card it committed. With
--keep the hub stays up afterwards, and the demo prints its URL and a token,
so you can browse what it made (or publish more) until Ctrl-C. Nothing
leaves the machine.
`,
	setup: func(fs *flag.FlagSet) runner {
		jobs := fs.Int("jobs", defaultJobs, "files or parts copied in parallel")
		keep := fs.Bool("keep", false, "keep the local hub running after the demo, until Ctrl-C")
		addr := fs.String("addr", "127.0.0.1:0", "the local hub listens on `HOST:PORT` (port 0 picks a free port)")
		return func(ctx context.Context, pos []string, env Env) int {
			if len(pos) > 0 {
				return unexpectedArg(env, "demo", pos[0])
			}
			if *jobs < 1 {
				return usageErr(env, "demo", "", "--jobs must be at least 1")
			}
			if err := demo(ctx, demoOptions{jobs: *jobs, keep: *keep, addr: *addr}, env); err != nil {
				fmt.Fprintf(env.Stderr, "skulk-weights demo: %v\n", err)
				return ExitFailure
			}
			return ExitOK
		}
	},
}

// demoModel is the built-in catalog entry the demo publishes.
const demoModel = "foxlight/kimi-k2-5-full-q4-k"

// demoSource is the vision source repo that entry names.
const demoSource = "third-party/kimi-k2-5-vision"

// demoSidecar is the sidecar that entry names.
const demoSidecar = "FoxlightAI/kimi-k2-5-vision"

type demoOptions struct {
	jobs int
	keep bool
	addr string
}

func demo(ctx context.Context, o demoOptions, env Env) error {
	token := randomToken("hf_demo_")
	h, err := devhub.New(
		devhub.WithToken(token, "write:FoxlightAI/*"),
		// Small thresholds so a few MiB exercise every transfer path.
		devhub.WithMultipart(24<<20, 8<<20),
	)
	if err != nil {
		return err
	}
	defer h.Close()
	srv, endpoint, errc, err := serveHub(h, o.addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	out := env.Stdout
	fmt.Fprintf(out, "local hub: %s (in-process, loopback only)\n", endpoint)

	// The third party's vision repo: three shards, an index, a config, a
	// license file and a card declaring the license.
	if err := h.CreateRepo(demoSource, devhub.RepoOptions{}); err != nil {
		return err
	}
	shards := []demoShard{
		{"vision_tower-00001-of-00002.safetensors", 40 << 20, 1},
		{"vision_tower-00002-of-00002.safetensors", 12 << 20, 2},
		{"mm_projector.safetensors", 6 << 20, 3},
	}
	if _, err := seedDemo(h, "Add MoonViT vision encoder weights", shards, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %s: %d safetensors shards (%s), index, config, LICENSE, card (license: other / modified-mit)\n\n",
		demoSource, len(shards), mirror.HumanBytes(totalSize(shards)))

	dir, err := os.MkdirTemp("", "skulk-weights-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pubEnv := Env{
		Stdin: strings.NewReader(""), Stdout: &indent{w: out}, Stderr: &indent{w: env.Stderr, skip: planLine}, Dir: dir,
		Getenv: func(k string) string {
			switch k {
			case "HF_ENDPOINT":
				return endpoint
			case "HF_TOKEN":
				return token
			}
			return ""
		},
	}
	publish := func(step, what string) error {
		fmt.Fprintf(out, "== %s: %s\n", step, what)
		before := h.Stats()
		start := time.Now()
		code := runCommand(ctx, publishCmd, []string{"--model", demoModel, "--artifact", "vision", "--jobs", fmt.Sprint(o.jobs)}, pubEnv)
		after := h.Stats()
		fmt.Fprintf(out, "  hub saw: %s\n\n", statsDelta(before, after, time.Since(start)))
		if code != ExitOK {
			return fmt.Errorf("%s: publish exited %d", step, code)
		}
		return nil
	}
	if err := publish("1/7", "first mirror of "+demoSource+" into "+demoSidecar); err != nil {
		return err
	}
	if err := publish("2/7", "republish with nothing changed upstream"); err != nil {
		return err
	}
	shards[1].seed = 22 // same size, new bytes
	sha, err := seedDemo(h, "Retrain the second vision tower shard", shards[1:2], nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "upstream: %s replaced %s (now at %s)\n", demoSource, shards[1].path, sha[:12])
	if err := publish("3/7", "republish after one shard was replaced"); err != nil {
		return err
	}
	sha, err = seedDemo(h, "Fold the projector into the tower", nil, []string{shards[2].path})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "upstream: %s removed %s (now at %s)\n", demoSource, shards[2].path, sha[:12])
	if err := publish("4/7", "republish after one shard was removed"); err != nil {
		return err
	}
	card, err := fetchCard(ctx, endpoint, demoSidecar)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "== the model card the demo committed (%s/%s/blob/main/README.md)\n", endpoint, demoSidecar)
	(&indent{w: out}).Write([]byte(card))
	fmt.Fprintln(out)
	if err := demoUpstream(ctx, h, pubEnv, out, o.jobs); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo complete: the sidecar first mirrored a third party's copy byte for byte, then was cut straight out of the upstream checkpoint with the MTP sidecar, each with its card and collection.")
	if !o.keep {
		return nil
	}
	fmt.Fprintf(out, "\nThe local hub keeps running until Ctrl-C. To look around or publish more:\n\n")
	fmt.Fprintf(out, "  export HF_ENDPOINT=%s HF_TOKEN=%s\n", endpoint, token)
	fmt.Fprintf(out, "  curl -s $HF_ENDPOINT/api/models/%s\n", demoSidecar)
	fmt.Fprintf(out, "  curl -s $HF_ENDPOINT/%s/raw/main/README.md\n", demoSidecar)
	fmt.Fprintf(out, "  curl -s \"$HF_ENDPOINT/api/collections?owner=FoxlightAI\"\n")
	fmt.Fprintf(out, "  skulk-weights publish --model %s --artifact vision\n", demoModel)
	if code := serveUntilDone(ctx, srv, errc, "demo", env); code != ExitOK {
		return errors.New("the local hub stopped with an error")
	}
	return nil
}

// fetchCard reads the sidecar's README.md from the hub at endpoint.
func fetchCard(ctx context.Context, endpoint, repo string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/"+repo+"/raw/main/README.md", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("reading the sidecar's card: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("reading the sidecar's card: %s %v", resp.Status, err)
	}
	return string(b), nil
}

type demoShard struct {
	path string
	size int64
	seed uint64
}

func totalSize(ss []demoShard) int64 {
	var n int64
	for _, s := range ss {
		n += s.size
	}
	return n
}

// seedDemo commits shards (generated, streamed) and the small files to the
// demo source; on the first call it also writes the config, card, license
// and index.
func seedDemo(h *devhub.Hub, summary string, shards []demoShard, deletes []string) (string, error) {
	var files []devhub.SeedFile
	first := len(shards) == 3
	for _, s := range shards {
		g, err := safetensors.NewSizedGenerator(s.seed, s.size, "BF16")
		if err != nil {
			return "", err
		}
		files = append(files, devhub.SeedFile{Path: s.path, Content: g})
	}
	if first {
		files = append(files,
			devhub.SeedFile{Path: "config.json", Content: strings.NewReader(`{"model_type": "moonvit", "hidden_size": 1152, "num_hidden_layers": 27, "num_attention_heads": 16, "patch_size": 14}` + "\n")},
			devhub.SeedFile{Path: "model.safetensors.index.json", Content: strings.NewReader(`{"metadata": {}, "weight_map": {}}` + "\n")},
			devhub.SeedFile{Path: "LICENSE", Content: strings.NewReader("Modified MIT License\n\nCopyright (c) Moonshot AI\n")},
			devhub.SeedFile{Path: "README.md", Content: bytes.NewReader([]byte("---\nlicense: other\nlicense_name: modified-mit\nlicense_link: LICENSE\n---\n# Kimi K2.5 vision encoder\n\nThe MoonViT tower and projector, extracted.\n"))},
		)
	}
	return h.CommitFiles(demoSource, "main", summary, files, deletes)
}

// statsDelta says what the Hub served between two snapshots.
func statsDelta(a, b devhub.Stats, d time.Duration) string {
	reqs := 0
	var routes []string
	for r, n := range b.Requests {
		if k := n - a.Requests[r]; k > 0 {
			reqs += k
			routes = append(routes, fmt.Sprintf("%s %d", r, k))
		}
	}
	sort.Strings(routes)
	commits := b.Commits[demoSidecar] - a.Commits[demoSidecar]
	return fmt.Sprintf("%d requests, %s received, %s served, %d sidecar commits, %s\n  routes: %s",
		reqs, mirror.HumanBytes(b.BytesReceived-a.BytesReceived), mirror.HumanBytes(b.BytesServed-a.BytesServed),
		commits, d.Round(time.Millisecond), strings.Join(routes, ", "))
}

// planLine matches the publish plan's header lines, which repeat the same
// entry facts at every step of the demo.
func planLine(line string) bool {
	k, _, ok := strings.Cut(line, ":")
	switch k {
	case "model key", "tier", "artifact", "source model", "output path", "target repo",
		"vindex collection", "collection", "publish slices", "force overwrite":
		return ok
	}
	return false
}

// indent prefixes every line written through it with two spaces and drops
// whole lines that skip matches. Writes are assumed to end on line breaks.
type indent struct {
	w    io.Writer
	skip func(string) bool
}

func (p *indent) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" || (p.skip != nil && p.skip(strings.TrimSpace(line))) {
			continue
		}
		buf.WriteString("  " + line)
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
