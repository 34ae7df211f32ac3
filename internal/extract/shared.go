package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// The steps shared with internal/mirror live in internal/sidecar; these
// adapt them to a run.

func findLicense(ctx context.Context, o *Options, r *run) (card.License, bool) {
	return sidecar.FindLicense(ctx, o.Source, o.SourceRepo, r.src.SHA, r.info.CardData, o.TargetModel, r.prog.Logf)
}

// checkAccess refuses an existing sidecar that holds files and is less
// restricted than its source. Nothing is written before it runs.
func checkAccess(o *Options, r *run, st *sidecarState) error {
	src := hub.AccessOf(r.info)
	if st.head == "" || st.access.Covers(src) || st.empty() {
		return nil
	}
	field := "vision_sidecar_repo"
	if o.Selection.Kind == KindMTP {
		field = "mtp_sidecar_repo"
	}
	return fmt.Errorf("%s", sidecar.AccessRefusal(o.SidecarRepo, st.access, o.SourceRepo, src, field))
}

func ensureRepo(ctx context.Context, o *Options, r *run) error {
	return sidecar.EnsureRepo(ctx, o.Dest, o.SidecarRepo, hub.AccessOf(r.info).Private, r.prog.Logf)
}

// raiseAccess gives an empty sidecar its source's access before any weight
// is written, and reports whether it changed anything.
func raiseAccess(ctx context.Context, o *Options, r *run, st *sidecarState) (bool, error) {
	src := hub.AccessOf(r.info)
	if st.access.Covers(src) || !st.empty() {
		return false, nil
	}
	return true, sidecar.RaiseAccess(ctx, o.Dest, o.SidecarRepo, st.access, o.SourceRepo, src, r.prog.Logf)
}

func describeWrite(err error, repo string) error { return sidecar.DescribeWrite(err, repo) }

func fileCollection(ctx context.Context, o *Options) (string, error) {
	return sidecar.FileCollection(ctx, o.Dest, o.SidecarRepo, o.CollectionSlug, o.collectionTitle())
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
