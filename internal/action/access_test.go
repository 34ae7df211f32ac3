package action

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// access reads a repo's settings from the harness's hub.
func (h *harness) access(repo string) hub.Access {
	h.t.Helper()
	private, gated, err := h.hub.RepoAccess(repo)
	if err != nil {
		h.t.Fatal(err)
	}
	a := hub.Access{Private: private, Gate: hub.GateOff}
	if gated != "" {
		a.Gate = hub.Gate(gated)
	}
	return a
}

func TestSecurityPullRequestPlanShowsAccess(t *testing.T) {
	h := newHarness(t)
	// The added entry's source is gated: its settings are public, its
	// files are not. The changed entry's source is private: a plan without
	// a token cannot see it at all.
	if err := h.hub.SetRepoAccess("thirdparty/kimi-k2-5-vision", false, "manual"); err != nil {
		t.Fatal(err)
	}
	if err := h.hub.SetRepoAccess("thirdparty/qwen-2-5-vision", true, ""); err != nil {
		t.Fatal(err)
	}
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("a private source failed the check: %v\n%s", out.err, out.log)
	}
	body := h.gh.comments[7][0].Body
	for _, want := range []string{
		"| source access | public, gated (manual) |",
		"| sidecar access | if new, created public, gated (manual) like its source; if private, checked on merge to be at least that restricted |",
		"| safetensors headers | not read: thirdparty/kimi-k2-5-vision is gated (manual): its files cannot be read without a token",
		"**Finding: the source cannot be read without a token,** and this plan never sends one",
		"thirdparty/qwen-2-5-vision is private or does not exist",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the plan comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "refused the token") || strings.Contains(body, "check HF_TOKEN") {
		t.Errorf("a plan that sends no token blames one:\n%s", body)
	}
	// The private source is a finding at its catalog line, not a failure.
	var found bool
	for _, a := range annotations(out.log, "warning") {
		if strings.Contains(a, "file=catalogs/acme.yaml,line=") && strings.Contains(a, "thirdparty/qwen-2-5-vision is private or does not exist") {
			found = true
		}
	}
	if !found || len(annotations(out.log, "error")) != 0 {
		t.Errorf("want a warning at the qwen entry's source and no error:\n%s", out.log)
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	status := map[string]entryJSON{}
	for _, e := range res.Entries {
		status[e.ID] = e
	}
	if k := status["acme/kimi-k2-5-full-q4-k"]; k.Status != "planned" || k.SourceAccess != "public, gated (manual)" {
		t.Errorf("kimi result %+v", k)
	}
	if q := status["acme/qwen-2-5-vl-full-q4-k"]; q.Status != "source-hidden" {
		t.Errorf("qwen result %+v", q)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("the plan wrote %v", w)
	}
	reportf(t, "gated source shown as %q, headers left to the merge; private source a warning at its line and a finding in the comment; 0 errors, 0 Hub writes", status["acme/kimi-k2-5-full-q4-k"].SourceAccess)
}

func TestSecurityPushCreatesRestrictedSidecarsThenRefusesALaterGate(t *testing.T) {
	h := newHarness(t)
	// The publisher's token may read the third party's private repos and
	// was granted access to its gated ones.
	h.startHub("write:AcmeAI/*,read:thirdparty/*")
	h.env["INPUT_HF-ENDPOINT"] = h.hubURL
	if err := h.hub.SetRepoAccess("thirdparty/gemma-3-vision", true, "auto"); err != nil {
		t.Fatal(err)
	}
	out := h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("push failed: %v\n%s", out.err, out.log)
	}
	if got := h.access("AcmeAI/gemma-3-4b-vision"); got != (hub.Access{Private: true, Gate: hub.GateAuto}) {
		t.Errorf("gemma's sidecar is %s, its source private, gated (auto)", got)
	}
	if got := h.access("AcmeAI/kimi-k2-5-vision"); got != (hub.Access{Gate: hub.GateOff}) {
		t.Errorf("kimi's sidecar is %s, its source public", got)
	}

	// Upstream gates kimi's source and moves on; the next push or scheduled run
	// must not copy it into the public sidecar.
	if err := h.hub.SetRepoAccess("thirdparty/kimi-k2-5-vision", false, "manual"); err != nil {
		t.Fatal(err)
	}
	h.updateSource("thirdparty/kimi-k2-5-vision", 99)
	// The next push (another merge) and the weekly schedule both refuse it.
	for _, run := range []struct{ event, fixture string }{{"push", "push.json"}, {"schedule", "schedule.json"}} {
		at := h.refusedRun(run.event, run.fixture)
		if run.event == "schedule" {
			reportf(t, "push and schedule refused: %q; 0 Hub writes, kimi's head and settings unchanged; the other 2 entries up to date", strings.SplitN(at, "::", 3)[2])
		}
	}
}

// refusedRun runs event after kimi's source was gated and checks that the
// run fails that entry only, naming both repos and settings, and writes
// nothing. It returns the error annotation.
func (h *harness) refusedRun(event, fixture string) string {
	t := h.t
	t.Helper()
	before := h.hub.Stats()
	head, _ := h.hub.Head("AcmeAI/kimi-k2-5-vision", "main")
	out := h.run(event, fixture)
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("%s after the source was gated: %v, want a failed check\n%s", event, out.err, out.log)
	}
	var at string
	for _, a := range annotations(out.log, "error") {
		if strings.Contains(a, "file=catalogs/acme.yaml") && strings.Contains(a, "refusing to publish AcmeAI/kimi-k2-5-vision: it is public, but its source thirdparty/kimi-k2-5-vision is public, gated (manual)") {
			at = a
		}
	}
	if at == "" {
		t.Fatalf("no error annotation names both repos and settings:\n%s", strings.Join(annotations(out.log, "error"), "\n"))
	}
	after := h.hub.Stats()
	if h2, _ := h.hub.Head("AcmeAI/kimi-k2-5-vision", "main"); h2 != head {
		t.Errorf("kimi's sidecar moved")
	}
	for _, route := range writeRoutes {
		// The two unchanged entries still ask preupload for their write
		// check; nothing else may happen.
		if route != "preupload" && after.Requests[route] != before.Requests[route] {
			t.Errorf("the refused run hit %s %d times", route, after.Requests[route]-before.Requests[route])
		}
	}
	if got := h.access("AcmeAI/kimi-k2-5-vision"); got != (hub.Access{Gate: hub.GateOff}) {
		t.Errorf("the sidecar's settings were changed to %s", got)
	}
	if !strings.Contains(out.summary, "❌ failed") || !strings.Contains(out.summary, "gated (manual)") {
		t.Errorf("the summary does not show the refusal:\n%s", out.summary)
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	failed := 0
	for _, e := range res.Entries {
		switch {
		case e.Status == "failed":
			failed++
		case e.Status != "up-to-date":
			t.Errorf("entry %+v, want up to date", e)
		}
	}
	if failed != 1 {
		t.Errorf("%d entries failed, want only kimi: %+v", failed, res.Entries)
	}
	return at
}

// updateSource commits new weights to a source repo.
func (h *harness) updateSource(id string, seed uint64) {
	h.t.Helper()
	g, err := safetensors.NewSizedGenerator(seed, 64<<10, "BF16")
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.hub.CommitFiles(id, "main", "v2", []devhub.SeedFile{{Path: "model.safetensors", Content: g}}, nil); err != nil {
		h.t.Fatal(err)
	}
}

func TestSecurityEndpointCredentialsRefusedByTheAction(t *testing.T) {
	for _, event := range []struct{ name, fixture string }{{"pull_request", "pull_request.json"}, {"push", "push.json"}, {"schedule", "schedule.json"}} {
		t.Run(event.name, func(t *testing.T) {
			h := newHarness(t)
			w := h.watchHub(nil)
			ep := strings.Replace(h.env["INPUT_HF-ENDPOINT"], "http://", "http://publisher:endpoint-pass-0123@", 1)
			w.Endpoint(ep)
			h.env["INPUT_HF-ENDPOINT"] = ep
			out := h.run(event.name, event.fixture)
			if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "input hf-endpoint names credentials before its host (http://…@127.0.0.1:") {
				t.Fatalf("run: %v, want a refusal of the endpoint\n%s", out.err, out.log)
			}
			// The runner consumes the mask commands: the tokens' only
			// place, as in checkSecrets.
			log := out.log
			for _, tok := range []string{hfToken, ghToken} {
				log = strings.ReplaceAll(log, "::add-mask::"+tok+"\n", "")
			}
			w.Text("log", log)
			w.Text("summary", out.summary)
			w.Err("error", out.err)
			for _, cs := range h.gh.comments {
				for _, c := range cs {
					w.Text("comment", c.Body)
				}
			}
			for _, r := range h.gh.requests {
				w.Text("github request", r.Path+" "+r.Query+" "+r.Body)
			}
			if n := w.Requests("hub"); n != 0 {
				t.Errorf("the Hub got %d requests", n)
			}
			reportf(t, "refused: %q; Hub requests 0, comments %d, leaks %d", fmt.Sprint(out.err), len(h.gh.comments[7]), len(w.Leaks()))
		})
	}
}
