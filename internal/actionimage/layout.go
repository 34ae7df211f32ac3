package actionimage

import (
	"errors"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refNameAnnotation names the index in the layout, as `crane push`,
// skopeo and oras read a layout's entries.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout writes idx as an OCI image layout at dir, which must not exist
// or be empty: the layout's index.json lists idx alone, named version.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty; an OCI layout is written to a new directory", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: version})); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return nil
}

// ReadLayout returns the image index the OCI layout at dir holds: the one
// entry of its index.json, which must be an image index.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("OCI layout %s lists %d entries in index.json, want the one image index", dir, len(m.Manifests))
	}
	d := m.Manifests[0]
	if d.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("OCI layout %s: index.json lists a %s, want an OCI image index (%s)", dir, d.MediaType, types.OCIImageIndex)
	}
	idx, err := top.ImageIndex(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	return idx, nil
}
