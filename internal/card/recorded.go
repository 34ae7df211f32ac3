package card

import (
	"math"
	"regexp"
	"slices"

	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

var (
	gitOID    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Recorded reads the files a card's foxlight block lists, keyed by path, so
// a republish can reuse what an earlier run learnt about them. The card is
// untrusted input: it is parsed with FrontMatter's limits, and an entry of
// the wrong shape (a missing or malformed oid or sha256, a size or count that
// is not a non-negative integer, dtypes that are not a sorted list of
// distinct strings) or a path listed twice is left out, so the caller reads
// that file again. Whether an entry describes the bytes now in a repo is the
// caller's check: an entry says only what its oid's bytes were.
func Recorded(readme []byte) (map[string]File, error) {
	fm, err := FrontMatter(readme)
	if err != nil {
		return nil, err
	}
	fox, _ := fm["foxlight"].(map[string]any)
	list, _ := fox["files"].([]any)
	out := map[string]File{}
	dup := map[string]bool{}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		f, ok := recordedFile(m)
		if !ok {
			continue
		}
		if _, seen := out[f.Path]; seen || dup[f.Path] {
			delete(out, f.Path)
			dup[f.Path] = true
			continue
		}
		out[f.Path] = f
	}
	return out, nil
}

func recordedFile(m map[string]any) (File, bool) {
	path, _ := m["path"].(string)
	oid, _ := m["oid"].(string)
	sum, _ := m["sha256"].(string)
	size, ok := nonNegative(m["size"])
	if path == "" || !ok || !gitOID.MatchString(oid) || !sha256Hex.MatchString(sum) {
		return File{}, false
	}
	f := File{Path: path, Size: size, OID: oid, SHA256: sum}
	_, hasT := m["tensors"]
	_, hasD := m["dtypes"]
	_, hasP := m["params"]
	if !hasT && !hasD && !hasP {
		return f, true
	}
	tensors, ok1 := nonNegative(m["tensors"])
	params, ok2 := nonNegative(m["params"])
	if !ok1 || !ok2 || tensors > math.MaxInt32 {
		return File{}, false
	}
	var dtypes []string
	if hasD {
		raw, ok := m["dtypes"].([]any)
		if !ok {
			return File{}, false
		}
		for _, d := range raw {
			s, ok := d.(string)
			if !ok || s == "" {
				return File{}, false
			}
			dtypes = append(dtypes, s)
		}
		if !slices.IsSorted(dtypes) || len(slices.Compact(slices.Clone(dtypes))) != len(dtypes) {
			return File{}, false
		}
	}
	f.Tensors = &safetensors.Summary{Tensors: int(tensors), DTypes: dtypes, Params: params}
	return f, true
}

// nonNegative accepts the integer types yaml.v3 decodes into an any.
func nonNegative(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), n >= 0
	case int64:
		return n, n >= 0
	case uint64:
		return int64(n), n <= math.MaxInt64
	}
	return 0, false
}
