package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// allocDuring reports the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadRefusesOversizedFilesWithoutReadingThem: a 300 MB manifest (a
// sparse file, so it costs no disk) is reported at its first line, and
// loading it allocates nothing near its size.
func TestLoadRefusesOversizedFilesWithoutReadingThem(t *testing.T) {
	dir := t.TempDir()
	const size = 300 << 20
	for _, name := range []string{"big.yaml", "ops/big.yaml"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(createFile(t, filepath.Join(dir, name)), size); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "cfg.yaml"), "catalogs:\n- path: ops/big.yaml\n  namespace: ops\n  hf_owner: OpsOrg\n")
	for _, opts := range []Options{
		{Dir: dir, Manifest: "big.yaml"},
		{Dir: dir, Config: "big.yaml"},
		{Dir: dir, Config: "cfg.yaml"},
	} {
		var c *Catalog
		var err error
		alloc := allocDuring(func() { c, err = Load(opts) })
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		file := opts.Manifest + opts.Config
		if opts.Config == "cfg.yaml" {
			file = filepath.Join("ops", "big.yaml")
		}
		want := file + ":1:1: file is 314572800 bytes; the limit is 32 MiB\n"
		if got := problemStrings(c.Problems); !strings.Contains(got, want) {
			t.Errorf("%+v: missing %q in\n%s", opts, want, got)
		}
		if alloc > 16<<20 {
			t.Errorf("%+v: loading allocated %d MiB for a refused file", opts, alloc>>20)
		}
	}
}

// TestReadBoundedStopsAGrowingFile: a file that grows while it is read (an
// endless reader here) is cut just past the limit, not read to its end.
func TestReadBoundedStopsAGrowingFile(t *testing.T) {
	var err error
	alloc := allocDuring(func() { _, err = readBounded(endless{}, 10) })
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != -1 || !strings.Contains(err.Error(), "grew past the 32 MiB limit") {
		t.Fatalf("endless file: %v", err)
	}
	if alloc > 5*MaxFileSize/2 {
		t.Errorf("reading an endless file allocated %d MiB", alloc>>20)
	}
	data, err := readBounded(strings.NewReader("models: []\n"), 11)
	if err != nil || string(data) != "models: []\n" {
		t.Errorf("small file: %q, %v", data, err)
	}
	// Exactly at the limit is fine, even when the size hint was too small;
	// one byte more is not.
	exact := strings.Repeat("x", MaxFileSize)
	if data, err := readBounded(strings.NewReader(exact), 0); err != nil || len(data) != MaxFileSize {
		t.Errorf("file of exactly the limit: %d bytes, %v", len(data), err)
	}
	if _, err := readBounded(strings.NewReader(exact+"x"), MaxFileSize); !errors.As(err, &tl) {
		t.Errorf("file one byte over the limit: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLoadRefusesSpecialFiles: devices, named pipes and directories are
// refused before they are opened, as a load error for --manifest/--config
// and as a problem at the path: value for a config's source. Reading
// /dev/zero would never end and opening a pipe would block forever.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, kind string }{
		{fifo, "named pipe"},
		{"/dev/zero", "character device"},
		{"/dev/null", "character device"},
		{"sub.yaml", "directory"},
	}
	for _, tc := range cases {
		if _, err := os.Stat(resolve(dir, tc.path)); err != nil {
			t.Logf("skip %s: %v", tc.path, err)
			continue
		}
		writeFile(t, filepath.Join(dir, "cfg.yaml"), "catalogs:\n- path: "+tc.path+"\n  namespace: ops\n  hf_owner: OpsOrg\n")
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := Load(Options{Dir: dir, Manifest: tc.path})
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "not a regular file ("+tc.kind+")") {
				t.Errorf("--manifest %s: %v", tc.path, err)
			}
			_, err = Load(Options{Dir: dir, Config: tc.path})
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("--config %s: %v", tc.path, err)
			}
			c, err := Load(Options{Dir: dir, Config: "cfg.yaml"})
			if err != nil {
				t.Errorf("config naming %s: %v", tc.path, err)
				return
			}
			want := "cfg.yaml:2:9: ops: cannot read catalog " + tc.path + ": not a regular file (" + tc.kind + ")\n"
			if got := problemStrings(c.Problems); !strings.Contains(got, want) {
				t.Errorf("missing %q in\n%s", want, got)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("loading %s did not return", tc.path)
		}
	}
}

func createFile(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadConfinesPathsToRoot: with Root set, a source path that leaves
// the root by "..", by an absolute path or through a symlink is refused at
// its path: value without being read; a symlink that stays inside is
// followed. Without Root the same config loads the outside file, as the
// CLI always has.
func TestLoadConfinesPathsToRoot(t *testing.T) {
	outside := t.TempDir()
	secret := strings.Replace(operatorCatalog, "OpsOrg/ops-kimi-vindex", "OpsOrg/SECRET-OUTSIDE-ROOT", 1)
	writeFile(t, filepath.Join(outside, "secret.yaml"), secret)
	root := writeFiles(t, map[string]string{"cat/in.yaml": operatorCatalog})
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "cat", "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("in.yaml", filepath.Join(root, "cat", "alias.yaml")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, filepath.Join(outside, "secret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := "catalogs:\n" +
		"- path: " + rel + "\n  namespace: dots\n  hf_owner: OpsOrg\n" +
		"- path: " + filepath.Join(outside, "secret.yaml") + "\n  namespace: abs\n  hf_owner: OpsOrg\n" +
		"- path: cat/escape.yaml\n  namespace: link\n  hf_owner: OpsOrg\n" +
		"- path: ../nowhere.yaml\n  namespace: missing\n  hf_owner: OpsOrg\n" +
		"- path: cat/alias.yaml\n  namespace: inside\n  hf_owner: OpsOrg\n"
	writeFile(t, filepath.Join(root, "skulk-weights.yaml"), cfg)

	c, err := Load(Options{Dir: root, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	got := problemStrings(c.Problems)
	for _, want := range []string{
		"skulk-weights.yaml:2:9: dots: refusing catalog " + rel + ": it resolves outside the repository",
		"skulk-weights.yaml:5:9: abs: refusing catalog " + filepath.Join(outside, "secret.yaml") + ": it resolves outside the repository",
		"skulk-weights.yaml:8:9: link: refusing catalog cat/escape.yaml: it resolves outside the repository",
		"skulk-weights.yaml:11:9: missing: refusing catalog ../nowhere.yaml: it resolves outside the repository",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "SECRET") || len(c.Sources) != 2 {
		t.Errorf("a file outside the root was read: %d sources, problems:\n%s", len(c.Sources), got)
	}
	if _, err := c.Lookup("inside/plain"); err != nil {
		t.Errorf("a symlink inside the root must be followed: %v", err)
	}

	// The config and the manifest themselves are confined too.
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "m.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{Dir: root, Root: root, Manifest: "m.yaml"}, {Dir: root, Root: root, Config: "m.yaml"}} {
		if _, err := Load(opts); !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("%+v: error = %v, want ErrOutsideRoot", opts, err)
		}
	}

	// No Root: the operator may point anywhere.
	c, err = Load(Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup("dots/plain"); err != nil {
		t.Errorf("without Root a path outside the directory must load: %v\n%s", err, problemStrings(c.Problems))
	}
}
