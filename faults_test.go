package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
	"github.com/Foxlight-Foundation/skulk-weights/internal/secrettest"
)

const (
	killToken   = "hf_killtest_write_token_0123456789"
	visionSrc   = "third-party/kimi-k2-5-vision"
	visionDst   = "FoxlightAI/kimi-k2-5-vision"
	visionModel = "foxlight/kimi-k2-5-full-q4-k"
)

// seedOverHTTP commits generated safetensors files (path -> size, seeded
// by salt) plus small files to repo through the upload protocol, as any
// client of a separate hub process must.
func seedOverHTTP(t *testing.T, c *hub.Client, repo string, salt uint64, weights map[string]int64, small map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := c.CreateRepo(ctx, repo, false); err != nil && !strings.Contains(err.Error(), "409") {
		t.Fatal(err)
	}
	var ops []hub.CommitOp
	for p, size := range weights {
		seed := salt
		for _, c := range p {
			seed = seed*31 + uint64(c)
		}
		open := func() *safetensors.Generator {
			g, err := safetensors.NewSizedGenerator(seed, size, "BF16")
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		h := sha256.New()
		io.Copy(h, open())
		oid := hex.EncodeToString(h.Sum(nil))
		objs, err := c.LFSBatch(ctx, repo, "main", []hub.LFSObject{{OID: oid, Size: size}})
		if err != nil {
			t.Fatal(err)
		}
		if obj := &objs[0]; obj.NeedsUpload() {
			parts, multi, err := obj.Multipart()
			if err != nil {
				t.Fatal(err)
			}
			if !multi {
				err = c.UploadBasic(ctx, obj.Actions.Upload, size, func(context.Context) (io.ReadCloser, error) { return io.NopCloser(open()), nil })
			} else {
				var etags []string
				for _, part := range parts {
					etag, err := c.UploadPart(ctx, part, func(context.Context) (io.ReadCloser, error) {
						return io.NopCloser(io.NewSectionReader(open(), part.Offset, part.Size)), nil
					})
					if err != nil {
						t.Fatal(err)
					}
					etags = append(etags, etag)
				}
				err = c.CompleteMultipart(ctx, obj.Actions.Upload, oid, etags)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		ops = append(ops, hub.CommitOp{Kind: "lfsFile", Path: p, OID: oid, Size: size})
	}
	for p, s := range small {
		ops = append(ops, hub.CommitOp{Kind: "file", Path: p, Content: []byte(s)})
	}
	if _, err := c.Commit(ctx, repo, "main", hub.CommitRequest{Summary: "seed", Ops: ops}); err != nil {
		t.Fatal(err)
	}
}

// hubProcess runs `skulk-weights devhub` as its own process and returns
// its URL.
func hubProcess(t *testing.T, w *secrettest.Watch, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("skulk-weights")
	if err != nil {
		t.Skipf("skulk-weights is not on PATH (set up by TestMain): %v", err)
	}
	cmd := exec.Command(bin, append([]string{"devhub", "--token", killToken + "=write:FoxlightAI/*,write:third-party/*"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		w.Text("devhub stderr", stderr.String())
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "devhub listening on ")
	if err != nil || !ok {
		t.Fatalf("devhub did not start: %q %v\n%s", line, err, stderr.String())
	}
	return url
}

func hubStats(t *testing.T, url string) devhub.Stats {
	t.Helper()
	resp, err := http.Get(url + "/_devhub/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st devhub.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func adminFaults(t *testing.T, url, method, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+"/_devhub/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s /_devhub/faults: %s", method, resp.Status)
	}
}

// publishCmd returns `skulk-weights publish` of the vision entry against url.
func publishCmd(t *testing.T, w *secrettest.Watch, url, name string) (*exec.Cmd, func()) {
	bin, _ := exec.LookPath("skulk-weights")
	cmd := exec.Command(bin, "publish", "--model", visionModel, "--artifact", "vision", "--jobs", "4")
	cmd.Env = append(cmd.Environ(), "HF_ENDPOINT="+url, "HF_TOKEN="+killToken, "SKULK_WEIGHTS_COLLECTION=none")
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, func() {
		w.Text(name+" stdout", stdout.String())
		w.Text(name+" stderr", stderr.String())
		if testing.Verbose() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	}
}

// sidecarFiles maps the sidecar's LFS files at rev to their sha256.
func lfsFiles(t *testing.T, c *hub.Client, repo, rev string) map[string]string {
	t.Helper()
	tree, err := c.ListTree(context.Background(), repo, rev)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range tree {
		if e.LFS != nil {
			m[e.Path] = e.LFS.OID
		}
	}
	return m
}

// TestFaultKilledMidCopy kills `skulk-weights publish` with SIGKILL while
// a multipart upload is half done, against a hub in its own process, then
// runs it again.
func TestFaultKilledMidCopy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	w := secrettest.New(t, killToken)
	url := hubProcess(t, w, "--multipart-threshold", "1048576", "--chunk-size", "524288")
	c := hub.New(url, killToken)
	ctx := context.Background()
	seedOverHTTP(t, c, visionSrc, 1, map[string]int64{"model-00001.safetensors": 2 << 20, "model-00002.safetensors": 2 << 20},
		map[string]string{"config.json": `{"model_type":"moonvit"}`, "README.md": "---\nlicense: mit\n---\n"})

	first, done := publishCmd(t, w, url, "first publish")
	if err := first.Run(); err != nil {
		done()
		t.Fatalf("first publish: %v", err)
	}
	done()
	info, err := c.RepoInfo(ctx, visionDst, "main")
	if err != nil {
		t.Fatal(err)
	}
	head := info.SHA
	before := lfsFiles(t, c, visionDst, head)

	// Upstream replaces both shards; the third part of every upload hangs.
	seedOverHTTP(t, c, visionSrc, 2, map[string]int64{"model-00001.safetensors": 2 << 20, "model-00002.safetensors": 2 << 20}, nil)
	srcInfo, _ := c.RepoInfo(ctx, visionSrc, "main")
	want := lfsFiles(t, c, visionSrc, srcInfo.SHA)
	adminFaults(t, url, "POST", `{"route": "storage-part", "path": "/_devhub/upload/*/3", "kind": "delay", "delay": "60s"}`)
	st0 := hubStats(t, url)

	victim, done := publishCmd(t, w, url, "killed publish")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var st devhub.Stats
	for {
		st = hubStats(t, url)
		if st.FaultsFired > st0.FaultsFired && st.Requests["storage-part"] > st0.Requests["storage-part"] {
			break
		}
		if time.Now().After(deadline) {
			victim.Process.Kill()
			victim.Wait()
			done()
			t.Fatalf("the publish never reached the third part: %v", st.Requests)
		}
		time.Sleep(20 * time.Millisecond)
	}
	victim.Process.Kill() // SIGKILL: no deferred cleanup runs
	err = victim.Wait()
	done()
	if ws, ok := victim.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
		t.Fatalf("the publish was not killed by the signal: %v", err)
	}
	partsBefore := st.Requests["storage-part"] - st0.Requests["storage-part"]

	// Nothing half-written is visible: same head, same files, and the
	// half-uploaded objects are not in storage.
	after := hubStats(t, url)
	if info, err := c.RepoInfo(ctx, visionDst, "main"); err != nil || info.SHA != head {
		t.Fatalf("sidecar head after the kill: %v %v, want %s", info, err, head)
	}
	if got := lfsFiles(t, c, visionDst, head); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("sidecar files changed: %v -> %v", before, got)
	}
	if n := after.Commits[visionDst] - st0.Commits[visionDst]; n != 0 {
		t.Errorf("%d commits during the killed run", n)
	}
	var objs []hub.LFSObject
	for _, oid := range want {
		objs = append(objs, hub.LFSObject{OID: oid, Size: 2 << 20})
	}
	answers, err := c.LFSBatch(ctx, visionDst, "main", objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		if !a.NeedsUpload() {
			t.Errorf("object %s is stored although its upload was killed", a.OID[:12])
		}
	}

	// The rerun converges: one commit, the new bytes.
	adminFaults(t, url, "DELETE", "")
	rerun, done := publishCmd(t, w, url, "rerun")
	err = rerun.Run()
	done()
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	final := hubStats(t, url)
	info, err = c.RepoInfo(ctx, visionDst, "main")
	if err != nil {
		t.Fatal(err)
	}
	if got := lfsFiles(t, c, visionDst, info.SHA); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the rerun the sidecar has %v, want %v", got, want)
	}
	if n := final.Commits[visionDst] - after.Commits[visionDst]; n != 1 {
		t.Errorf("the rerun made %d commits, want 1", n)
	}
	t.Logf("reliability: %s: killed after %d part PUTs (2 files x 4 parts of 512 KiB, parts 3 held); head unchanged, commits 0, 2 objects not stored; rerun: commits 1, part PUTs %d, sidecar = source",
		t.Name(), partsBefore, final.Requests["storage-part"]-after.Requests["storage-part"])
}

// TestSecurityTokenNeverInCLIOutput runs `skulk-weights publish` in process
// through success, no-op, dry run, a refused token and a hub that echoes
// the token back in its errors; stdout, stderr and every request the hub sees (beyond the
// Authorization header) are searched for the token.
func TestSecurityTokenNeverInCLIOutput(t *testing.T) {
	const unknown = "hf_unknown_token_0123456789"
	w := secrettest.New(t, killToken, unknown)
	h, err := devhub.New(devhub.WithToken(killToken, "write:FoxlightAI/*,write:third-party/*"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler("hub", h))
	// A misbehaving hub repeats the credentials it was sent in its error.
	// Its answers are hostile input, not our output: they are not searched.
	echo := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		rw.Header().Set("X-Error-Message", "token rejected: "+a)
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(rw, `{"error": "invalid credentials %s"}`, a)
	}))
	t.Cleanup(echo.Close)
	t.Cleanup(func() { srv.Close(); h.Close() })
	c := hub.New(srv.URL, killToken)
	seedOverHTTP(t, c, visionSrc, 3, map[string]int64{"model.safetensors": 1 << 20}, map[string]string{"config.json": "{}"})

	stderrOf := map[string]string{}
	run := func(name string, env map[string]string, args ...string) int {
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Stdin: strings.NewReader(""), Stdout: w.Writer(name+" stdout", &stdout), Stderr: w.Writer(name+" stderr", &stderr),
			Getenv: func(k string) string { return env[k] }, Dir: t.TempDir()})
		if testing.Verbose() {
			t.Logf("%s (exit %d):\n%s%s", name, code, stdout.String(), stderr.String())
		}
		stderrOf[name] = stderr.String()
		return code
	}
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_TOKEN": killToken, "SKULK_WEIGHTS_COLLECTION": "none"}
	publish := []string{"publish", "--model", visionModel, "--artifact", "vision"}
	codes := []int{
		run("first", env, publish...),
		run("no-op", env, append(publish, "--json")...),
		run("dry run", env, "publish", "--model", visionModel, "--artifact", "vision", "--dry-run"),
	}
	codes = append(codes, run("echoing hub", map[string]string{"HF_ENDPOINT": echo.URL, "HF_TOKEN": killToken}, publish...))
	codes = append(codes, run("token scoped elsewhere", map[string]string{"HF_ENDPOINT": srv.URL, "HF_TOKEN": unknown}, publish...))
	if fmt.Sprint(codes) != "[0 0 0 1 1]" {
		t.Errorf("exit codes %v, want [0 0 0 1 1]", codes)
	}
	if !strings.Contains(stderrOf["echoing hub"], "token rejected: Bearer [redacted]") {
		t.Errorf("the echoing hub's error should be shown with the token redacted:\n%s", stderrOf["echoing hub"])
	}
	if w.AuthCount("hub") == 0 {
		t.Fatal("the hub never saw the token: the search proves nothing")
	}
	t.Logf("reliability: %s: 5 runs (first, no-op, dry run, echoing hub, unknown token; exit %v), texts searched %v, hub requests %d (%d with the token in Authorization only), leaks %d",
		t.Name(), codes, w.Sources(), w.Requests("hub"), w.AuthCount("hub"), len(w.Leaks()))
}
