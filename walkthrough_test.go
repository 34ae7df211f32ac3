package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

// walkthroughBlock returns the commands of the fenced block that follows
// the marker <!-- walkthrough: NAME --> in docs/local-hub.md, without comments.
func walkthroughBlock(t *testing.T, readme, name string) []string {
	t.Helper()
	marker := "<!-- walkthrough: " + name + " -->\n```sh\n"
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("docs/local-hub.md has no %q block", name)
	}
	body := readme[i+len(marker):]
	body = body[:strings.Index(body, "```")]
	var cmds []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// TestWalkthrough runs the local-hub walk-through of docs/local-hub.md as a
// reader would, in bash from the repository's root: the hub block in the
// background, the client block once the hub says it listens. The one
// change is the address: a free port instead of the page's 8990, so
// parallel runs never collide. skulk-weights on PATH is this test binary
// acting as the command through main's own wiring.
func TestWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl (CI installs it)")
	}
	readme, err := os.ReadFile(filepath.Join("docs", "local-hub.md"))
	if err != nil {
		t.Fatal(err)
	}
	hubCmds := walkthroughBlock(t, string(readme), "hub")
	clientCmds := walkthroughBlock(t, string(readme), "client")
	const readmeAddr = "127.0.0.1:8990"
	if !strings.Contains(hubCmds[0], readmeAddr) {
		t.Fatalf("the hub command no longer listens on %s: %s", readmeAddr, hubCmds[0])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	port := func(s string) string { return strings.ReplaceAll(s, readmeAddr, addr) }

	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "skulk-weights")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), asMain+"=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.TempDir(), "HF_TOKEN=", "HF_ENDPOINT=", "HF_TOKEN_PATH=", "HF_HOME=", "SKULK_WEIGHTS_COLLECTION=")

	hub := exec.Command("bash", "-c", "exec "+port(strings.Join(hubCmds, "\n")))
	hub.Env = env
	var hubErr syncbuf.Buffer
	hub.Stderr = &hubErr
	out, err := hub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	defer hub.Process.Kill()
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "devhub listening on http://"+addr+"\n" {
			t.Fatalf("the hub's first line is %q\nstderr:\n%s", line, hubErr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the hub did not start\nstderr:\n%s", hubErr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := exec.CommandContext(ctx, "bash", "-e", "-c", port(strings.Join(clientCmds, "\n")))
	client.Env = env
	var stdout, stderr bytes.Buffer
	client.Stdout, client.Stderr = &stdout, &stderr
	if err := client.Run(); err != nil {
		t.Fatalf("the client block failed: %v\nstdout:\n%s\nstderr:\n%s\nhub:\n%s", err, &stdout, &stderr, hubErr.String())
	}
	for _, want := range []string{
		`(?m)^vision sidecar repo: hf://FoxlightAI/kimi-k2-5-vision$`, // the dry run
		`(?m)^dry run complete$`,
		`(?m)^copied: +3 \(inline 1, stream 2\)$`, // the publish
		`(?m)^collection: +FoxlightAI/vision-sidecars-[0-9a-f]+$`,
		`(?m)^base_model: third-party/kimi-k2-5-vision$`, // the card
		`(?m)^license: other$`,
		`(?m)^  source_revision: [0-9a-f]{40}$`,
		`(?m)vision_tower\.safetensors`,
		`"title":"Vision Sidecars"`, // the collection
		`"id":"FoxlightAI/kimi-k2-5-vision"`,
		`"path":"mm_projector.safetensors"`, // the tree
	} {
		if !regexp.MustCompile(want).Match(stdout.Bytes()) {
			t.Errorf("the walk-through's output lacks %s:\n%s", want, &stdout)
		}
	}
	if !strings.Contains(stderr.String(), "using the token from HF_TOKEN") {
		t.Errorf("stderr:\n%s", &stderr)
	}
	if !regexp.MustCompile(`(?m)^devhub: seeded third-party/kimi-k2-5-vision from examples/kimi-k2-5-vision: 5 files \(2 in LFS\) at [0-9a-f]{40}$`).MatchString(hubErr.String()) {
		t.Errorf("the hub's log:\n%s", hubErr.String())
	}

	// Ctrl-C stops the hub cleanly.
	hub.Process.Signal(syscall.SIGINT)
	if err := hub.Wait(); err != nil {
		t.Errorf("the hub stopped with %v\n%s", err, hubErr.String())
	}
}
