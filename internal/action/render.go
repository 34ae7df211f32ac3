package action

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/display"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// prView is everything the plan comment and the pull request's summary
// show. Rendering is a pure function of it, so the same plan always gives
// the same bytes and an unchanged comment is left alone.
type prView struct {
	Number   int
	HeadSHA  string
	Version  string
	Problems []catalog.Problem // errors only; files relative to the repository
	Catalog  *catalog.Catalog
	// Sources are the catalog sources the pull request adds, removes or
	// changes (through skulk-weights.yaml).
	Sources []catalog.SourceChange
	Entries []entryPlan
	DiffErr error
}

// runView is everything a reconcile's summary and comment show.
type runView struct {
	Event    string
	DryRun   bool
	Version  string
	SHA      string
	Model    string
	Outcomes []entryOutcome
}

func renderPRComment(v prView) string {
	return planMarker + "\n" + renderPR(v)
}

func renderPRSummary(v prView) string {
	return renderPR(v)
}

func renderPR(v prView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## skulk-weights plan for #%d\n\n", v.Number)
	if len(v.Problems) > 0 {
		writeProblems(&b, v.Problems)
	}
	if v.DiffErr != nil {
		fmt.Fprintf(&b, "The catalog changes could not be read from GitHub: %s\n\n", mdSafe(v.DiffErr.Error()))
		writeFooter(&b, v.Version, v.HeadSHA)
		return b.String()
	}
	var added, changed, removed, publish, extracts int
	var copyBytes int64
	for _, e := range v.Entries {
		switch e.Kind {
		case catalog.Added:
			added++
		case catalog.Changed:
			changed++
		case catalog.Removed:
			removed++
		}
		if e.Kind != catalog.Removed && e.Entry.HasVision() && !e.Entry.ExtractsVision() && e.Refused == nil {
			publish++
			if e.Plan != nil {
				copyBytes += e.Plan.CopyBytes
			}
		}
		if e.Kind != catalog.Removed {
			for _, x := range e.Extracts {
				publish++
				extracts++
				if x.Plan != nil {
					copyBytes += x.Plan.ReadBytes
				}
			}
		}
	}
	writeSourceChanges(&b, v)
	if len(v.Entries) == 0 {
		b.WriteString("This pull request changes no catalog entries: nothing would be published on merge.\n\n")
		writeFooter(&b, v.Version, v.HeadSHA)
		return b.String()
	}
	fmt.Fprintf(&b, "This pull request changes %s: %d added, %d changed, %d removed. ",
		plural(len(v.Entries), "catalog entry", "catalog entries"), added, changed, removed)
	if publish > 0 {
		one, many := "vision sidecar", "vision sidecars"
		if extracts > 0 {
			one, many = "sidecar", "sidecars"
		}
		fmt.Fprintf(&b, "On merge, %s would be published, copying %s from the source repositories as planned now.\n\n",
			plural(publish, one, many), humanBytes(copyBytes))
	} else {
		b.WriteString("No sidecar would be published on merge.\n\n")
	}
	for _, e := range v.Entries {
		writeEntryPlan(&b, e)
	}
	writeFooter(&b, v.Version, v.HeadSHA)
	return b.String()
}

// writeSourceChanges shows what the pull request changes in the config:
// an hf_owner change and a namespace rename first, as alerts, since either
// changes where (or under which keys) every entry of a source publishes
// without any catalog entry changing.
func writeSourceChanges(b *strings.Builder, v prView) {
	if len(v.Sources) == 0 {
		return
	}
	for _, sc := range v.Sources {
		switch {
		case sc.OwnerChanged():
			fmt.Fprintf(b, "> [!WARNING]\n> **`hf_owner` of catalog source %s changes from %s to %s.** On merge, its sidecars are published under %s, with the `hf-token` this repository gives the action.\n\n",
				code(sc.New.Namespace), code(sc.Old.HFOwner), code(sc.New.HFOwner), code(sc.New.HFOwner))
		case sc.Renamed():
			fmt.Fprintf(b, "> [!WARNING]\n> **Catalog source %s is renamed %s.** Every key in %s changes from `%s/<key>` to `%s/<key>`: the entries below show as removed and added.\n\n",
				code(sc.Old.Namespace), code(sc.New.Namespace), display.Code(sc.New.Path), mdSafe(sc.Old.Namespace), mdSafe(sc.New.Namespace))
		}
	}
	entries := map[*catalog.Source][2]int{}
	if v.Catalog != nil {
		for _, e := range v.Catalog.Entries {
			n := entries[e.Source]
			n[0]++
			if e.HasVision() {
				n[1]++
			}
			entries[e.Source] = n
		}
	}
	fmt.Fprintf(b, "### Catalog sources (%s)\n\n", plural(len(v.Sources), "change", "changes"))
	b.WriteString("| source | file | change |\n| --- | --- | --- |\n")
	for _, sc := range v.Sources {
		var what []string
		src, ns := sc.New, code(sc.New.Namespace)
		switch sc.Kind {
		case catalog.Added:
			n := entries[src]
			what = append(what, fmt.Sprintf("added: %s (%d with a vision sidecar), published under %s", plural(n[0], "entry", "entries"), n[1], code(src.HFOwner)))
		case catalog.Removed:
			src, ns = sc.Old, code(sc.Old.Namespace)
			what = append(what, "removed: its entries are no longer published; their sidecars stay on the Hub as they are")
		case catalog.Changed:
			o := sc.Old
			if sc.Renamed() {
				ns = code(o.Namespace) + " → " + code(src.Namespace)
				what = append(what, "**namespace renamed**")
			}
			if sc.OwnerChanged() {
				what = append(what, fmt.Sprintf("**`hf_owner`: %s → %s**", code(o.HFOwner), code(src.HFOwner)))
			}
			if o.Path != src.Path {
				what = append(what, fmt.Sprintf("file: %s → %s", display.Code(o.Path), display.Code(src.Path)))
			}
			if o.HFCollection != src.HFCollection {
				what = append(what, fmt.Sprintf("`hf_collection`: %s → %s", codeOrNone(o.HFCollection), codeOrNone(src.HFCollection)))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", ns, display.Code(src.Path), strings.Join(what, "; "))
	}
	b.WriteString("\n")
}

func writeProblems(b *strings.Builder, ps []catalog.Problem) {
	fmt.Fprintf(b, "### ❌ The catalog does not validate (%s)\n\n", plural(len(ps), "problem", "problems"))
	b.WriteString("| where | entry | problem |\n| --- | --- | --- |\n")
	for _, p := range ps {
		where := p.Pos.File
		if p.Pos.Line > 0 {
			where = fmt.Sprintf("%s:%d:%d", p.Pos.File, p.Pos.Line, p.Pos.Col)
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", display.Code(where), code(p.Key), mdSafe(p.Message))
	}
	b.WriteString("\nThe check fails until these are fixed.\n\n")
}

func writeEntryPlan(b *strings.Builder, e entryPlan) {
	icon := map[catalog.ChangeKind]string{catalog.Added: "➕", catalog.Changed: "✏️", catalog.Removed: "➖"}[e.Kind]
	fmt.Fprintf(b, "### %s `%s` (%s)\n\n", icon, mdSafe(e.ID), e.Kind)
	if e.Kind == catalog.Removed {
		if e.Entry.HasVision() {
			fmt.Fprintf(b, "Removed from the catalog. Its sidecar `%s` stays on the Hub as it is.\n\n", mdSafe(e.Entry.VisionSidecarRepo))
		} else {
			b.WriteString("Removed from the catalog.\n\n")
		}
		return
	}
	if e.Kind == catalog.Changed && e.Old != nil {
		if diffs := fieldChanges(e.Old, e.Entry); len(diffs) > 0 {
			b.WriteString("Changed: ")
			b.WriteString(strings.Join(diffs, "; "))
			b.WriteString("\n\n")
		}
	}
	if !e.Entry.HasVision() && len(e.Extracts) == 0 {
		b.WriteString("vision step: not configured for this entry, nothing to publish.\n\n")
		return
	}
	writeExtractions(b, e.Extracts)
	if !e.Entry.HasVision() || e.Entry.ExtractsVision() {
		return
	}
	en := e.Entry
	b.WriteString("| | |\n| --- | --- |\n")
	rev := en.VisionSourceRevision
	if rev == "" {
		rev = "main"
	}
	fmt.Fprintf(b, "| vision source repo | `hf://%s` at `%s` |\n", mdSafe(en.VisionSourceRepo), mdSafe(rev))
	fmt.Fprintf(b, "| vision sidecar repo | `hf://%s` |\n", mdSafe(en.VisionSidecarRepo))
	b.WriteString("| vision step | mirror weights + configs (no quantization) |\n")
	switch {
	case e.Refused != nil:
		fmt.Fprintf(b, "\n**Refused:** %s\n\n", mdSafe(e.Refused.Error()))
		return
	case errors.Is(e.PlanErr, mirror.ErrHiddenSource):
		fmt.Fprintf(b, "\n**Finding: the source cannot be read without a token,** and this plan never sends one: %s. So there is no live plan and the source's access is not known here. "+
			"On merge the publish reads it with the token and creates the sidecar at least as restricted as the source, or fails if the token cannot read it either.\n\n", mdSafe(e.PlanErr.Error()))
		return
	case e.PlanErr != nil:
		fmt.Fprintf(b, "\n**The Hub could not be read, so there is no live plan:** %s. The static plan above stands; the copy is planned again on merge.\n\n", mdSafe(e.PlanErr.Error()))
		return
	case e.Plan == nil:
		b.WriteString("\n")
		return
	}
	p := e.Plan
	fmt.Fprintf(b, "| source commit | `%s` |\n", mdSafe(p.SourceSHA))
	fmt.Fprintf(b, "| source access | %s |\n", mdSafe(p.SourceAccess.String()))
	writeSidecarNow(b, sidecarSeen{head: p.SidecarHead, hidden: p.SidecarHidden})
	writeSidecarAccess(b, p)
	fmt.Fprintf(b, "| copy | %s, %s |\n", plural(len(p.Copy), "file", "files"), humanBytes(p.CopyBytes))
	fmt.Fprintf(b, "| skip (already there) | %s |\n", plural(len(p.Skip), "file", "files"))
	fmt.Fprintf(b, "| prune | %s |\n\n", plural(len(p.Prune), "file", "files"))
	rows := fileRows(p)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "<details><summary>%s</summary>\n\n", plural(len(rows), "file", "files"))
	b.WriteString("| action | file | size |\n| --- | --- | ---: |\n")
	for _, r := range rows {
		b.WriteString(r)
	}
	b.WriteString("\n</details>\n\n")
}

func fileRows(p *Plan) []string {
	var rows []string
	add := func(kind string, fs []FileAction) {
		sorted := append([]FileAction(nil), fs...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
		for _, f := range sorted {
			rows = append(rows, fmt.Sprintf("| %s | %s | %s |\n", kind, display.Code(f.Path), humanBytes(f.Size)))
		}
	}
	add("copy", p.Copy)
	add("prune", p.Prune)
	add("skip", p.Skip)
	return rows
}

// fieldChanges lists the catalog fields that differ between two versions of
// an entry, as "`field`: `old` → `new`".
func fieldChanges(a, b *catalog.Entry) []string {
	type f struct{ name, old, new string }
	fs := []f{
		{"source_model", a.SourceModel, b.SourceModel},
		{"quant", a.Quant, b.Quant},
		{"tier", a.Tier, b.Tier},
		{"slices", strings.Join(a.Slices, ","), strings.Join(b.Slices, ",")},
		{"output_name", a.OutputName, b.OutputName},
		{"hf_repo", a.HFRepo, b.HFRepo},
		{"hf_collection", a.HFCollection, b.HFCollection},
		{"mtp_source_repo", a.MTPSourceRepo, b.MTPSourceRepo},
		{"mtp_sidecar_repo", a.MTPSidecarRepo, b.MTPSidecarRepo},
		{"assistant_model_repo", a.AssistantModelRepo, b.AssistantModelRepo},
		{"vision_source_repo", a.VisionSourceRepo, b.VisionSourceRepo},
		{"vision_sidecar_repo", a.VisionSidecarRepo, b.VisionSidecarRepo},
		{"vision_source_revision", a.VisionSourceRevision, b.VisionSourceRevision},
		{"vision_source_tensors", strings.Join(a.VisionSourceTensors, ", "), strings.Join(b.VisionSourceTensors, ", ")},
		{"vision_source_configs", strings.Join(a.VisionSourceConfigs, ", "), strings.Join(b.VisionSourceConfigs, ", ")},
	}
	var out []string
	for _, x := range fs {
		if x.old != x.new {
			out = append(out, fmt.Sprintf("`%s`: %s → %s", x.name, codeOrNone(x.old), codeOrNone(x.new)))
		}
	}
	return out
}

func writeFooter(b *strings.Builder, version, sha string) {
	fmt.Fprintf(b, "<sub>Planned by skulk-weights %s at `%s`. Nothing is written to the Hub before merge. Updated on every push to this pull request.</sub>\n",
		mdSafe(version), mdSafe(shortSHA(sha)))
}

// renderProblemsOnly is the summary of a reconcile stopped by validation.
func renderProblemsOnly(version string, ps []catalog.Problem) string {
	var b strings.Builder
	b.WriteString("## skulk-weights publish\n\n")
	writeProblems(&b, ps)
	b.WriteString("Nothing was published.\n\n")
	fmt.Fprintf(&b, "<sub>skulk-weights %s</sub>\n", mdSafe(version))
	return b.String()
}

func renderRunSummary(v runView) string {
	var b strings.Builder
	if v.DryRun {
		b.WriteString("## skulk-weights dry run\n\n")
	} else {
		b.WriteString("## skulk-weights publish\n\n")
	}
	all := v.Model == "" || v.Model == "all"
	sel := "every entry of the repository's catalog with a vision sidecar"
	if !all {
		sel = code(v.Model)
	}
	fmt.Fprintf(&b, "Reconciled %s (%s", sel, mdSafe(v.Event))
	if v.SHA != "" {
		fmt.Fprintf(&b, " of `%s`", mdSafe(shortSHA(v.SHA)))
	}
	b.WriteString(").\n\n")
	if len(v.Outcomes) == 0 {
		b.WriteString("No entry of the repository's catalog has a vision sidecar: nothing to do.")
		if all {
			b.WriteString(" The built-in catalog's entries are published only when `model` names one (e.g. `foxlight/<key>`).")
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "<sub>skulk-weights %s</sub>\n", mdSafe(v.Version))
		return b.String()
	}
	b.WriteString("| entry | sidecar | outcome | commit | copied | pruned | moved |\n| --- | --- | --- | --- | ---: | ---: | ---: |\n")
	var failed []entryOutcome
	var extracted []entryOutcome
	for _, o := range v.Outcomes {
		e := o.Entry
		row := func(outcome, commit string, copied, pruned int, moved int64) {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %d | %d | %s |\n", mdSafe(e.ID()), mdSafe(e.VisionSidecarRepo), outcome, commit, copied, pruned, humanBytes(moved))
		}
		for _, x := range o.Extracts {
			outcome, commit, files, pruned, moved := "", "", 0, 0, int64(0)
			switch {
			case x.Err != nil:
				outcome = "❌ failed"
			case x.Result != nil && x.Result.UpToDate:
				outcome = "✅ up to date (extracted)"
			case x.Result != nil:
				outcome, commit = "✅ published (extracted)", code(shortSHA(x.Result.Commit))
				files, pruned, moved = len(x.Result.Plan.Files), len(x.Result.Pruned), x.Result.BytesWritten
			case x.Plan != nil && x.Plan.UpToDate:
				outcome = "✅ up to date (extracted)"
			case x.Plan != nil:
				outcome, files, moved = fmt.Sprintf("would read %s", humanBytes(x.Plan.ReadBytes+x.Plan.HeaderBytes)), len(x.Plan.Files), x.Plan.SelectedBytes
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s %s | %s | %d | %d | %s |\n", mdSafe(e.ID()), mdSafe(x.Sidecar), x.Artifact, outcome, commit, files, pruned, humanBytes(moved))
		}
		if len(o.Extracts) > 0 {
			extracted = append(extracted, o)
		}
		if !mirrors(e, "all") {
			continue
		}
		switch {
		case o.Err != nil:
			failed = append(failed, o)
			row("❌ failed", "", 0, 0, 0)
		case o.Plan != nil:
			p := o.Plan
			if needsWork(p) {
				row(fmt.Sprintf("would copy %d, skip %d, prune %d", len(p.Copy), len(p.Skip), len(p.Prune)), code(shortSHA(p.SidecarHead)), len(p.Copy), len(p.Prune), p.CopyBytes)
			} else {
				row("✅ up to date", code(shortSHA(p.SidecarHead)), 0, 0, 0)
			}
		case o.Result != nil:
			res := o.Result
			if res.UpToDate {
				row("✅ up to date", code(shortSHA(res.Commit)), res.Copied, res.Pruned, res.BytesMoved)
			} else {
				row("✅ published", code(shortSHA(res.Commit)), res.Copied, res.Pruned, res.BytesMoved)
			}
		}
	}
	b.WriteString("\n")
	for _, o := range failed {
		fmt.Fprintf(&b, "- `%s`: %s\n", mdSafe(o.Entry.ID()), mdSafe(o.Err.Error()))
	}
	for _, o := range extracted {
		for _, x := range o.Extracts {
			if x.Err != nil {
				fmt.Fprintf(&b, "- `%s` (%s): %s\n", mdSafe(o.Entry.ID()), x.Artifact, mdSafe(x.Err.Error()))
			}
		}
	}
	for _, o := range extracted {
		fmt.Fprintf(&b, "\n#### `%s`\n\n", mdSafe(o.Entry.ID()))
		writeExtractions(&b, o.Extracts)
	}
	if len(failed) > 0 || extractsFailed(v.Outcomes) {
		b.WriteString("\nA failed entry is left as it was; the next run (or a workflow_dispatch republish) tries it again.\n\n")
	}
	fmt.Fprintf(&b, "<sub>skulk-weights %s</sub>\n", mdSafe(v.Version))
	return b.String()
}

// extractsCurrent reports whether every extraction was planned and is
// already up to date (true for none).
func extractsCurrent(xs []extraction) bool {
	for _, x := range xs {
		if x.Err != nil || x.Plan == nil || !x.Plan.UpToDate {
			return false
		}
	}
	return true
}

func extractsFailed(os []entryOutcome) bool {
	for _, o := range os {
		if extractFailed(o.Extracts) {
			return true
		}
	}
	return false
}

// needsWork reports whether a dry-run plan would change the sidecar.
func needsWork(p *Plan) bool {
	return p.SidecarHead == "" || len(p.Copy) > 0 || len(p.Prune) > 0
}

// entryJSON is one entry of the result output.
type entryJSON struct {
	ID          string `json:"id"`
	Change      string `json:"change,omitempty"`
	SidecarRepo string `json:"sidecar_repo,omitempty"`
	Status      string `json:"status"`
	SourceRepo  string `json:"source_repo,omitempty"`
	SourceSHA   string `json:"source_sha,omitempty"`
	Commit      string `json:"commit,omitempty"`
	CopyFiles   int    `json:"copy_files"`
	CopyBytes   int64  `json:"copy_bytes"`
	SkipFiles   int    `json:"skip_files"`
	PruneFiles  int    `json:"prune_files"`
	Collection  string `json:"collection,omitempty"`
	Error       string `json:"error,omitempty"`

	// SourceAccess and SidecarAccess are who may read each repo, as the
	// plan found them ("" when not read).
	SourceAccess  string `json:"source_access,omitempty"`
	SidecarAccess string `json:"sidecar_access,omitempty"`
	// Extracts are the entry's extracted sidecars (MTP, and vision with
	// vision_source_tensors), with their plans and results.
	Extracts []extractJSON `json:"extracts,omitempty"`
}

type resultJSON struct {
	Event       string       `json:"event"`
	PullRequest int          `json:"pull_request,omitempty"`
	DryRun      bool         `json:"dry_run"`
	Valid       bool         `json:"valid"`
	Sources     []sourceJSON `json:"sources,omitempty"`
	Entries     []entryJSON  `json:"entries"`
	// Truncated says Entries holds only the first of EntriesTotal entries:
	// the rest did not fit in GitHub's output limit.
	Truncated    bool `json:"truncated,omitempty"`
	EntriesTotal int  `json:"entries_total,omitempty"`
}

// sourceJSON is one catalog source a pull request adds, removes or
// changes; the old_ fields are set where they differ.
type sourceJSON struct {
	Change          string `json:"change"`
	Namespace       string `json:"namespace"`
	Path            string `json:"path"`
	HFOwner         string `json:"hf_owner"`
	HFCollection    string `json:"hf_collection,omitempty"`
	OldNamespace    string `json:"old_namespace,omitempty"`
	OldPath         string `json:"old_path,omitempty"`
	OldHFOwner      string `json:"old_hf_owner,omitempty"`
	OldHFCollection string `json:"old_hf_collection,omitempty"`
}

func sourcesJSON(scs []catalog.SourceChange) []sourceJSON {
	var out []sourceJSON
	for _, sc := range scs {
		src := sc.New
		if src == nil {
			src = sc.Old
		}
		j := sourceJSON{Change: sc.Kind.String(), Namespace: src.Namespace, Path: src.Path, HFOwner: src.HFOwner, HFCollection: src.HFCollection}
		if o := sc.Old; sc.Kind == catalog.Changed {
			diff := func(a, b string) string {
				if a == b {
					return ""
				}
				return a
			}
			j.OldNamespace, j.OldPath = diff(o.Namespace, src.Namespace), diff(o.Path, src.Path)
			j.OldHFOwner, j.OldHFCollection = diff(o.HFOwner, src.HFOwner), diff(o.HFCollection, src.HFCollection)
		}
		out = append(out, j)
	}
	return out
}

func planJSON(j *entryJSON, p *Plan) {
	j.SourceRepo, j.SourceSHA = p.SourceRepo, p.SourceSHA
	j.CopyFiles, j.CopyBytes, j.SkipFiles, j.PruneFiles = len(p.Copy), p.CopyBytes, len(p.Skip), len(p.Prune)
	if p.SourceAccess.Known() {
		j.SourceAccess = p.SourceAccess.String()
	}
	if p.SidecarAccess.Known() {
		j.SidecarAccess = p.SidecarAccess.String()
	}
}

func prResult(v prView) resultJSON {
	out := resultJSON{Event: "pull_request", PullRequest: v.Number, DryRun: true, Valid: len(v.Problems) == 0, Sources: sourcesJSON(v.Sources), Entries: []entryJSON{}}
	for _, e := range v.Entries {
		j := entryJSON{ID: e.ID, Change: e.Kind.String(), SidecarRepo: e.Entry.VisionSidecarRepo}
		if e.Kind != catalog.Removed {
			j.Extracts = extractsJSON(e.Extracts)
		}
		switch {
		case e.Kind != catalog.Removed && len(e.Extracts) > 0 && (!e.Entry.HasVision() || e.Entry.ExtractsVision()):
			j.Status = "extracted"
			if extractFailed(e.Extracts) {
				j.Status = "failed"
			}
		case e.Kind == catalog.Removed:
			j.Status = "removed"
		case !e.Entry.HasVision():
			j.Status = "no-vision"
		case e.Refused != nil:
			j.Status, j.Error = "refused", e.Refused.Error()
		case errors.Is(e.PlanErr, mirror.ErrHiddenSource):
			j.Status, j.Error = "source-hidden", e.PlanErr.Error()
		case e.PlanErr != nil:
			j.Status, j.Error = "hub-unreadable", e.PlanErr.Error()
		case e.Plan != nil:
			j.Status = "planned"
			planJSON(&j, e.Plan)
		}
		out.Entries = append(out.Entries, j)
	}
	return out
}

func runResult(v runView) resultJSON {
	out := resultJSON{Event: v.Event, DryRun: v.DryRun, Valid: true, Entries: []entryJSON{}}
	for _, o := range v.Outcomes {
		j := entryJSON{ID: o.Entry.ID(), SidecarRepo: o.Entry.VisionSidecarRepo, Extracts: extractsJSON(o.Extracts)}
		switch {
		case o.Plan == nil && o.Result == nil && o.Err == nil:
			j.Status = "extracted"
			if extractFailed(o.Extracts) {
				j.Status = "failed"
			}
		case o.Err != nil:
			j.Status, j.Error = "failed", o.Err.Error()
		case o.Plan != nil:
			j.Status = "up-to-date"
			if needsWork(o.Plan) {
				j.Status = "planned"
			}
			planJSON(&j, o.Plan)
		case o.Result != nil:
			j.Status = "published"
			if o.Result.UpToDate {
				j.Status = "up-to-date"
			}
			if o.Result.Plan != nil {
				planJSON(&j, o.Result.Plan)
			}
			j.Commit, j.Collection = o.Result.Commit, o.Result.Collection
		}
		out.Entries = append(out.Entries, j)
	}
	return out
}

// actedOn lists the entries a reconcile acted on: in a dry run, the ones
// that need publishing (or could not be planned); otherwise every entry it
// tried. The list feeds a matrix of publish jobs.
func actedOn(v runView) []string {
	out := []string{}
	for _, o := range v.Outcomes {
		if v.DryRun && extractsCurrent(o.Extracts) && (!mirrors(o.Entry, "all") || (o.Err == nil && o.Plan != nil && !needsWork(o.Plan))) {
			continue
		}
		out = append(out, o.Entry.ID())
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + mdSafe(s) + "`"
}

func codeOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return code(s)
}

// humanBytes formats n in decimal units, as the Hub shows sizes.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}
