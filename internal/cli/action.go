package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/action"
)

const actionUsage = `usage: skulk-weights action

Run as the GitHub Action. Everything comes from the runner's environment:
the inputs (INPUT_*), the event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH), the
repository (GITHUB_REPOSITORY, GITHUB_WORKSPACE, GITHUB_API_URL) and the
files for outputs and the step summary (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
See action.yml for the inputs and outputs.
`

func runAction(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("action", actionUsage)
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights action: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
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
