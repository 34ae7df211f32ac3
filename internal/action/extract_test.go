package action

import (
	"fmt"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upstream"
)

// upstreamEntry is an entry whose sidecars are both cut out of the full
// checkpoint moonshotai/Kimi-K2.5.
const upstreamEntry = `- key: kimi-upstream-full-q4-k
  source_model: moonshotai/Kimi-K2.5
  quant: q4k
  tier: moe
  slices: [full]
  output_name: acme-kimi-upstream.vindex
  hf_repo: AcmeAI/kimi-upstream-vindex
  mtp_source_repo: moonshotai/Kimi-K2.5
  mtp_sidecar_repo: AcmeAI/kimi-k2-5-mtp
  vision_source_repo: moonshotai/Kimi-K2.5
  vision_sidecar_repo: AcmeAI/kimi-k2-5-upstream-vision
  vision_source_tensors: [vision_tower., mm_projector.]
`

func (h *harness) seedUpstream() {
	h.t.Helper()
	files, err := upstream.Files(upstream.Layout{Shards: 8, LanguageBytes: 32 << 10, VisionBytes: 64 << 10, MTP: true, Seed: 3})
	if err != nil {
		h.t.Fatal(err)
	}
	var seed []devhub.SeedFile
	for _, f := range files {
		seed = append(seed, devhub.SeedFile{Path: f.Path, Content: f.Content})
	}
	if err := h.hub.CreateRepo("moonshotai/Kimi-K2.5", devhub.RepoOptions{}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.hub.CommitFiles("moonshotai/Kimi-K2.5", "main", "seed", seed, nil); err != nil {
		h.t.Fatal(err)
	}
}

// TestExtractionPlannedAndPublished: the action treats the MTP sidecar and
// an extracted vision sidecar like the mirror: planned in the pull request
// without writing, published on merge, a no-op the second time.
func TestExtractionPlannedAndPublished(t *testing.T) {
	h := newHarness(t)
	h.seedUpstream()
	h.writeFile("catalogs/acme.yaml", headCatalog+upstreamEntry)
	h.env["INPUT_ARTIFACT"] = "all"

	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("a pull_request run wrote to the Hub: %v", w)
	}
	for _, want := range []string{
		"**mtp sidecar** `hf://AcmeAI/kimi-k2-5-mtp`, cut out of the checkpoint by ranged reads, every tensor converted to BF16",
		"| tensors | 4 + 2 scales consumed, ",
		"**vision sidecar** `hf://AcmeAI/kimi-k2-5-upstream-vision`",
		"| shards read | 2 of 8 ",
		"| output | `model.safetensors`, ",
	} {
		if !strings.Contains(out.summary, want) {
			t.Errorf("plan summary lacks %q:\n%s", want, out.summary)
		}
	}
	if !strings.Contains(out.outputs["models"], "acme/kimi-upstream-full-q4-k") {
		t.Errorf("models output %s", out.outputs["models"])
	}
	golden(t, "pr_comment_extract.md", h.gh.comments[7][len(h.gh.comments[7])-1].Body)

	out = h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("push failed: %v\n%s", out.err, out.log)
	}
	for _, repo := range []string{"AcmeAI/kimi-k2-5-mtp", "AcmeAI/kimi-k2-5-upstream-vision"} {
		if h.hub.Stats().Commits[repo] != 2 {
			t.Errorf("%s: %d commits, want its first and ours", repo, h.hub.Stats().Commits[repo])
		}
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	found := false
	for _, e := range res.Entries {
		if e.ID != "acme/kimi-upstream-full-q4-k" {
			continue
		}
		found = true
		if e.Status != "extracted" || len(e.Extracts) != 2 || e.Extracts[0].Artifact != "mtp" || e.Extracts[0].Status != "published" || e.Extracts[1].Status != "published" {
			t.Errorf("result entry %+v", e)
		}
	}
	if !found || !strings.Contains(out.summary, "mtp ✅ published (extracted)") {
		t.Errorf("summary:\n%s\nresult %+v", out.summary, res)
	}
	golden(t, "push_summary_extract.md", out.summary)

	read := h.hub.Stats().FileBytesServed["moonshotai/Kimi-K2.5"]
	out = h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("second push failed: %v\n%s", out.err, out.log)
	}
	if n := h.hub.Stats().FileBytesServed["moonshotai/Kimi-K2.5"] - read; n != 0 {
		t.Errorf("the second merge read %d bytes of the checkpoint", n)
	}
	if !strings.Contains(out.summary, "mtp ✅ up to date (extracted)") || !strings.Contains(out.summary, "vision ✅ up to date (extracted)") {
		t.Errorf("summary:\n%s", out.summary)
	}
}

// TestScheduleDryRunSkipsCurrentExtractions: a dry run lists an entry whose
// extracted sidecars are up to date nowhere in models.
func TestScheduleDryRunSkipsCurrentExtractions(t *testing.T) {
	h := newHarness(t)
	h.seedUpstream()
	h.writeFile("catalogs/acme.yaml", "models:\n"+upstreamEntry)
	h.env["INPUT_ARTIFACT"] = "all"
	h.env["INPUT_DRY-RUN"] = "true"
	out := h.run("schedule", "schedule.json")
	if out.err != nil || !strings.Contains(out.outputs["models"], "acme/kimi-upstream-full-q4-k") {
		t.Fatalf("first dry run: %v, models %s\n%s", out.err, out.outputs["models"], out.log)
	}
	h.env["INPUT_DRY-RUN"] = "false"
	if out = h.run("schedule", "schedule.json"); out.err != nil {
		t.Fatalf("publish: %v\n%s", out.err, out.log)
	}
	h.env["INPUT_DRY-RUN"] = "true"
	out = h.run("schedule", "schedule.json")
	if out.err != nil || strings.Contains(out.outputs["models"], "kimi-upstream") {
		t.Errorf("dry run after the publish: %v, models %s", out.err, out.outputs["models"])
	}
}

// TestExtractionPlanOfGatedSourceIsAFinding: the plan reads without a
// token, so a gated checkpoint's index cannot be read; that is a warning at
// the entry, not a failed check, and nothing is written.
func TestExtractionPlanOfGatedSourceIsAFinding(t *testing.T) {
	h := newHarness(t)
	h.seedUpstream()
	if err := h.hub.SetRepoAccess("moonshotai/Kimi-K2.5", false, "manual"); err != nil {
		t.Fatal(err)
	}
	h.writeFile("catalogs/acme.yaml", headCatalog+upstreamEntry)
	h.env["INPUT_ARTIFACT"] = "all"
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("wrote to the Hub: %v", w)
	}
	if ws := annotations(out.log, "warning"); !strings.Contains(strings.Join(ws, "\n"), "Kimi-K2.5") {
		t.Errorf("no warning about the gated source: %v", ws)
	}
	if !strings.Contains(out.summary, "**Finding: the checkpoint cannot be read without a token,**") {
		t.Errorf("the plan does not say what could not be read:\n%s", out.summary)
	}
}

// TestExtractionPlanSeesSidecarWithoutToken: the pull request's plan reads
// without a token. A new extracted sidecar and a private one look alike to
// it, so both are reported as not visible, never as "would be created"; a
// public one is seen at its head, up to date.
func TestExtractionPlanSeesSidecarWithoutToken(t *testing.T) {
	h := newHarness(t)
	h.seedUpstream()
	h.writeFile("catalogs/acme.yaml", headCatalog+upstreamEntry)
	h.env["INPUT_ARTIFACT"] = "all"
	const hidden = "| sidecar now | not visible without a token: it does not exist yet, or it is private |"
	section := func(body, artifact string) string {
		_, after, _ := strings.Cut(body, "**"+artifact+" sidecar**")
		before, _, _ := strings.Cut(after, "**vision sidecar**")
		return before
	}
	comment := func() string {
		t.Helper()
		out := h.run("pull_request", "pull_request.json")
		if out.err != nil {
			t.Fatalf("run failed: %v\n%s", out.err, out.log)
		}
		for _, c := range h.gh.comments[7] {
			if strings.HasPrefix(c.Body, "<!-- skulk-weights:plan -->") {
				return c.Body
			}
		}
		t.Fatalf("no plan comment among %d", len(h.gh.comments[7]))
		return ""
	}

	body := comment()
	for _, a := range []string{"mtp", "vision"} {
		if s := section(body, a); !strings.Contains(s, hidden) || strings.Contains(s, "would be created") {
			t.Errorf("new %s sidecar:\n%s", a, s)
		}
	}
	if out := h.run("push", "push.json"); out.err != nil {
		t.Fatalf("push failed: %v\n%s", out.err, out.log)
	}
	head, err := h.hub.Head("AcmeAI/kimi-k2-5-mtp", "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.hub.SetRepoAccess("AcmeAI/kimi-k2-5-upstream-vision", true, ""); err != nil {
		t.Fatal(err)
	}
	before := h.hubWrites()
	body = comment()
	mtp := section(body, "mtp")
	for _, want := range []string{"| sidecar now | at `" + head[:12] + "` |", "| up to date | the sidecar already holds this extraction", "| sidecar access | public |"} {
		if !strings.Contains(mtp, want) {
			t.Errorf("public mtp sidecar lacks %q:\n%s", want, mtp)
		}
	}
	if v := section(body, "vision"); !strings.Contains(v, hidden) || strings.Contains(v, "| up to date |") {
		t.Errorf("private vision sidecar:\n%s", v)
	}
	if after := h.hubWrites(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the pull request's plan wrote: %v -> %v", before, after)
	}
}
