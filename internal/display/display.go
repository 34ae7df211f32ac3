// Package display shows text that comes from outside the tool (file names
// in a source repository, catalog paths, Hub and GitHub messages) to people:
// in the pull request's plan comment, the job summary and the model card.
// What is shown must be what is there. Bidirectional controls reorder the
// characters around them, zero-width and format characters hide, combining
// marks and letters of other scripts impersonate, so a name such as
// "weights\u202enosj.safetensors" could otherwise pass for another.
package display

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns name as printable ASCII that says exactly what name holds:
// every other character is written as an escape, \u202e up to U+FFFF and
// \U0001f600 above, and a byte that is not UTF-8 as \xff. A backslash is
// doubled, so no name can spell an escape that stands for something else,
// and a space that could not be seen (at either end, or next to another
// space) is written \u0020. Two names that differ anywhere are shown
// differently. Letters of other scripts are escaped too: a Cyrillic "а"
// looks like a Latin "a", and mirrored file names are ASCII in practice.
func Escape(name string) string {
	return escape(name, func(s string, i int, r rune) bool {
		if r == ' ' {
			return i == 0 || i == len(s)-1 || s[i-1] == ' ' || s[i+1] == ' '
		}
		return r < 0x20 || r > 0x7e
	}, true)
}

// Hidden escapes, in free text such as an error message, only what changes
// how the text is shown without being seen itself: controls, format
// characters (bidirectional controls, zero-width characters, the byte
// order mark, tag characters), line and paragraph separators, spaces other
// than U+0020, combining marks, private-use, surrogate, unassigned and
// noncharacter code points, characters that render as blank, and bytes
// that are not UTF-8. Printable characters of every script are kept, and a
// backslash is not doubled: the text is read, not compared.
func Hidden(s string) string {
	return escape(s, func(_ string, _ int, r rune) bool { return hides(r) }, false)
}

// Code returns name, escaped as by Escape, as a Markdown code span that
// shows it exactly, in running text and in a table cell alike: the span is
// fenced with more backticks than name holds in a row, and a "|" is escaped
// so that it cannot end the cell (GitHub shows it as "|").
func Code(name string) string {
	if name == "" {
		return "*(empty)*"
	}
	e := strings.ReplaceAll(Escape(name), "|", `\|`)
	run, longest := 0, 0
	for i := 0; i < len(e); i++ {
		if e[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(e, "`") || strings.HasSuffix(e, "`") {
		// One space on each side is stripped again by the renderer.
		return fence + " " + e + " " + fence
	}
	return fence + e + fence
}

// escape writes s with every rune for which esc is true escaped; a byte
// that is not UTF-8 always is. With doubleBackslash, "\" becomes "\\".
func escape(s string, esc func(s string, i int, r rune) bool, doubleBackslash bool) string {
	clean := true
	for i, r := range s {
		if r == utf8.RuneError || esc(s, i, r) || (doubleBackslash && r == '\\') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case doubleBackslash && r == '\\':
			b.WriteString(`\\`)
		case esc(s, i, r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case esc(s, i, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// blanks are assigned letters and symbols that render as nothing or as
// empty space: the Hangul fillers and the braille blank.
var blanks = map[rune]bool{0x115f: true, 0x1160: true, 0x3164: true, 0xffa0: true, 0x2800: true}

// hides reports whether r changes or hides what is shown without showing
// itself.
func hides(r rune) bool {
	switch {
	case r == ' ':
		return false
	case blanks[r]:
		return true
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.Zs, unicode.M):
		return true
	case unicode.Is(unicode.Noncharacter_Code_Point, r):
		return true
	}
	// Unassigned code points may render as anything a later font decides.
	return !unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}
