package action

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GitHubRetry is how the GitHub client retries. Only GET and HEAD are
// retried: a comment POST or PATCH that timed out or answered 5xx may
// already have been applied, and sending it again would post twice. The
// zero value means the defaults; every field may be replaced on its own.
type GitHubRetry struct {
	// Attempts bounds the requests sent for one call, the first included
	// (0 means 3).
	Attempts int
	// Backoff is the wait before the given retry (1 for the second
	// request); nil means 1 s, 2 s, 4 s, ...
	Backoff func(retry int) time.Duration
	// MaxServerWait is the longest Retry-After the client waits out (0
	// means 60 s). A longer one is not retried, and the error names it.
	MaxServerWait time.Duration
	// Sleep waits d or until ctx is done, returning ctx.Err() then; nil
	// means a timer. Tests replace it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry is told about each retry before its wait; reason is the
	// status or the transport error. It never receives the token.
	OnRetry func(method, path, reason string, wait time.Duration, retry int)
}

// attemptsHeader is set on the response handed back after retrying, so the
// error built from it can say how many requests were sent.
const attemptsHeader = "Skulk-Weights-Attempts"

func (p GitHubRetry) withDefaults() GitHubRetry {
	if p.Attempts <= 0 {
		p.Attempts = 3
	}
	if p.Backoff == nil {
		p.Backoff = func(retry int) time.Duration { return time.Second << (retry - 1) }
	}
	if p.MaxServerWait <= 0 {
		p.MaxServerWait = time.Minute
	}
	if p.Sleep == nil {
		p.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return p
}

// retryTransport retries idempotent GitHub requests on 5xx answers,
// transport errors and rate limits that say how long to wait. It sits under
// go-github's auth transport, so it never sees the token in a URL and
// resends the request go-github already authorised.
type retryTransport struct {
	base   http.RoundTripper
	policy GitHubRetry
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !replayable(req) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.base.RoundTrip(req)
		wait, reason, retry := t.decide(resp, err, attempt)
		if retry && attempt < t.policy.Attempts && ctx.Err() != nil {
			// The run was cancelled while this attempt failed: say so,
			// rather than report a failure we would have retried.
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		if !retry || attempt >= t.policy.Attempts {
			if err != nil {
				if attempt > 1 && ctx.Err() == nil {
					err = &attemptsError{n: attempt, err: err}
				}
				return nil, err
			}
			if attempt > 1 {
				resp.Header.Set(attemptsHeader, strconv.Itoa(attempt))
			}
			return resp, nil
		}
		if resp != nil {
			// Drain a little so the connection can be reused; a
			// larger error body is not worth reading.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.policy.OnRetry != nil {
			t.policy.OnRetry(req.Method, req.URL.Path, reason, wait, attempt)
		}
		if err := t.policy.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether an answer is worth another attempt, and after how
// long.
func (t *retryTransport) decide(resp *http.Response, err error, attempt int) (wait time.Duration, reason string, retry bool) {
	if err != nil {
		var unknownCA x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		var hostname x509.HostnameError
		if errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) {
			return 0, "", false // no retry fixes a certificate
		}
		return t.policy.Backoff(attempt), err.Error(), true
	}
	after, hasAfter := retryAfter(resp)
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if hasAfter && after > t.policy.MaxServerWait {
			return 0, "", false
		}
		return max(after, t.policy.Backoff(attempt)), resp.Status, true
	case http.StatusForbidden, http.StatusTooManyRequests:
		// A secondary rate limit says how long to wait; a 403
		// without Retry-After is a refusal that waiting won't change.
		if !hasAfter || after > t.policy.MaxServerWait {
			return 0, "", false
		}
		return after, resp.Status + " (rate limited)", true
	}
	return 0, "", false
}

// replayable reports whether req may be sent again: GET and HEAD only, with
// a body that can be had again if there is one.
func replayable(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// retryAfter reads Retry-After in seconds (GitHub never sends a date).
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	s, err := strconv.Atoi(v)
	if err != nil || s < 0 {
		return 0, false
	}
	return time.Duration(s) * time.Second, true
}

// attemptsError is a transport error after retries.
type attemptsError struct {
	n   int
	err error
}

func (e *attemptsError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts)", e.err, e.n)
}

func (e *attemptsError) Unwrap() error { return e.err }
