package cli

import (
	"context"
	"fmt"
)

func runAction(_ context.Context, _ []string, env Env) int {
	fmt.Fprintln(env.Stderr, "skulk-weights action: not built yet")
	return ExitFailure
}
