package actionimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// maxBinary bounds the binary read back from a layer; skulk-weights is
// tens of MB, and a check must not balloon on a hostile layout.
const maxBinary = 512 << 20

// PlatformReport describes one platform's image of a checked index.
type PlatformReport struct {
	Platform v1.Platform
	Digest   v1.Hash
	// Compressed is what a registry stores and a runner pulls for this
	// platform: manifest, config and layer, the layer gzip-compressed.
	Compressed int64
	Binary     int64 // the binary's size once extracted
}

// Report describes a checked image index.
type Report struct {
	Digest    v1.Hash
	Meta      Meta
	Platforms []PlatformReport
}

// Check verifies everything the action's image promises: an OCI image index
// holding exactly one image per platform of Platforms, every blob matching
// its digest and size, each image a single layer holding only a static
// binary for its platform at BinaryPath (root-owned, BinaryMode, timestamped
// at the creation time), the exec-form Entrypoint, no USER, and the OCI
// labels (also on the index) equal to want's when want is not nil. It
// reports every problem it finds, not only the first.
func Check(idx v1.ImageIndex, want *Meta) (Report, error) {
	var rep Report
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := validate.Index(idx); err != nil {
		return rep, fmt.Errorf("image index does not match its digests and sizes: %w", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return rep, err
	}
	rep.Digest = digest
	im, err := idx.IndexManifest()
	if err != nil {
		return rep, err
	}
	if im.MediaType != types.OCIImageIndex {
		bad("index media type %q, want %q", im.MediaType, types.OCIImageIndex)
	}
	meta, err := metaFrom(im.Annotations)
	if err != nil {
		bad("index annotations: %v", err)
	}
	rep.Meta = meta
	if want != nil {
		if got, w := meta.annotations(), want.annotations(); !maps.Equal(got, w) {
			bad("index annotations %v, want %v", im.Annotations, w)
		}
	}
	if len(im.Manifests) != len(Platforms) {
		bad("index holds %d manifests, want %d (%v)", len(im.Manifests), len(Platforms), Platforms)
	}
	seen := map[string]bool{}
	for i, d := range im.Manifests {
		if d.Platform == nil {
			bad("manifest %d (%s) names no platform", i, d.Digest)
			continue
		}
		p := *d.Platform
		if seen[p.String()] {
			bad("two manifests for %s", p)
		}
		seen[p.String()] = true
		if i < len(Platforms) && !p.Equals(Platforms[i]) {
			bad("manifest %d is for %s, want %s", i, p, Platforms[i])
		}
		if d.MediaType != types.OCIManifestSchema1 {
			bad("%s: manifest media type %q, want %q", p, d.MediaType, types.OCIManifestSchema1)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			bad("%s: %v", p, err)
			continue
		}
		pr, perrs := checkImage(img, p, meta)
		pr.Digest = d.Digest
		pr.Compressed += d.Size
		rep.Platforms = append(rep.Platforms, pr)
		errs = append(errs, perrs...)
	}
	return rep, errors.Join(errs...)
}

// metaFrom reads a Meta back from an index's annotations.
func metaFrom(a map[string]string) (Meta, error) {
	m := Meta{Version: a[LabelVersion], Revision: a[LabelRevision], Licenses: a[LabelLicenses]}
	if a[LabelSource] != Source {
		return m, fmt.Errorf("%s is %q, want %q", LabelSource, a[LabelSource], Source)
	}
	created, err := time.Parse(time.RFC3339, a[LabelCreated])
	if err != nil {
		return m, fmt.Errorf("%s: %w", LabelCreated, err)
	}
	m.Created = created
	return m, m.validate()
}

// checkImage checks one platform's image against meta, the index's own.
func checkImage(img v1.Image, p v1.Platform, meta Meta) (PlatformReport, []error) {
	rep := PlatformReport{Platform: p}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{p}, args...)...))
	}
	m, err := img.Manifest()
	if err != nil {
		return rep, append(errs, fmt.Errorf("%s: %w", p, err))
	}
	rep.Compressed += m.Config.Size
	if m.Config.MediaType != types.OCIConfigJSON {
		bad("config media type %q, want %q", m.Config.MediaType, types.OCIConfigJSON)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return rep, append(errs, fmt.Errorf("%s: %w", p, err))
	}
	if cfg.OS != p.OS || cfg.Architecture != p.Architecture || cfg.Variant != p.Variant {
		bad("config is for %s/%s%s, the index says %s", cfg.OS, cfg.Architecture, cfg.Variant, p)
	}
	if !slices.Equal(cfg.Config.Entrypoint, Entrypoint) {
		bad("entrypoint %q, want exec form %q", cfg.Config.Entrypoint, Entrypoint)
	}
	if len(cfg.Config.Cmd) > 0 {
		bad("cmd %q, want none (the action's args follow the entrypoint)", cfg.Config.Cmd)
	}
	if cfg.Config.User != "" {
		bad("user %q, want none: the runner's files are root's", cfg.Config.User)
	}
	if !maps.Equal(cfg.Config.Labels, meta.Labels()) {
		bad("labels %v, want the index's %v", cfg.Config.Labels, meta.Labels())
	}
	created := meta.Created.UTC()
	if !cfg.Created.Time.Equal(created) {
		bad("created %s, want %s", cfg.Created.Time.UTC().Format(time.RFC3339), created.Format(time.RFC3339))
	}
	for _, h := range cfg.History {
		if !h.Created.Time.Equal(created) {
			bad("history entry created %s, want %s", h.Created.Time.UTC().Format(time.RFC3339), created.Format(time.RFC3339))
		}
	}
	if len(m.Layers) != 1 {
		bad("%d layers, want 1", len(m.Layers))
		return rep, errs
	}
	rep.Compressed += m.Layers[0].Size
	if m.Layers[0].MediaType != types.OCILayer {
		bad("layer media type %q, want %q", m.Layers[0].MediaType, types.OCILayer)
	}
	layers, err := img.Layers()
	if err != nil {
		return rep, append(errs, fmt.Errorf("%s: %w", p, err))
	}
	bin, err := readBinary(layers[0], created)
	if err != nil {
		bad("layer: %v", err)
		return rep, errs
	}
	rep.Binary = int64(len(bin))
	if err := checkELF(bin, p); err != nil {
		bad("%s: %v", BinaryPath, err)
	}
	return rep, errs
}

// readBinary returns the binary a layer holds, checking that it holds that
// file alone with the header Build writes.
func readBinary(layer v1.Layer, created time.Time) ([]byte, error) {
	rc, err := layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var bin []byte
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, fmt.Errorf("holds %q besides the binary, want the binary alone", h.Name)
		}
		var problems []string
		if h.Name != BinaryPath[1:] {
			problems = append(problems, fmt.Sprintf("name %q, want %q", h.Name, BinaryPath[1:]))
		}
		if h.Typeflag != tar.TypeReg {
			problems = append(problems, fmt.Sprintf("type %q, want a regular file", h.Typeflag))
		}
		if h.Mode != BinaryMode {
			problems = append(problems, fmt.Sprintf("mode %#o, want %#o", h.Mode, BinaryMode))
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			problems = append(problems, fmt.Sprintf("owner %d:%d (%q:%q), want 0:0 unnamed", h.Uid, h.Gid, h.Uname, h.Gname))
		}
		if !h.ModTime.Equal(created) {
			problems = append(problems, fmt.Sprintf("modified %s, want the creation time %s", h.ModTime.UTC().Format(time.RFC3339), created.Format(time.RFC3339)))
		}
		if len(h.PAXRecords) > 0 || len(h.Xattrs) > 0 { //nolint:staticcheck // Xattrs is what older writers set
			problems = append(problems, "extended attributes, want none")
		}
		if h.Size > maxBinary {
			return nil, fmt.Errorf("binary of %d bytes, over the %d bytes a check reads", h.Size, maxBinary)
		}
		if len(problems) > 0 {
			return nil, fmt.Errorf("entry %q: %v", h.Name, problems)
		}
		if bin, err = io.ReadAll(tr); err != nil {
			return nil, err
		}
	}
	if bin == nil {
		return nil, fmt.Errorf("holds no %s", BinaryPath)
	}
	return bin, nil
}

// elfMachines maps the image's architectures to their ELF machine.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkELF checks that bin is a static Linux executable for p: no program
// interpreter and no shared libraries, so it runs in an image that holds
// nothing else.
func checkELF(bin []byte, p v1.Platform) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if want, ok := elfMachines[p.Architecture]; !ok || f.Machine != want {
		return fmt.Errorf("built for %s, want %s", f.Machine, p.Architecture)
	}
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("ELF type %s, want a static executable (%s)", f.Type, elf.ET_EXEC)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return errors.New("dynamically linked: it names a program interpreter")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v", libs)
	}
	return nil
}

// Extract writes the binary of platform p's image in idx to path, mode
// BinaryMode.
func Extract(idx v1.ImageIndex, p v1.Platform, path string) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.Platform.Equals(p) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		if len(layers) != 1 {
			return fmt.Errorf("%s: %d layers, want 1", p, len(layers))
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return err
		}
		bin, err := readBinary(layers[0], cfg.Created.Time.UTC())
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return os.WriteFile(path, bin, BinaryMode)
	}
	return fmt.Errorf("the index holds no image for %s", p)
}
