package cli

import (
	"context"
	"fmt"
)

func runDemo(_ context.Context, _ []string, env Env) int {
	fmt.Fprintln(env.Stderr, "skulk-weights demo: not built yet")
	return ExitFailure
}
