package action

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
)

// TestBadEventPayloadsFailNamingWhatAndWhere: every payload the action cannot
// use fails the run with a message naming the payload file or the missing
// field, and nothing is written to the Hub or to GitHub.
func TestBadEventPayloadsFailNamingWhatAndWhere(t *testing.T) {
	for _, c := range []struct {
		name, event, payload, want string
	}{
		{"empty file", "push", "", "event.json is empty"},
		{"only blanks", "pull_request", " \n\t\n", "event.json is empty"},
		{"truncated push", "push", `{"ref": "refs/heads/main", "after": "c3c4`, "event.json is not valid JSON: it is cut short"},
		{"not JSON", "push", "ref=refs/heads/main", "event.json is not valid JSON (at byte 1)"},
		{"a JSON list", "pull_request", `[{"number": 7}]`, "event.json is not a pull_request payload"},
		{"wrong field type", "pull_request", `{"pull_request": {"number": "seven"}}`, "event.json is not a pull_request payload"},
		{"null", "pull_request", `null`, "pull_request.base.sha"},
		{"pull request without head", "pull_request", `{"number": 7, "pull_request": {"number": 7, "base": {"ref": "main", "sha": "` + baseSHA + `"}}}`, "the pull_request payload has no pull_request.base.sha / head.sha"},
		{"push without after", "push", `{"ref": "refs/heads/main", "before": "` + baseSHA + `", "repository": {"full_name": "acme/catalog", "default_branch": "main"}}`, "the push payload has no ref / after"},
		{"push without ref", "push", `{"after": "` + mergeSHA + `", "repository": {"full_name": "acme/catalog", "default_branch": "main"}}`, "the push payload has no ref / after"},
		{"dispatch inputs not a map", "workflow_dispatch", `{"inputs": "all"}`, "event.json is not a workflow_dispatch payload"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.writeFile("event.json", c.payload)
			h.env["GITHUB_EVENT_PATH"] = filepath.Join(h.ws, "event.json")
			out := h.runWithPath(c.event)
			if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, c.want) {
				t.Errorf("err = %v, want a failure saying %q; log:\n%s", out.err, c.want, out.log)
			}
			if testing.Verbose() {
				t.Log(out.err)
			}
			if w := h.hubWrites(); len(w) > 0 {
				t.Errorf("wrote to the Hub: %v", w)
			}
			if n := len(h.gh.comments[7]); n != 0 {
				t.Errorf("%d comments posted", n)
			}
		})
	}
}

func TestMissingOrHugePayloadFails(t *testing.T) {
	h := newHarness(t)
	h.env["GITHUB_EVENT_PATH"] = ""
	out := h.run("push", "")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "GITHUB_EVENT_PATH is not set; the push event payload is needed") {
		t.Errorf("unset path: err = %v\n%s", out.err, out.log)
	}
	// A sparse 26 MB file: more than GitHub ever sends, refused unread.
	p := filepath.Join(h.ws, "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(26 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h.env["GITHUB_EVENT_PATH"] = p
	out = h.runWithPath("push")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "huge.json is 27262976 bytes, more than GitHub ever sends") {
		t.Errorf("huge payload: err = %v\n%s", out.err, out.log)
	}
	h.env["GITHUB_EVENT_PATH"] = h.ws // a directory
	out = h.runWithPath("push")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "is not a push payload: read "+h.ws+": is a directory") {
		t.Errorf("directory as payload: err = %v\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("wrote to the Hub: %v", w)
	}
}

// injection is text from outside the action that a runner would obey if it
// reached the log at the start of a line: workflow commands, the legacy
// ##[ form, and percent-encoded line breaks.
const injection = "x\n::set-output name=pwned::1\n::add-mask::visible\r\n##[error]forged\n%0A::error::forged%0D\n"

// assertNoCommands fails if any line of log is a workflow command other than
// the ones the action itself issues (annotations it builds, masks of its own
// secrets), or if the text produced an output.
func assertNoCommands(t *testing.T, out runOutput) {
	t.Helper()
	for _, line := range strings.Split(out.log, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		// The runner looks for the legacy ##[ form anywhere in a line that
		// is not already a :: command (inside an annotation's data it is
		// inert: the line parses as that annotation first).
		case strings.Contains(line, "##[") && !strings.HasPrefix(trimmed, "::"):
			t.Errorf("legacy command form in the log: %q", line)
		case strings.HasPrefix(trimmed, "::add-mask::"):
			if v := strings.TrimPrefix(trimmed, "::add-mask::"); v != hfToken && v != ghToken {
				t.Errorf("outside text masked a value: %q", line)
			}
		case strings.HasPrefix(trimmed, "::"):
			cmd, _, _ := strings.Cut(strings.TrimPrefix(trimmed, "::"), "::")
			name, _, _ := strings.Cut(cmd, " ")
			if name != "error" && name != "warning" && name != "notice" && name != "group" && name != "endgroup" {
				t.Errorf("outside text became a workflow command: %q", line)
			}
			// An annotation's message is one line: the runner never sees a
			// raw CR or LF inside it.
			if strings.Contains(line, "\r") {
				t.Errorf("raw CR in an annotation: %q", line)
			}
		case strings.HasPrefix(trimmed, "set-output") || strings.HasPrefix(trimmed, "forged"):
			t.Errorf("injected text started a line: %q", line)
		}
	}
	if _, ok := out.outputs["pwned"]; ok {
		t.Errorf("outside text created an output")
	}
	for _, where := range []string{out.summary} {
		if strings.Contains(where, "\n::set-output") || strings.Contains(where, "<script") {
			t.Errorf("injected text reached the summary raw:\n%s", where)
		}
	}
}

// TestHubErrorTextCannotInjectCommands: a Hub that answers every request
// with an error message carrying workflow commands. The PR plan reports the
// Hub as unreadable in the log, the summary and the comment, and none of
// them carries a command or raw HTML.
func TestHubErrorTextCannotInjectCommands(t *testing.T) {
	h := newHarness(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Message", strings.ReplaceAll(injection, "\n", " "))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error": "` + strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(injection) + `<script>alert(1)</script>"}`))
	}))
	t.Cleanup(evil.Close)
	h.env["INPUT_HF-ENDPOINT"] = evil.URL
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("an unreadable Hub failed the plan: %v\n%s", out.err, out.log)
	}
	assertNoCommands(t, out)
	cs := h.gh.comments[7]
	if len(cs) != 1 {
		t.Fatalf("%d comments", len(cs))
	}
	for _, body := range []string{cs[0].Body, out.summary} {
		if strings.Contains(body, "<script") || strings.Contains(body, "\n::set-output") || strings.Contains(body, "\n::add-mask") {
			t.Errorf("hostile Hub text reached the comment or summary raw:\n%s", body)
		}
	}
}

// TestCatalogTextCannotInjectCommands: a pull request whose catalog carries
// workflow-command text in a field name and values. Validation fails with
// annotations, and no line of the log is a command it did not mean to issue.
func TestCatalogTextCannotInjectCommands(t *testing.T) {
	h := newHarness(t)
	quoted := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(injection)
	h.writeFile("catalogs/acme.yaml", headCatalog+
		"- key: evil\n  \"::set-output name=pwned::1\\n::add-mask::v\": 1\n  source_model: \""+quoted+"\"\n  quant: \""+quoted+"\"\n")
	out := h.run("pull_request", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) || len(annotations(out.log, "error")) == 0 {
		t.Fatalf("err = %v, want validation errors as annotations\n%s", out.err, out.log)
	}
	assertNoCommands(t, out)
	for _, c := range h.gh.comments[7] {
		if strings.Contains(c.Body, "\n::set-output") {
			t.Errorf("catalog text reached the comment raw:\n%s", c.Body)
		}
	}
}

// TestDispatchInputsCannotInjectCommands: every input the action echoes
// (model, artifact, catalog, collection) carries command text.
func TestDispatchInputsCannotInjectCommands(t *testing.T) {
	for _, input := range []string{"INPUT_MODEL", "INPUT_ARTIFACT", "INPUT_CATALOG", "INPUT_COLLECTION", "INPUT_DRY-RUN", "INPUT_HF-ENDPOINT"} {
		t.Run(input, func(t *testing.T) {
			h := newHarness(t)
			h.env[input] = "acme/x" + injection
			out := h.run("workflow_dispatch", "workflow_dispatch.json")
			if out.err == nil {
				t.Errorf("an input with command text was accepted")
			}
			assertNoCommands(t, out)
			if w := h.hubWrites(); len(w) > 0 {
				t.Errorf("wrote to the Hub: %v", w)
			}
		})
	}
}

// TestPullRequestRefusesAHostileSource: a pull request pointing an entry at
// a source a publish would refuse (unsafe paths in its tree) fails the check
// with an annotation at the entry's vision_source_repo, instead of passing
// with a note and failing only after the merge.
func TestPullRequestRefusesAHostileSource(t *testing.T) {
	h := newHarness(t)
	if _, err := h.hub.CommitFiles("thirdparty/kimi-k2-5-vision", "main", "hostile",
		[]devhub.SeedFile{{Path: "../escape.json", Content: strings.NewReader("{}")}}, nil); err != nil {
		t.Fatal(err)
	}
	out := h.run("pull_request", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("err = %v, want the check to fail\n%s", out.err, out.log)
	}
	var found bool
	for _, a := range annotations(out.log, "error") {
		if strings.Contains(a, "file=catalogs/acme.yaml") && strings.Contains(a, `unsafe paths in the source tree: "../escape.json"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no error annotation at the entry for the unsafe path:\n%s", out.log)
	}
	if cs := h.gh.comments[7]; len(cs) != 1 || !strings.Contains(cs[0].Body, "**Refused:** refusing to mirror thirdparty/kimi-k2-5-vision@") {
		t.Errorf("the comment does not show the refusal: %+v", cs)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("wrote to the Hub: %v", w)
	}
}

// TestCatalogInputThatIsNotAFileFailsClearly: a pull request can replace
// the catalog file with a symlink to a device, and a runner can hold a
// named pipe; the action refuses both by name instead of blocking on the
// pipe or reading /dev/zero until memory runs out.
func TestCatalogInputThatIsNotAFileFailsClearly(t *testing.T) {
	h := newHarness(t)
	p := filepath.Join(h.ws, "skulk-weights.yaml")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	done := make(chan runOutput, 1)
	go func() { done <- h.run("pull_request", "pull_request.json") }()
	select {
	case out := <-done:
		if out.err == nil || !strings.Contains(out.log, "not a regular file (named pipe)") {
			t.Errorf("err = %v, want a failure naming the named pipe; log:\n%s", out.err, out.log)
		}
		if len(h.gh.comments[7]) != 0 {
			t.Errorf("commented on a catalog that could not be read: %+v", h.gh.comments[7])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the action blocked reading a named pipe as its catalog")
	}
}

// TestSecurityCatalogPathsStayInTheRepository: a pull request controls
// skulk-weights.yaml, so a source path climbing out of the checkout or a
// symlink leading out of it must fail the check at the path: value, and
// nothing of the outside file may reach the log, summary or comment.
func TestSecurityCatalogPathsStayInTheRepository(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "private.yaml")
	if err := os.WriteFile(outside, []byte("models:\n- key: PRIVATE-RUNNER-FILE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"dot-dot", "../../../../../../../.." + outside},
		{"absolute", outside},
		{"symlink", "catalogs/escape.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if err := os.Symlink(outside, filepath.Join(h.ws, "catalogs", "escape.yaml")); err != nil {
				t.Fatal(err)
			}
			h.writeFile("skulk-weights.yaml", configYAML+"- path: "+c.path+"\n  namespace: evil\n  hf_owner: AcmeAI\n")
			out := h.run("pull_request", "pull_request.json")
			if !errors.Is(out.err, ErrFailed) {
				t.Errorf("run error = %v, want ErrFailed", out.err)
			}
			want := "skulk-weights.yaml:6:9"
			found := false
			for _, a := range annotations(out.log, "error") {
				if strings.Contains(a, "col=9,file=skulk-weights.yaml,line=6,") && strings.Contains(a, "resolves outside the repository") {
					found = true
				}
			}
			if !found {
				t.Errorf("no error annotation at %s refusing the path; log:\n%s", want, out.log)
			}
			var comments strings.Builder
			for _, cm := range h.gh.comments[7] {
				comments.WriteString(cm.Body)
			}
			for _, s := range []string{out.log, out.summary, comments.String()} {
				if strings.Contains(s, "PRIVATE-RUNNER-FILE") {
					t.Errorf("content of a file outside the repository was echoed:\n%s", s)
				}
			}
		})
	}

	// The catalog input itself, a symlink leading out, is refused too.
	h := newHarness(t)
	if err := os.Remove(filepath.Join(h.ws, "skulk-weights.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(h.ws, "skulk-weights.yaml")); err != nil {
		t.Fatal(err)
	}
	out := h.run("pull_request", "pull_request.json")
	if out.err == nil || !strings.Contains(out.log, "outside the repository") || strings.Contains(out.log+out.summary, "PRIVATE-RUNNER-FILE") {
		t.Errorf("a catalog input leading out of the workspace: err = %v; log:\n%s", out.err, out.log)
	}
}

// TestSecurityFileAtStaysOnTheContentsEndpoint: the base-sha read builds a URL from
// a path; one with dot segments would be resolved by the HTTP client to
// another API route, carrying the token there. It is refused unsent.
func TestSecurityFileAtStaysOnTheContentsEndpoint(t *testing.T) {
	f := newFakeGitHub(t)
	f.login = "someone"
	gh, err := NewGitHub(f.URL(), "ghs_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../../../../user", "catalogs/../../../../user", "/etc/passwd", "a//b.yaml", "./a.yaml", ""} {
		if _, err := gh.FileAt(context.Background(), "acme", "catalog", p, "base"); err == nil || !strings.Contains(err.Error(), "not a path inside the repository") {
			t.Errorf("FileAt(%q) error = %v, want a refusal", p, err)
		}
	}
	if len(f.requests) != 0 {
		t.Errorf("refused paths still reached GitHub: %+v", f.requests)
	}
}
