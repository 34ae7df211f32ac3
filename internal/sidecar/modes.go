package sidecar

import (
	"context"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// A sidecar stores each file the way the Hub asks for it, not the way the
// source happened to store it or the way a publisher would guess: the
// official clients send preupload every file's real size and first 512
// bytes and commit each one as its answer says (huggingface_hub
// _commit_api.py _fetch_upload_modes, @huggingface/hub lib/commit.ts), and
// drop the files it says to ignore. The Hub refuses binary files over 1 MB
// committed as plain git files.

// SampleSize is how much of a file preupload is shown.
const SampleSize = 512

// Upload modes: how preupload asks a file to be stored, and Ignored for a
// file it says the repo ignores (its .gitignore).
const (
	ModeLFS     = "lfs"
	ModeRegular = "regular"
	ModeIgnored = "ignored"
)

// Sample returns preupload's sample of content: its first SampleSize bytes.
func Sample(content []byte) []byte { return content[:min(len(content), SampleSize)] }

// UploadModes asks repo's preupload (branch main) how each file is to be
// stored and returns ModeLFS, ModeRegular or ModeIgnored by path. Preupload
// needs write access, so it is also the permission check before any byte
// moves; a refusal is explained as DescribeWrite does. A path the Hub did
// not answer for is absent; an answer with an unknown mode is an error.
func UploadModes(ctx context.Context, cl *hub.Client, repo string, files []hub.PreuploadFile) (map[string]string, error) {
	res, _, err := cl.Preupload(ctx, repo, "main", files)
	if err != nil {
		return nil, fmt.Errorf("checking write access to %s: %w", repo, DescribeWrite(err, repo))
	}
	asked := make(map[string]bool, len(files))
	for _, f := range files {
		asked[f.Path] = true
	}
	modes := make(map[string]string, len(res))
	for _, r := range res {
		if !asked[r.Path] {
			continue // the Hub speaks of a file it was not asked about
		}
		switch {
		case r.ShouldIgnore:
			modes[r.Path] = ModeIgnored
		case r.UploadMode == ModeLFS || r.UploadMode == ModeRegular:
			modes[r.Path] = r.UploadMode
		default:
			return nil, fmt.Errorf("preupload for %s answered upload mode %q for %s", repo, r.UploadMode, r.Path)
		}
	}
	return modes, nil
}
