package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

func TestDevhubServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"devhub", "--token", "hf_dev=write:alice/*", "--page-size", "2", "--dir", t.TempDir()},
			Env{Stdout: pw, Stderr: &stderr})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v (stderr %s)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
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
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d, stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("devhub did not stop")
	}
}

func TestDevhubUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"devhub", "--help"}, ExitOK, "usage: skulk-weights devhub"},
		{[]string{"devhub", "--nope"}, ExitUsage, "flag provided but not defined"},
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
