package action

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// GitHub's limits on what a step writes. Going over them loses the whole
// thing, not the excess: a summary over the limit is not shown at all
// ("$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of
// 1024k", and an error annotation), and outputs over theirs fail the job.
const (
	// maxSummaryBytes is the step summary's limit: 1 MiB per step
	// (reference/github-actions.md §1.3; the runner's message says 1024k).
	maxSummaryBytes = 1 << 20
	// maxOutputBytes is what this action lets its outputs take of the
	// job's: 1 MB per job and 50 MB per workflow run, with size
	// "approximated based on UTF-16 encoding" (GitHub docs,
	// data/reusables/actions/output-limitations.md; reference/
	// github-actions.md §6). A tenth of the megabyte is left to the job's
	// other steps, and sizes are counted as UTF-16 bytes.
	maxOutputBytes = 900_000
	// maxOutputError bounds one entry's error text in the result output.
	maxOutputError = 2048
)

// fitMarkdown returns body unchanged when it is at most limit bytes, and
// otherwise cut so that it and note fit: the cut falls on a line boundary
// (never inside a UTF-8 sequence), and a code fence or <details> block
// left open is closed so the note renders as text. cut says whether it was
// cut.
func fitMarkdown(body string, limit int, note string) (out string, cut bool) {
	if len(body) <= limit {
		return body, false
	}
	const closers = "\n```\n</details>\n</details>\n</details>\n"
	room := max(limit-len(note)-len(closers), 0)
	s := body[:min(room, len(body))]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	if openFence(s) {
		s += "\n```"
	}
	// The renderers never nest more than one <details>; three closers are
	// room enough for any text a cut could leave open.
	for n := min(strings.Count(s, "<details>")-strings.Count(s, "</details>"), 3); n > 0; n-- {
		s += "\n</details>"
	}
	return s + note, true
}

// summaryNote ends a step summary that was cut. It sends readers to what
// holds everything, not to another cut copy.
func summaryNote(shown, total int) string {
	return fmt.Sprintf("\n\n---\n**This summary is longer than GitHub shows for one step (1 MiB) and was cut here: %d of its %d bytes are shown.** "+
		"`skulk-weights catalog validate` lists every catalog problem, and `skulk-weights publish --dry-run --model KEY` shows one entry's plan.\n", shown, total)
}

// commentNote ends a comment that was cut, pointing at the summary only
// when the summary holds the whole text.
func commentNote(summaryWhole bool) string {
	if summaryWhole {
		return "\n\n---\n**The plan is longer than a GitHub comment allows and was cut here.** The full plan is in the job summary of this workflow run.\n"
	}
	return "\n\n---\n**The plan is longer than a GitHub comment or job summary allows and was cut here.** " +
		"`skulk-weights catalog validate` lists every catalog problem, and `skulk-weights publish --dry-run --model KEY` shows one entry's plan.\n"
}

// summary appends markdown to the step summary, cut to what is left of
// the step's 1 MiB. It records whether anything was cut, so the comment
// never sends readers to a summary that lacks what the comment lacks.
func (r *runner) summary(markdown string) {
	markdown = r.scrub(markdown)
	path := r.cfg.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		r.summaryMissing = true
		r.infof("GITHUB_STEP_SUMMARY is not set; the summary follows in the log")
		for _, line := range strings.Split(markdown, "\n") {
			r.infof("%s", line)
		}
		return
	}
	room := maxSummaryBytes - 1 // the newline AddStepSummary appends
	if st, err := os.Stat(path); err == nil {
		room -= int(st.Size())
	}
	total := len(markdown)
	// The note's numbers are computed first with a generous width, so the
	// cut leaves room for them.
	fitted, cut := fitMarkdown(markdown, room, summaryNote(total, total))
	if cut {
		fitted = strings.TrimSuffix(fitted, summaryNote(total, total))
		fitted += summaryNote(len(fitted), total)
		r.summaryCut = true
		r.warningf("the job summary is %d bytes, more than GitHub shows for one step (1 MiB); it was cut to %d", total, len(fitted))
	}
	r.gha.AddStepSummary(fitted)
}

// summaryWhole reports whether the step summary holds everything written
// to it.
func (r *runner) summaryWhole() bool { return !r.summaryCut && !r.summaryMissing }

// output sets one small output (a JSON value).
func (r *runner) output(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		r.errorf("encode output %s: %v", name, err)
		return
	}
	r.setOutput(name, r.scrub(string(data)))
}

func (r *runner) setOutput(name, value string) {
	if r.cfg.Getenv("GITHUB_OUTPUT") == "" {
		r.infof("output %s=%s", name, value)
		return
	}
	r.gha.SetOutput(name, value)
}

// writeOutputs sets the models and result outputs within maxOutputBytes:
// models first (a publish matrix is built from it) with at most half, then
// result with what is left. A list that does not fit is cut to a prefix,
// said in a warning and, for result, in the output itself ("truncated",
// "entries_total"); the run never fails for it.
func (r *runner) writeOutputs(models []string, res resultJSON) {
	if models == nil {
		models = []string{}
	}
	for i := range res.Entries {
		res.Entries[i].Error = clipText(res.Entries[i].Error, maxOutputError)
	}
	m := fitJSONList(models, maxOutputBytes/2, r.scrub)
	if len(m.kept) < len(models) {
		r.warningf("the models output lists %d of %d entries: GitHub limits a job's outputs to 1 MB; the rest are published by the next run, or by dispatching them by name", len(m.kept), len(models))
	}
	r.setOutput("models", m.json)

	total := len(res.Entries)
	budget := maxOutputBytes - utf16Bytes(m.json)
	// The wrapper is measured with the truncation fields set, so it fits
	// whether or not they end up set.
	wrapper := res
	wrapper.Entries, wrapper.Truncated, wrapper.EntriesTotal = []entryJSON{}, true, total
	head, _ := json.Marshal(wrapper)
	e := fitJSONList(res.Entries, budget-utf16Bytes(r.scrub(string(head))), r.scrub)
	res.Entries = e.kept
	if len(e.kept) < total {
		res.Truncated, res.EntriesTotal = true, total
		r.warningf("the result output lists %d of %d entries: GitHub limits a job's outputs to 1 MB; the log names every entry", len(e.kept), total)
	}
	data, err := json.Marshal(res)
	if err != nil {
		r.errorf("encode output result: %v", err)
		return
	}
	r.setOutput("result", r.scrub(string(data)))
}

// fitted is a JSON list cut to a budget: the elements kept and the list's
// encoding.
type fitted[T any] struct {
	kept []T
	json string
}

// fitJSONList keeps the longest prefix of list whose JSON array (as scrub
// leaves it) takes at most budget UTF-16 bytes.
func fitJSONList[T any](list []T, budget int, scrub func(string) string) fitted[T] {
	var b strings.Builder
	b.WriteByte('[')
	size := utf16Bytes("[]")
	kept := 0
	for _, v := range list {
		data, err := json.Marshal(v)
		if err != nil {
			break
		}
		item := scrub(string(data))
		add := utf16Bytes(item)
		if kept > 0 {
			add += 2 // the comma
		}
		if size+add > budget {
			break
		}
		if kept > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
		size += add
		kept++
	}
	b.WriteByte(']')
	return fitted[T]{kept: list[:kept], json: b.String()}
}

// utf16Bytes is the size of s in UTF-16, the measure GitHub approximates
// output sizes with: 2 bytes per code unit, 4 for a character outside the
// Basic Multilingual Plane.
func utf16Bytes(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xffff {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// clipText shortens s to at most n bytes on a rune boundary, saying so.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in all)", s[:cut], len(s))
}
