package action

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GitHubRetry is how the GitHub client retries. GET and HEAD are retried
// on 5xx answers, dropped connections and rate limits. A comment POST or
// PATCH is retried only when GitHub answered it with a rate limit, which
// says it did nothing: one that timed out or answered 5xx may already have
// been applied, and sending it again would post twice. The zero value means
// the defaults; every field may be replaced on its own.
//
// GitHub documents its rate limits as 403 or 429 answers: a primary limit
// has x-ratelimit-remaining 0 and ends at x-ratelimit-reset (UTC epoch
// seconds); a secondary limit says how long to wait in Retry-After, or,
// without it, asks for at least a minute.
type GitHubRetry struct {
	// Attempts bounds the requests sent for one call, the first included
	// (0 means 3: at most 2 retries).
	Attempts int
	// Backoff is the wait before the given retry (1 for the second
	// request) after a 5xx or a dropped connection; nil means 1 s, 2 s,
	// 4 s, ...
	Backoff func(retry int) time.Duration
	// MaxServerWait is the longest Retry-After of a 5xx answer the client
	// waits out (0 means 60 s). A longer one is not retried.
	MaxServerWait time.Duration
	// RateLimitBudget bounds the time the client waits on rate limits, in
	// total over all its calls (0 means 3 minutes). A wait that would pass
	// it is not taken, and the error says when GitHub would answer.
	RateLimitBudget time.Duration
	// SecondaryWait is the wait after a secondary rate limit that names
	// none (0 means 60 s, GitHub's documented minimum).
	SecondaryWait time.Duration
	// Sleep waits d or until ctx is done, returning ctx.Err() then; nil
	// means a timer. Tests replace it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock x-ratelimit-reset is read against; nil means
	// time.Now.
	Now func() time.Time
	// OnRetry is told about each retry before its wait; reason is the
	// status or the transport error. It never receives the token.
	OnRetry func(method, path, reason string, wait time.Duration, retry int)
}

// attemptsHeader is set on the response handed back after retrying, so the
// error built from it can say how many requests were sent; rateNoteHeader
// on a rate-limited answer handed back, saying why the client stopped
// waiting.
const (
	attemptsHeader = "Skulk-Weights-Attempts"
	rateNoteHeader = "Skulk-Weights-Rate-Limit"
)

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
	if p.RateLimitBudget <= 0 {
		p.RateLimitBudget = 3 * time.Minute
	}
	if p.SecondaryWait <= 0 {
		p.SecondaryWait = time.Minute
	}
	if p.Now == nil {
		p.Now = time.Now
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

// retryTransport retries GitHub requests as GitHubRetry says. It sits under
// go-github's auth transport, so it never sees the token in a URL and
// resends the request go-github already authorised.
type retryTransport struct {
	base   http.RoundTripper
	policy GitHubRetry

	mu     sync.Mutex
	waited time.Duration // on rate limits, over all calls
}

// decision is what to do after one answer.
type decision struct {
	retry  bool
	wait   time.Duration
	reason string
	// note, when the answer is handed back rate limited, says why the
	// client stopped waiting.
	note string
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	idempotent := replayable(req)
	if !idempotent && !writeRetryable(req) {
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
		d := t.decide(resp, err, attempt, idempotent)
		if d.retry && ctx.Err() != nil {
			// The run was cancelled while this attempt failed: say so,
			// rather than report a failure we would have retried.
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		if !d.retry {
			if err != nil {
				if attempt > 1 && ctx.Err() == nil {
					err = &attemptsError{n: attempt, err: err}
				}
				return nil, err
			}
			if attempt > 1 {
				resp.Header.Set(attemptsHeader, strconv.Itoa(attempt))
			}
			if d.note != "" {
				resp.Header.Set(rateNoteHeader, d.note)
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
			t.policy.OnRetry(req.Method, req.URL.Path, d.reason, d.wait, attempt)
		}
		if err := t.policy.Sleep(ctx, d.wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether an answer is worth another attempt, and after how
// long. Only a rate limit is worth one for a request that is not
// idempotent: GitHub did nothing with it.
func (t *retryTransport) decide(resp *http.Response, err error, attempt int, idempotent bool) decision {
	last := attempt >= t.policy.Attempts
	if err != nil {
		var unknownCA x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		var hostname x509.HostnameError
		if !idempotent || last || errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) {
			return decision{} // no retry fixes a certificate
		}
		return decision{retry: true, wait: t.policy.Backoff(attempt), reason: err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		after, hasAfter := retryAfter(resp)
		if !idempotent || last || (hasAfter && after > t.policy.MaxServerWait) {
			return decision{}
		}
		return decision{retry: true, wait: max(after, t.policy.Backoff(attempt)), reason: resp.Status}
	case http.StatusForbidden, http.StatusTooManyRequests:
		return t.rateLimited(resp, attempt)
	}
	return decision{}
}

// rateLimited decides on a 403 or 429: a rate limit is waited out while
// the attempts and the budget allow; any other 403 is a refusal that
// waiting won't change.
func (t *retryTransport) rateLimited(resp *http.Response, attempt int) decision {
	var wait time.Duration
	var reason, asked string
	switch rateLimitKind(resp.StatusCode, resp.Header, peekError(resp)) {
	case "":
		return decision{}
	case primaryLimit:
		if reset, ok := rateReset(resp.Header); ok {
			// The reset is in whole seconds: wait one more, so the
			// window has turned when the request arrives.
			until := reset.Sub(t.policy.Now())
			wait = max(until+time.Second, time.Second)
			at := reset.UTC().Format(time.RFC3339)
			reason = fmt.Sprintf("%s (primary rate limit, resets at %s)", resp.Status, at)
			asked = fmt.Sprintf("the primary rate limit resets at %s, in %s", at, max(until, 0).Round(time.Second))
		} else {
			// No reset to wait for: as for a secondary limit that names
			// no wait.
			wait = t.policy.SecondaryWait
			reason = resp.Status + " (primary rate limit, no reset time)"
			asked = fmt.Sprintf("the primary rate limit names no reset time, so at least %d s", int(wait.Seconds()))
		}
	case secondaryLimit:
		after, ok := retryAfter(resp)
		if ok {
			asked = fmt.Sprintf("GitHub asks to wait %d s", int(after.Seconds()))
		} else {
			after = t.policy.SecondaryWait
			asked = fmt.Sprintf("GitHub names no wait, so at least %d s", int(after.Seconds()))
		}
		wait = after
		reason = resp.Status + " (secondary rate limit)"
	}
	if attempt >= t.policy.Attempts {
		return decision{note: fmt.Sprintf("%s; still rate limited after %d requests: rerun the job later", asked, attempt)}
	}
	if waited, ok := t.reserve(wait); !ok {
		already := ""
		if waited > 0 {
			already = fmt.Sprintf(" (%s of it already waited)", waited.Round(time.Second))
		}
		return decision{note: fmt.Sprintf("%s, past the %s the action waits on rate limits in all%s: rerun the job later", asked, t.policy.RateLimitBudget, already)}
	}
	return decision{retry: true, wait: wait, reason: reason}
}

// reserve takes d from the rate-limit budget if it is left, and reports
// what was waited before.
func (t *retryTransport) reserve(d time.Duration) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	waited := t.waited
	if waited+d > t.policy.RateLimitBudget {
		return waited, false
	}
	t.waited += d
	return waited, true
}

// The kinds of rate limit GitHub documents.
const (
	primaryLimit   = "primary"
	secondaryLimit = "secondary"
)

// rateLimitKind says whether a 403 or 429 answer is a rate limit, and
// which: x-ratelimit-remaining 0 is the primary limit; Retry-After, a 429,
// or an error naming a secondary (formerly "abuse") rate limit is a
// secondary one. Any other 403 is not a rate limit.
func rateLimitKind(status int, h http.Header, e ghError) string {
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return ""
	}
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" {
		return primaryLimit
	}
	if _, ok := retryAfter(&http.Response{Header: h}); ok || status == http.StatusTooManyRequests {
		return secondaryLimit
	}
	doc := strings.ToLower(e.DocumentationURL)
	if strings.Contains(strings.ToLower(e.Message), "secondary rate limit") || strings.HasSuffix(doc, "secondary-rate-limits") || strings.HasSuffix(doc, "#abuse-rate-limits") {
		return secondaryLimit
	}
	return ""
}

// ghError is the body of a GitHub error answer.
type ghError struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
}

// peekError reads the error body of resp (up to 64 KiB) and puts it back,
// so go-github still reads all of it.
func peekError(resp *http.Response) ghError {
	var e ghError
	if resp.Body == nil || resp.Body == http.NoBody {
		return e
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	if err == nil {
		_ = json.Unmarshal(b, &e)
	}
	return e
}

// rateReset reads x-ratelimit-reset, UTC epoch seconds.
func rateReset(h http.Header) (time.Time, bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, false
	}
	return time.Unix(s, 0), true
}

// writeRetryable reports whether req is a write that may be sent again after
// GitHub refused it for a rate limit: POST or PATCH (a comment) with a
// body that can be had again.
func writeRetryable(req *http.Request) bool {
	if req.Method != http.MethodPost && req.Method != http.MethodPatch {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
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
