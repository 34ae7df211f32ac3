package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IndexFile is the name save_pretrained gives a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// MaxIndexSize bounds the index file read into memory. The index of
// DeepSeek-V3 (91,000 tensors in 163 shards) is about 9 MB.
const MaxIndexSize = 64 << 20

// ErrInvalid is matched by every error that says a source checkpoint is
// malformed: an index or header that a loader would refuse too.
var ErrInvalid = errors.New("invalid checkpoint")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Index is a sharded checkpoint's index: which shard holds each tensor.
type Index struct {
	// WeightMap maps each tensor name to the path of its shard, relative
	// to the repository root.
	WeightMap map[string]string
	// Shards lists the distinct shard paths, sorted.
	Shards []string
}

// ParseIndex reads a model.safetensors.index.json. It refuses anything a
// shard path could use to leave the repository or to name a file the
// checkpoint does not own: absolute paths, "..", backslashes, control
// characters, and paths that are not *.safetensors.
func ParseIndex(b []byte) (*Index, error) {
	if len(b) > MaxIndexSize {
		return nil, invalidf("%s is %d bytes; at most %d are read", IndexFile, len(b), MaxIndexSize)
	}
	if !utf8.Valid(b) {
		return nil, invalidf("%s is not UTF-8", IndexFile)
	}
	// The index is read token by token: a large MoE checkpoint lists a
	// few hundred thousand tensors, and decoding it into an intermediate
	// map first would hold every name and path several times over.
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
	}
	var idx *Index
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
		}
		if key != "weight_map" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
			}
			continue
		}
		if idx != nil {
			return nil, invalidf("%s has weight_map twice", IndexFile)
		}
		if idx, err = parseWeightMap(dec); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
	}
	if idx == nil {
		return nil, invalidf("%s has no weight_map", IndexFile)
	}
	if len(idx.WeightMap) == 0 {
		return nil, invalidf("%s: weight_map is empty", IndexFile)
	}
	sort.Strings(idx.Shards)
	return idx, nil
}

// parseWeightMap reads the weight_map object from dec, checking every
// tensor name and shard path; each distinct shard path is kept once.
func parseWeightMap(dec *json.Decoder) (*Index, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
	}
	if tok == nil {
		return nil, invalidf("%s has no weight_map", IndexFile)
	}
	if tok != json.Delim('{') {
		return nil, invalidf("%s: weight_map is not an object", IndexFile)
	}
	idx := &Index{WeightMap: map[string]string{}}
	shards := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
		}
		name, _ := tok.(string)
		if tok, err = dec.Token(); err != nil {
			return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
		}
		shard, ok := tok.(string)
		if !ok {
			return nil, invalidf("%s: weight_map[%q] is not a string", IndexFile, name)
		}
		if why := badTensorName(name); why != "" {
			return nil, invalidf("%s: tensor name %q: %s", IndexFile, name, why)
		}
		if why := badShardPath(shard); why != "" {
			return nil, invalidf("%s: weight_map[%q] = %q: %s", IndexFile, name, shard, why)
		}
		if _, dup := idx.WeightMap[name]; dup {
			return nil, invalidf("%s: tensor %q is listed twice", IndexFile, name)
		}
		if s, ok := shards[shard]; ok {
			shard = s
		} else {
			shards[shard] = shard
			idx.Shards = append(idx.Shards, shard)
		}
		idx.WeightMap[name] = shard
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, invalidf("%s is not a JSON object: %v", IndexFile, err)
	}
	return idx, nil
}

// expectDelim reads the next token and checks it is d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("found %v where %v was expected", tok, d)
	}
	return nil
}

// badTensorName says why name cannot be a tensor name, or "".
func badTensorName(name string) string {
	switch {
	case name == "":
		return "empty"
	case name == "__metadata__":
		return "reserved"
	case len(name) > 1024:
		return "longer than 1024 bytes"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "control character"
	}
	return ""
}

// badShardPath says why p cannot be the path of a shard in the checkpoint's
// repository, or "".
func badShardPath(p string) string {
	switch {
	case p == "":
		return "empty shard path"
	case strings.HasPrefix(p, "/"):
		return "absolute path"
	case strings.Contains(p, `\`):
		return "backslash in path"
	case strings.Contains(p, "://"):
		return "a URL, not a path in the repository"
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return "control character in path"
	case !strings.HasSuffix(p, ".safetensors"):
		return "not a .safetensors file"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "path leaves the repository or is not clean"
		}
	}
	if path.Clean(p) != p {
		return "path is not clean"
	}
	return ""
}
