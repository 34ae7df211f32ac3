package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/action"
)

var actionCmd = &command{
	name:    "action",
	summary: "run as the GitHub Action (reads the runner's environment)",
	about: `
Run as the GitHub Action. Everything comes from the runner's environment:
the inputs (INPUT_*), the event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH), the
repository (GITHUB_REPOSITORY, GITHUB_WORKSPACE, GITHUB_API_URL) and the
files for outputs and the step summary (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
See action.yml for the inputs and outputs.
`,
	env:   []string{"INPUT_*, GITHUB_*"},
	setup: func(*flag.FlagSet) runner { return runAction },
}

func runAction(ctx context.Context, pos []string, env Env) int {
	if len(pos) > 0 {
		return unexpectedArg(env, "action", pos[0])
	}
	err := action.Run(ctx, action.Config{
		Getenv:  env.Getenv,
		Stdout:  env.Stdout,
		Dir:     env.Dir,
		Version: version,
	})
	if errors.Is(err, action.ErrFailed) {
		return ExitFailure
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights action: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
