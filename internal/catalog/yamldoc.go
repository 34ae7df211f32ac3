package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds the bytes of one catalog or config file. A 10,000-entry
// catalog is about 3 MB; the limit keeps a hostile file from costing more
// than a few hundred milliseconds before any rule runs.
const MaxFileSize = 32 << 20

// maxMergeDepth bounds nested YAML merge keys (<<) inside one entry.
const maxMergeDepth = 8

// doc is one decoded YAML file: its root node and the work budget for
// following aliases, which keeps alias bombs linear in the file's size.
type doc struct {
	file     string
	root     *yaml.Node
	budget   int
	problems []Problem
	bombed   bool
}

func (d *doc) add(pos Pos, key string, warning bool, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	d.problems = append(d.problems, Problem{Pos: pos, Key: oneLine(clip(key)), Warning: warning, Message: oneLine(fmt.Sprintf(format, args...))})
}

// maxQuoted bounds how much of a value or key a problem repeats. The
// position already says where the value is; echoing a multi-megabyte scalar
// once per problem would turn a 10 MB file into tens of megabytes of output
// (and of annotations in CI).
const maxQuoted = 120

// clip shortens s to maxQuoted bytes (on a rune boundary), saying how long
// it was.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:cut], len(s))
}

// lineBreaks escapes what YAML counts as a line break, so a value quoted in
// a message cannot forge a second FILE:LINE:COL line.
var lineBreaks = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\u0085", `\u0085`, "\u2028", `\u2028`, "\u2029", `\u2029`)

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r\u0085\u2028\u2029") {
		return s
	}
	return lineBreaks.Replace(s)
}

func (d *doc) pos(n *yaml.Node) Pos {
	line, col := n.Line, n.Column
	if line < 1 {
		line, col = 1, 1
	}
	return Pos{File: d.file, Line: line, Col: col}
}

// filePos is the position used for problems about the whole file.
func (d *doc) filePos() Pos { return Pos{File: d.file, Line: 1, Col: 1} }

// resolve follows aliases, charging the budget; it returns nil once the
// budget is spent, after recording one "excessive aliasing" problem.
func (d *doc) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return d.charge(n)
}

// charge spends one unit of budget for visiting n.
func (d *doc) charge(n *yaml.Node) *yaml.Node {
	if d.bombed {
		return nil
	}
	d.budget--
	if d.budget < 0 {
		d.bombed = true
		d.add(d.filePos(), "", false, "document contains excessive aliasing; expand the aliases or split the file")
		return nil
	}
	return n
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode checks the raw bytes (size, encoding) and parses them into a node
// tree. It returns nil when the file cannot be used; the reasons are in
// d.problems.
func decode(file string, data []byte) *doc {
	d := &doc{file: file}
	if len(data) > MaxFileSize {
		d.add(d.filePos(), "", false, "file is %d bytes; the limit is %d MiB", len(data), MaxFileSize>>20)
		return d
	}
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		d.add(d.filePos(), "", false, "file is UTF-16 encoded; save it as UTF-8")
		return d
	}
	// A UTF-8 byte order mark is harmless; drop it so columns on line 1 stay right.
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		d.add(offsetPos(file, data, off), "", false, "file is not valid UTF-8 (byte 0x%02X); save it as UTF-8", data[off])
		return d
	}
	if len(bytes.TrimSpace(data)) == 0 {
		d.add(d.filePos(), "", false, "file is empty; expected a mapping with a non-empty models list")
		return d
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(d.filePos(), "", false, "file is empty; expected a mapping with a non-empty models list")
			return d
		}
		d.syntaxError(data, err)
		return d
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(data, err)
		return d
	default:
		d.add(d.pos(&next), "", false, "file holds more than one YAML document; a catalog is a single document (remove the '---' separator)")
		return d
	}
	if len(root.Content) == 0 {
		d.add(d.filePos(), "", false, "file is empty; expected a mapping with a non-empty models list")
		return d
	}
	d.root = root.Content[0]
	d.budget = 4*countNodes(d.root) + 1024
	return d
}

// countNodes counts the nodes of the tree without following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// syntaxError records a YAML parse error, pointing at a tab in the
// indentation when there is one at or before the failing line, since that
// is the usual cause and yaml's own message does not say so.
func (d *doc) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	if tl, tc := indentTab(data); tl > 0 && (line == 0 || tl <= line+1 || strings.Contains(msg, "tab")) {
		d.add(Pos{File: d.file, Line: tl, Col: tc}, "", false, "tab character in indentation; YAML indents with spaces")
		return
	}
	p := d.filePos()
	if line > 0 {
		p.Line = line
	}
	d.add(p, "", false, "invalid YAML: %s", msg)
}

// indentTab finds the first tab among a line's leading whitespace.
func indentTab(data []byte) (line, col int) {
	for i, l := range bytes.Split(data, []byte("\n")) {
		for j, c := range l {
			if c == '\t' {
				return i + 1, j + 1
			}
			if c != ' ' {
				break
			}
		}
	}
	return 0, 0
}

func invalidUTF8Offset(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			return off
		}
		off += size
	}
	return 0
}

// offsetPos converts a byte offset into a line and a column counted in
// characters.
func offsetPos(file string, data []byte, off int) Pos {
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return Pos{File: file, Line: line, Col: 1 + utf8.RuneCount(data[start:off])}
}

// field is one key/value pair of a mapping, after merge keys are applied.
type field struct {
	name       string
	key, value *yaml.Node
}

// fields returns the pairs of mapping m in order, applying YAML merge keys
// (<<) and reporting duplicate keys. owner names the problems' key.
func (d *doc) fields(m *yaml.Node, owner string) []field {
	var out []field
	seen := map[string]*yaml.Node{}
	d.collect(m, owner, seen, &out, 0, false)
	return out
}

func (d *doc) collect(m *yaml.Node, owner string, seen map[string]*yaml.Node, out *[]field, depth int, merged bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := d.resolve(m.Content[i])
		if k == nil {
			return
		}
		v := m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(d.pos(k), owner, false, "mapping keys must be plain strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if !merged {
				d.add(d.pos(k), owner, false, "duplicate field %s (first set at line %d)", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		*out = append(*out, field{name: k.Value, key: k, value: v})
	}
	// Merged mappings fill in only what the mapping does not set itself.
	for _, v := range merges {
		if depth >= maxMergeDepth {
			d.add(d.pos(v), owner, false, "merge keys (<<) nest more than %d deep", maxMergeDepth)
			return
		}
		r := d.resolve(v)
		if r == nil {
			return
		}
		var srcs []*yaml.Node
		switch r.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{r}
		case yaml.SequenceNode:
			for _, s := range r.Content {
				s = d.resolve(s)
				if s == nil {
					return
				}
				srcs = append(srcs, s)
			}
		}
		for _, s := range srcs {
			if s.Kind != yaml.MappingNode {
				d.add(d.pos(v), owner, false, "merge key (<<) must refer to a mapping")
				continue
			}
			if d.charge(s) == nil {
				return
			}
			d.collect(s, owner, seen, out, depth+1, true)
		}
	}
}

// str returns the value of a string scalar, and whether n is one.
func str(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", false
	}
	return n.Value, true
}

// isNull reports whether n is an explicit or implicit YAML null.
func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// unknownField formats the warning for a field nobody reads, with the
// closest known name when one is near enough to be a typo.
func unknownField(name string, known []string) string {
	if best, ok := Suggest(name, known); ok {
		return fmt.Sprintf("unknown field %s: did you mean %s?", name, best)
	}
	return fmt.Sprintf("unknown field %s (ignored)", name)
}
