package cli

import (
	"context"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

// publishVision mirrors the entry's vision_source_repo into its
// vision_sidecar_repo. The mirror engine is not wired in yet, so after the
// token check it reports that and fails.
func publishVision(_ context.Context, _ *catalog.Catalog, e *catalog.Entry, _ publishOptions, env Env) int {
	if env.Getenv("HF_TOKEN") == "" {
		fmt.Fprintln(env.Stderr, "HF_TOKEN is required for non-dry-run publishing")
		return ExitFailure
	}
	fmt.Fprintf(env.Stderr, "skulk-weights: cannot publish the vision sidecar of %s: the mirror is not available in this build yet\n", e.ID())
	return ExitFailure
}
