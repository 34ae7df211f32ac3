package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ErrCommitNotSent is returned by Commit when the request failed before
// its whole body was handed to the connection: a file's content could not
// be read, or the connection broke while the body was still being sent.
// The request declares its length, so the Hub cannot have read a complete
// commit: nothing landed and the same commit may be sent again. When a
// file's content was the cause, its error is wrapped too.
var ErrCommitNotSent = errors.New("commit not sent")

// CommitOp is one operation of a commit.
type CommitOp struct {
	// Kind is "file" (content inline), "lfsFile" (OID + Size) or
	// "deletedFile".
	Kind string
	Path string
	// Content is a "file" operation's bytes when they are at hand. Without
	// it, Open is called for the content as the operation's line is written
	// into the request and must yield exactly Size bytes; it is called once
	// per attempt, so no file's bytes are held longer than it takes to send
	// them.
	Content []byte
	Open    BodyFunc
	OID     string
	Size    int64
}

// CommitRequest is an NDJSON commit.
type CommitRequest struct {
	Summary, Description string
	// ParentCommit makes the commit conditional: the Hub answers 412 if the
	// branch moved, so a commit can never land twice or on top of a state
	// it was not planned against.
	ParentCommit string
	Ops          []CommitOp
}

// CommitInfo is the Hub's answer to a commit.
type CommitInfo struct {
	OID string `json:"commitOid"`
	URL string `json:"commitUrl"`
}

// commitLine is one NDJSON line: head, then Size bytes of op's content
// base64-encoded when op streams, then tail.
type commitLine struct {
	head, tail []byte
	op         *CommitOp
}

// commitLines encodes everything of a commit but the inline contents, and
// the exact length of the body they make.
func commitLines(req CommitRequest) ([]commitLine, int64, error) {
	header := map[string]any{"summary": req.Summary, "description": req.Description}
	if req.ParentCommit != "" {
		header["parentCommit"] = req.ParentCommit
	}
	whole := func(v any) (commitLine, error) {
		b, err := json.Marshal(v)
		return commitLine{head: append(b, '\n')}, err
	}
	first, err := whole(map[string]any{"key": "header", "value": header})
	if err != nil {
		return nil, 0, err
	}
	lines := []commitLine{first}
	size := int64(len(first.head))
	for i := range req.Ops {
		op := &req.Ops[i]
		var l commitLine
		switch op.Kind {
		case "file":
			path, err := json.Marshal(op.Path)
			if err != nil {
				return nil, 0, err
			}
			n := op.Size
			if op.Content != nil || op.Open == nil {
				n = int64(len(op.Content))
			}
			if n < 0 {
				return nil, 0, fmt.Errorf("commit op on %s: size %d", op.Path, n)
			}
			l = commitLine{
				head: fmt.Appendf(nil, `{"key":"file","value":{"path":%s,"encoding":"base64","content":"`, path),
				tail: []byte("\"}}\n"),
				op:   op,
			}
			size += int64(base64.StdEncoding.EncodedLen(int(n)))
		case "lfsFile":
			l, err = whole(map[string]any{"key": "lfsFile", "value": map[string]any{
				"path": op.Path, "algo": "sha256", "oid": op.OID, "size": op.Size}})
		case "deletedFile":
			l, err = whole(map[string]any{"key": "deletedFile", "value": map[string]any{"path": op.Path}})
		default:
			return nil, 0, fmt.Errorf("commit op %q on %s: unknown kind", op.Kind, op.Path)
		}
		if err != nil {
			return nil, 0, err
		}
		size += int64(len(l.head) + len(l.tail))
		lines = append(lines, l)
	}
	return lines, size, nil
}

// commitBody is one attempt's request body: a goroutine writes the lines
// into a pipe, opening each streamed file's content when its line comes,
// so the body's memory is a few buffers whatever the files hold.
type commitBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
	size   int64

	mu     sync.Mutex
	read   int64 // bytes handed to the connection
	eof    bool
	closed bool  // the connection is done with the body
	err    error // why the writer gave up on its own, if it did
}

func newCommitBody(ctx context.Context, lines []commitLine, size int64) *commitBody {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	b := &commitBody{pr: pr, cancel: cancel, done: make(chan struct{}), size: size}
	go func() {
		defer close(b.done)
		err := writeCommit(ctx, pw, lines)
		if err != nil {
			b.mu.Lock()
			// Once the body is closed, the writer fails because of it
			// (its source cancelled, its pipe closed): that is no cause.
			if !b.closed {
				b.err = err
			}
			b.mu.Unlock()
		}
		pw.CloseWithError(err) // nil closes with EOF
	}()
	return b
}

func writeCommit(ctx context.Context, w io.Writer, lines []commitLine) error {
	for _, l := range lines {
		if l.op != nil && l.op.Content == nil && l.op.Open != nil {
			// The content is opened before its line starts, so a source
			// that cannot be opened leaves no line half-written.
			rc, err := l.op.Open(ctx)
			if err != nil {
				return fmt.Errorf("reading %s: %w", l.op.Path, err)
			}
			err = writeLine(w, l, rc, l.op.Size)
			rc.Close()
			if err != nil {
				return err
			}
			continue
		}
		var content io.Reader
		var n int64
		if l.op != nil {
			content, n = bytes.NewReader(l.op.Content), int64(len(l.op.Content))
		}
		if err := writeLine(w, l, content, n); err != nil {
			return err
		}
	}
	return nil
}

// errPipeClosed is what a write into the pipe meets once the connection
// stopped reading the body; it is not the body's own failure.
var errPipeClosed = errors.New("request body closed")

// writeLine writes head, exactly n bytes of content in base64 (when content
// is not nil) and tail. Content with more or fewer bytes fails the line
// before its last chunk is written.
func writeLine(w io.Writer, l commitLine, content io.Reader, n int64) error {
	if _, err := w.Write(l.head); err != nil {
		return errPipeClosed
	}
	if content != nil && l.op != nil {
		enc := base64.NewEncoder(base64.StdEncoding, w)
		got, err := io.Copy(&writeOnly{enc}, io.LimitReader(content, n))
		switch {
		case errors.Is(err, errPipeClosed):
			return errPipeClosed
		case err != nil:
			return fmt.Errorf("reading %s: %w", l.op.Path, err)
		case got != n:
			return fmt.Errorf("reading %s: %d bytes, expected %d", l.op.Path, got, n)
		}
		var one [1]byte
		if k, _ := content.Read(one[:]); k > 0 {
			return fmt.Errorf("reading %s: more than the expected %d bytes", l.op.Path, n)
		}
		if err := enc.Close(); err != nil {
			return errPipeClosed
		}
	}
	if _, err := w.Write(l.tail); err != nil {
		return errPipeClosed
	}
	return nil
}

// writeOnly hides a writer's ReadFrom so io.Copy reads the source in
// plain chunks whose errors it reports as read errors.
type writeOnly struct{ w io.Writer }

func (w *writeOnly) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = errPipeClosed
	}
	return n, err
}

func (b *commitBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	b.mu.Lock()
	b.read += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	b.mu.Unlock()
	return n, err
}

// Close stops the writer and waits for it, so no file stays open once the
// request is over.
func (b *commitBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.pr.CloseWithError(errPipeClosed)
	<-b.done
	return nil
}

// sent reports whether the connection took the whole body, and why the
// writer failed if it did.
func (b *commitBody) sent() (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.err
	if errors.Is(err, errPipeClosed) {
		err = nil
	}
	return b.eof && b.read == b.size, err
}

// Commit posts one atomic commit to repo@branch, its body streamed: a file
// given by Open is read while its line is sent. It is resent only after a
// 429 (refused unread, waiting as the Hub asks), never blindly. An error
// matching ErrCommitNotSent means the body never reached the Hub whole, so
// nothing landed and the commit may be sent again; ErrCommitOutcomeUnknown
// means the answer was lost and the caller must check the branch head;
// ErrPreconditionFailed means the branch moved since ParentCommit.
func (c *Client) Commit(ctx context.Context, repo, branch string, req CommitRequest) (*CommitInfo, error) {
	lines, size, err := commitLines(req)
	if err != nil {
		return nil, err
	}
	u := c.api("/api/models/%s/commit/%s", repoPath(repo), escapeRev(branch))
	var resp *http.Response
	var body *commitBody
	for attempt := 0; ; attempt++ {
		body = nil
		resp, err = c.do(ctx, call{method: http.MethodPost, url: u, auth: true, slow: true, size: size,
			body: func() (io.ReadCloser, error) {
				body = newCommitBody(ctx, lines, size)
				return body, nil
			},
			header: http.Header{"Content-Type": {"application/x-ndjson"}, "Accept": {"application/json"}}})
		// A 429 is the one failure known to leave the branch untouched (the
		// Hub refuses before reading the commit), so it alone is resent,
		// after the wait the Hub asked for.
		var he *Error
		if err == nil || !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || attempt >= c.retry.MaxRetries {
			break
		}
		wait := he.RetryAfter
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if wait > c.retry.MaxServerWait {
			break
		}
		c.logf("retrying POST %s in %s: %s", redactURL(u), wait.Round(time.Millisecond), c.Redact(err.Error()))
		if serr := sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		var he *Error
		isHTTP := errors.As(err, &he)
		if body != nil {
			// The transport may still hold the body; closing it here makes
			// sure the writer has stopped before its state is read.
			body.Close()
			if whole, berr := body.sent(); !whole && (!isHTTP || gatewayStatus(he.Status)) {
				if berr != nil {
					return nil, fmt.Errorf("%w: %w", ErrCommitNotSent, berr)
				}
				return nil, fmt.Errorf("%w: %w", ErrCommitNotSent, err)
			}
		}
		if ctx.Err() != nil || !isHTTP || gatewayStatus(he.Status) {
			return nil, fmt.Errorf("%w: %w", ErrCommitOutcomeUnknown, err)
		}
		return nil, err
	}
	var info CommitInfo
	if err := decode(resp, &info); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCommitOutcomeUnknown, err)
	}
	if !IsCommitSHA(info.OID) {
		return nil, fmt.Errorf("%w: commit answer has no commitOid", ErrCommitOutcomeUnknown)
	}
	return &info, nil
}

// gatewayStatus is an answer from between us and the Hub: the Hub may
// have committed what the gateway then failed to relay.
func gatewayStatus(status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
