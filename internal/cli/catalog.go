package cli

import (
	"context"
	"fmt"
)

func runCatalog(_ context.Context, _ []string, env Env) int {
	fmt.Fprintln(env.Stderr, "skulk-weights catalog: not built yet")
	return ExitFailure
}
