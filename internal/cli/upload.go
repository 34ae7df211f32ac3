package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upload"
)

// uploadSchema is the schema id of upload --json documents.
const uploadSchema = "skulk-weights/upload/v1"

var uploadCmd = &command{
	name:    "upload",
	args:    "REPO DIR",
	summary: "upload a local directory to a Hub repo as one commit (like hf upload)",
	about: `
Upload the files under DIR (or the single file DIR) to the model repo REPO
(owner/name) in one commit, creating the repo if it is missing. The Hub
decides which files go to LFS (large or binary ones); objects the repo
already stores are not sent again. .git/ and .cache/huggingface/ folders are
skipped; a symlink is followed only when it stays inside DIR, and any other
symlink or special file stops the upload before anything is sent.

Works against any Hub: the public one, or 'skulk-weights devhub'.
`,
	env:    hubEnv,
	schema: uploadSchema,
	setup: func(fs *flag.FlagSet) runner {
		message := fs.String("commit-message", "", "the commit's summary `MESSAGE` (default \"Upload folder using skulk-weights\")")
		private := fs.Bool("private", false, "create the repo private when it is missing")
		jobs := fs.Int("jobs", defaultJobs, "files or parts uploaded in parallel")
		asJSON := fs.Bool("json", false, "print the result as one JSON document on stdout")
		return func(ctx context.Context, pos []string, env Env) int {
			schema := ""
			if *asJSON {
				schema = uploadSchema
			}
			if len(pos) != 2 {
				return usageErr(env, "upload", schema, fmt.Sprintf("want REPO and DIR, got %d arguments", len(pos)))
			}
			if *jobs < 1 {
				return usageErr(env, "upload", schema, "--jobs must be at least 1")
			}
			if why := catalog.RepoIDProblem(pos[0]); why != "" {
				return usageErr(env, "upload", schema, fmt.Sprintf("REPO %q is not a Hugging Face repo id: %s", pos[0], why))
			}
			return runUpload(ctx, pos[0], pos[1], *message, *private, *jobs, schema, env)
		}
	},
}

func runUpload(ctx context.Context, repo, dir, message string, private bool, jobs int, schema string, env Env) int {
	fail := func(code string, err error) int {
		exit := ExitFailure
		if ctx.Err() != nil {
			code, exit = "interrupted", ExitInterrupted
		}
		fmt.Fprintf(env.Stderr, "skulk-weights: uploading %s to %s: %v\n", dir, repo, err)
		if schema != "" {
			writeJSONError(env.Stdout, schema, &cliError{Code: code, Message: fmt.Sprintf("uploading %s to %s: %v", dir, repo, err), ExitCode: exit})
		}
		return exit
	}
	if !filepath.IsAbs(dir) && env.Dir != "" {
		dir = filepath.Join(env.Dir, dir)
	}
	stderr := &lockedWriter{w: env.Stderr}
	client, err := clientFromEnv(env, stderr, errors.New("HF_TOKEN is required to upload (or the token file 'hf auth login' writes)"))
	if err != nil {
		return fail("invalid_environment", err)
	}
	res, err := upload.Upload(ctx, upload.Options{
		Client: client, Repo: repo, Dir: dir, Message: message, Private: private, Jobs: jobs,
		Progress: stderr, Terminal: isTerminal(env.Stderr),
	})
	if err != nil {
		code := "upload_failed"
		var refused *upload.RefusedError
		if errors.As(err, &refused) {
			code = "refused"
		}
		return fail(code, errors.New(client.Redact(err.Error())))
	}
	if schema != "" {
		writeJSON(env.Stdout, struct {
			Schema string `json:"schema"`
			Status string `json:"status"`
			*upload.Result
		}{schema, "ok", res})
		return ExitOK
	}
	lfs, sent := 0, 0
	for _, f := range res.Files {
		if f.Mode == "lfs" {
			lfs++
		}
		if f.Sent {
			sent++
		}
	}
	fmt.Fprintf(env.Stdout, "repo:     %s/%s%s\n", client.Endpoint(), res.Repo, map[bool]string{true: " (created)"}[res.Created])
	fmt.Fprintf(env.Stdout, "commit:   %s\n", res.Commit)
	fmt.Fprintf(env.Stdout, "files:    %d (%d in LFS, %d sent)\n", len(res.Files), lfs, sent)
	fmt.Fprintf(env.Stdout, "bytes:    %s, %s sent\n", progress.HumanBytes(res.Bytes), progress.HumanBytes(res.BytesSent))
	fmt.Fprintf(env.Stdout, "time:     %s\n", res.Duration.Round(time.Millisecond))
	return ExitOK
}

// clientFromEnv builds a Hub client from HF_ENDPOINT and the token the
// environment gives, logging its retries to stderr (the writer progress
// shares, so lines never interleave), and says there where the token came
// from (never the token). Without a token it returns noToken.
func clientFromEnv(env Env, stderr *lockedWriter, noToken error, opts ...hub.Option) (*hub.Client, error) {
	opts = append([]hub.Option{hub.WithUserAgent("skulk-weights/" + version),
		hub.WithLogf(func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) })}, opts...)
	client, tok, err := hub.FromEnv(env.Getenv, opts...)
	if err != nil {
		return nil, err
	}
	if tok.Value == "" {
		return nil, noToken
	}
	fmt.Fprintf(stderr, "using the token from %s\n", tok.Source)
	return client, nil
}
