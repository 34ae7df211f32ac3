package cli

import (
	"context"
	"fmt"
)

func runDevhub(_ context.Context, _ []string, env Env) int {
	fmt.Fprintln(env.Stderr, "skulk-weights devhub: not built yet")
	return ExitFailure
}
