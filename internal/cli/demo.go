package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

const demoUsage = `usage: skulk-weights demo [--jobs N]

Run the whole vision-sidecar flow offline: start a local Hub on loopback,
seed a third-party vision repo (third-party/kimi-k2-5-vision) with generated
safetensors shards, a config and a license, then publish the built-in entry
foxlight/kimi-k2-5-full-q4-k four times through HF_ENDPOINT:

  1. first mirror           every file is copied, the card written, one commit
  2. republish              nothing changed: no commit, no weight bytes moved
  3. upstream replaces a shard   only that shard is copied
  4. upstream removes a shard    the sidecar prunes it

Each step prints the publish summary and what the Hub saw (requests, bytes,
commits). Nothing leaves the machine.
`

// demoModel is the built-in catalog entry the demo publishes.
const demoModel = "foxlight/kimi-k2-5-full-q4-k"

// demoSource is the vision source repo that entry names.
const demoSource = "third-party/kimi-k2-5-vision"

func runDemo(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("demo", demoUsage)
	jobs := fs.Int("jobs", defaultJobs, "files or parts copied in parallel")
	pos, done, code := parseInterspersed(fs, args, env)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights demo: unexpected argument %q\n", pos[0])
		return ExitUsage
	}
	if err := demo(ctx, *jobs, env); err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights demo: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

func demo(ctx context.Context, jobs int, env Env) error {
	var tokBytes [12]byte
	rand.Read(tokBytes[:])
	token := "hf_demo_" + hex.EncodeToString(tokBytes[:])
	h, err := devhub.New(
		devhub.WithToken(token, "write:FoxlightAI/*"),
		// Small thresholds so a few MiB exercise every transfer path.
		devhub.WithMultipart(24<<20, 8<<20),
	)
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()
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
		code := runPublish(ctx, []string{"--model", demoModel, "--artifact", "vision", "--jobs", fmt.Sprint(jobs)}, pubEnv)
		after := h.Stats()
		fmt.Fprintf(out, "  hub saw: %s\n\n", statsDelta(before, after, time.Since(start)))
		if code != ExitOK {
			return fmt.Errorf("%s: publish exited %d", step, code)
		}
		return nil
	}
	if err := publish("1/4", "first mirror of "+demoSource+" into FoxlightAI/kimi-k2-5-vision"); err != nil {
		return err
	}
	if err := publish("2/4", "republish with nothing changed upstream"); err != nil {
		return err
	}
	shards[1].seed = 22 // same size, new bytes
	sha, err := seedDemo(h, "Retrain the second vision tower shard", shards[1:2], nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "upstream: %s replaced %s (now at %s)\n", demoSource, shards[1].path, sha[:12])
	if err := publish("3/4", "republish after one shard was replaced"); err != nil {
		return err
	}
	sha, err = seedDemo(h, "Fold the projector into the tower", nil, []string{shards[2].path})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "upstream: %s removed %s (now at %s)\n", demoSource, shards[2].path, sha[:12])
	if err := publish("4/4", "republish after one shard was removed"); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo complete: the sidecar mirrors the source's latest commit byte for byte, with its card and collection.")
	return nil
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
	commits := b.Commits["FoxlightAI/kimi-k2-5-vision"] - a.Commits["FoxlightAI/kimi-k2-5-vision"]
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
