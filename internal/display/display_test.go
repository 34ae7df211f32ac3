package display

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// spoofers are the characters the plan comment, the summary and the card
// must never show raw: bidirectional controls, zero-width characters, word
// joiners and invisible operators, the byte order mark, line and paragraph
// separators.
var spoofers = [][2]rune{
	{0x202a, 0x202e}, {0x2066, 0x2069}, {0x200b, 0x200f}, {0x2060, 0x2064}, {0xfeff, 0xfeff}, {0x2028, 0x2029},
}

// wantEscaped is how Escape and Hidden write r.
func wantEscaped(r rune) string {
	if r > 0xffff {
		return fmt.Sprintf(`\U%08x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

func checkEscaped(t *testing.T, what string, r rune) {
	t.Helper()
	in := "a" + string(r) + "b.json"
	want := "a" + wantEscaped(r) + "b.json"
	if got := Escape(in); got != want {
		t.Errorf("%s U+%04X: Escape = %q, want %q", what, r, got, want)
	}
	if got := Hidden(in); got != want {
		t.Errorf("%s U+%04X: Hidden = %q, want %q", what, r, got, want)
	}
	if got := Code(in); got != "`"+want+"`" {
		t.Errorf("%s U+%04X: Code = %q", what, r, got)
	}
}

func TestListedSpoofersAreEscaped(t *testing.T) {
	n := 0
	for _, rg := range spoofers {
		for r := rg[0]; r <= rg[1]; r++ {
			checkEscaped(t, "listed", r)
			n++
		}
	}
	if n != 22 {
		t.Errorf("checked %d characters, want the 22 listed", n)
	}
	if got := Escape("weights\u202enosj.safetensors"); got != `weights\u202enosj.safetensors` {
		t.Errorf("right-to-left override: %q", got)
	}
}

// TestTheNextTry: every character of the Unicode categories an attacker
// reaches for next (every format character, every combining mark, C0 and C1
// controls, every space but U+0020, private use, noncharacters, unassigned
// code points, blank-looking letters) is escaped by both functions.
func TestTheNextTry(t *testing.T) {
	n := 0
	each := func(what string, tab *unicode.RangeTable, skip func(rune) bool) {
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if unicode.Is(tab, r) && (skip == nil || !skip(r)) {
				checkEscaped(t, what, r)
				n++
			}
		}
	}
	each("format (Cf)", unicode.Cf, nil)
	each("control (Cc)", unicode.Cc, nil)
	each("combining mark (M)", unicode.M, nil)
	each("space (Zs)", unicode.Zs, func(r rune) bool { return r == ' ' })
	each("noncharacter", unicode.Noncharacter_Code_Point, nil)
	for _, r := range []rune{0xe000, 0xf8ff, 0xf0000, 0x10fffd, 0x0378, 0x0e3b, 0x115f, 0x1160, 0x3164, 0xffa0, 0x2800, 0xe0041, 0xe007f} {
		checkEscaped(t, "private use, unassigned or blank", r)
		n++
	}
	t.Logf("%d characters checked", n)
	// C1 controls by number, whatever the tables say.
	for r := rune(0x80); r <= 0x9f; r++ {
		checkEscaped(t, "C1", r)
	}
}

// TestLookalikes: letters that pass for ASCII are escaped in names; free
// text keeps printable letters of every script.
func TestLookalikes(t *testing.T) {
	for _, c := range []struct{ in, name string }{
		{"modеl.safetensors", `mod\u0435l.safetensors`}, // Cyrillic e
		{"ｍodel.json", `\uff4dodel.json`},               // fullwidth m
		{"café.json", `caf\u00e9.json`},                 // precomposed é
		{"cafe\u0301.json", `cafe\u0301.json`},          // e + combining acute
		{"😀.txt", `\U0001f600.txt`},
	} {
		if got := Escape(c.in); got != c.name {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.name)
		}
	}
	if got := Hidden("modеl café 😀 cafe\u0301"); got != "modеl café 😀 cafe\\u0301" {
		t.Errorf("Hidden = %q", got)
	}
}

func TestEscapeIsExactAndReversible(t *testing.T) {
	names := []string{
		"config.json", `a\u202e.json`, "a\u202e.json", `a\\u202e.json`, "a\\\u202e.json",
		"a b.json", "a  b.json", " a.json", "a.json ", "a\u00a0b.json", "a\tb", "a\nb", "a\xffb", "a\xc3b", "a\u2028b",
		"", "`", "``", "a`b", "|", "<script>", "&lt;",
	}
	seen := map[string]string{}
	for _, n := range names {
		e := Escape(n)
		for _, r := range e {
			if r < 0x20 || r > 0x7e {
				t.Errorf("Escape(%q) = %q holds %U", n, e, r)
			}
		}
		if prev, dup := seen[e]; dup {
			t.Errorf("%q and %q are both shown as %q", prev, n, e)
		}
		seen[e] = n
		if back := unescape(t, e); back != n {
			t.Errorf("Escape(%q) = %q reads back as %q", n, e, back)
		}
	}
	if got := Escape("a  b "); got != `a\u0020\u0020b\u0020` {
		t.Errorf("spaces: %q", got)
	}
	if got := Escape("a b"); got != "a b" {
		t.Errorf("a lone inner space: %q", got)
	}
}

func TestCodeSpans(t *testing.T) {
	for in, want := range map[string]string{
		"config.json":   "`config.json`",
		"a`b.json":      "``a`b.json``",
		"a``b":          "```a``b```",
		"`a":            "`` `a ``",
		"b`":            "`` b` ``",
		"a|b.json":      "`a\\|b.json`",
		"<img src=x>":   "`<img src=x>`",
		"x\u202e.json":  "`x\\u202e.json`",
		"":              "*(empty)*",
		"**bold**.json": "`**bold**.json`",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"config.json", "a\u202eb", `a\u202eb`, "a\xff", "  ", "a`|<b", "\U000e0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for i := 0; i < len(e); i++ {
			if e[i] < 0x20 || e[i] > 0x7e {
				t.Fatalf("Escape(%q) = %q holds byte %#x", s, e, e[i])
			}
		}
		if back := unescape(t, e); back != s {
			t.Fatalf("Escape(%q) = %q reads back as %q", s, e, back)
		}
		h := Hidden(s)
		for _, r := range h {
			if r != utf8.RuneError && hides(r) {
				t.Fatalf("Hidden(%q) = %q keeps %U", s, h, r)
			}
		}
		if c := Code(s); strings.ContainsAny(c, "\n\r") {
			t.Fatalf("Code(%q) = %q spans lines", s, c)
		}
	})
}

// unescape reverses Escape, failing t on anything Escape cannot produce.
func unescape(t *testing.T, e string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '\\' {
			b.WriteByte(e[i])
			continue
		}
		if i+1 >= len(e) {
			t.Fatalf("%q ends in a lone backslash", e)
		}
		width := map[byte]int{'\\': 0, 'x': 2, 'u': 4, 'U': 8}
		w, ok := width[e[i+1]]
		if !ok || i+2+w > len(e) {
			t.Fatalf("%q: bad escape at %d", e, i)
		}
		if w == 0 {
			b.WriteByte('\\')
			i++
			continue
		}
		v, err := strconv.ParseUint(e[i+2:i+2+w], 16, 32)
		if err != nil {
			t.Fatalf("%q: %v", e, err)
		}
		if e[i+1] == 'x' {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		i += 1 + w
	}
	return b.String()
}
