package action

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRoutes are the local hub's routes that change state.
var writeRoutes = []string{"repo-create", "repo-delete", "repo-settings", "preupload", "commit", "lfs-batch", "storage-put", "storage-part", "storage-complete", "lfs-duplicate", "collection-create", "collection-add-item", "collection-delete-item"}

func (h *harness) hubWrites() map[string]int {
	st := h.hub.Stats()
	out := map[string]int{}
	for _, r := range writeRoutes {
		if n := st.Requests[r]; n > 0 {
			out[r] = n
		}
	}
	return out
}

func (h *harness) sidecarCommits() int {
	n := 0
	for repo, c := range h.hub.Stats().Commits {
		if strings.HasPrefix(repo, "AcmeAI/") {
			n += c
		}
	}
	return n
}

func TestPullRequestPlanCommentIsStickyAndWritesNothing(t *testing.T) {
	h := newHarness(t)
	// Someone else's comment carrying our marker must never be edited.
	h.gh.comments[7] = []fakeComment{{ID: 1, Author: "mallory", Body: planMarker + "\nfake plan"}}

	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("a pull_request run with a write token wrote to the Hub: %v", w)
	}
	cs := h.gh.comments[7]
	if len(cs) != 2 || cs[0].Body != planMarker+"\nfake plan" {
		t.Fatalf("comments after the first run = %+v, want mallory's untouched plus one new", cs)
	}
	golden(t, "pr_comment.md", cs[1].Body)
	golden(t, "pr_summary.md", out.summary)
	if !strings.Contains(out.summary, "thirdparty/kimi-k2-5-vision") || !strings.Contains(cs[1].Body, "model.safetensors") {
		t.Errorf("the plan does not name the source and its files:\n%s", cs[1].Body)
	}
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	if strings.Join(models, ",") != "acme/kimi-k2-5-full-q4-k,acme/qwen-2-5-vl-full-q4-k" {
		t.Errorf("models = %v, want the added and the changed vision entries", models)
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	if !res.Valid || len(res.Entries) != 3 || res.Entries[0].Status != "planned" || res.Entries[0].CopyFiles == 0 {
		t.Errorf("result = %+v", res)
	}
	// Three changed files in pages of two, and the catalog read at the base.
	if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 2 {
		t.Errorf("listed the pull request's files in %d requests, want 2 pages", n)
	}
	if n := h.gh.countRequests("GET", "/contents/catalogs/acme.yaml"); n != 1 {
		t.Errorf("read the base catalog %d times, want 1", n)
	}

	// Same head again: the comment is found and left alone.
	writes := h.gh.commentsWrites
	out = h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatal(out.err)
	}
	if h.gh.commentsWrites != writes || len(h.gh.comments[7]) != 2 {
		t.Errorf("an unchanged plan wrote the comment again (%d writes, %d comments)", h.gh.commentsWrites-writes, len(h.gh.comments[7]))
	}
	if !strings.Contains(out.log, "plan comment unchanged") {
		t.Errorf("log does not say the comment was unchanged:\n%s", out.log)
	}

	// A new push to the pull request changes the plan: edited in place.
	h.writeFile("catalogs/acme.yaml", strings.Replace(headCatalog, "thirdparty/kimi-k2-5-vision", "thirdparty/gemma-3-vision", 1))
	out = h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatal(out.err)
	}
	cs = h.gh.comments[7]
	if len(cs) != 2 || h.gh.countRequests("PATCH", "/issues/comments/") != 1 || h.gh.countRequests("POST", "/issues/7/comments") != 1 {
		t.Fatalf("after a changed plan: %d comments, %d edits, %d creates; want 2, 1, 1", len(cs), h.gh.countRequests("PATCH", "/issues/comments/"), h.gh.countRequests("POST", "/issues/7/comments"))
	}
	if strings.Contains(cs[1].Body, "thirdparty/kimi-k2-5-vision") || !strings.Contains(cs[1].Body, "thirdparty/gemma-3-vision") {
		t.Errorf("the edited comment does not show the new plan:\n%s", cs[1].Body)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("pull_request runs wrote to the Hub: %v", w)
	}
}

func TestForkPullRequestKeepsSummaryAndDoesNotFail(t *testing.T) {
	h := newHarness(t)
	h.gh.readOnly = true
	out := h.run("pull_request", "pull_request_fork.json")
	if out.err != nil {
		t.Fatalf("a fork's read-only token failed the check: %v\n%s", out.err, out.log)
	}
	if len(h.gh.comments[8]) != 0 {
		t.Errorf("comments = %+v", h.gh.comments[8])
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "fork") {
		t.Errorf("want one warning about the fork's read-only token, got %q", warns)
	}
	if !strings.Contains(out.summary, "## skulk-weights plan for #8") || !strings.Contains(out.summary, "acme/kimi-k2-5-full-q4-k") {
		t.Errorf("summary lacks the plan:\n%s", out.summary)
	}
	if len(annotations(out.log, "error")) != 0 {
		t.Errorf("errors reported: %q", annotations(out.log, "error"))
	}
}

func TestPullRequestValidationErrorsAnnotateAndFail(t *testing.T) {
	h := newHarness(t)
	bad := headCatalog + entryYAML("Bad_Key", "X", "thirdparty/x", "Mallory/x-vision")
	h.writeFile("catalogs/acme.yaml", bad)
	out := h.run("pull_request", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("run error = %v, want ErrFailed", out.err)
	}
	errs := annotations(out.log, "error")
	var located []string
	for _, a := range errs {
		if strings.Contains(a, "file=catalogs/acme.yaml") && strings.Contains(a, "line=") && strings.Contains(a, "col=") {
			located = append(located, a)
		}
	}
	if len(located) < 2 {
		t.Fatalf("want error annotations at catalogs/acme.yaml:line:col for the key and the sidecar owner, got:\n%s", strings.Join(errs, "\n"))
	}
	joined := strings.Join(located, "\n")
	for _, want := range []string{"lowercase kebab-case", "vision_sidecar_repo owner must be"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no annotation says %q:\n%s", want, joined)
		}
	}
	if !strings.Contains(out.summary, "The catalog does not validate") || !strings.Contains(out.summary, "`catalogs/acme.yaml:") {
		t.Errorf("summary lacks the problems with positions:\n%s", out.summary)
	}
	if len(h.gh.comments[7]) != 1 || !strings.Contains(h.gh.comments[7][0].Body, "does not validate") {
		t.Errorf("the comment should carry the problems too: %+v", h.gh.comments[7])
	}
}

func TestPullRequestHubUnreachableIsANote(t *testing.T) {
	h := newHarness(t)
	dead := httptest.NewServer(nil)
	dead.Close()
	h.env["INPUT_HF-ENDPOINT"] = dead.URL
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("an unreadable Hub failed the plan: %v\n%s", out.err, out.log)
	}
	if !strings.Contains(out.summary, "The Hub could not be read") || !strings.Contains(out.summary, "hf://thirdparty/kimi-k2-5-vision") {
		t.Errorf("summary should keep the static plan and say the Hub could not be read:\n%s", out.summary)
	}
}

func TestPushPublishesThenIsANoOp(t *testing.T) {
	h := newHarness(t)
	out := h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("push failed: %v\n%s", out.err, out.log)
	}
	if got := h.sidecarCommits(); got < 3 {
		t.Errorf("sidecar commits after the merge = %d, want one per vision entry (3) at least", got)
	}
	for _, repo := range []string{"AcmeAI/gemma-3-4b-vision", "AcmeAI/kimi-k2-5-vision", "AcmeAI/qwen2-5-vl-vision"} {
		if _, err := h.hub.Head(repo, "main"); err != nil {
			t.Errorf("%s was not published: %v", repo, err)
		}
	}
	var res resultJSON
	decodeJSON(t, out.outputs["result"], &res)
	if len(res.Entries) != 3 {
		t.Fatalf("result = %+v, want the three vision entries (not the built-in catalog's)", res)
	}
	for _, e := range res.Entries {
		if e.Status != "published" || e.Commit == "" {
			t.Errorf("entry %+v, want published with a commit", e)
		}
	}
	golden(t, "push_summary.md", out.summary)
	cs := h.gh.comments[7]
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, publishMarker) || !strings.Contains(cs[0].Body, "✅ published") {
		t.Fatalf("merged pull request comments = %+v", cs)
	}

	commits := h.sidecarCommits()
	out = h.run("push", "push.json")
	if out.err != nil {
		t.Fatalf("second push failed: %v\n%s", out.err, out.log)
	}
	if got := h.sidecarCommits(); got != commits {
		t.Errorf("a second merge committed %d more times, want a no-op", got-commits)
	}
	decodeJSON(t, out.outputs["result"], &res)
	for _, e := range res.Entries {
		if e.Status != "up-to-date" {
			t.Errorf("entry %+v, want up-to-date", e)
		}
	}
	if len(h.gh.comments[7]) != 1 || !strings.Contains(h.gh.comments[7][0].Body, "up to date") {
		t.Errorf("the publish comment should be edited in place: %+v", h.gh.comments[7])
	}
}

func TestPushCreatingAnotherBranchPublishesNothing(t *testing.T) {
	h := newHarness(t)
	out := h.run("push", "push_created.json")
	if out.err != nil {
		t.Fatal(out.err)
	}
	if st := h.hub.Stats(); len(h.hubWrites()) > 0 || st.Requests["repo-info"] > 0 {
		t.Errorf("a push creating a non-default branch touched the Hub: %v", st.Requests)
	}
	if out.outputs["models"] != "[]" {
		t.Errorf("models = %q, want []", out.outputs["models"])
	}
}

func TestPushWithoutTokenFailsBeforeWriting(t *testing.T) {
	h := newHarness(t)
	h.env["INPUT_HF-TOKEN"] = ""
	out := h.run("push", "push.json")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "hf-token is empty") {
		t.Fatalf("err = %v, log:\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestWorkflowDispatchRepublishesOneEntry(t *testing.T) {
	h := newHarness(t)
	out := h.run("workflow_dispatch", "workflow_dispatch.json")
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	if out.outputs["models"] != `["acme/kimi-k2-5-full-q4-k"]` {
		t.Errorf("models = %s", out.outputs["models"])
	}
	if _, err := h.hub.Head("AcmeAI/kimi-k2-5-vision", "main"); err != nil {
		t.Errorf("kimi not published: %v", err)
	}
	if _, err := h.hub.Head("AcmeAI/gemma-3-4b-vision", "main"); err == nil {
		t.Errorf("gemma was published by a dispatch for kimi only")
	}
}

func TestScheduleDryRunListsWhatNeedsPublishing(t *testing.T) {
	h := newHarness(t)
	h.env["INPUT_DRY-RUN"] = "true"
	out := h.run("schedule", "schedule.json")
	if out.err != nil {
		t.Fatalf("%v\n%s", out.err, out.log)
	}
	if w := h.hubWrites(); len(w) > 0 {
		t.Errorf("a dry run wrote %v", w)
	}
	var models []string
	decodeJSON(t, out.outputs["models"], &models)
	if len(models) != 3 {
		t.Errorf("models = %v, want all three unpublished entries", models)
	}

	h.env["INPUT_DRY-RUN"] = "false"
	if out := h.run("schedule", "schedule.json"); out.err != nil {
		t.Fatal(out.err)
	}
	h.env["INPUT_DRY-RUN"] = "true"
	out = h.run("schedule", "schedule.json")
	if out.outputs["models"] != "[]" {
		t.Errorf("after publishing, the dry run still lists %s", out.outputs["models"])
	}
}

func TestInputsCannotInjectWorkflowCommands(t *testing.T) {
	h := newHarness(t)
	h.env["INPUT_MODEL"] = "acme/x\n::set-output name=pwned::1\n::add-mask::visible"
	out := h.run("workflow_dispatch", "workflow_dispatch.json")
	if !errors.Is(out.err, ErrFailed) {
		t.Fatalf("err = %v", out.err)
	}
	for _, line := range strings.Split(out.log, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "::set-output") || (strings.HasPrefix(trimmed, "::add-mask::") && !strings.Contains(trimmed, "actionTest")) || strings.Contains(line, "##[") {
			t.Errorf("input text became a workflow command: %q", line)
		}
	}
	if _, ok := out.outputs["pwned"]; ok {
		t.Errorf("an input created an output")
	}
}

func TestUnknownEventAndBadPayloadFailClearly(t *testing.T) {
	h := newHarness(t)
	out := h.run("issue_comment", "pull_request.json")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "not handled") {
		t.Errorf("unknown event: err = %v\n%s", out.err, out.log)
	}
	h.writeFile("event.json", `{"pull_request": {"number": 7`)
	h.env["GITHUB_EVENT_PATH"] = filepathJoin(h.ws, "event.json")
	out = h.runWithPath("pull_request")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "not valid JSON") {
		t.Errorf("truncated payload: err = %v\n%s", out.err, out.log)
	}
	h.writeFile("event.json", `{}`)
	out = h.runWithPath("pull_request")
	if !errors.Is(out.err, ErrFailed) || !strings.Contains(out.log, "pull_request.base.sha") {
		t.Errorf("empty payload: err = %v\n%s", out.err, out.log)
	}
}

// readmeSHAs are the one substitution between the golden plan comment and
// the copy in docs/action.md: the golden file writes the source commits as
// <shaA> and <shaB> (they depend on the generated test files), docs/action.md
// shows plausible commit ids in their place. The page says so too.
var readmeSHAs = strings.NewReplacer(
	"<shaA>", "5d1c0e7a9b3f42e8c6d0a1b2c3d4e5f60718293a",
	"<shaB>", "8e2f4a6c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f",
)

const readmeCommentHeading = "## What a plan comment looks like"

// TestDocsPlanCommentIsTheGolden: docs/action.md claims its example plan
// comment is the one the suite checks byte for byte; it must be the golden
// file, quoted, with only the shas above substituted. go test -update
// rewrites that block from the golden file; it stays last in this
// file so that one -update pass rewrites the golden file first.
func TestDocsPlanCommentIsTheGolden(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "pr_comment.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(readmeSHAs.Replace(string(golden)), "\n"), "\n") {
		if line == "" {
			want.WriteString(">\n")
		} else {
			want.WriteString("> " + line + "\n")
		}
	}

	readmePath := filepath.Join("..", "..", "docs", "action.md")
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	h := strings.Index(readme, "\n"+readmeCommentHeading+"\n")
	if h < 0 {
		t.Fatalf("docs/action.md has no %q section", readmeCommentHeading)
	}
	// The block is the first run of quoted lines after the heading.
	start := h + 1 + len(readmeCommentHeading)
	q := strings.Index(readme[start:], "\n>")
	if q < 0 {
		t.Fatalf("no quoted comment under %q", readmeCommentHeading)
	}
	start += q + 1
	end := start
	for end < len(readme) && readme[end] == '>' {
		nl := strings.IndexByte(readme[end:], '\n')
		if nl < 0 {
			end = len(readme)
			break
		}
		end += nl + 1
	}
	got := readme[start:end]
	if *update {
		if err := os.WriteFile(readmePath, []byte(readme[:start]+want.String()+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want.String() {
		t.Errorf("docs/action.md's plan comment differs from testdata/golden/pr_comment.md (go test -update rewrites it)\n--- docs/action.md\n%s--- golden, quoted\n%s", got, want.String())
	}
}
