package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upstream"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// asMain makes the test binary run as skulk-weights itself, through main's
// own wiring (signals included), for tests that start it as a process.
const asMain = "SKULK_WEIGHTS_TEST_AS_MAIN"

// TestMain lets the test binary act as skulk-weights inside scripts.
func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(run())
	}
	testscript.Main(m, map[string]func(){
		"skulk-weights": func() { os.Exit(run()) },
	})
}

// scriptToken is the write token of each script's local hub (FoxlightAI/*);
// scriptSourcesToken can also read third-party/* when it is private and
// open its gates, as a publisher's token that was granted access does.
const (
	scriptToken        = "hf_script_write_token_5ecret"
	scriptSourcesToken = "hf_script_sources_token_5ecret"
)

// TestScripts runs the end-to-end command scripts in testdata/script. Each
// script gets its own local hub at $DEVHUB_URL with write token
// $DEVHUB_TOKEN; HF_ENDPOINT is left unset so scripts choose.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			h, err := devhub.New(devhub.WithToken(scriptToken, "write:FoxlightAI/*"),
				devhub.WithToken(scriptSourcesToken, "write:FoxlightAI/*,read:third-party/*"), devhub.WithMultipart(4<<20, 2<<20))
			if err != nil {
				return err
			}
			srv := httptest.NewServer(h)
			env.Defer(func() { srv.Close(); h.Close() })
			env.Setenv("DEVHUB_URL", srv.URL)
			env.Setenv("DEVHUB_TOKEN", scriptToken)
			env.Setenv("DEVHUB_SOURCES_TOKEN", scriptSourcesToken)
			env.Setenv("DEVHUB_HOST", strings.TrimPrefix(srv.URL, "http://"))
			env.Values["devhub"] = h
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"seedupstream": seedUpstreamCmd,
			"seed":         seedCmd,
			"hubstat":      hubstatCmd,
			"gen":          genCmd,
			"jsondoc":      jsondocCmd,
			"freeport":     freeportCmd,
			"httpwait":     httpwaitCmd,
			"access":       accessCmd,
		},
	})
}

// seedCmd commits to a repo of the script's local hub:
//
//	seed REPO [PATH=SIZE|PATH=@FILE|-PATH]...
//
// PATH=SIZE writes a generated safetensors file of SIZE bytes (seeded by
// path and size), PATH=@FILE the content of a script file, -PATH deletes.
// The repo is created if missing.
func seedCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: seed REPO [PATH=SIZE|PATH=@FILE|-PATH]...")
	}
	h := ts.Value("devhub").(*devhub.Hub)
	repo := args[0]
	if _, err := h.Head(repo, "main"); err != nil {
		ts.Check(h.CreateRepo(repo, devhub.RepoOptions{}))
	}
	var files []devhub.SeedFile
	var deletes []string
	for _, a := range args[1:] {
		if p, ok := strings.CutPrefix(a, "-"); ok {
			deletes = append(deletes, p)
			continue
		}
		p, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("seed: %q is not PATH=SIZE, PATH=@FILE or -PATH", a)
		}
		if f, ok := strings.CutPrefix(v, "@"); ok {
			files = append(files, devhub.SeedFile{Path: p, Content: strings.NewReader(ts.ReadFile(f))})
			continue
		}
		var size int64
		if _, err := fmt.Sscan(v, &size); err != nil {
			ts.Fatalf("seed: size %q: %v", v, err)
		}
		var s uint64 = uint64(size)
		for _, c := range p {
			s = s*31 + uint64(c)
		}
		g, err := safetensors.NewSizedGenerator(s, size, "BF16")
		ts.Check(err)
		files = append(files, devhub.SeedFile{Path: p, Content: g})
	}
	sha, err := h.CommitFiles(repo, "main", "seed", files, deletes)
	if (err != nil) != neg {
		ts.Fatalf("seed: %v", err)
	}
	ts.Logf("%s at %s", repo, sha)
}

// seedUpstreamCmd commits a generated upstream checkpoint (internal/upstream)
// to REPO: seedupstream REPO [shards=N] [salt=N] [lang=BYTES] [vision=BYTES] [mtp].
func seedUpstreamCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: seedupstream REPO [shards=N] [salt=N] [lang=BYTES] [vision=BYTES] [mtp]")
	}
	h := ts.Value("devhub").(*devhub.Hub)
	l := upstream.Layout{Shards: 8, LanguageBytes: 64 << 10, VisionBytes: 256 << 10, Seed: 1}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		var n int64
		if v != "" {
			if _, err := fmt.Sscan(v, &n); err != nil {
				ts.Fatalf("seedupstream: %q: %v", a, err)
			}
		}
		switch k {
		case "shards":
			l.Shards = int(n)
		case "salt":
			l.Salt = uint64(n)
		case "lang":
			l.LanguageBytes = n
		case "vision":
			l.VisionBytes = n
		case "mtp":
			l.MTP = true
		default:
			ts.Fatalf("seedupstream: unknown %q", a)
		}
	}
	files, err := upstream.Files(l)
	ts.Check(err)
	var seed []devhub.SeedFile
	for _, f := range files {
		seed = append(seed, devhub.SeedFile{Path: f.Path, Content: f.Content})
	}
	if _, err := h.Head(args[0], "main"); err != nil {
		ts.Check(h.CreateRepo(args[0], devhub.RepoOptions{}))
	}
	sha, err := h.CommitFiles(args[0], "main", "seed upstream", seed, nil)
	if (err != nil) != neg {
		ts.Fatalf("seedupstream: %v", err)
	}
	ts.Logf("%s at %s", args[0], sha)
}

// hubstatCmd prints the local hub's counters for a repo, one per line, to
// stdout: commits, requests per route and bytes received.
func hubstatCmd(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value("devhub").(*devhub.Hub)
	st := h.Stats()
	for _, repo := range args {
		fmt.Fprintf(ts.Stdout(), "commits %s %d\n", repo, st.Commits[repo])
		fmt.Fprintf(ts.Stdout(), "read %s %d\n", repo, st.FileBytesServed[repo])
	}
	for _, r := range []string{"storage-put", "storage-part", "commit", "lfs-batch"} {
		fmt.Fprintf(ts.Stdout(), "requests %s %d\n", r, st.Requests[r])
	}
	fmt.Fprintf(ts.Stdout(), "received %d\n", st.BytesReceived)
}

// accessCmd sets or prints a repo's access on the script's local hub, as
// its owner would on the Hub's settings page:
//
//	access REPO [public|private] [gated=off|auto|manual]
//
// With only REPO it prints "REPO private|public gated=off|auto|manual".
func accessCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: access REPO [public|private] [gated=off|auto|manual]")
	}
	h := ts.Value("devhub").(*devhub.Hub)
	private, gated, err := h.RepoAccess(args[0])
	ts.Check(err)
	if len(args) == 1 {
		vis, g := "public", gated
		if private {
			vis = "private"
		}
		if g == "" {
			g = "off"
		}
		fmt.Fprintf(ts.Stdout(), "%s %s gated=%s\n", args[0], vis, g)
		return
	}
	for _, a := range args[1:] {
		switch {
		case a == "public" || a == "private":
			private = a == "private"
		case strings.HasPrefix(a, "gated="):
			gated = strings.TrimPrefix(a, "gated=")
			if gated == "off" {
				gated = ""
			}
		default:
			ts.Fatalf("access: %q is not public, private or gated=MODE", a)
		}
	}
	ts.Check(h.SetRepoAccess(args[0], private, gated))
}

// genCmd writes a file built from parts, so scripts can make inputs too big
// or too binary to check in:
//
//	gen OUT PART...
//
// PART is @FILE (a script file's content) or a Go-quoted string
// ("\xef\xbb\xbf"), optionally prefixed by N* for N copies, each with {i}
// replaced by its index.
func genCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: gen OUT PART...")
	}
	out, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	f := bufio.NewWriter(out)
	defer func() { ts.Check(f.Flush()); ts.Check(out.Close()) }()
	for _, a := range args[1:] {
		n, part := 1, a
		if c, rest, ok := strings.Cut(a, "*"); ok && !strings.HasPrefix(a, `"`) {
			var err error
			n, err = strconv.Atoi(c)
			ts.Check(err)
			part = rest
		}
		var text string
		if file, ok := strings.CutPrefix(part, "@"); ok {
			text = ts.ReadFile(file)
		} else if text, err = strconv.Unquote(part); err != nil {
			ts.Fatalf("gen: part %q is not [N*]@FILE or [N*]\"quoted\"", a)
		}
		for i := range n {
			_, err := f.WriteString(strings.ReplaceAll(text, "{i}", strconv.Itoa(i)))
			ts.Check(err)
		}
	}
}

// schemas compiles the JSON Schemas of the --json documents in schema/,
// each under the $id it declares so their cross-references resolve
// without a network.
var schemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	files, err := filepath.Glob("schema/*.v1.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no schemas in schema/: %v", err)
	}
	c := jsonschema.NewCompiler()
	ids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%s has no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, err
		}
		ids[strings.TrimSuffix(filepath.Base(f), ".v1.json")] = id
	}
	out := map[string]*jsonschema.Schema{}
	for name, id := range ids {
		sch, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %v", name, err)
		}
		out[name] = sch
	}
	return out, nil
})

// checkJSONDoc checks that data is exactly one JSON document, valid against
// the schema called name, and returns it decoded.
func checkJSONDoc(data []byte, name string) (any, error) {
	all, err := schemas()
	if err != nil {
		return nil, err
	}
	sch := all[name]
	if sch == nil {
		return nil, fmt.Errorf("no schema %q in schema/", name)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON document: %v\n%s", err, data)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more than one JSON document, or text after it:\n%s", data)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(inst); err != nil {
		return nil, fmt.Errorf("the document does not match schema/%s.v1.json: %v\n%s", name, err, data)
	}
	return doc, nil
}

// jsondocCmd checks the last command's stdout, as a program piping it into
// a JSON parser would:
//
//	jsondoc SCHEMA [PATH=VALUE]...
//
// stdout must hold exactly one JSON document, valid against
// schema/SCHEMA.v1.json. Each PATH (dot-separated keys and array indexes,
// e.g. artifacts.0.status) must hold VALUE: a string, a number, true,
// false, or null; PATH=? only checks that PATH exists.
func jsondocCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: jsondoc SCHEMA [PATH=VALUE]...")
	}
	doc, err := checkJSONDoc([]byte(ts.ReadFile("stdout")), args[0])
	ts.Check(err)
	for _, a := range args[1:] {
		path, want, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("jsondoc: %q is not PATH=VALUE", a)
		}
		got, found := lookupJSON(doc, path)
		switch {
		case !found:
			ts.Fatalf("jsondoc: %s is absent", path)
		case want == "?":
		case fmt.Sprint(got) != want && !(got == nil && want == "null"):
			ts.Fatalf("jsondoc: %s is %v, want %s", path, got, want)
		}
	}
}

// lookupJSON follows a dotted path of keys and indexes into a decoded
// document.
func lookupJSON(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// TestInterruptExits130 sends a real SIGINT to a publish that is waiting on
// the hub: the process stops at once, says it was interrupted, prints its
// --json document with that status, and exits 130.
func TestInterruptExits130(t *testing.T) {
	h, err := devhub.New(devhub.WithToken(scriptToken, "write:FoxlightAI/*"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer h.Close()
	defer srv.Close()
	if err := h.CreateRepo("third-party/kimi-k2-5-vision", devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := safetensors.NewSizedGenerator(1, 100000, "BF16")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.CommitFiles("third-party/kimi-k2-5-vision", "main", "seed", []devhub.SeedFile{{Path: "model.safetensors", Content: g}}, nil); err != nil {
		t.Fatal(err)
	}
	// The write check holds the publish until the test lets it go.
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.AddFault(devhub.Fault{Route: "preupload", Kind: devhub.FaultNone, Before: func() {
		once.Do(func() { close(reached) })
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
	}})
	defer close(release)

	cmd := exec.Command(os.Args[0], "publish", "--model", "foxlight/kimi-k2-5-full-q4-k", "--artifact", "vision", "--json")
	cmd.Env = append(os.Environ(), asMain+"=1", "HF_ENDPOINT="+srv.URL, "HF_TOKEN="+scriptToken, "HOME="+t.TempDir())
	cmd.Dir = t.TempDir()
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the publish never reached the write check:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "skulk-weights: publishing the vision sidecar of foxlight/kimi-k2-5-full-q4-k: interrupted; nothing was committed") {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	doc, err := checkJSONDoc([]byte(stdout.String()), "publish")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := lookupJSON(doc, "status"); st != "interrupted" {
		t.Errorf("status %v, want interrupted", st)
	}
	if code, _ := lookupJSON(doc, "error.exit_code"); fmt.Sprint(code) != "130" {
		t.Errorf("error.exit_code %v, want 130", code)
	}
	if h.Stats().Commits["FoxlightAI/kimi-k2-5-vision"] > 1 {
		t.Errorf("an interrupted publish committed")
	}
}

// freeportCmd sets the script variable NAME to a free loopback port:
//
//	freeport NAME
func freeportCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	ln.Close()
}

// httpwaitCmd polls a URL until it answers 200 with a body matching REGEX
// (any body without one), for at most a minute:
//
//	httpwait URL [REGEX]
func httpwaitCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: httpwait URL [REGEX]")
	}
	re := regexp.MustCompile(".")
	if len(args) == 2 {
		re = regexp.MustCompile(args[1])
	}
	deadline := time.Now().Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := http.Get(args[0])
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && re.Match(body) {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("httpwait %s: no matching answer within a minute; last: %s", args[0], last)
}
