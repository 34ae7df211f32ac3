package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RepoInfo is the part of GET /api/models/{repo}[/revision/{rev}] the
// mirror reads.
type RepoInfo struct {
	ID       string         `json:"id"`
	SHA      string         `json:"sha"`
	Private  bool           `json:"private"`
	Gated    Gate           `json:"gated"`
	CardData map[string]any `json:"cardData"`
	Tags     []string       `json:"tags"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// RepoInfo returns a model repo's info at rev ("" for the default branch).
func (c *Client) RepoInfo(ctx context.Context, repo, rev string) (*RepoInfo, error) {
	u := c.api("/api/models/%s", repoPath(repo))
	if rev != "" {
		u += "/revision/" + escapeRev(rev)
	}
	var info RepoInfo
	if _, err := c.getJSON(ctx, u, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommitSHA reports whether rev is a full 40-hex commit id.
func IsCommitSHA(rev string) bool { return shaRE.MatchString(rev) }

// ResolveRevision pins rev (a branch, tag or sha; "" means main) to the
// commit it points at now.
func (c *Client) ResolveRevision(ctx context.Context, repo, rev string) (string, error) {
	if rev == "" {
		rev = "main"
	}
	info, err := c.RepoInfo(ctx, repo, rev)
	if err != nil {
		return "", err
	}
	if !IsCommitSHA(info.SHA) {
		return "", fmt.Errorf("%s@%s: hub answered no commit sha", repo, rev)
	}
	return info.SHA, nil
}

// LFSInfo describes the LFS object behind a file.
type LFSInfo struct {
	OID         string `json:"oid"` // sha256 hex
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize"`
}

// TreeEntry is a file or directory of a repo tree (tree and paths-info).
type TreeEntry struct {
	Type    string   `json:"type"` // "file" | "directory"
	OID     string   `json:"oid"`  // git blob sha1 (of the pointer for LFS files)
	Size    int64    `json:"size"`
	Path    string   `json:"path"`
	LFS     *LFSInfo `json:"lfs,omitempty"`
	XetHash string   `json:"xetHash,omitempty"`
}

// IsLFS reports whether the entry is stored in LFS.
func (e TreeEntry) IsLFS() bool { return e.LFS != nil }

// ListTree lists every entry under rev recursively, following the Link
// pagination to the end.
func (c *Client) ListTree(ctx context.Context, repo, rev string) ([]TreeEntry, error) {
	u := c.api("/api/models/%s/tree/%s?recursive=true&expand=false", repoPath(repo), escapeRev(rev))
	var all []TreeEntry
	for pages := 0; u != ""; pages++ {
		if pages > 100000 {
			return nil, fmt.Errorf("tree of %s@%s: pagination does not end", repo, rev)
		}
		var page []TreeEntry
		resp, err := c.getJSON(ctx, u, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if u, err = c.nextLink(resp.Header.Get("Link")); err != nil {
			return nil, fmt.Errorf("tree of %s@%s: %w", repo, rev, err)
		}
	}
	return all, nil
}

var linkRE = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextLink returns the rel="next" URL, or "" on the last page. A link to
// another origin is an error: following it would send the token elsewhere,
// and stopping there would pass half a listing off as the whole (a plan
// made from it would prune the rest).
func (c *Client) nextLink(h string) (string, error) {
	m := linkRE.FindStringSubmatch(h)
	if m == nil {
		return "", nil
	}
	u, err := c.origin.Parse(m[1])
	if err != nil {
		return "", fmt.Errorf("the next page's Link %q is not a URL", redactURL(m[1]))
	}
	if u.Scheme != c.origin.Scheme || u.Host != c.origin.Host {
		return "", fmt.Errorf("the next page's Link points to another host (%s://%s, not %s://%s); refusing to follow it with the token or to use a partial listing",
			u.Scheme, u.Host, c.origin.Scheme, c.origin.Host)
	}
	return u.String(), nil
}

// PathsInfo returns the entries for paths that exist at rev (missing paths
// are simply absent), in batches of 500.
func (c *Client) PathsInfo(ctx context.Context, repo, rev string, paths []string) ([]TreeEntry, error) {
	var out []TreeEntry
	for i := 0; i < len(paths); i += 500 {
		batch := paths[i:min(i+500, len(paths))]
		var got []TreeEntry
		u := c.api("/api/models/%s/paths-info/%s", repoPath(repo), escapeRev(rev))
		if _, err := c.postJSON(ctx, u, map[string]any{"paths": batch, "expand": false}, &got, true); err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// conflictingOperation is the text of the Hub's 409 for a create that
// raced another operation on the same name. huggingface_hub's create_repo
// (hf_api.py) retries while a 409 carries it: it says nothing about the
// repo existing.
const conflictingOperation = "another conflicting operation is in progress"

// ErrRepoBusy is returned by CreateRepo when the Hub kept answering that
// another operation on the repo was in progress.
var ErrRepoBusy = errors.New("the Hub is busy with another operation on this repo")

// CreateRepo creates a model repo, private or public. It returns an error
// matching ErrConflict only when the repo already exists. The request
// names the visibility alone, as @huggingface/hub's createRepo does
// (lib/create-repo.ts); a 409 saying another operation is in progress is
// retried with the client's backoff, as huggingface_hub's create_repo
// retries it (hf_api.py), and after the last retry fails with ErrRepoBusy.
func (c *Client) CreateRepo(ctx context.Context, repo string, private bool) error {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return fmt.Errorf("repo %q: want owner/name", repo)
	}
	vis := "public"
	if private {
		vis = "private"
	}
	for attempt := 0; ; attempt++ {
		// Creating is idempotent from the caller's view (409 = exists), so
		// a lost answer can be retried.
		_, err := c.postJSON(ctx, c.api("/api/repos/create"), map[string]any{
			"name": name, "organization": owner, "type": "model", "visibility": vis,
		}, nil, true)
		var he *Error
		if err == nil || !errors.As(err, &he) || he.Status != http.StatusConflict ||
			!strings.Contains(strings.ToLower(he.Message), conflictingOperation) {
			return err
		}
		if attempt >= c.retry.MaxRetries {
			// Not ErrConflict: nothing says the repo exists.
			return fmt.Errorf("creating %s: %w (%d attempts; last answer: %s)", repo, ErrRepoBusy, attempt+1, he.Message)
		}
		wait := c.backoff(attempt)
		c.logf("retrying POST %s in %s: %s", redactURL(c.api("/api/repos/create")), wait.Round(time.Millisecond), c.Redact(he.Error()))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// File is an open download: Size is the whole file's size, Commit the
// X-Repo-Commit the hub answered.
type File struct {
	io.ReadCloser
	Size   int64
	Commit string
}

// Open streams repo@rev:path from offset to its end. See OpenRange.
func (c *Client) Open(ctx context.Context, repo, rev, path string, offset int64) (*File, error) {
	return c.OpenRange(ctx, repo, rev, path, offset, -1)
}

// OpenRange streams length bytes (-1: to the end) of repo@rev:path starting
// at offset, through /resolve/ and its redirect to storage. The token goes
// to the resolve request only. A connection lost mid-body is resumed with
// a Range request from the last byte received, so callers hashing the bytes
// see each byte exactly once; rev should be a commit sha so a resume can
// never mix two versions.
func (c *Client) OpenRange(ctx context.Context, repo, rev, path string, offset, length int64) (*File, error) {
	u := c.endpoint + "/" + repoPath(repo) + "/resolve/" + escapeRev(rev) + "/" + escapePath(path)
	r := &resumeReader{ctx: ctx, c: c, url: u, pos: offset, remaining: length}
	if err := r.open(); err != nil {
		return nil, err
	}
	return &File{ReadCloser: r, Size: r.total, Commit: r.commit}, nil
}

type resumeReader struct {
	ctx       context.Context
	c         *Client
	url       string
	pos       int64 // next byte offset in the file
	remaining int64 // bytes still wanted; -1 = to the end
	total     int64
	commit    string
	body      io.ReadCloser
	resumes   int
	closed    bool
}

func (r *resumeReader) open() error {
	h := http.Header{"Accept-Encoding": {"identity"}}
	if r.pos > 0 || r.remaining >= 0 {
		end := ""
		if r.remaining >= 0 {
			end = strconv.FormatInt(r.pos+r.remaining-1, 10)
		}
		h.Set("Range", fmt.Sprintf("bytes=%d-%s", r.pos, end))
	}
	if r.remaining == 0 {
		r.body = io.NopCloser(strings.NewReader(""))
		return nil
	}
	resp, err := r.c.do(r.ctx, call{method: http.MethodGet, url: r.url, header: h, auth: true, retry: true})
	if err != nil {
		return err
	}
	if c := resp.Header.Get("X-Repo-Commit"); c != "" && r.commit == "" {
		r.commit = c
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != r.pos {
			resp.Body.Close()
			return fmt.Errorf("GET %s: asked for byte %d, got Content-Range %q", redactURL(r.url), r.pos, resp.Header.Get("Content-Range"))
		}
		r.total = total
	default:
		r.total = resp.ContentLength
		// The server ignored Range: skip what we already have.
		if r.pos > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, r.pos); err != nil {
				resp.Body.Close()
				return fmt.Errorf("GET %s: skipping to byte %d: %w", redactURL(r.url), r.pos, err)
			}
		}
	}
	r.body = resp.Body
	return nil
}

func (r *resumeReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("read after close")
	}
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if r.remaining > 0 && int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	for {
		n, err := r.body.Read(p)
		r.pos += int64(n)
		if r.remaining > 0 {
			r.remaining -= int64(n)
		}
		if err == io.EOF && (r.remaining > 0 || (r.remaining < 0 && r.total >= 0 && r.pos < r.total)) {
			err = io.ErrUnexpectedEOF
		}
		if err == nil || err == io.EOF || n > 0 {
			if err != nil && err != io.EOF && n > 0 {
				// Deliver the bytes now; the error recurs on the next Read.
				return n, nil
			}
			return n, err
		}
		if r.ctx.Err() != nil {
			return 0, r.ctx.Err()
		}
		if isPermanent(err) || r.resumes >= r.c.retry.MaxRetries {
			var te *TimeoutError
			if errors.As(err, &te) {
				return 0, te // already names the request
			}
			return 0, &transportError{method: "GET", url: redactURL(r.url), err: err, token: r.c.token}
		}
		r.resumes++
		r.body.Close()
		r.c.logf("resuming GET %s at byte %d: %v", redactURL(r.url), r.pos, err)
		if err := sleep(r.ctx, r.c.backoff(r.resumes-1)); err != nil {
			return 0, err
		}
		if err := r.open(); err != nil {
			r.body = io.NopCloser(strings.NewReader(""))
			return 0, err
		}
	}
}

func (r *resumeReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

func parseContentRange(s string) (start, total int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	a, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// Commit is one entry of a branch's history.
type Commit struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Message string    `json:"message"`
	Date    time.Time `json:"date"`
}

// ListCommits returns up to limit commits of rev, newest first.
func (c *Client) ListCommits(ctx context.Context, repo, rev string, limit int) ([]Commit, error) {
	u := c.api("/api/models/%s/commits/%s?limit=%d", repoPath(repo), escapeRev(rev), limit)
	var out []Commit
	if _, err := c.getJSON(ctx, u, &out); err != nil {
		return nil, err
	}
	return out, nil
}
