package actionimage

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads idx, every image and blob it holds, to repo by digest and
// returns the reference it can be pulled by, which is what action.yml
// pins. Each of tags is then pointed at the same digest, for people who
// browse the registry; nothing reads them back. opts carry the
// registry's credentials (remote.WithAuthFromKeychain) and transport.
func Push(ctx context.Context, idx v1.ImageIndex, repo name.Repository, tags []string, opts ...remote.Option) (name.Digest, error) {
	digest, err := idx.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	ref := repo.Digest(digest.String())
	opts = append(opts, remote.WithContext(ctx))
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	for _, t := range tags {
		tag, err := name.NewTag(repo.Name()+":"+t, name.StrictValidation)
		if err != nil {
			return ref, fmt.Errorf("tag %q: %w", t, err)
		}
		if err := remote.Tag(tag, idx, opts...); err != nil {
			return ref, fmt.Errorf("tagging %s: %w", tag, err)
		}
	}
	return ref, nil
}
