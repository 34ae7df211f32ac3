package devhub

import (
	"testing"
	"time"
)

// The expected ids below were computed by git itself (git write-tree and
// git commit-tree) for the same content, names and dates.
func TestGitIDsMatchGit(t *testing.T) {
	blob := func(s string) *fileEntry { return &fileEntry{GitOID: gitBlobSHA1([]byte(s))} }
	files := map[string]*fileEntry{"a": blob("hello\n"), "d/b": blob("x"), "d/e/c": blob("yy"), "d-e": blob("z")}
	if got := files["a"].GitOID; got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("blob id %s", got)
	}
	trees := treeIDs(files)
	for dir, want := range map[string]string{
		"":    "238f4c235fa607cb00c163b6f4fb603aa893e9f5",
		"d":   "5d1c3ae0e0961170162e7cbcbc5796a33276951b",
		"d/e": "548dfce197babc4a26e83e5e31ed5b7ba5f1d7fa",
	} {
		if trees[dir] != want {
			t.Errorf("tree %q = %s, want %s", dir, trees[dir], want)
		}
	}
	when := time.Unix(1700000000, 0)
	first := commitID(trees[""], "", "Add files", "A description", when)
	if first != "0d9b9d301f69ff3a0452ec31bc2466e156d803b2" {
		t.Errorf("root commit id %s", first)
	}
	if got := commitID(trees[""], first, "second", "", when); got != "eba7c1d13ea0e226aaa0c0fbc0339a808b01aa40" {
		t.Errorf("child commit id %s", got)
	}
}

func TestLFSPointer(t *testing.T) {
	sha := "0000000000000000000000000000000000000000000000000000000000000000"
	p := lfsPointer(sha, 123456789)
	if len(p) != 134 { // 125 + digits(size), as the Hub's pointerSize
		t.Errorf("pointer size %d", len(p))
	}
}

func TestGitattributesMatching(t *testing.T) {
	rules := parseGitattributes(defaultGitattributes + "a[[:space:]]b.txt filter=lfs diff=lfs merge=lfs -text\nkeep.bin -filter\n")
	for p, want := range map[string]bool{
		"model.safetensors":           true,
		"deep/dir/pytorch_model.bin":  true,
		"saved_model/x/variables.idx": true,
		"saved_model/v.pb":            true,
		"other/saved_model/x":         false,
		"runs/events.out.tfevents.1":  true,
		"a b.txt":                     true,
		"ab.txt":                      false,
		"keep.bin":                    false,
		"README.md":                   false,
		"config.json":                 false,
		"archive.tar.gz":              true,
	} {
		if got := tracksLFS(rules, p); got != want {
			t.Errorf("tracksLFS(%q) = %v, want %v", p, got, want)
		}
	}
}
