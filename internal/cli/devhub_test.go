package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

// running is a command started in the background; its stdout is read
// line by line.
type running struct {
	out    *bufio.Scanner
	stderr *syncbuf.Buffer
	done   chan int
}

// startRun runs args in the background until ctx is done.
func startRun(ctx context.Context, args ...string) *running {
	pr, pw := io.Pipe()
	r := &running{out: bufio.NewScanner(pr), stderr: &syncbuf.Buffer{}, done: make(chan int, 1)}
	go func() {
		r.done <- Run(ctx, args, Env{Stdout: pw, Stderr: r.stderr})
		pw.Close()
	}()
	return r
}

// line returns the next line of stdout.
func (r *running) line(t *testing.T) string {
	t.Helper()
	if !r.out.Scan() {
		t.Fatalf("stdout ended: %v (stderr %s)", r.out.Err(), r.stderr.String())
	}
	return r.out.Text()
}

// drain reads the rest of stdout so the command never blocks on it.
func (r *running) drain() {
	go func() {
		for r.out.Scan() {
		}
	}()
}

// wait returns the exit code, failing the test if the command does not end
// within 10 s.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("the command did not stop; stderr:\n%s", r.stderr.String())
	}
	return -1
}

func TestDevhubServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := startRun(ctx, "devhub", "--token", "hf_dev=write:alice/*", "--page-size", "2", "--dir", t.TempDir())
	line := r.line(t)
	r.drain()
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "devhub listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	req, _ := http.NewRequest("POST", base+"/api/repos/create", strings.NewReader(`{"name":"m","organization":"alice"}`))
	req.Header.Set("Authorization", "Bearer hf_dev")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	res, err = http.Get(base + "/_devhub/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"alice/m":1`) {
		t.Errorf("stats %s", body)
	}
	cancel()
	if code := r.wait(t); code != ExitOK {
		t.Errorf("exit %d, stderr %s", code, r.stderr.String())
	}
}

func TestDevhubUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"devhub", "--help"}, ExitOK, "usage: skulk-weights devhub"},
		{[]string{"devhub", "--nope"}, ExitUsage, "unknown flag --nope"},
		{[]string{"devhub", "--token", "hf_x"}, ExitUsage, "TOKEN=SCOPES"},
		{[]string{"devhub", "--token", "hf_x=admin:alice/*"}, ExitUsage, "want read:TARGET, write:TARGET or gated:TARGET"},
		{[]string{"devhub", "--token", "abc=write:alice/*"}, ExitUsage, "must start with hf_"},
		{[]string{"devhub", "--page-size", "0"}, ExitUsage, "page size must be positive"},
		{[]string{"devhub", "extra"}, ExitUsage, "unexpected argument"},
		{[]string{"devhub", "--addr", "256.0.0.1:99999"}, ExitFailure, "devhub:"},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tc.args, Env{Stdout: &out, Stderr: &errb})
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.out) {
			t.Errorf("%v: exit %d (want %d), output %q lacks %q", tc.args, code, tc.code, out.String()+errb.String(), tc.out)
		}
	}
}

// TestDevhubSeed starts devhub with --seed and checks that the repo is
// there, through the Hub protocol, before the first line is printed: its
// files byte for byte, binary ones in LFS; the seed token is never shown
// and does not outlive the seeding's scope.
func TestDevhubSeed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"model.safetensors": "\x08\x00\x00\x00\x00\x00\x00\x00{}      " + strings.Repeat("\x00\x01", 1000),
		"config.json":       `{"model_type": "moonvit"}` + "\n",
		"sub/README.md":     "# hi\n",
	}
	for p, b := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := startRun(ctx, "devhub", "--seed", "third-party/vis="+dir, "--token", "hf_dev=write:FoxlightAI/*")
	line := r.line(t)
	r.drain()
	stderr := r.stderr
	base := strings.TrimPrefix(line, "devhub listening on ")
	c := hub.New(base, "")
	tree, err := c.ListTree(ctx, "third-party/vis", "main")
	if err != nil {
		t.Fatalf("tree: %v (stderr %s)", err, stderr.String())
	}
	lfs := map[string]bool{}
	for _, e := range tree {
		lfs[e.Path] = e.LFS != nil
	}
	if !lfs["model.safetensors"] || lfs["config.json"] || len(tree) != 5 { // with .gitattributes and sub/
		t.Errorf("tree: %+v", tree)
	}
	for p, want := range files {
		f, err := c.Open(ctx, "third-party/vis", "main", p, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != want {
			t.Errorf("%s differs", p)
		}
	}
	if !regexp.MustCompile(`(?m)^devhub: seeded third-party/vis from .*: 3 files \(1 in LFS\) at [0-9a-f]{40}$`).MatchString(stderr.String()) {
		t.Errorf("stderr: %s", stderr.String())
	}
	if strings.Contains(stderr.String()+line, "hf_seed_") {
		t.Errorf("the seed token shows: %s", stderr.String())
	}
	// The user's token writes only what --token says.
	if err := hub.New(base, "hf_dev").CreateRepo(ctx, "third-party/other", false); !errors.Is(err, hub.ErrForbidden) {
		t.Errorf("hf_dev created a third-party repo: %v", err)
	}
	cancel()
	if code := r.wait(t); code != ExitOK {
		t.Errorf("exit %d", code)
	}
}

// TestDevhubSeedErrors: a malformed --seed is a usage error, a missing
// directory fails before the first line.
func TestDevhubSeedErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"devhub", "--seed", "nodir"}, Env{Stdout: &out, Stderr: &errb}); code != ExitUsage ||
		!strings.Contains(errb.String(), `invalid value "nodir" for --seed: want REPO=DIR`) {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"devhub", "--seed", "a/b/c=dir"}, Env{Stdout: &out, Stderr: &errb}); code != ExitUsage ||
		!strings.Contains(errb.String(), `REPO "a/b/c" is not a Hugging Face repo id`) {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code := Run(context.Background(), []string{"devhub", "--seed", "a/b=" + filepath.Join(t.TempDir(), "missing")}, Env{Stdout: &out, Stderr: &errb})
	if code != ExitFailure || out.Len() != 0 || !strings.Contains(errb.String(), "skulk-weights devhub: seeding a/b from ") {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out.String(), errb.String())
	}
}
