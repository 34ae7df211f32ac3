package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// publishVision mirrors the entry's vision_source_repo into its
// vision_sidecar_repo through HF_ENDPOINT with the token the environment
// gives: progress on stderr, the summary (or the --json document) on stdout.
func publishVision(ctx context.Context, cat *catalog.Catalog, e *catalog.Entry, opts *publishOptions, out *publishOutput, env Env) int {
	art := out.artifact("vision")
	client, stderr, err := publishClient(opts, env, mirror.ErrNoToken)
	if err != nil {
		return out.failArtifact("vision", "no_token", err.Error())
	}
	res, err := mirror.Publish(ctx, mirror.Options{
		Entry: e, Source: client, Dest: client,
		Jobs: opts.Jobs, MaxBytes: int64(opts.MaxBytes), MaxRegularBytes: int64(opts.MaxRegularBytes), MaxFiles: opts.MaxFiles,
		Collection:  env.Getenv("SKULK_WEIGHTS_COLLECTION"),
		Progress:    stderr,
		Terminal:    isTerminal(env.Stderr),
		ToolVersion: version,
		// Every source's repo ids, so no sidecar is written that another
		// entry also names, even if validation missed it.
		Claims: cat.Claims(),
	})
	if res != nil {
		art.Result = res
		art.published(res.UpToDate)
		printResult(out.text, res)
	}
	if err != nil {
		return out.failPublish(ctx, art, client, "vision", e.ID(), err)
	}
	return out.finish("ok", ExitOK)
}

// publishClient is the Hub client a publish writes with, its stall timeout
// from the options, and the stderr its progress goes to; noToken is the
// error when the environment has no token.
func publishClient(opts *publishOptions, env Env, noToken error) (*hub.Client, *lockedWriter, error) {
	timeouts := hub.DefaultTimeouts
	timeouts.Stall = time.Duration(opts.StallTimeout)
	stderr := &lockedWriter{w: env.Stderr}
	client, err := clientFromEnv(env, stderr, noToken, hub.WithTimeouts(timeouts))
	return client, stderr, err
}

// printResult writes the human summary of a publish.
func printResult(w io.Writer, r *mirror.Result) {
	p := r.Plan
	if r.UpToDate {
		fmt.Fprintf(w, "%s is already up to date at %s\n", p.SidecarRepo, p.SourceSHA)
	}
	fmt.Fprintf(w, "source:       %s@%s (%s)\n", p.SourceRepo, p.SourceSHA, p.SourceRevision)
	fmt.Fprintf(w, "sidecar:      %s\n", p.SidecarRepo)
	fmt.Fprintf(w, "access:       source %s; sidecar %s\n", p.SourceAccess, p.SidecarAccess)
	if r.Commit != "" {
		fmt.Fprintf(w, "commit:       %s\n", r.Commit)
	} else {
		fmt.Fprintf(w, "commit:       none (nothing changed)\n")
	}
	methods := map[string]int{}
	for _, a := range p.Copy {
		if a.Method != "" {
			methods[a.Method]++
		}
	}
	var ms []string
	for m, n := range methods {
		ms = append(ms, fmt.Sprintf("%s %d", m, n))
	}
	sort.Strings(ms)
	how := ""
	if len(ms) > 0 && !r.UpToDate {
		how = " (" + strings.Join(ms, ", ") + ")"
	}
	fmt.Fprintf(w, "copied:       %d%s\n", r.Copied, how)
	fmt.Fprintf(w, "skipped:      %d unchanged\n", r.Skipped)
	fmt.Fprintf(w, "pruned:       %d\n", r.Pruned)
	fmt.Fprintf(w, "bytes moved:  %s (%d)\n", mirror.HumanBytes(r.BytesMoved), r.BytesMoved)
	fmt.Fprintf(w, "time:         %s\n", r.Duration.Round(time.Millisecond))
	if r.Collection != "" {
		fmt.Fprintf(w, "collection:   %s\n", r.Collection)
	} else {
		fmt.Fprintf(w, "collection:   disabled\n")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// lockedWriter serialises lines written from concurrent transfers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
