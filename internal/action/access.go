package action

import (
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// sidecarSeen is what a plan saw of a sidecar, mirrored or extracted.
type sidecarSeen struct {
	head   string     // "" when it does not exist yet or is hidden
	access hub.Access // who may read it, when head is set
	hidden bool       // a plan without a token could not see it
	source hub.Access // who may read its source
}

// writeSidecarAccess adds who may read the sidecar to an entry's plan
// table. The plan reads the Hub without a token: a gated source's settings
// are public, but a private sidecar looks missing.
func writeSidecarAccess(b *strings.Builder, p *Plan) {
	writeAccessRows(b, sidecarSeen{head: p.SidecarHead, access: p.SidecarAccess, hidden: p.SidecarHidden, source: p.SourceAccess})
	if p.HeadersUnread != "" {
		fmt.Fprintf(b, "| safetensors headers | not read: %s |\n", mdSafe(p.HeadersUnread))
	}
}

// writeSidecarNow adds the sidecar's state as the plan saw it.
func writeSidecarNow(b *strings.Builder, s sidecarSeen) {
	switch {
	case s.hidden:
		b.WriteString("| sidecar now | not visible without a token: it does not exist yet, or it is private |\n")
	case s.head == "":
		b.WriteString("| sidecar now | does not exist yet: it would be created |\n")
	default:
		fmt.Fprintf(b, "| sidecar now | at `%s` |\n", mdSafe(shortSHA(s.head)))
	}
}

// writeAccessRows adds the sidecar access row: what a publish would make
// of the sidecar's access, or leave as it is.
func writeAccessRows(b *strings.Builder, s sidecarSeen) {
	var side string
	switch {
	case s.hidden:
		side = fmt.Sprintf("if new, created %s like its source; if private, checked on merge to be at least that restricted", s.source)
	case s.head == "":
		side = fmt.Sprintf("created %s like its source, before any weight is uploaded", s.source)
	case !s.access.Covers(s.source):
		// Only an empty sidecar gets here: the plan refuses the others.
		side = fmt.Sprintf("%s and holding no file yet: made %s before any weight is uploaded", s.access, s.access.Join(s.source))
	case s.access != s.source:
		side = fmt.Sprintf("%s, more restricted than its source: left as it is", s.access)
	default:
		side = s.access.String()
	}
	fmt.Fprintf(b, "| sidecar access | %s |\n", mdSafe(side))
}

// entryWarning reports err as a warning annotation at the entry's field:
// something the plan could not check, which does not fail the check.
func (r *runner) entryWarning(e *catalog.Entry, field string, err error) {
	r.gha.WithFieldsMap(r.fieldsAt(e, field)).Warningf("%s", r.scrub(err.Error()))
}

// fieldsAt are the annotation fields pointing at an entry's field (the
// entry itself when the field has no position).
func (r *runner) fieldsAt(e *catalog.Entry, field string) map[string]string {
	pos, ok := e.FieldPos[field]
	if !ok {
		pos = e.Pos
	}
	fields := map[string]string{"title": "skulk-weights"}
	// The built-in catalog is in the binary, not in the repository, even
	// where the repository has a file at the same path.
	if f := r.repoPath(pos.File); f != "" && !e.Source.Builtin() {
		fields["file"] = f
		if pos.Line > 0 {
			fields["line"] = fmt.Sprint(pos.Line)
			fields["col"] = fmt.Sprint(pos.Col)
		}
	}
	return fields
}
