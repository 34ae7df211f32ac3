package action

import (
	"fmt"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

// writeSidecarAccess adds who may read the sidecar to an entry's plan
// table. The plan reads the Hub without a token: a gated source's settings
// are public, but a private sidecar looks missing.
func writeSidecarAccess(b *strings.Builder, p *Plan) {
	var side string
	switch {
	case p.SidecarHidden:
		side = fmt.Sprintf("if new, created %s like its source; if private, checked on merge to be at least that restricted", p.SourceAccess)
	case p.SidecarHead == "":
		side = fmt.Sprintf("created %s like its source, before any weight is uploaded", p.SourceAccess)
	case !p.SidecarAccess.Covers(p.SourceAccess):
		// Only an empty sidecar gets here: the plan refuses the others.
		side = fmt.Sprintf("%s and holding no file yet: made %s before any weight is uploaded", p.SidecarAccess, p.SidecarAccess.Join(p.SourceAccess))
	case p.SidecarAccess != p.SourceAccess:
		side = fmt.Sprintf("%s, more restricted than its source: left as it is", p.SidecarAccess)
	default:
		side = p.SidecarAccess.String()
	}
	fmt.Fprintf(b, "| sidecar access | %s |\n", mdSafe(side))
	if p.HeadersUnread != "" {
		fmt.Fprintf(b, "| safetensors headers | not read: %s |\n", mdSafe(p.HeadersUnread))
	}
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
