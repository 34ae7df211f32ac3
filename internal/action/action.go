// Package action runs skulk-weights as a GitHub Action: it reads the
// runner's environment and event payload, plans catalog changes on pull
// requests (one sticky comment, the step summary, annotations), and
// reconciles vision sidecars on the Hub on push, workflow_dispatch and
// schedule. It talks to GitHub through the GitHub interface and to the Hub
// through the Mirror interface, so tests run it against httptest servers.
package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// Config is everything a run takes from its process and its collaborators.
type Config struct {
	Getenv func(string) string
	// Stdout receives the log and workflow commands (annotations, masks).
	Stdout io.Writer
	// Dir is used when GITHUB_WORKSPACE is unset.
	Dir     string
	Version string
	// HTTPClient is used for the GitHub API; nil means a default client.
	HTTPClient *http.Client
	// NewMirror builds the mirror engine for a run.
	NewMirror func(MirrorConfig) Mirror
	// NewExtractor builds the extract engine for a run (MTP sidecars and
	// vision sidecars with vision_source_tensors).
	NewExtractor func(MirrorConfig) Extractor
	// HubOptions are passed to every Hub client the run makes.
	HubOptions []hub.Option
	// NewGitHub builds the GitHub client; nil means NewGitHubWith and
	// GitHubRetry, with retries logged.
	NewGitHub func(apiURL, token string, hc *http.Client) (GitHub, error)
	// GitHubRetry is the retry policy of the default GitHub client.
	GitHubRetry GitHubRetry
}

// ErrFailed is returned when the run failed; the reasons were already
// reported as error annotations.
var ErrFailed = errors.New("the action failed")

// Run executes one action run. It returns nil on success and an error
// wrapping ErrFailed when the check should fail.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.NewExtractor == nil {
		cfg.NewExtractor = defaultExtractor
	}
	if cfg.NewMirror == nil {
		cfg.NewMirror = defaultMirror
	}
	gha := githubactions.New(githubactions.WithGetenv(cfg.Getenv), githubactions.WithWriter(cfg.Stdout))
	in, inErr := readInputs(gha)
	// Masks go out before anything else is printed, so even an early
	// failure cannot echo a token.
	for _, secret := range []string{in.HFToken, in.GitHubToken} {
		if secret != "" {
			gha.AddMask(secret)
		}
	}
	secrets := append([]string{in.HFToken, in.GitHubToken}, endpointSecrets(gha.GetInput("hf-endpoint"))...)
	r := &runner{cfg: cfg, gha: gha, in: in, secrets: secrets}
	defer func() {
		// The file commands of go-githubactions panic when their file is
		// missing or unwritable; report that as a failure, not a crash.
		if p := recover(); p != nil {
			r.errorf("%v", p)
			err = fmt.Errorf("%w: %v", ErrFailed, r.scrub(fmt.Sprint(p)))
		}
	}()
	if inErr != nil {
		r.errorf("%v", inErr)
		return fmt.Errorf("%w: %v", ErrFailed, r.scrub(inErr.Error()))
	}
	if err := r.run(ctx); err != nil {
		r.errorf("%v", err)
		return fmt.Errorf("%w: %v", ErrFailed, r.scrub(err.Error()))
	}
	if r.failed {
		return ErrFailed
	}
	return nil
}

// runner holds one run's state.
type runner struct {
	cfg     Config
	gha     *githubactions.Action
	in      Inputs
	secrets []string

	workspace string
	eventName string
	event     *Event
	owner     string
	repo      string
	gh        GitHub

	failed bool // something was reported as an error; the run fails at the end
	// summaryCut and summaryMissing say the step summary does not hold
	// everything: it was cut to GitHub's limit, or there is no summary file.
	summaryCut, summaryMissing bool
}

func (r *runner) run(ctx context.Context) error {
	r.eventName = r.cfg.Getenv("GITHUB_EVENT_NAME")
	if r.eventName == "" {
		return errors.New("GITHUB_EVENT_NAME is not set: run this command as a GitHub Action step (uses: Foxlight-Foundation/skulk-weights), not by hand")
	}
	r.workspace = r.cfg.Getenv("GITHUB_WORKSPACE")
	if r.workspace == "" {
		r.workspace = r.cfg.Dir
	}
	repository := r.cfg.Getenv("GITHUB_REPOSITORY")
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" {
		return fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", repository)
	}
	r.owner, r.repo = owner, repo

	switch r.eventName {
	case "pull_request", "push", "workflow_dispatch", "schedule":
	default:
		return fmt.Errorf("event %q is not handled: use the action on pull_request, push, workflow_dispatch or schedule", r.eventName)
	}
	ev, err := readEvent(r.cfg.Getenv("GITHUB_EVENT_PATH"), r.eventName)
	if err != nil {
		return err
	}
	r.event = ev

	newGitHub := r.cfg.NewGitHub
	if newGitHub == nil {
		newGitHub = func(apiURL, token string, hc *http.Client) (GitHub, error) {
			p := r.cfg.GitHubRetry
			if p.OnRetry == nil {
				p.OnRetry = func(method, path, reason string, wait time.Duration, retry int) {
					r.infof("GitHub: %s %s: %s; retry %d in %s", method, path, reason, retry, wait)
				}
			}
			return NewGitHubWith(apiURL, token, hc, p)
		}
	}
	gh, err := newGitHub(r.cfg.Getenv("GITHUB_API_URL"), r.in.GitHubToken, r.cfg.HTTPClient)
	if err != nil {
		return err
	}
	r.gh = gh

	r.infof("skulk-weights %s: %s event on %s", r.cfg.Version, r.eventName, repository)
	switch r.eventName {
	case "pull_request":
		return r.pullRequest(ctx)
	case "push":
		return r.push(ctx)
	default: // workflow_dispatch, schedule
		return r.reconcile(ctx)
	}
}

// infof logs one line built from text that may come from outside; it can
// never turn into a workflow command.
func (r *runner) infof(format string, args ...any) {
	fmt.Fprintln(r.cfg.Stdout, logSafe(r.scrub(fmt.Sprintf(format, args...))))
}

// log returns a writer for multi-line progress from the engine.
func (r *runner) log() io.Writer {
	return &safeLines{w: r.cfg.Stdout, scrub: r.scrub}
}

// errorf reports an error annotation and marks the run failed.
func (r *runner) errorf(format string, args ...any) {
	r.failed = true
	r.gha.Errorf("%s", r.scrub(fmt.Sprintf(format, args...)))
}

func (r *runner) warningf(format string, args ...any) {
	r.gha.Warningf("%s", r.scrub(fmt.Sprintf(format, args...)))
}

func (r *runner) noticef(format string, args ...any) {
	r.gha.Noticef("%s", r.scrub(fmt.Sprintf(format, args...)))
}

// scrub removes the run's secrets from text that is about to leave the
// process. Nothing should carry them in the first place; this is the last
// line of defence for the comment, the summary and the outputs, which the
// runner's log masking does not cover.
func (r *runner) scrub(s string) string {
	for _, secret := range r.secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}

// path resolves a workspace-relative path.
func (r *runner) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.workspace, p)
}

// repoPath turns a local file path into the path GitHub knows it by
// (slash-separated, relative to the repository root), or "" when the file
// is not inside the workspace.
func (r *runner) repoPath(p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		return filepath.ToSlash(filepath.Clean(p))
	}
	rel, err := filepath.Rel(r.workspace, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
