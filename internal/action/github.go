package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// GitHub is the narrow slice of the GitHub REST API the action uses. The
// production implementation wraps go-github; tests point it at an httptest
// server.
type GitHub interface {
	// PullRequestFiles lists every file a pull request touches (all pages).
	PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]ChangedFile, error)
	// FileAt returns the contents of path at ref. A missing file is
	// reported as an error matching ErrNotFound.
	FileAt(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	// Comments lists every comment on an issue or pull request (all pages).
	Comments(ctx context.Context, owner, repo string, number int) ([]Comment, error)
	// CreateComment posts a new comment and returns it.
	CreateComment(ctx context.Context, owner, repo string, number int, body string) (Comment, error)
	// EditComment replaces the body of an existing comment.
	EditComment(ctx context.Context, owner, repo string, id int64, body string) error
	// Login reports the login the token acts as. Installation tokens (the
	// default GITHUB_TOKEN) cannot ask, so callers must expect an error.
	Login(ctx context.Context) (string, error)
	// PullRequestsForCommit lists the pull requests that contain sha.
	PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]PullRequest, error)
}

// ChangedFile is one entry of a pull request's file list.
type ChangedFile struct {
	Name     string // path in the head
	Previous string // path in the base, for renames
	Status   string // added, modified, removed, renamed, ...
}

// Comment is an issue comment as far as the sticky comment needs it.
type Comment struct {
	ID     int64
	Body   string
	Author string
	URL    string
}

// PullRequest is a pull request as far as the merge comment needs it.
type PullRequest struct {
	Number         int
	Merged         bool
	MergeCommitSHA string
}

// ErrNotFound reports a 404 from the GitHub API.
var ErrNotFound = errors.New("not found on GitHub")

// ErrForbidden reports a 403 from the GitHub API, e.g. the read-only token
// of a pull request from a fork trying to comment.
var ErrForbidden = errors.New("forbidden by GitHub")

// ErrRateLimited reports a call GitHub refused for a rate limit, primary
// or secondary, after the client waited as long as it may. GitHub did
// nothing with the request.
var ErrRateLimited = errors.New("rate limited by GitHub")

// maxCatalogFile bounds how much of a catalog file the action reads from the
// API; the catalog parser rejects larger files anyway.
const maxCatalogFile = 16 << 20

// NewGitHub returns a GitHub backed by go-github that retries with the
// default GitHubRetry. apiURL is GITHUB_API_URL (empty means
// https://api.github.com/); token may be empty.
func NewGitHub(apiURL, token string, hc *http.Client) (GitHub, error) {
	return NewGitHubWith(apiURL, token, hc, GitHubRetry{})
}

// NewGitHubWith is NewGitHub with a retry policy.
func NewGitHubWith(apiURL, token string, hc *http.Client, retry GitHubRetry) (GitHub, error) {
	var rc http.Client
	if hc != nil {
		rc = *hc
	}
	base := rc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Under go-github's auth transport: a retry resends the request it
	// already authorised, and the token stays out of this layer.
	rc.Transport = &retryTransport{base: base, policy: retry.withDefaults()}
	c := github.NewClient(&rc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if apiURL != "" && strings.TrimSuffix(apiURL, "/") != "https://api.github.com" {
		u, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("GITHUB_API_URL %q is not a URL", apiURL)
		}
		// GITHUB_API_URL already names the API root (…/api/v3 on GHES), so
		// it is used as is rather than through WithEnterpriseURLs, which
		// would append /api/v3/ to hosts that do not start with "api.".
		c.BaseURL = u
		c.UploadURL = u
	}
	return &goGitHub{c: c}, nil
}

type goGitHub struct{ c *github.Client }

func (g *goGitHub) PullRequestFiles(ctx context.Context, owner, repo string, number int) ([]ChangedFile, error) {
	var out []ChangedFile
	opts := &github.ListOptions{PerPage: 100}
	for {
		files, resp, err := g.c.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, apiError("list the pull request's files", err)
		}
		for _, f := range files {
			out = append(out, ChangedFile{Name: f.GetFilename(), Previous: f.GetPreviousFilename(), Status: f.GetStatus()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *goGitHub) FileAt(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	if err := checkRepoPath(path); err != nil {
		return nil, err
	}
	escaped := strings.ReplaceAll(url.PathEscape(strings.TrimPrefix(path, "/")), "%2F", "/")
	u := fmt.Sprintf("repos/%s/%s/contents/%s?ref=%s", url.PathEscape(owner), url.PathEscape(repo), escaped, url.QueryEscape(ref))
	req, err := g.c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// The raw media type returns the bytes themselves, for files up to
	// 100 MB, instead of base64 JSON that stops at 1 MB.
	req.Header.Set("Accept", "application/vnd.github.raw")
	var buf bytes.Buffer
	lw := &limitedWriter{w: &buf, n: maxCatalogFile}
	if _, err := g.c.Do(ctx, req, lw); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("read %s at %s: larger than %d bytes", path, shortSHA(ref), maxCatalogFile)
		}
		return nil, apiError(fmt.Sprintf("read %s at %s", path, shortSHA(ref)), err)
	}
	return buf.Bytes(), nil
}

func (g *goGitHub) Comments(ctx context.Context, owner, repo string, number int) ([]Comment, error) {
	var out []Comment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := g.c.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, apiError("list comments", err)
		}
		for _, c := range cs {
			out = append(out, toComment(c))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *goGitHub) CreateComment(ctx context.Context, owner, repo string, number int, body string) (Comment, error) {
	c, _, err := g.c.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return Comment{}, apiError("create a comment", err)
	}
	return toComment(c), nil
}

func (g *goGitHub) EditComment(ctx context.Context, owner, repo string, id int64, body string) error {
	_, _, err := g.c.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return apiError("edit a comment", err)
	}
	return nil
}

func (g *goGitHub) Login(ctx context.Context) (string, error) {
	u, _, err := g.c.Users.Get(ctx, "")
	if err != nil {
		return "", apiError("ask who the token is", err)
	}
	return u.GetLogin(), nil
}

func (g *goGitHub) PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]PullRequest, error) {
	prs, _, err := g.c.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, apiError("find the pull request of "+shortSHA(sha), err)
	}
	out := make([]PullRequest, 0, len(prs))
	for _, p := range prs {
		out = append(out, PullRequest{Number: p.GetNumber(), Merged: !p.GetMergedAt().IsZero(), MergeCommitSHA: p.GetMergeCommitSHA()})
	}
	return out, nil
}

func toComment(c *github.IssueComment) Comment {
	return Comment{ID: c.GetID(), Body: c.GetBody(), Author: c.GetUser().GetLogin(), URL: c.GetHTMLURL()}
}

// apiError wraps a go-github error once, mapping rate limits, 403 and 404
// onto the sentinels callers branch on. The message GitHub sent is kept;
// the request URL is not repeated, since go-github's own text already
// names it.
func apiError(what string, err error) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rateError(what, rl.Response, rl.Message, primaryLimit)
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) && abuse.Response != nil {
		return rateError(what, abuse.Response, abuse.Message, secondaryLimit)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(er.Response.StatusCode)
		}
		if kind := rateLimitKind(er.Response.StatusCode, er.Response.Header, ghError{Message: er.Message, DocumentationURL: er.DocumentationURL}); kind != "" {
			return rateError(what, er.Response, msg, kind)
		}
		switch er.Response.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w (%s)", what, ErrNotFound, msg)
		case http.StatusForbidden:
			return fmt.Errorf("%s: %w (%s)", what, ErrForbidden, msg)
		}
		return fmt.Errorf("%s: GitHub answered %d%s: %s", what, er.Response.StatusCode, attemptsNote(er.Response), msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// rateError is a rate-limited call's error: the limit, GitHub's message,
// and why the client stopped waiting, so the user knows when a rerun can
// work.
func rateError(what string, resp *http.Response, msg, kind string) error {
	note := resp.Header.Get(rateNoteHeader)
	if note == "" {
		// Never sent: go-github refused it from what an earlier answer
		// said, and msg names the reset.
		return fmt.Errorf("%s: %w (%s rate limit: %s)", what, ErrRateLimited, kind, msg)
	}
	return fmt.Errorf("%s: %w (%s rate limit, answered %d%s: %s; %s)", what, ErrRateLimited, kind, resp.StatusCode, attemptsNote(resp), strings.TrimRight(msg, ". "), note)
}

// attemptsNote says how many requests a failed call sent, when it was
// retried.
func attemptsNote(resp *http.Response) string {
	if n := resp.Header.Get(attemptsHeader); n != "" {
		return " after " + n + " attempts"
	}
	return ""
}

var errTooLarge = errors.New("response too large")

type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// checkRepoPath accepts only a clean, relative, slash-separated path inside
// the repository. The contents API URL is built from it and resolved against
// the API root, so "a/../../../../user" would otherwise leave the contents
// endpoint and reach any API route with the action's token.
func checkRepoPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") {
		return fmt.Errorf("refusing to read %q from GitHub: not a path inside the repository", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("refusing to read %q from GitHub: not a path inside the repository", p)
		}
	}
	return nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
