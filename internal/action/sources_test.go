package action

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// opsCatalog is a catalog file already in the repository that the base's
// config does not name yet.
var opsCatalog = "models:\n" + strings.ReplaceAll(entryYAML("gemma-ops-full-q4-k", "gemma-3-4b-ops", "thirdparty/gemma-3-vision", "OpsAI/gemma-3-4b-ops-vision"), "AcmeAI/", "OpsAI/")

// configOnlyPR makes pull request 7 change skulk-weights.yaml alone: the
// base has configYAML, the head cfg; catalogs/acme.yaml is the same at both
// ends (the head's).
func configOnlyPR(h *harness, cfg string) {
	h.writeFile("skulk-weights.yaml", cfg)
	h.writeFile("catalogs/ops.yaml", opsCatalog)
	h.gh.files[7] = []ChangedFile{{Name: "skulk-weights.yaml", Status: "modified"}}
	h.gh.contents[baseSHA] = map[string]string{"skulk-weights.yaml": configYAML, "catalogs/acme.yaml": headCatalog}
}

// TestPullRequestChangingOnlyTheConfigIsPlanned: a new catalog source and a
// renamed namespace, made in skulk-weights.yaml alone, change what a merge
// publishes; the plan diffs the effective catalogs of base and head and
// lists those entries (golden pr_comment_sources.md), with the rename
// called out.
func TestPullRequestChangingOnlyTheConfigIsPlanned(t *testing.T) {
	h := newHarness(t)
	configOnlyPR(h, strings.Replace(configYAML, "namespace: acme", "namespace: lab", 1)+
		"- path: catalogs/ops.yaml\n  namespace: ops\n  hf_owner: OpsAI\n")
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	comment := h.gh.comments[7][0].Body
	golden(t, "pr_comment_sources.md", comment)
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	want := "lab/gemma-3-4b-full-q4-k,lab/kimi-k2-5-full-q4-k,lab/qwen-2-5-vl-full-q4-k,ops/gemma-ops-full-q4-k"
	if strings.Join(models, ",") != want {
		t.Errorf("models = %v, want %s: the entries a merge would publish", models, want)
	}
	var res struct{ Sources json.RawMessage }
	decodeJSON(t, out.outputs["result"], &res)
	if got := string(res.Sources); got != `[{"change":"changed","namespace":"lab","path":"catalogs/acme.yaml","hf_owner":"AcmeAI","hf_collection":"AcmeAI/vindexes-0123456789abcdef01234567","old_namespace":"acme"},{"change":"added","namespace":"ops","path":"catalogs/ops.yaml","hf_owner":"OpsAI"}]` {
		t.Errorf("result sources = %s", got)
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "catalog source acme is renamed lab") {
		t.Errorf("warnings = %q, want one about the rename", warns)
	}
	// Only the config differs, so it is the one file read at the base.
	if n := h.gh.countRequests("GET", "/contents/"); n != 1 || h.gh.countRequests("GET", "/contents/skulk-weights.yaml") != 1 {
		t.Errorf("%d contents reads, want the config's alone", n)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("a pull_request run wrote to the Hub: %v", w)
	}
	reportf(t, "config-only pull request: %d source changes, models %v, %d contents read, 0 Hub writes", len(strings.Split(string(res.Sources), "},{")), models, h.gh.countRequests("GET", "/contents/"))
}

// TestPullRequestChangingHFOwnerIsCalledOut: moving a source to another
// hf_owner is a warning annotation and an alert at the top of the plan,
// and the entries it moves are planned.
func TestPullRequestChangingHFOwnerIsCalledOut(t *testing.T) {
	h := newHarness(t)
	cfg := strings.ReplaceAll(configYAML, "AcmeAI", "OtherAI")
	configOnlyPR(h, cfg)
	h.writeFile("catalogs/acme.yaml", strings.ReplaceAll(headCatalog, "AcmeAI/", "OtherAI/"))
	h.gh.files[7] = []ChangedFile{{Name: "skulk-weights.yaml", Status: "modified"}, {Name: "catalogs/acme.yaml", Status: "modified"}}
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	comment := h.gh.comments[7][0].Body
	alert := "> [!WARNING]\n> **`hf_owner` of catalog source `acme` changes from `AcmeAI` to `OtherAI`.** On merge, its sidecars are published under `OtherAI`"
	if !strings.Contains(comment, alert) || !strings.Contains(out.summary, alert) {
		t.Errorf("the plan does not call out the hf_owner change:\n%s", comment)
	}
	if i, j := strings.Index(comment, alert), strings.Index(comment, "### "); i < 0 || i > j {
		t.Errorf("the alert is not the first thing the plan says")
	}
	if !strings.Contains(comment, "| `acme` | `catalogs/acme.yaml` | **`hf_owner`: `AcmeAI` → `OtherAI`**; `hf_collection`: `AcmeAI/vindexes-0123456789abcdef01234567` → `OtherAI/vindexes-0123456789abcdef01234567` |") {
		t.Errorf("the sources table lacks the change:\n%s", comment)
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "catalog source acme: hf_owner changes from AcmeAI to OtherAI; on merge its sidecars are published under OtherAI") {
		t.Errorf("warnings = %q", warns)
	}
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	if len(models) != 3 {
		t.Errorf("models = %v, want the three vision entries now published under OtherAI", models)
	}
}

// TestPullRequestConfigOwnerChangeAloneFailsValidation: hf_owner changed
// in the config without the catalog following fails the check with every
// entry positioned, and the plan still says what the change is.
func TestPullRequestConfigOwnerChangeAloneFailsValidation(t *testing.T) {
	h := newHarness(t)
	configOnlyPR(h, strings.ReplaceAll(configYAML, "AcmeAI", "OtherAI"))
	out := h.run("pull_request", "pull_request.json")
	if out.err == nil {
		t.Fatalf("the run passed:\n%s", out.log)
	}
	if errs := annotations(out.log, "error"); len(errs) < 3 || !strings.Contains(strings.Join(errs, "\n"), "hf_repo owner must be 'OtherAI'") {
		t.Errorf("errors = %q", errs)
	}
	if !strings.Contains(h.gh.comments[7][0].Body, "changes from `AcmeAI` to `OtherAI`") {
		t.Errorf("the plan does not call out the hf_owner change:\n%s", h.gh.comments[7][0].Body)
	}
}

// TestPullRequestWithAGitHubFailureReadingTheBase: a base file that cannot
// be read fails the diff instead of planning a partial base.
func TestPullRequestWithAGitHubFailureReadingTheBase(t *testing.T) {
	h := newHarness(t)
	configOnlyPR(h, configYAML+"- path: catalogs/ops.yaml\n  namespace: ops\n  hf_owner: OpsAI\n")
	h.gh.failTimes("GET", "/contents/skulk-weights.yaml", 0, 502, nil)
	out := h.run("pull_request", "pull_request.json")
	if out.err == nil || !strings.Contains(out.summary, "The catalog changes could not be read from GitHub") {
		t.Fatalf("err %v, summary:\n%s", out.err, out.summary)
	}
	if out.outputs["models"] != "" {
		t.Errorf("models = %q, want none on a failed diff", out.outputs["models"])
	}
}

// TestPullRequestWithATruncatedFileListReadsTheWholeBase: GitHub lists at
// most 3,000 files of a pull request; with a list that long, a catalog file
// missing from it may still have changed, so every file is read at the base.
func TestPullRequestWithATruncatedFileListReadsTheWholeBase(t *testing.T) {
	h := newHarness(t)
	h.gh.pageSize = 100
	var files []ChangedFile
	for i := range maxListedFiles {
		files = append(files, ChangedFile{Name: fmt.Sprintf("docs/page-%04d.md", i), Status: "added"})
	}
	h.gh.files[7] = files // catalogs/acme.yaml changed, but GitHub's list stops before it
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	for _, p := range []string{"/contents/skulk-weights.yaml", "/contents/catalogs/acme.yaml"} {
		if n := h.gh.countRequests("GET", p); n != 1 {
			t.Errorf("%d reads of %s at the base, want 1", n, p)
		}
	}
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	if strings.Join(models, ",") != "acme/kimi-k2-5-full-q4-k,acme/qwen-2-5-vl-full-q4-k" {
		t.Errorf("models = %v, want the changes the list did not show", models)
	}
}
