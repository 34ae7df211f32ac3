package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

const token = "hf_upload_test_token"

// setup serves a local hub whose multipart threshold is 1 MiB in 256 KiB
// parts, and returns a client with a token that writes alice/*.
func setup(t *testing.T) (*devhub.Hub, *hub.Client) {
	t.Helper()
	h, err := devhub.New(devhub.WithToken(token, "write:alice/*"), devhub.WithMultipart(1<<20, 256<<10))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return h, hub.New(srv.URL, token)
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pattern returns n bytes that are not text (they hold NUL bytes).
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// TestUploadDirectory uploads a tree with a multipart-sized binary file, a
// small binary file, text files and folders that must be skipped, then
// reads every file back from the hub and compares the bytes.
func TestUploadDirectory(t *testing.T) {
	h, client := setup(t)
	dir := t.TempDir()
	files := map[string][]byte{
		"big.safetensors":             pattern(1<<20+12345, 1), // multipart: 5 parts
		"small.bin":                   pattern(300, 2),         // basic LFS upload
		"config.json":                 []byte(`{"model_type": "moonvit"}` + "\n"),
		"sub/notes.txt":               []byte("hello\n"),
		"sub/same-as-big.safetensors": pattern(1<<20+12345, 1),
		".gitattributes":              []byte("*.bin filter=lfs diff=lfs merge=lfs -text\n"),
	}
	for p, b := range files {
		write(t, filepath.Join(dir, p), b)
	}
	write(t, filepath.Join(dir, ".git/config"), []byte("[core]\n"))
	write(t, filepath.Join(dir, "sub/.cache/huggingface/upload/x.lock"), []byte("lock"))
	if err := os.Symlink("config.json", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	files["link.json"] = files["config.json"]

	var log syncbuf.Buffer
	res, err := Upload(context.Background(), Options{Client: client, Repo: "alice/up", Dir: dir, Progress: &log, Jobs: 3})
	if err != nil {
		t.Fatalf("upload: %v\n%s", err, log.String())
	}
	if !res.Created || len(res.Files) != len(files) {
		t.Fatalf("created %v, %d files, want %d: %+v", res.Created, len(res.Files), len(files), res.Files)
	}
	modes := map[string]string{}
	for _, f := range res.Files {
		modes[f.Path] = f.Mode
	}
	for p, want := range map[string]string{"big.safetensors": "lfs", "small.bin": "lfs", "config.json": "regular", "sub/notes.txt": "regular"} {
		if modes[p] != want {
			t.Errorf("%s went %q, want %q", p, modes[p], want)
		}
	}
	for p, want := range files {
		f, err := client.Open(context.Background(), "alice/up", res.Commit, p, 0)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if p == ".gitattributes" {
			// As the Hub does, the commit appended a rule for each LFS
			// file the uploaded rules did not cover.
			if !bytes.HasPrefix(got, want) || !bytes.Contains(got, []byte("\nbig.safetensors filter=lfs")) {
				t.Errorf(".gitattributes is %q", got)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the hub holds %d bytes that differ from the %d uploaded", p, len(got), len(want))
		}
	}
	tree, err := client.ListTree(context.Background(), "alice/up", res.Commit)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tree {
		if strings.HasPrefix(e.Path, ".git/") || strings.Contains(e.Path, ".cache/huggingface") {
			t.Errorf("%s was uploaded", e.Path)
		}
	}
	if st := h.Stats(); st.Commits["alice/up"] != 2 {
		t.Errorf("%d commits, want the initial one and the upload", st.Commits["alice/up"])
	}
	for _, line := range []string{"uploaded config.json (26 B) [regular]", "[lfs multipart]", "uploaded sub/same-as-big.safetensors (1.0 MiB) [lfs: same bytes as big.safetensors]"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("the log lacks %q:\n%s", line, log.String())
		}
	}

	// The same tree again: the LFS objects are stored; nothing but the
	// small regular files crosses the network.
	before := h.Stats().BytesReceived
	res2, err := Upload(context.Background(), Options{Client: client, Repo: "alice/up", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Created {
		t.Error("the second upload created the repo again")
	}
	for _, f := range res2.Files {
		if f.Mode == "lfs" && f.Sent {
			t.Errorf("%s sent again", f.Path)
		}
	}
	if got := h.Stats().BytesReceived - before; got > 64<<10 {
		t.Errorf("the second upload sent %d bytes", got)
	}
}

// TestUploadRefusesWhatLeadsOut: a symlink out of the directory, a symlink
// to a directory and a named pipe are refused, all named, before any
// request.
func TestUploadRefusesWhatLeadsOut(t *testing.T) {
	h, client := setup(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret.txt"), []byte("secret"))
	dir := t.TempDir()
	write(t, filepath.Join(dir, "ok.json"), []byte("{}"))
	for link, target := range map[string]string{
		"escape.txt":    filepath.Join(outside, "secret.txt"),
		"sub/up.txt":    "../../" + filepath.Base(outside) + "/secret.txt",
		"dirlink":       "sub",
		"dangling.json": "nowhere.json",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(link)), 0o755)
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "bad\nname.json"), []byte("{}"))
	write(t, filepath.Join(dir, `win\x.json`), []byte("{}"))
	_, err := Upload(context.Background(), Options{Client: client, Repo: "alice/up", Dir: dir})
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want a RefusedError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"escape.txt (a symlink leading outside the directory; not followed)",
		"sub/up.txt (a symlink leading outside the directory; not followed)",
		"dirlink (a symlink to a directory; not followed)",
		"dangling.json (",
		`"bad\nname.json" (a control character in the name)`,
		`"win\\x.json" (a backslash in the name; the Hub reads it as a separator)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "secret") && !strings.Contains(msg, "secret.txt") {
		t.Errorf("the error shows what is outside: %s", msg)
	}
	if st := h.Stats(); st.BytesReceived != 0 || len(st.Commits) != 0 {
		t.Errorf("a refused upload wrote: %+v", st)
	}
}

// TestUploadNeedsWriteAccess: a token that cannot write the namespace fails
// naming the repo, and nothing is committed.
func TestUploadNeedsWriteAccess(t *testing.T) {
	h, client := setup(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.bin"), pattern(100, 3))
	_, err := Upload(context.Background(), Options{Client: client, Repo: "bob/up", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "the token cannot write to bob/up") {
		t.Fatalf("err = %v", err)
	}
	if st := h.Stats(); st.Commits["bob/up"] != 0 {
		t.Errorf("commits: %v", st.Commits)
	}
}

// TestUploadNoticesAChangedFile: a file rewritten after it was read for
// its hash is not sent under that hash.
func TestUploadNoticesAChangedFile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.bin"), pattern(1000, 4))
	root, files, err := scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := hashAll(context.Background(), root, files, 1); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a.bin"), pattern(1001, 5))
	if _, err := open(root, files[0]); err == nil || !strings.Contains(err.Error(), "a.bin changed while it was being uploaded") {
		t.Errorf("open after a change: %v", err)
	}
	write(t, filepath.Join(dir, "a.bin"), pattern(1000, 5))
	os.Chtimes(filepath.Join(dir, "a.bin"), files[0].mod, files[0].mod)
	h, err := open(root, files[0])
	if err != nil {
		t.Fatal(err)
	}
	r := &checkedReader{f: h, want: files[0].sha256, path: "a.bin", size: 1000, h: sha256.New(), moved: new(atomic.Int64)}
	if _, err := io.ReadAll(r); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("streaming other bytes of the same size and time: %v", err)
	}
}

// TestUploadBoundsInlineBytes: the small files a commit carries inline are
// held in memory, so their total is bounded; past it nothing is written.
func TestUploadBoundsInlineBytes(t *testing.T) {
	defer func(n int64) { maxInlineTotal = n }(maxInlineTotal)
	maxInlineTotal = 1000
	h, client := setup(t)
	dir := t.TempDir()
	for _, p := range []string{"a.json", "b.json", "c.json"} {
		write(t, filepath.Join(dir, p), bytes.Repeat([]byte("{}\n"), 200))
	}
	_, err := Upload(context.Background(), Options{Client: client, Repo: "alice/up", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "the Hub wants 1.8 KiB of small files committed inline, more than the 1000 B") {
		t.Fatalf("err = %v", err)
	}
	if st := h.Stats(); st.Commits["alice/up"] > 1 || st.BytesReceived > 4096 {
		t.Errorf("an upload over the bound wrote: %+v", st)
	}
}

// TestUploadRefusesACardTheHubRefuses: a README.md the Hub's validate-yaml
// refuses stops the upload before the repo is created or a byte moves.
func TestUploadRefusesACardTheHubRefuses(t *testing.T) {
	h, client := setup(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "README.md"), []byte("---\nlicense: Apache 2.0\n---\n# card\n"))
	write(t, filepath.Join(dir, "w.bin"), pattern(4096, 1))
	before := h.Stats()
	_, err := Upload(context.Background(), Options{Client: client, Repo: "alice/carded", Dir: dir})
	if !errors.Is(err, hub.ErrInvalidCard) || !strings.Contains(err.Error(), `"license"`) || !strings.Contains(err.Error(), "nothing was uploaded") {
		t.Fatalf("upload with a refused card: %v", err)
	}
	after := h.Stats()
	for _, route := range []string{"repo-create", "preupload", "lfs-batch", "storage-put", "commit"} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			t.Errorf("%d %s requests after the card was refused", n, route)
		}
	}
}

// TestUploadInlineFileChangedBeforeTheCommit: the commit reads each inline
// file from disk as it sends it; one rewritten after it was hashed (same
// size and time) cuts the request before its end, and nothing lands.
func TestUploadInlineFileChangedBeforeTheCommit(t *testing.T) {
	h, client := setup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	write(t, path, bytes.Repeat([]byte(`{"a":1}`), 100))
	write(t, filepath.Join(dir, "other.json"), []byte(`{}`))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Preupload comes after the hashing and before the commit.
	h.AddFault(devhub.Fault{Route: "preupload", Kind: devhub.FaultNone, Times: 1, Before: func() {
		write(t, path, bytes.Repeat([]byte(`{"b":2}`), 100))
		os.Chtimes(path, fi.ModTime(), fi.ModTime())
	}})
	_, err = Upload(context.Background(), Options{Client: client, Repo: "alice/up", Dir: dir})
	if !errors.Is(err, hub.ErrCommitNotSent) || !strings.Contains(err.Error(), "config.json changed while it was being uploaded") {
		t.Fatalf("err = %v, want a commit not sent because config.json changed", err)
	}
	if st := h.Stats(); st.Commits["alice/up"] != 1 || st.Requests["commit"] > 1 {
		t.Errorf("commits %d (want only the repo's creation), commit requests %d (want at most 1, not resent)", st.Commits["alice/up"], st.Requests["commit"])
	}
}
