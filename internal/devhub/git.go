package devhub

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// defaultGitattributes is the .gitattributes the Hub writes into a new model
// repo's first commit: it sends weights, archives and other binaries to LFS.
const defaultGitattributes = `*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
`

// gitBlobSHA1 returns the git object id of a blob holding data.
func gitBlobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// lfsPointer returns the text git stores in place of an LFS object.
func lfsPointer(sha256hex string, size int64) string {
	return "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256hex + "\nsize " + strconv.FormatInt(size, 10) + "\n"
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// xetHashFor derives a stable stand-in for the Xet hash of an LFS object.
// The real one is a Merkle hash over content-defined chunks; any value that is
// stable and distinct per object serves the duplication protocol.
func xetHashFor(sha256hex string) string {
	return sha256Hex([]byte("devhub-xet:" + sha256hex))
}

var hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)
var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// treeEntries computes the git tree id of every directory of files
// (keyed by directory path, "" for the root), like `git write-tree` would.
func treeIDs(files map[string]*fileEntry) map[string]string {
	type node struct {
		files map[string]string // name -> blob oid
		dirs  map[string]*node
	}
	newNode := func() *node { return &node{files: map[string]string{}, dirs: map[string]*node{}} }
	root := newNode()
	for p, f := range files {
		parts := strings.Split(p, "/")
		n := root
		for _, d := range parts[:len(parts)-1] {
			c, ok := n.dirs[d]
			if !ok {
				c = newNode()
				n.dirs[d] = c
			}
			n = c
		}
		n.files[parts[len(parts)-1]] = f.GitOID
	}
	out := map[string]string{}
	var walk func(n *node, dir string) string
	walk = func(n *node, dir string) string {
		type ent struct {
			key, name, mode, oid string
		}
		var ents []ent
		for name, oid := range n.files {
			ents = append(ents, ent{name, name, "100644", oid})
		}
		for name, c := range n.dirs {
			sub := name
			if dir != "" {
				sub = dir + "/" + name
			}
			ents = append(ents, ent{name + "/", name, "40000", walk(c, sub)})
		}
		// git orders tree entries by name, comparing directories as if they
		// ended in a slash.
		sort.Slice(ents, func(i, j int) bool { return ents[i].key < ents[j].key })
		var buf bytes.Buffer
		for _, e := range ents {
			raw, _ := hex.DecodeString(e.oid)
			buf.WriteString(e.mode + " " + e.name + "\x00")
			buf.Write(raw)
		}
		h := sha1.New()
		fmt.Fprintf(h, "tree %d\x00", buf.Len())
		h.Write(buf.Bytes())
		id := hex.EncodeToString(h.Sum(nil))
		out[dir] = id
		return id
	}
	walk(root, "")
	return out
}

// commitID returns the git id of a commit object with the given fields.
func commitID(tree, parent, title, description string, when time.Time) string {
	var b strings.Builder
	b.WriteString("tree " + tree + "\n")
	if parent != "" {
		b.WriteString("parent " + parent + "\n")
	}
	sig := fmt.Sprintf("devhub <devhub@localhost> %d +0000", when.Unix())
	b.WriteString("author " + sig + "\ncommitter " + sig + "\n\n" + title + "\n")
	if description != "" {
		b.WriteString("\n" + description + "\n")
	}
	h := sha1.New()
	fmt.Fprintf(h, "commit %d\x00", b.Len())
	h.Write([]byte(b.String()))
	return hex.EncodeToString(h.Sum(nil))
}

// attrRule is one line of a .gitattributes file as far as LFS goes.
type attrRule struct {
	re  *regexp.Regexp
	lfs bool // filter=lfs set (true) or unset (false)
}

// parseGitattributes extracts the filter=lfs rules of a .gitattributes text.
func parseGitattributes(text string) []attrRule {
	var rules []attrRule
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		for _, a := range fields[1:] {
			var set, ok bool
			switch a {
			case "filter=lfs":
				set, ok = true, true
			case "-filter", "!filter":
				set, ok = false, true
			}
			if ok {
				if re, err := globRegexp(fields[0]); err == nil {
					rules = append(rules, attrRule{re: re, lfs: set})
				}
			}
		}
	}
	return rules
}

// tracksLFS reports whether the last rule matching p sends it to LFS.
func tracksLFS(rules []attrRule, p string) bool {
	lfs := false
	for _, r := range rules {
		if r.re.MatchString(p) {
			lfs = r.lfs
		}
	}
	return lfs
}

// globRegexp turns a gitattributes pattern into a regexp over repo paths:
// a pattern without a slash matches the base name at any depth.
func globRegexp(pat string) (*regexp.Regexp, error) {
	anchored := strings.Contains(strings.TrimSuffix(pat, "/"), "/")
	pat = strings.TrimPrefix(pat, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case strings.HasPrefix(pat[i:], "[[:space:]]"):
			b.WriteString(`\s`)
			i += len("[[:space:]]") - 1
		case strings.HasPrefix(pat[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(pat[i:], "/**") && i+3 == len(pat):
			b.WriteString("(?:/.*)?")
			i += 2
		case strings.HasPrefix(pat[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// newGitBlobHash returns a sha1 primed with the git blob header for size bytes.
func newGitBlobHash(size int64) hash.Hash {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// ignoreRule is one pattern of a .gitignore; negate re-includes.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

// parseGitignore reads the patterns of a .gitignore: blank lines and
// comments skipped, "!" re-includes, a pattern ending in "/" names a
// directory and everything under it.
func parseGitignore(text string) []ignoreRule {
	var rules []ignoreRule
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if r.negate = strings.HasPrefix(line, "!"); r.negate {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			line = strings.TrimSuffix(line, "/") + "/**"
		}
		if re, err := globRegexp(line); err == nil {
			r.re = re
			rules = append(rules, r)
		}
	}
	return rules
}

// ignored reports whether the last rule matching p ignores it.
func ignored(rules []ignoreRule, p string) bool {
	out := false
	for _, r := range rules {
		if r.re.MatchString(p) {
			out = !r.negate
		}
	}
	return out
}
