package cli

import (
	"context"
	"fmt"
)

func runPublish(_ context.Context, _ []string, env Env) int {
	fmt.Fprintln(env.Stderr, "skulk-weights publish: not built yet")
	return ExitFailure
}
