package extract

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Kinds of sidecar an extraction makes.
const (
	KindVision = "vision"
	KindMTP    = "mtp"
)

// Selection says which tensors an extraction takes from the checkpoint.
type Selection struct {
	// Kind is KindVision or KindMTP.
	Kind string
	// Prefixes select, for KindVision, every tensor whose name starts with
	// one of them.
	Prefixes []string
}

// ErrNoMTP is matched when a checkpoint has no MTP head to extract.
var ErrNoMTP = errors.New("no MTP head tensors found")

// SelectionError is a selection that cannot apply to the checkpoint: a
// prefix that matches nothing, or one that takes the whole model. Nothing
// was written when it is returned.
type SelectionError struct {
	// Prefix is the prefix at fault, "" when the selection as a whole is.
	Prefix string
	Msg    string
}

func (e *SelectionError) Error() string { return e.Msg }

// String describes the selection as the output's metadata and the card
// record it; two runs with the same string select by the same rule.
func (sel Selection) String() string {
	if sel.Kind == KindMTP {
		return "mtp"
	}
	b, _ := json.Marshal(sel.Prefixes)
	return "prefixes " + string(b)
}

// choose returns the selected tensor names, sorted, and a description of
// what the rule resolved to (the MTP layer it found).
func (sel Selection) choose(s *Source) ([]string, string, error) {
	switch sel.Kind {
	case KindVision:
		return sel.byPrefix(s)
	case KindMTP:
		return chooseMTP(s)
	}
	return nil, "", fmt.Errorf("unknown selection kind %q", sel.Kind)
}

func (sel Selection) byPrefix(s *Source) ([]string, string, error) {
	if len(sel.Prefixes) == 0 {
		return nil, "", &SelectionError{Msg: "vision_source_tensors is empty: it must list at least one tensor-name prefix"}
	}
	hits := make([]int, len(sel.Prefixes))
	var out []string
	for _, n := range s.Names {
		took := false
		for i, p := range sel.Prefixes {
			if p == "" {
				return nil, "", &SelectionError{Msg: "vision_source_tensors has an empty prefix, which would select every tensor"}
			}
			if strings.HasPrefix(n, p) {
				hits[i]++
				took = true
			}
		}
		if took {
			out = append(out, n)
		}
	}
	for i, p := range sel.Prefixes {
		if hits[i] == 0 {
			return nil, "", &SelectionError{Prefix: p, Msg: fmt.Sprintf("vision_source_tensors prefix %q matches no tensor of %s@%s (%d tensors)", p, s.Repo, short(s.SHA), len(s.Names))}
		}
	}
	if len(out) == len(s.Names) {
		return nil, "", &SelectionError{Msg: fmt.Sprintf("vision_source_tensors %s selects all %d tensors of %s@%s: that is the whole model, not a sidecar; mirror it without vision_source_tensors, or select fewer", sel.Prefixes, len(out), s.Repo, short(s.SHA))}
	}
	return out, fmt.Sprintf("%d tensors by prefix", len(out)), nil
}

// chooseMTP finds the MTP head as the original publisher does: tensors
// named mtp.* or *.mtp.* (DeepSeek-V4 style); else, when config.json has
// num_nextn_predict_layers > 0, the extra layer
// model.layers.{num_hidden_layers}.* (DeepSeek-V3 style).
func chooseMTP(s *Source) ([]string, string, error) {
	var out []string
	for _, n := range s.Names {
		if strings.HasPrefix(n, "mtp.") || strings.Contains(n, ".mtp.") {
			out = append(out, n)
		}
	}
	if len(out) > 0 {
		return out, "mtp.* tensors", nil
	}
	cfg := s.Config
	layers, ok := intField(cfg, "num_hidden_layers")
	nextn, ok2 := intField(cfg, "num_nextn_predict_layers")
	if !ok || !ok2 {
		// Multimodal checkpoints keep the language model's fields in
		// text_config.
		if tc, isMap := cfg["text_config"].(map[string]any); isMap {
			layers, ok = intField(tc, "num_hidden_layers")
			nextn, ok2 = intField(tc, "num_nextn_predict_layers")
		}
	}
	if ok && ok2 && nextn > 0 && layers >= 0 {
		prefix := fmt.Sprintf("model.layers.%d.", layers)
		for _, n := range s.Names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		if len(out) > 0 {
			sort.Strings(out)
			return out, prefix + "* (num_nextn_predict_layers " + fmt.Sprint(nextn) + ")", nil
		}
	}
	return nil, "", fmt.Errorf("%w in %s; confirm this model has native MTP heads (checked for mtp.* keys and model.layers.{N}.* via config.json)", ErrNoMTP, s.Repo)
}

// intField reads a whole, non-negative JSON number.
func intField(m map[string]any, k string) (int64, bool) {
	f, ok := m[k].(float64)
	if !ok || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}
