package action

import (
	"strings"
	"testing"
)

// TestPullRequestWithACollidingSidecar: a pull request pointing a sidecar at
// another entry's repo fails the check with one positioned error there, the
// plan shows the entry refused, and the merge publishes nothing.
func TestPullRequestWithACollidingSidecar(t *testing.T) {
	h := newHarness(t)
	// kimi's sidecar is gemma's vindex repo, spelt in another case.
	h.writeFile("catalogs/acme.yaml", strings.Replace(headCatalog, "vision_sidecar_repo: AcmeAI/kimi-k2-5-vision", "vision_sidecar_repo: AcmeAI/Gemma-3-4b-full-q4-k-vindex", 1))
	out := h.run("pull_request", "pull_request.json")
	if out.err == nil {
		t.Fatalf("the check passed:\n%s", out.log)
	}
	errs := annotations(out.log, "error")
	var at []string
	for _, e := range errs {
		if strings.Contains(e, "a sidecar needs a repo of its own") {
			at = append(at, e)
		}
	}
	want := "::error col=24,file=catalogs/acme.yaml,line=21,title=skulk-weights catalog::kimi-k2-5-full-q4-k: vision_sidecar_repo AcmeAI/Gemma-3-4b-full-q4-k-vindex is also the hf_repo of acme/gemma-3-4b-full-q4-k (catalogs/acme.yaml:9, spelt AcmeAI/gemma-3-4b-full-q4-k-vindex; the Hub ignores case in repo ids); a sidecar needs a repo of its own"
	if len(at) != 1 || at[0] != want {
		t.Errorf("collision annotations = %q\nwant exactly %q", at, want)
	}
	comment := h.gh.comments[7][0].Body
	if !strings.Contains(comment, "**Refused:** refusing to publish AcmeAI/Gemma-3-4b-full-q4-k-vindex: acme/kimi-k2-5-full-q4-k: vision_sidecar_repo") {
		t.Errorf("the plan does not show the entry refused:\n%s", comment)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("wrote %v", w)
	}
	out = h.run("push", "push.json")
	if out.err == nil || h.sidecarCommits() != 0 {
		t.Errorf("the merge published: err %v, %d sidecar commits", out.err, h.sidecarCommits())
	}
}
