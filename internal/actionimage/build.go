// Package actionimage owns the GitHub Action's container image: built the
// way ko builds one (a single layer holding the static binary on no base
// image), checked, written as an OCI layout directory, pushed by digest and
// pinned in action.yml. The same commit always builds the same bytes, so a
// digest can be rebuilt and compared by anyone.
package actionimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repository is where releases push the image.
const Repository = "ghcr.io/foxlight-foundation/skulk-weights"

// Source is the image's org.opencontainers.image.source: the repository
// its code comes from, which is also how GitHub links the package to it.
const Source = "https://github.com/Foxlight-Foundation/skulk-weights"

// BinaryPath is where the binary sits in the image: at the root, as the
// runner needs an absolute exec-form entrypoint and the workspace is mounted
// over any working directory.
const BinaryPath = "/skulk-weights"

// BinaryMode is the binary's fixed mode in the layer, whatever the builder's
// umask was.
const BinaryMode = 0o755

// Entrypoint is the image's exec-form entrypoint: the runner passes the
// action's args after it and its inputs as INPUT_* variables.
var Entrypoint = []string{BinaryPath, "action"}

// Platforms are the platforms every image index holds, in index order:
// GitHub's Linux runners on x86-64 and on Arm.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// The OCI label (and index annotation) keys the image carries.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelCreated  = "org.opencontainers.image.created"
)

// NoAssertion is the SPDX value for a license nobody has stated; the
// repository holds no license file.
const NoAssertion = "NOASSERTION"

// Meta is what an image says about where it comes from.
type Meta struct {
	Version  string    // the release, e.g. v1.2.3
	Revision string    // the full commit hash
	Licenses string    // an SPDX expression, NoAssertion when none is stated
	Created  time.Time // the commit's time: every timestamp in the image
}

// Labels returns the OCI labels of an image described by m.
func (m Meta) Labels() map[string]string {
	return map[string]string{
		LabelSource:   Source,
		LabelVersion:  m.Version,
		LabelRevision: m.Revision,
		LabelLicenses: m.Licenses,
	}
}

// annotations are the image index's annotations: the labels plus the
// creation time. GitHub's container registry reads a multi-platform image's
// description and source from its index, not from a platform's config.
func (m Meta) annotations() map[string]string {
	a := m.Labels()
	a[LabelCreated] = m.Created.UTC().Format(time.RFC3339)
	return a
}

func (m Meta) validate() error {
	switch {
	case m.Version == "":
		return fmt.Errorf("image version is empty")
	case m.Revision == "":
		return fmt.Errorf("image revision is empty")
	case m.Licenses == "":
		return fmt.Errorf("image licenses is empty (use %s)", NoAssertion)
	case m.Created.IsZero():
		return fmt.Errorf("image creation time is not set")
	}
	return nil
}

// Binary is a static skulk-weights binary built for one platform.
type Binary struct {
	Platform v1.Platform
	Path     string
}

// Build returns the image index for binaries, one image per platform of
// Platforms, each exactly one per platform.
func Build(meta Meta, binaries []Binary) (v1.ImageIndex, error) {
	// Tar headers and RFC 3339 annotations keep whole seconds; so does
	// every timestamp of the image.
	meta.Created = meta.Created.UTC().Truncate(time.Second)
	if err := meta.validate(); err != nil {
		return nil, err
	}
	byPlatform := map[string]string{}
	for _, b := range binaries {
		key := b.Platform.String()
		if _, dup := byPlatform[key]; dup {
			return nil, fmt.Errorf("two binaries for %s", key)
		}
		byPlatform[key] = b.Path
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, p := range Platforms {
		path, ok := byPlatform[p.String()]
		if !ok {
			return nil, fmt.Errorf("no binary for %s", p)
		}
		delete(byPlatform, p.String())
		img, err := buildImage(meta, p, path)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
		p := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if len(byPlatform) > 0 {
		extra := make([]string, 0, len(byPlatform))
		for k := range byPlatform {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("binaries for platforms the image does not hold: %v", extra)
	}
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, meta.annotations()).(v1.ImageIndex), nil
}

// buildImage returns the image of one platform: the binary as its only
// layer, on no base image.
func buildImage(meta Meta, p v1.Platform, binary string) (v1.Image, error) {
	layer, err := binaryLayer(binary, meta.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: meta.Created.UTC()}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "go build -trimpath (internal/buildinfo.GoBuildFlags)",
			Comment:   "static skulk-weights binary, at " + BinaryPath,
		},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS, cfg.Variant = p.Architecture, p.OS, p.Variant
	cfg.Created = created
	cfg.Config.Entrypoint = append([]string(nil), Entrypoint...)
	cfg.Config.Cmd = nil
	// No User: the runner mounts its workspace and file-command files owned
	// by root, and the action must write them.
	cfg.Config.User = ""
	cfg.Config.Labels = meta.Labels()
	return mutate.ConfigFile(img, cfg)
}

// binaryLayer returns a layer holding the file at path as BinaryPath, with
// every field of its tar header fixed: root-owned, BinaryMode, modified at
// created. The tar is built in memory (the binary is tens of MB) so the
// layer's digests are computed from the same bytes that are written.
func binaryLayer(path string, created time.Time) (v1.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     BinaryPath[1:],
		Size:     st.Size(),
		Mode:     BinaryMode,
		ModTime:  created,
		Format:   tar.FormatUSTAR,
	}); err != nil {
		return nil, err
	}
	if n, err := io.Copy(tw, f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	} else if n != st.Size() {
		return nil, fmt.Errorf("%s changed size while being read", path)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
}
