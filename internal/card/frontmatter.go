package card

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// MaxFrontMatter bounds the YAML block FrontMatter parses. Real cards with a
// long model-index stay well under it.
const MaxFrontMatter = 1 << 20

// FrontMatter extracts and parses the YAML front matter of a README: the
// block between a first line of "---" and the next line of "---". It returns
// nil and no error when the README has no front matter. Untrusted input is
// handled defensively: a block over MaxFrontMatter, a block that never ends,
// YAML aliases (the "billion laughs" expansion) and a top level that is not a
// mapping are all errors.
func FrontMatter(readme []byte) (map[string]any, error) {
	readme = bytes.TrimPrefix(readme, []byte("\xef\xbb\xbf"))
	first, rest, ok := cutLine(readme)
	if !ok || string(first) != "---" {
		return nil, nil
	}
	var block []byte
	for off := 0; ; {
		line, next, more := cutLine(rest[off:])
		if string(line) == "---" {
			block = rest[:off]
			break
		}
		if !more {
			return nil, errors.New("front matter: no closing --- line")
		}
		off = len(rest) - len(next)
		if off > MaxFrontMatter {
			return nil, fmt.Errorf("front matter: longer than %d bytes", MaxFrontMatter)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(block, &doc); err != nil {
		return nil, fmt.Errorf("front matter: %w", err)
	}
	if doc.Kind == 0 {
		return map[string]any{}, nil
	}
	if err := noAliases(&doc, 0); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("front matter: not a YAML mapping")
	}
	m := map[string]any{}
	if err := doc.Content[0].Decode(&m); err != nil {
		return nil, fmt.Errorf("front matter: %w", err)
	}
	return m, nil
}

// cutLine splits b after its first line, dropping the line ending ("\n" or
// "\r\n"). ok is false when b holds no newline; line is then all of b.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	line, rest, ok = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, ok
}

// maxDepth bounds nesting; card metadata is a few levels deep.
const maxDepth = 64

// noAliases refuses aliases outright rather than counting expansions: card
// metadata has no use for them, and without them a document's decoded size
// is bounded by its text.
func noAliases(n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("front matter: nested deeper than %d levels", maxDepth)
	}
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("front matter: line %d: YAML aliases are not accepted", n.Line)
	}
	for _, c := range n.Content {
		if err := noAliases(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}
