package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain lets the test binary act as skulk-weights inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"skulk-weights": func() { os.Exit(cli.Run(context.Background(), os.Args[1:], cli.OSEnv())) },
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
			"seed":    seedCmd,
			"hubstat": hubstatCmd,
			"gen":     genCmd,
			"access":  accessCmd,
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

// hubstatCmd prints the local hub's counters for a repo, one per line, to
// stdout: commits, requests per route and bytes received.
func hubstatCmd(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value("devhub").(*devhub.Hub)
	st := h.Stats()
	for _, repo := range args {
		fmt.Fprintf(ts.Stdout(), "commits %s %d\n", repo, st.Commits[repo])
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
