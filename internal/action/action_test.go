package action

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Secrets the tests hand the action. Neither may appear in anything the
// action writes: log, summary, outputs, comments or GitHub request bodies.
const (
	hfToken = "hf_actionTestSecret0123456789abcdef"
	ghToken = "ghs_actionTestGitHubToken0123456789"
)

const (
	baseSHA  = "b0b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9"
	mergeSHA = "c3c4c5c6c7c8c9d0d1d2d3d4d5d6d7d8d9e0e1e2"
)

const configYAML = `catalogs:
- path: catalogs/acme.yaml
  namespace: acme
  hf_owner: AcmeAI
  hf_collection: AcmeAI/vindexes-0123456789abcdef01234567
`

// entryYAML renders one catalog entry; vision fields are added when
// visionSrc is set.
func entryYAML(key, model, visionSrc, visionDst string) string {
	s := "- key: " + key + "\n" +
		"  source_model: mlx-community/" + model + "\n" +
		"  quant: q4k\n  tier: moe\n  slices:\n  - full\n" +
		"  output_name: acme-" + key + ".vindex\n" +
		"  hf_repo: AcmeAI/" + key + "-vindex\n"
	if visionSrc != "" {
		s += "  vision_source_repo: " + visionSrc + "\n  vision_sidecar_repo: " + visionDst + "\n"
	}
	return s
}

// The base catalog has gemma (vision, unchanged by the pull request), llama
// (no vision, removed) and qwen (vision, pointed at a new source). The head
// adds kimi.
var (
	baseCatalog = "models:\n" +
		entryYAML("gemma-3-4b-full-q4-k", "gemma-3-4b", "thirdparty/gemma-3-vision", "AcmeAI/gemma-3-4b-vision") +
		entryYAML("llama-3-2-3b-full-q4-k", "Llama-3.2-3B", "", "") +
		entryYAML("qwen-2-5-vl-full-q4-k", "Qwen2.5-VL", "thirdparty/qwen-vision-old", "AcmeAI/qwen2-5-vl-vision")
	headCatalog = "models:\n" +
		entryYAML("gemma-3-4b-full-q4-k", "gemma-3-4b", "thirdparty/gemma-3-vision", "AcmeAI/gemma-3-4b-vision") +
		entryYAML("kimi-k2-5-full-q4-k", "Kimi-K2.5", "thirdparty/kimi-k2-5-vision", "AcmeAI/kimi-k2-5-vision") +
		entryYAML("qwen-2-5-vl-full-q4-k", "Qwen2.5-VL", "thirdparty/qwen-2-5-vision", "AcmeAI/qwen2-5-vl-vision")
)

type harness struct {
	t      testing.TB
	ws     string
	gh     *fakeGitHub
	hub    *devhub.Hub
	hubURL string
	env    map[string]string
	// everything written, across runs, for the secret check
	written []string
	// waits the GitHub client asked for; they return at once
	ghWaits []time.Duration
	// ghNow, when set, is the GitHub client's clock
	ghNow time.Time
}

// clock is the GitHub client's clock: ghNow when set.
func (h *harness) clock() func() time.Time {
	if h.ghNow.IsZero() {
		return nil
	}
	return func() time.Time { return h.ghNow }
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, ws: t.TempDir(), gh: newFakeGitHub(t)}
	h.startHub("write:AcmeAI/*")
	h.writeFile("skulk-weights.yaml", configYAML)
	h.writeFile("catalogs/acme.yaml", headCatalog)

	h.gh.files[7] = []ChangedFile{
		{Name: "README.md", Status: "modified"},
		{Name: "catalogs/acme.yaml", Status: "modified"},
		{Name: "docs/models.md", Status: "added"},
	}
	h.gh.files[8] = h.gh.files[7]
	h.gh.contents[baseSHA] = map[string]string{"catalogs/acme.yaml": baseCatalog, "skulk-weights.yaml": configYAML}
	h.gh.prs[mergeSHA] = []PullRequest{{Number: 7, Merged: true, MergeCommitSHA: mergeSHA}}

	h.env = map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_REPOSITORY":   "acme/catalog",
		"GITHUB_WORKSPACE":    h.ws,
		"GITHUB_API_URL":      h.gh.URL(),
		"GITHUB_SHA":          mergeSHA,
		"INPUT_HF-TOKEN":      hfToken,
		"INPUT_GITHUB-TOKEN":  ghToken,
		"INPUT_CATALOG":       "skulk-weights.yaml",
		"INPUT_ARTIFACT":      "vision",
		"INPUT_DRY-RUN":       "false",
		"INPUT_HF-ENDPOINT":   h.hubURL,
		"INPUT_COMMENT":       "true",
		"INPUT_COLLECTION":    "none",
		"INPUT_MODEL":         "",
		"INPUT_COMMENT-LOGIN": "",
	}
	t.Cleanup(h.checkSecrets)
	return h
}

// startHub serves a fresh local hub whose token has scope and seeds the
// three vision sources the catalogs name.
func (h *harness) startHub(scope string) {
	h.t.Helper()
	hb, err := devhub.New(devhub.WithToken(hfToken, scope))
	if err != nil {
		h.t.Fatal(err)
	}
	srv := httptest.NewServer(hb)
	h.t.Cleanup(func() { srv.Close(); hb.Close() })
	h.hub, h.hubURL = hb, srv.URL
	for i, src := range []string{"thirdparty/gemma-3-vision", "thirdparty/kimi-k2-5-vision", "thirdparty/qwen-2-5-vision"} {
		h.seedSource(src, uint64(i+1))
	}
}

// seedSource creates a public source repo holding a small safetensors
// encoder and its config.
func (h *harness) seedSource(id string, seed uint64) {
	h.t.Helper()
	if err := h.hub.CreateRepo(id, devhub.RepoOptions{}); err != nil {
		h.t.Fatal(err)
	}
	g, err := safetensors.NewSizedGenerator(seed, 64<<10, "BF16")
	if err != nil {
		h.t.Fatal(err)
	}
	files := []devhub.SeedFile{
		{Path: "model.safetensors", Content: g},
		{Path: "config.json", Content: strings.NewReader(`{"model_type": "vision"}`)},
		{Path: "README.md", Content: strings.NewReader("---\nlicense: mit\n---\n# encoder\n")},
	}
	if _, err := h.hub.CommitFiles(id, "main", "seed", files, nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) writeFile(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.ws, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// runResult is what one run of the action left behind.
type runOutput struct {
	err     error
	log     string
	summary string
	outputs map[string]string
}

// run runs the action's entrypoint for event with the payload fixture.
func (h *harness) run(event, fixture string) runOutput {
	h.t.Helper()
	dir := h.t.TempDir()
	env := map[string]string{}
	for k, v := range h.env {
		env[k] = v
	}
	env["GITHUB_EVENT_NAME"] = event
	if fixture != "" {
		p, err := filepath.Abs(filepath.Join("testdata", "events", fixture))
		if err != nil {
			h.t.Fatal(err)
		}
		env["GITHUB_EVENT_PATH"] = p
	}
	env["GITHUB_OUTPUT"] = filepath.Join(dir, "output")
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary")
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	var stdout bytes.Buffer
	err := Run(context.Background(), Config{
		Getenv:  func(k string) string { return env[k] },
		Stdout:  &stdout,
		Dir:     h.ws,
		Version: "v1.0.0-test",
		// The real engine and client; only the retry waits are short.
		HubOptions: []hub.Option{hub.WithRetryPolicy(hub.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxServerWait: time.Second})},
		// The default GitHub backoff, recorded instead of slept.
		GitHubRetry: GitHubRetry{Sleep: func(ctx context.Context, d time.Duration) error {
			h.ghWaits = append(h.ghWaits, d)
			return ctx.Err()
		}, Now: h.clock()},
	})
	out := runOutput{err: err, log: stdout.String(), outputs: map[string]string{}}
	sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	out.summary = string(sum)
	raw, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	out.outputs = parseOutputs(h.t, string(raw))
	h.written = append(h.written, out.log, out.summary, string(raw))
	if testing.Verbose() {
		h.t.Logf("log of %s:\n%s", event, out.log)
	}
	return out
}

// parseOutputs reads GITHUB_OUTPUT's name<<DELIM ... DELIM records.
func parseOutputs(t testing.TB, s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is not name<<delimiter", sc.Text())
		}
		var val []string
		for sc.Scan() && sc.Text() != delim {
			val = append(val, sc.Text())
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// checkSecrets fails the test if a token leaked into anything the action
// produced: its log, summaries, outputs, comments, or what it sent to
// GitHub other than the Authorization header.
func (h *harness) checkSecrets() {
	all := append([]string(nil), h.written...)
	for _, cs := range h.gh.comments {
		for _, c := range cs {
			all = append(all, c.Body)
		}
	}
	for _, r := range h.gh.requests {
		all = append(all, r.Path, r.Query, r.Body)
		if strings.Contains(r.Auth, hfToken) {
			h.t.Errorf("the HF token was sent to GitHub: %s %s", r.Method, r.Path)
		}
	}
	for _, s := range all {
		for _, secret := range []string{hfToken, ghToken} {
			// The mask command itself is the one place a secret goes: the
			// runner consumes that line and never shows it.
			s = strings.ReplaceAll(s, "::add-mask::"+secret+"\n", "")
			if strings.Contains(s, secret) {
				h.t.Errorf("a token leaked into the action's output:\n%s", s)
			}
		}
	}
}

// annotations returns the workflow commands of kind (error, warning) in log.
func annotations(log, kind string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "::"+kind+" ") || strings.HasPrefix(line, "::"+kind+"::") {
			out = append(out, line)
		}
	}
	return out
}

var shaRE = regexp.MustCompile(`\b[0-9a-f]{40}\b|\b[0-9a-f]{12}\b`)

// golden compares got with testdata/golden/name, normalizing what differs
// between runs (the local hub's commit ids and port).
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalize(got)
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func normalize(s string) string {
	keep := map[string]bool{baseSHA: true, mergeSHA: true, baseSHA[:12]: true, mergeSHA[:12]: true, "a1b2c3d4e5f6": true}
	ids := map[string]string{}
	return shaRE.ReplaceAllStringFunc(s, func(m string) string {
		if keep[m] {
			return m
		}
		if _, ok := ids[m]; !ok {
			ids[m] = "<sha" + string(rune('A'+len(ids))) + ">"
		}
		return ids[m]
	})
}

func decodeJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output %q is not JSON: %v", s, err)
	}
}

func filepathJoin(a, b string) string { return filepath.Join(a, b) }

// runWithPath runs with GITHUB_EVENT_PATH as set in h.env.
func (h *harness) runWithPath(event string) runOutput {
	p := h.env["GITHUB_EVENT_PATH"]
	rel, err := filepath.Rel(filepath.Join(mustAbs(h.t, "testdata"), "events"), p)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.run(event, rel)
}

func mustAbs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
