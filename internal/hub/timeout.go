package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Timeouts bound how long a call waits on a server that has stopped
// answering. None of them bounds a whole transfer: a slow body that keeps
// moving is never cut, only one where no byte moves for Stall. A zero
// duration disables that bound.
type Timeouts struct {
	// Header bounds the wait for the response headers of metadata calls
	// (repo info, tree, paths-info, preupload, LFS batch, resolve), counted
	// from the moment the request has been sent, as
	// http.Transport.ResponseHeaderTimeout counts.
	Header time.Duration
	// SlowHeader is Header for calls the server works on before it answers:
	// the commit, storage PUTs (basic and multipart parts), completing a
	// multipart upload and server-side duplication.
	SlowHeader time.Duration
	// Stall bounds how long a body may go without a byte moving: a
	// download whose server sends nothing, or an upload whose server takes
	// nothing. Time spent waiting on the upload's own source (a download,
	// bounded by its own Stall) does not count.
	Stall time.Duration
}

// DefaultTimeouts leave room for slow but working servers: metadata answers
// within a minute (huggingface_hub gives them 10 s), a commit of many large
// files may take the Hub minutes to check and record, and a body that
// moves no byte for a whole minute is not coming back.
var DefaultTimeouts = Timeouts{Header: time.Minute, SlowHeader: 5 * time.Minute, Stall: time.Minute}

// WithTimeouts replaces DefaultTimeouts.
func WithTimeouts(t Timeouts) Option { return func(c *Client) { c.timeouts = t } }

// ErrTimeout matches a *TimeoutError with errors.Is.
var ErrTimeout = errors.New("hub stopped answering")

// TimeoutError says a call was aborted because the server stopped
// answering: no response headers within the header timeout, or no byte of
// a body moved for the stall timeout. Calls that are safe to repeat retry
// it like a lost connection; a download resumes with Range. URL has no
// query string.
type TimeoutError struct {
	Method, URL string
	// Stage is "headers", "upload" (the server took no byte of the
	// request body) or "download" (the server sent no byte of the
	// response body).
	Stage string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	switch e.Stage {
	case "headers":
		return fmt.Sprintf("%s %s: no response within %s (the server accepted the request and went silent)", e.Method, e.URL, e.After)
	case "upload":
		return fmt.Sprintf("%s %s: upload stalled: the server took no byte for %s", e.Method, e.URL, e.After)
	}
	return fmt.Sprintf("%s %s: download stalled: no byte received for %s", e.Method, e.URL, e.After)
}

// Is makes a *TimeoutError match ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Timeout reports true, as net.Error timeouts do.
func (e *TimeoutError) Timeout() bool { return true }

// watchdog cancels one exchange's context when its current bound runs out.
// It is armed while the exchange waits on the server (the transport writing
// the request body, waiting for headers, or a Read of the response body
// blocked on the network) and disarmed while it waits on us, so neither a
// slow source feeding an upload nor a slow consumer of a download counts
// as the server stalling.
type watchdog struct {
	cancel      context.CancelCauseFunc
	method, url string
	header      time.Duration
	stall       time.Duration

	mu       sync.Mutex
	timer    *time.Timer
	armed    bool
	deadline time.Time
	stage    string
	after    time.Duration
	sending  bool // the request body is still being sent
}

func newWatchdog(ctx context.Context, method, url string, header, stall time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	return ctx, &watchdog{cancel: cancel, method: method, url: url, header: header, stall: stall}
}

// arm starts (or restarts) the clock: the exchange fails if it is not
// disarmed or rearmed within d. d <= 0 leaves it disarmed.
func (w *watchdog) arm(stage string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armLocked(stage, d)
}

func (w *watchdog) armLocked(stage string, d time.Duration) {
	if d <= 0 {
		w.armed = false
		return
	}
	w.armed, w.stage, w.after, w.deadline = true, stage, d, time.Now().Add(d)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
	} else {
		w.timer.Reset(d)
	}
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	w.armed = false
	w.mu.Unlock()
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A stale firing (the clock was rearmed while this one was due) only
	// counts once the current deadline has passed.
	if !w.armed {
		return
	}
	if wait := time.Until(w.deadline); wait > 0 {
		w.timer.Reset(wait)
		return
	}
	w.armed = false
	w.cancel(&TimeoutError{Method: w.method, URL: w.url, Stage: w.stage, After: w.after})
}

// stop releases the exchange's context and timer.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.armed = false
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

// cause returns the *TimeoutError that ended the exchange, if one did.
func (w *watchdog) cause(ctx context.Context) *TimeoutError {
	var te *TimeoutError
	if errors.As(context.Cause(ctx), &te) {
		return te
	}
	return nil
}

// start arms the clock as a request goes out: the stall bound while its
// body is sent (this also covers connecting), the header bound at once if
// it has none.
func (w *watchdog) start(hasBody bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sending = hasBody
	if hasBody {
		w.armLocked("upload", w.stall)
	} else {
		w.armLocked("headers", w.header)
	}
}

// sent switches from the body to the wait for headers.
func (w *watchdog) sent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending {
		w.sending = false
		w.armLocked("headers", w.header)
	}
}

// answered is called when the response headers (or an error) came back:
// from now on only the response body's Reads are timed.
func (w *watchdog) answered() {
	w.mu.Lock()
	w.sending = false
	w.armed = false
	w.mu.Unlock()
}

// reading pauses the upload clock while the transport waits on our own
// source, then restarts it for the transport's write of what was read.
func (w *watchdog) reading(read func() (int, error)) (int, error) {
	w.mu.Lock()
	sending := w.sending
	if sending {
		w.armed = false
	}
	w.mu.Unlock()
	n, err := read()
	if sending {
		w.mu.Lock()
		if w.sending {
			w.armLocked("upload", w.stall)
		}
		w.mu.Unlock()
	}
	return n, err
}

// sendBody is a request body under a watchdog.
type sendBody struct {
	r    io.ReadCloser
	w    *watchdog
	size int64 // declared length; -1 unknown
	n    int64
}

func (b *sendBody) Read(p []byte) (int, error) {
	n, err := b.w.reading(func() (int, error) { return b.r.Read(p) })
	b.n += int64(n)
	if err == io.EOF || (b.size >= 0 && b.n >= b.size) {
		b.w.sent()
	}
	return n, err
}

func (b *sendBody) Close() error { return b.r.Close() }

// recvBody is a response body under a watchdog: each Read that blocks on
// the network is timed, and a stall surfaces as the *TimeoutError rather
// than as the cancellation it caused.
type recvBody struct {
	r   io.ReadCloser
	w   *watchdog
	ctx context.Context
}

func (b *recvBody) Read(p []byte) (int, error) {
	b.w.arm("download", b.w.stall)
	n, err := b.r.Read(p)
	b.w.disarm()
	if err != nil && err != io.EOF {
		if te := b.w.cause(b.ctx); te != nil {
			return n, te
		}
	}
	return n, err
}

func (b *recvBody) Close() error {
	err := b.r.Close()
	b.w.stop()
	return err
}
