package actionimage

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tinyELF returns a minimal static Linux executable for machine (62:
// x86-64, 183: AArch64) whose code exits 0: an ELF header and one loadable
// segment, no interpreter, no dynamic section. interp adds a PT_INTERP
// segment, as a dynamically linked binary has.
func tinyELF(machine uint16, interp bool) []byte {
	code := map[uint16][]byte{
		62:  {0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05},                            // mov eax,60; xor edi,edi; syscall
		183: {0xa8, 0x0b, 0x80, 0xd2, 0x00, 0x00, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4}, // mov x8,#93; mov x0,#0; svc #0
	}[machine]
	const base = 0x400000
	nph := uint16(1)
	if interp {
		nph = 2
	}
	hdr := 64 + 56*int(nph)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	binary.Write(&b, le, uint16(2))                       // e_type: ET_EXEC
	binary.Write(&b, le, machine)                         // e_machine
	binary.Write(&b, le, uint32(1))                       // e_version
	binary.Write(&b, le, uint64(base+hdr))                // e_entry
	binary.Write(&b, le, uint64(64))                      // e_phoff
	binary.Write(&b, le, uint64(0))                       // e_shoff
	binary.Write(&b, le, uint32(0))                       // e_flags
	binary.Write(&b, le, []uint16{64, 56, nph, 64, 0, 0}) // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
	size := uint64(hdr + len(code))
	binary.Write(&b, le, []uint32{1, 5}) // PT_LOAD, R+X
	binary.Write(&b, le, []uint64{0, base, base, size, size, 0x1000})
	if interp {
		binary.Write(&b, le, []uint32{3, 4}) // PT_INTERP, R
		binary.Write(&b, le, []uint64{0, base, base, 1, 1, 1})
	}
	b.Write(code)
	return b.Bytes()
}

var testMeta = Meta{
	Version:  "v1.2.3",
	Revision: "0123456789abcdef0123456789abcdef01234567",
	Licenses: NoAssertion,
	Created:  time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC),
}

// writeBinaries writes a tiny binary per platform into dir with the given
// mode and returns them for Build.
func writeBinaries(t *testing.T, dir string, mode fs.FileMode) []Binary {
	t.Helper()
	var bins []Binary
	for _, p := range Platforms {
		path := filepath.Join(dir, "skulk-weights-"+p.Architecture)
		if err := os.WriteFile(path, tinyELF(elfMachine(p), false), mode); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, Binary{Platform: p, Path: path})
	}
	return bins
}

func elfMachine(p v1.Platform) uint16 { return uint16(elfMachines[p.Architecture]) }

func build(t *testing.T, meta Meta, bins []Binary) v1.ImageIndex {
	t.Helper()
	idx, err := Build(meta, bins)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestBuildMakesTheActionImage(t *testing.T) {
	bins := writeBinaries(t, t.TempDir(), 0o700)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, build(t, testMeta, bins), testMeta.Version); err != nil {
		t.Fatal(err)
	}
	idx, err := ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(idx, &testMeta)
	if err != nil {
		t.Fatalf("check of a fresh build: %v", err)
	}
	if rep.Meta != testMeta {
		t.Errorf("meta read back %+v, want %+v", rep.Meta, testMeta)
	}
	if len(rep.Platforms) != 2 || rep.Platforms[0].Platform.Architecture != "amd64" || rep.Platforms[1].Platform.Architecture != "arm64" {
		t.Fatalf("platforms %+v, want amd64 then arm64", rep.Platforms)
	}

	// What the check relies on, read straight from the images.
	im, _ := idx.IndexManifest()
	for i, d := range im.Manifests {
		img, _ := idx.Image(d.Digest)
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/skulk-weights action" {
			t.Errorf("%s: entrypoint %q", d.Platform, got)
		}
		if cfg.Config.User != "" {
			t.Errorf("%s: user %q, want none", d.Platform, cfg.Config.User)
		}
		for k, want := range map[string]string{
			"org.opencontainers.image.source":   "https://github.com/Foxlight-Foundation/skulk-weights",
			"org.opencontainers.image.version":  "v1.2.3",
			"org.opencontainers.image.revision": testMeta.Revision,
			"org.opencontainers.image.licenses": "NOASSERTION",
		} {
			if cfg.Config.Labels[k] != want {
				t.Errorf("%s: label %s = %q, want %q", d.Platform, k, cfg.Config.Labels[k], want)
			}
		}
		out := filepath.Join(t.TempDir(), "bin")
		if err := Extract(idx, *d.Platform, out); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(out)
		want, _ := os.ReadFile(bins[i].Path)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: extracted binary differs from the one built in", d.Platform)
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o755 {
			t.Errorf("%s: extracted mode %v", d.Platform, st.Mode())
		}
	}
}

// The same inputs build the same digest, whatever the binaries' paths,
// modes and modification times and wherever the layout is written; the
// layouts are identical file for file.
func TestBuildIsReproducible(t *testing.T) {
	a := writeBinaries(t, t.TempDir(), 0o755)
	b := writeBinaries(t, t.TempDir(), 0o700)
	for _, bin := range b {
		old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := os.Chtimes(bin.Path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	meta := testMeta
	meta.Created = testMeta.Created.Add(900 * time.Millisecond) // whole seconds are kept
	ia, ib := build(t, testMeta, a), build(t, meta, b)
	da, _ := ia.Digest()
	db, _ := ib.Digest()
	if da != db {
		t.Fatalf("same binaries built %s and %s", da, db)
	}
	la, lb := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := WriteLayout(la, ia, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(lb, ib, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	if fa, fb := readTree(t, la), readTree(t, lb); !equalTrees(fa, fb) {
		t.Errorf("layouts differ:\n%v\n%v", keys(fa), keys(fb))
	}

	// And a different commit time is a different image.
	later := testMeta
	later.Created = testMeta.Created.Add(time.Second)
	if dc, _ := build(t, later, a).Digest(); dc == da {
		t.Errorf("a later creation time built the same digest %s", dc)
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestBuildRefuses(t *testing.T) {
	bins := writeBinaries(t, t.TempDir(), 0o755)
	noRev := testMeta
	noRev.Revision = ""
	for _, tt := range []struct {
		name string
		meta Meta
		bins []Binary
		want string
	}{
		{"missing platform", testMeta, bins[:1], "no binary for linux/arm64"},
		{"extra platform", testMeta, append(bins, Binary{Platform: v1.Platform{OS: "linux", Architecture: "riscv64"}, Path: bins[0].Path}), "riscv64"},
		{"duplicate platform", testMeta, append(bins, bins[0]), "two binaries for linux/amd64"},
		{"no revision", noRev, bins, "revision is empty"},
		{"not a file", testMeta, []Binary{{Platforms[0], t.TempDir()}, bins[1]}, "not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.meta, tt.bins)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// The check fails on each thing the action's image must not be.
func TestCheckFindsWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	good := writeBinaries(t, dir, 0o755)
	dynamic := filepath.Join(dir, "dynamic")
	os.WriteFile(dynamic, tinyELF(62, true), 0o755)
	swapped := []Binary{{Platforms[0], good[1].Path}, {Platforms[1], good[0].Path}}

	withConfig := func(edit func(*v1.ConfigFile)) v1.ImageIndex {
		idx := build(t, testMeta, good)
		im, _ := idx.IndexManifest()
		img, _ := idx.Image(im.Manifests[0].Digest)
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		edit(cfg)
		img, err := mutate.ConfigFile(img, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := *im.Manifests[0].Platform
		out := mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return true })
		second, _ := idx.Image(im.Manifests[1].Digest)
		p2 := *im.Manifests[1].Platform
		out = mutate.AppendManifests(out,
			mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}},
			mutate.IndexAddendum{Add: second, Descriptor: v1.Descriptor{Platform: &p2}})
		return out
	}
	otherVersion := testMeta
	otherVersion.Version = "v9.9.9"

	for _, tt := range []struct {
		name string
		idx  v1.ImageIndex
		want *Meta
		msg  string
	}{
		{"user set", withConfig(func(c *v1.ConfigFile) { c.Config.User = "nobody" }), &testMeta, `user "nobody"`},
		{"shell-form entrypoint", withConfig(func(c *v1.ConfigFile) { c.Config.Entrypoint = []string{"/bin/sh", "-c", "/skulk-weights action"} }), &testMeta, "entrypoint"},
		{"label dropped", withConfig(func(c *v1.ConfigFile) { delete(c.Config.Labels, LabelLicenses) }), &testMeta, "labels"},
		{"wall-clock time", withConfig(func(c *v1.ConfigFile) { c.Created = v1.Time{Time: time.Now()} }), &testMeta, "created"},
		{"dynamically linked", build(t, testMeta, []Binary{{Platforms[0], dynamic}, good[1]}), &testMeta, "dynamically linked"},
		{"binaries swapped", build(t, testMeta, swapped), &testMeta, "built for EM_AARCH64, want amd64"},
		{"another version", build(t, testMeta, good), &otherVersion, "index annotations"},
		{"one platform", mutate.RemoveManifests(build(t, testMeta, good), func(d v1.Descriptor) bool {
			return d.Platform.Architecture == "arm64"
		}), &testMeta, "holds 1 manifests, want 2"},
		{"docker media types", mutate.IndexMediaType(build(t, testMeta, good), "application/vnd.docker.distribution.manifest.list.v2+json"), &testMeta, "want an OCI image index"},
		{"another source", mutate.Annotations(build(t, testMeta, good), map[string]string{LabelSource: "https://github.com/someone/fork"}).(v1.ImageIndex), nil, "org.opencontainers.image.source"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			if err := WriteLayout(dir, tt.idx, "test"); err != nil {
				t.Fatal(err)
			}
			idx, err := ReadLayout(dir)
			if err == nil {
				_, err = Check(idx, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Check: %v\nwant an error saying %q", err, tt.msg)
			}
		})
	}
}

// A layout is pushed to a registry by digest with Push, the code the
// release runs, and pulled back by that digest: the same index, images and
// blobs, and the same check passes. The tag points at the same digest.
func TestPushAndPullBackByDigest(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, build(t, testMeta, writeBinaries(t, t.TempDir(), 0o755)), testMeta.Version); err != nil {
		t.Fatal(err)
	}
	idx, err := ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/foxlight-foundation/skulk-weights")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Push(t.Context(), idx, repo, []string{"v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if ref.DigestStr() != want.String() {
		t.Fatalf("pushed as %s, the layout's index is %s", ref, want)
	}

	pulled, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := pulled.Digest(); got != want {
		t.Fatalf("pulled %s, want %s", got, want)
	}
	if _, err := Check(pulled, &testMeta); err != nil {
		t.Errorf("check of the pulled index: %v", err)
	}
	lm, _ := idx.IndexManifest()
	for _, d := range lm.Manifests {
		local, _ := idx.Image(d.Digest)
		remoteImg, err := pulled.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			what string
			get  func(v1.Image) ([]byte, error)
		}{
			{"manifest", v1.Image.RawManifest},
			{"config", v1.Image.RawConfigFile},
			{"layer", func(img v1.Image) ([]byte, error) {
				ls, err := img.Layers()
				if err != nil {
					return nil, err
				}
				rc, err := ls[0].Compressed()
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				return io.ReadAll(rc)
			}},
		} {
			a, err := part.get(local)
			if err != nil {
				t.Fatal(err)
			}
			b, err := part.get(remoteImg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s: pulled %s differs from the layout's", d.Platform, part.what)
			}
		}
	}

	tagged, err := remote.Index(repo.Tag("v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tagged.Digest(); got != want {
		t.Errorf("tag v1.2.3 points at %s, want %s", got, want)
	}
}

func TestWriteLayoutRefusesANonEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.json"), []byte("{}"), 0o644)
	err := WriteLayout(dir, build(t, testMeta, writeBinaries(t, t.TempDir(), 0o755)), "v1.2.3")
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("WriteLayout into a used directory: %v", err)
	}
}
