package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/secrettest"
)

// TestSecurityEndpointCredentialsRefusedByCLI points HF_ENDPOINT, with
// user:password@, at a working local hub and runs the dry run, the dry run
// as JSON, a real publish and one with --json. Each is refused before any
// request, and the credentials are in no output and no request.
func TestSecurityEndpointCredentialsRefusedByCLI(t *testing.T) {
	w := secrettest.New(t, killToken)
	h, err := devhub.New(devhub.WithToken(killToken, "write:FoxlightAI/*,write:third-party/*"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler("hub", h))
	t.Cleanup(func() { srv.Close(); h.Close() })
	seedOverHTTP(t, hub.New(srv.URL, killToken), visionSrc, 5, map[string]int64{"model.safetensors": 256 << 10}, map[string]string{"config.json": "{}"})
	seeded := w.Requests("hub")

	host := strings.TrimPrefix(srv.URL, "http://")
	endpoints := []string{
		"http://publisher:endpoint-pass-0123@" + host,
		"http://publisher:endpoint-pass-0123@" + host + "/",
		"http://:endpoint-pass-4567@" + host,
		"http://hf_user_as_token:endpoint-pass-89ab@" + host + "/?x=1",
	}
	for _, ep := range endpoints {
		w.Endpoint(ep)
	}
	var codes []int
	for i, ep := range endpoints {
		for _, args := range [][]string{
			{"publish", "--model", visionModel, "--artifact", "vision", "--dry-run"},
			{"publish", "--model", visionModel, "--dry-run", "--json"},
			{"publish", "--model", visionModel, "--artifact", "vision"},
			{"publish", "--model", visionModel, "--artifact", "vision", "--json"},
		} {
			var stdout, stderr bytes.Buffer
			name := fmt.Sprintf("endpoint %d %s", i, strings.Join(args[3:], " "))
			env := map[string]string{"HF_ENDPOINT": ep, "HF_TOKEN": killToken, "SKULK_WEIGHTS_COLLECTION": "none"}
			code := cli.Run(context.Background(), args, cli.Env{Stdin: strings.NewReader(""),
				Stdout: w.Writer(name+" stdout", &stdout), Stderr: w.Writer(name+" stderr", &stderr),
				Getenv: func(k string) string { return env[k] }, Dir: t.TempDir()})
			codes = append(codes, code)
			if code != 1 || !strings.Contains(stderr.String(), "HF_ENDPOINT names credentials before its host (http://…@"+host) {
				t.Errorf("%s: exit %d, stderr %q; want a refusal naming the host only", name, code, stderr.String())
			}
			// Under --json the refusal is the one document on stdout;
			// without, stdout stays empty.
			if args[len(args)-1] == "--json" {
				doc, err := checkJSONDoc(stdout.Bytes(), "publish")
				if c, _ := lookupJSON(doc, "error.code"); err != nil || c != "invalid_environment" {
					t.Errorf("%s: stdout %q: %v", name, stdout.String(), err)
				}
			} else if stdout.Len() != 0 {
				t.Errorf("%s: stdout %q", name, stdout.String())
			}
		}
	}
	if n := w.Requests("hub") - seeded; n != 0 {
		t.Errorf("the hub received %d requests from refused runs", n)
	}
	if h.Stats().Commits[visionDst] != 0 {
		t.Errorf("a sidecar was written")
	}
	t.Logf("reliability: %s: %d runs (4 endpoints with user:password@ x dry run, dry run --json, publish, publish --json), exit codes %v; hub requests 0; %d outputs searched; leaks %d",
		t.Name(), len(codes), codes, len(w.Sources()), len(w.Leaks()))
}
