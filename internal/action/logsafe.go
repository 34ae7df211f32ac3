package action

import (
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/display"
)

// logSafe makes text from outside the action (inputs, catalog values, Hub
// and GitHub error messages) safe to print as a plain log line. The runner
// treats a line as a workflow command when, after leading blanks, it starts
// with "::" (or contains the legacy "##[" form), and it only ever looks at
// one line at a time. So the text is kept on one line by escaping %, CR and
// LF the way command data is escaped, and every "::" and "##[" is broken so
// that no part of the text can start a command.
func logSafe(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	s = strings.ReplaceAll(s, "\n", "%0A")
	s = strings.ReplaceAll(s, "::", ":%3A")
	s = strings.ReplaceAll(s, "##[", "#%23[")
	return s
}

// mdSafe makes outside text safe inside Markdown table cells and inline
// code in the summary and the comment: it stays on one line, cannot close
// the cell or the code span, and cannot open HTML, and no character in it
// can reorder or hide the text around it (display.Hidden). File names are
// shown with display.Code instead, which shows them exactly.
func mdSafe(s string) string {
	return display.Hidden(mdReplacer.Replace(s))
}

// mdReplacer is built once: a Replacer builds its lookup table on first use,
// which cost more than the replacing when made per call (a 5,000-entry plan
// calls mdSafe tens of thousands of times).
var mdReplacer = strings.NewReplacer("\r", " ", "\n", " ", "|", "\\|", "`", "'", "<", "&lt;", ">", "&gt;")
