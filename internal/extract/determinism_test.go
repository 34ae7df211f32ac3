package extract_test

import (
	"bytes"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
)

// TestOutputIsDeterministic: the same source commit and selection give the
// same bytes whichever way the run produces them (two passes with nothing
// on disk, or one pass through a scratch directory) and whichever sidecar
// they go to, so a sidecar's sha256 is a function of its inputs alone and
// anyone can cut it again and compare.
func TestOutputIsDeterministic(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	first := e.publish(e.visionOpts())

	o := e.visionOpts()
	o.SidecarRepo = "FoxlightAI/kimi-k2-5-vision-again"
	o.Scratch = t.TempDir()
	second := e.publish(o)

	if len(first.Plan.Files) == 0 || len(first.Plan.Files) != len(second.Plan.Files) {
		t.Fatalf("files: %v and %v", first.Plan.Files, second.Plan.Files)
	}
	for i, f := range first.Plan.Files {
		g := second.Plan.Files[i]
		if f.Path != g.Path || f.Size != g.Size || f.SHA256 == "" || f.SHA256 != g.SHA256 {
			t.Errorf("%s: %d bytes sha256 %s, then %s: %d bytes sha256 %s", f.Path, f.Size, f.SHA256, g.Path, g.Size, g.SHA256)
		}
		if !bytes.Equal(e.download(dstRepo, f.Path), e.download(o.SidecarRepo, g.Path)) {
			t.Errorf("%s: the two sidecars hold different bytes", f.Path)
		}
	}
	if !bytes.Equal(e.download(dstRepo, extract.VisionFile), e.download(o.SidecarRepo, extract.VisionFile)) {
		t.Errorf("%s differs between the two sidecars", extract.VisionFile)
	}
}
