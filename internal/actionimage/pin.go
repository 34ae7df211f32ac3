package actionimage

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"
)

// PinAction returns action.yml's bytes with runs.image pointing at ref
// ("docker://" + ref), so every job that uses the action pulls that exact
// index instead of building the Dockerfile. Only the value on the image
// line changes (a comment after it stays); the rest of the file is kept
// byte for byte. ref must be a digest reference in Repository.
func PinAction(action []byte, ref name.Digest) ([]byte, error) {
	if got := ref.Context().Name(); got != Repository {
		return nil, fmt.Errorf("pinning %s: the action's image lives in %s", ref, Repository)
	}
	value := "docker://" + ref.Name()
	var doc yaml.Node
	if err := yaml.Unmarshal(action, &doc); err != nil {
		return nil, fmt.Errorf("action.yml: %w", err)
	}
	runs := mapValue(&doc, "runs")
	if runs == nil {
		return nil, fmt.Errorf("action.yml has no runs mapping")
	}
	if using := mapValue(runs, "using"); using == nil || using.Value != "docker" {
		return nil, fmt.Errorf("action.yml: runs.using is not docker")
	}
	image := mapValue(runs, "image")
	if image == nil || image.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("action.yml: runs.image is missing or not a single value")
	}
	lines := bytes.SplitAfter(action, []byte("\n"))
	i := image.Line - 1
	if i < 0 || i >= len(lines) || image.Column-1 > len(lines[i]) {
		return nil, fmt.Errorf("action.yml:%d:%d: runs.image is not where the parser put it", image.Line, image.Column)
	}
	line := string(lines[i])
	eol := line[len(strings.TrimRight(line, "\r\n")):]
	repl := line[:image.Column-1] + value
	if image.LineComment != "" {
		repl += " " + image.LineComment
	}
	lines[i] = []byte(repl + eol)
	out := bytes.Join(lines, nil)

	// The new file must say what was meant, and nothing else may move.
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil || !sameExceptImage(&doc, &check, value) {
		return nil, fmt.Errorf("action.yml:%d:%d: runs.image must be a value alone on its line (image: VALUE) to be pinned", image.Line, image.Column)
	}
	return out, nil
}

// sameExceptImage reports whether after holds before's content with
// runs.image set to value.
func sameExceptImage(before, after *yaml.Node, value string) bool {
	var b, a any
	if before.Decode(&b) != nil || after.Decode(&a) != nil {
		return false
	}
	bm, ok1 := b.(map[string]any)
	am, ok2 := a.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	br, ok1 := bm["runs"].(map[string]any)
	ar, ok2 := am["runs"].(map[string]any)
	if !ok1 || !ok2 || ar["image"] != value {
		return false
	}
	br["image"] = value
	return reflect.DeepEqual(b, a)
}

// mapValue returns the value of key in the mapping n (or the document n
// holds), or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
