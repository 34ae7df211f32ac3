package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
)

// foreignFoxlight is a user's own catalog/foxlight.yaml: the path of the
// built-in catalog, with whatever the user keeps there.
const foreignFoxlight = "# our notes, not a catalog\nmodels: [oops\n"

// TestSecurityBuiltinCatalogOnlyByName: a repository that happens to hold
// catalog/foxlight.yaml does not make the built-in catalog its own. A push
// reconciles the repository's entries only (with a write-anywhere token,
// nothing of the built-in catalog is read or written); without any config
// it publishes nothing; the built-in entries are acted on only when model
// names one.
func TestSecurityBuiltinCatalogOnlyByName(t *testing.T) {
	h := newHarness(t)
	h.rescope()
	h.writeFile("catalog/foxlight.yaml", foreignFoxlight)
	h.seedSource("third-party/kimi-k2-5-vision", 7)

	out := h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("push failed: %v\n%s", out.err, out.log)
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	for _, e := range res.Entries {
		if !strings.HasPrefix(e.ID, "acme/") {
			t.Errorf("the push acted on %s", e.ID)
		}
	}
	if len(res.Entries) != 3 {
		t.Errorf("%d entries reconciled, want acme's three", len(res.Entries))
	}
	builtinUntouched := func(when string) {
		t.Helper()
		if _, err := h.hub.Head("FoxlightAI/kimi-k2-5-vision", "main"); err == nil {
			t.Errorf("%s: the built-in kimi sidecar was published", when)
		}
		if n := h.hub.Stats().Commits["FoxlightAI/kimi-k2-5-vision"]; n != 0 {
			t.Errorf("%s: %d commits to the built-in sidecar", when, n)
		}
	}
	builtinUntouched("push with a config")
	reportf(t, "push with catalog/foxlight.yaml in the repository: %d entries reconciled (%s...), 0 commits to the built-in sidecar", len(res.Entries), res.Entries[0].ID)

	// No config at all: the built-in catalog is all there is, and it is
	// not the repository's to publish.
	if err := os.Remove(filepath.Join(h.ws, "skulk-weights.yaml")); err != nil {
		t.Fatal(err)
	}
	h.env["INPUT_CATALOG"] = ""
	before := h.hub.Stats()
	out = h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("push without a config failed: %v\n%s", out.err, out.log)
	}
	if out.outputs["models"] != "[]" || !strings.Contains(out.summary, "published only when `model` names one") {
		t.Errorf("models = %s, summary:\n%s", out.outputs["models"], out.summary)
	}
	if got, was := h.hub.Stats().Requests["repo-info"], before.Requests["repo-info"]; got != was {
		t.Errorf("the push without a config read the Hub %d times", got-was)
	}
	builtinUntouched("push without a config")
	reportf(t, "push without a config: models %s, %d repo-info requests", out.outputs["models"], h.hub.Stats().Requests["repo-info"]-before.Requests["repo-info"])

	// Named, a built-in entry is acted on (a dry run here).
	h.env["INPUT_MODEL"] = "foxlight/kimi-k2-5-full-q4-k"
	h.env["INPUT_DRY-RUN"] = "true"
	out = h.run("workflow_dispatch", "workflow_dispatch.json")
	if out.err != nil {
		t.Fatalf("dispatch failed: %v\n%s", out.err, out.log)
	}
	if out.outputs["models"] != `["foxlight/kimi-k2-5-full-q4-k"]` {
		t.Errorf("models = %s, want the named built-in entry", out.outputs["models"])
	}
	builtinUntouched("dry run by name")
	var plan resultJSON
	decodeJSON(t, out.outputs["result"], &plan)
	if len(plan.Entries) != 1 || plan.Entries[0].Status != "planned" || plan.Entries[0].SourceRepo != "third-party/kimi-k2-5-vision" {
		t.Errorf("result = %+v, want the named built-in entry planned", plan)
	}

	// An annotation about a built-in entry never points into the user's
	// file of the same path.
	h.hub.AddFault(devhub.Fault{Path: "/api/models/third-party/kimi-k2-5-vision", Kind: devhub.FaultStatus, Status: 404})
	out = h.run("workflow_dispatch", "workflow_dispatch.json")
	errs := annotations(out.log, "error")
	if out.err == nil || len(errs) == 0 || strings.Contains(strings.Join(errs, "\n"), "file=catalog/foxlight.yaml") {
		t.Errorf("err %v, annotations %q: want errors that name no file of the repository", out.err, errs)
	}
}

// TestPullRequestTouchingCatalogFoxlightYAML: a pull request that edits the
// user's catalog/foxlight.yaml is not a change to the built-in catalog:
// nothing of it is read at the base, and no built-in entry is planned.
func TestPullRequestTouchingCatalogFoxlightYAML(t *testing.T) {
	h := newHarness(t)
	h.writeFile("catalog/foxlight.yaml", foreignFoxlight)
	h.gh.files[7] = append(h.gh.files[7], ChangedFile{Name: "catalog/foxlight.yaml", Status: "modified"})
	h.gh.contents[baseSHA]["catalog/foxlight.yaml"] = "models: []\n"
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	if n := h.gh.countRequests("GET", "/contents/catalog/foxlight.yaml"); n != 0 {
		t.Errorf("read the user's catalog/foxlight.yaml at the base %d times", n)
	}
	if strings.Contains(h.gh.comments[7][0].Body, "foxlight/") {
		t.Errorf("the plan names a built-in entry:\n%s", h.gh.comments[7][0].Body)
	}
}
