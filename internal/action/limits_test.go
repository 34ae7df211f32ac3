package action

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sethvargo/go-githubactions"
)

func TestFitMarkdownClosesWhatItCuts(t *testing.T) {
	var b strings.Builder
	b.WriteString("## plan\n\n<details><summary>many files</summary>\n\n| a | b |\n| --- | --- |\n")
	for b.Len() < 10000 {
		b.WriteString("| copy | `é-shard.safetensors` |\n")
	}
	note := "\n\n---\nnote\n"
	got, cut := fitMarkdown(b.String(), 4096, note)
	if !cut || len(got) > 4096 || !utf8.ValidString(got) || !strings.HasSuffix(got, "\n</details>"+note) {
		t.Errorf("cut %v, %d bytes, ends %q", cut, len(got), got[max(len(got)-80, 0):])
	}
	fenced := "```\n" + strings.Repeat("line\n", 2000)
	if got, _ := fitMarkdown(fenced, 1000, note); openFence(strings.TrimSuffix(got, note)) || len(got) > 1000 {
		t.Errorf("a fence was left open: %q", got[max(len(got)-60, 0):])
	}
	if got, cut := fitMarkdown("short", 10, note); cut || got != "short" {
		t.Errorf("a body under the limit was changed")
	}
}

// TestSummaryAndOutputsStayWithinGitHubsLimits: a pull request adding
// 16,000 entries plans a summary over 1 MiB and a result over 1 MB. The
// summary is cut to 1 MiB with a note, the result output lists a prefix
// and says so, the comment is cut without sending readers to the cut
// summary, and the run passes.
func TestSummaryAndOutputsStayWithinGitHubsLimits(t *testing.T) {
	h := newHarness(t)
	var cat strings.Builder
	cat.WriteString(headCatalog)
	for i := range 16000 {
		fmt.Fprintf(&cat, "- {key: bulk-%05d, source_model: org/m, quant: q4k, tier: smoke, slices: [full], output_name: bulk-%05d.vindex, hf_repo: AcmeAI/bulk-%05d-vindex}\n", i, i, i)
	}
	h.writeFile("catalogs/acme.yaml", cat.String())
	h.gh.contents[baseSHA]["catalogs/acme.yaml"] = headCatalog
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("the run failed: %v\n%s", out.err, lastLines(out.log, 20))
	}
	if n := len(out.summary); n > maxSummaryBytes || n < maxSummaryBytes-4096 {
		t.Errorf("summary is %d bytes, want just under %d", n, maxSummaryBytes)
	}
	if !strings.Contains(out.summary, "**This summary is longer than GitHub shows for one step (1 MiB) and was cut here: ") {
		t.Errorf("the cut summary does not say so: %q", out.summary[len(out.summary)-400:])
	}
	comment := h.gh.comments[7][0].Body
	if len(comment) > maxCommentBytes || !strings.Contains(comment, "longer than a GitHub comment or job summary allows") || strings.Contains(comment, "full plan is in the job summary") {
		t.Errorf("comment of %d bytes ends %q", len(comment), comment[max(len(comment)-400, 0):])
	}
	size := 0
	for _, v := range out.outputs {
		size += utf16Bytes(v)
	}
	if size > maxOutputBytes {
		t.Errorf("outputs take %d UTF-16 bytes, over %d", size, maxOutputBytes)
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	if !res.Truncated || res.EntriesTotal != 16000 || len(res.Entries) == 0 || len(res.Entries) >= 16000 {
		t.Errorf("result: truncated %v, %d of %d entries", res.Truncated, len(res.Entries), res.EntriesTotal)
	}
	warns := strings.Join(annotations(out.log, "warning"), "\n")
	for _, w := range []string{"the job summary is ", "the result output lists "} {
		if !strings.Contains(warns, w) {
			t.Errorf("no warning %q in\n%s", w, warns)
		}
	}
	reportf(t, "summary %d bytes (limit %d), comment %d bytes, outputs %d UTF-16 bytes, result %d of %d entries, exit ok",
		len(out.summary), maxSummaryBytes, len(comment), size, len(res.Entries), res.EntriesTotal)
}

// TestModelsOutputIsCutToItsShare: a models list too long for the outputs
// keeps valid JSON, within half the budget, and says so.
func TestModelsOutputIsCutToItsShare(t *testing.T) {
	dir := t.TempDir()
	outFile := filepath.Join(dir, "output")
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	env := map[string]string{"GITHUB_OUTPUT": outFile}
	getenv := func(k string) string { return env[k] }
	r := &runner{cfg: Config{Getenv: getenv, Stdout: &log}, gha: githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(&log))}
	var models []string
	for i := range 40000 {
		models = append(models, fmt.Sprintf("acme/entry-%06d-with-a-longish-key-ü", i))
	}
	r.writeOutputs(models, resultJSON{Event: "push", Entries: []entryJSON{{ID: "acme/x", Status: "failed", Error: strings.Repeat("e", 100000)}}})
	raw, _ := os.ReadFile(outFile)
	outs := parseOutputs(t, string(raw))
	var got []string
	if err := json.Unmarshal([]byte(outs["models"]), &got); err != nil {
		t.Fatalf("models is not JSON: %v", err)
	}
	if len(got) == 0 || len(got) >= len(models) || got[len(got)-1] != models[len(got)-1] || utf16Bytes(outs["models"]) > maxOutputBytes/2 {
		t.Errorf("models kept %d of %d in %d UTF-16 bytes", len(got), len(models), utf16Bytes(outs["models"]))
	}
	if !strings.Contains(log.String(), fmt.Sprintf("the models output lists %d of 40000 entries", len(got))) {
		t.Errorf("no warning about the cut:\n%s", lastLines(log.String(), 5))
	}
	var res resultJSON
	if err := json.Unmarshal([]byte(outs["result"]), &res); err != nil || len(res.Entries) != 1 || len(res.Entries[0].Error) > maxOutputError+40 {
		t.Fatalf("result: %v, %+v", err, len(outs["result"]))
	}
	reportf(t, "models %d of %d in %d UTF-16 bytes; a 100,000-byte error clipped to %d bytes", len(got), len(models), utf16Bytes(outs["models"]), len(res.Entries[0].Error))
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
