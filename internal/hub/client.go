// Package hub is a client for the Hugging Face Hub's HTTP API: the calls a
// byte-for-byte mirror needs (repo info, tree, paths-info, resolve with
// Range, repo creation, preupload, LFS batch and transfers, NDJSON commits,
// server-side LFS duplication and collections), with typed errors and a
// retry policy that never resends a commit and never buffers a streamed body.
//
// The token is attached by the client's transport, and only to requests for
// the endpoint's own scheme and host (redirect hops that stay there
// included) that are not storage transfers; it is never part of an error or
// a log line.
package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Client talks to one Hub endpoint with one (possibly empty) token. It is
// safe for concurrent use.
type Client struct {
	endpoint  string   // no trailing slash
	origin    *url.URL // scheme+host of endpoint
	token     string
	http      *http.Client
	userAgent string
	retry     RetryPolicy
	timeouts  Timeouts
	logf      func(format string, args ...any)
}

// RetryPolicy says how calls that are safe to repeat are retried: on network
// errors and on 408, 429, 500, 502, 503 and 504, waiting what the server asks
// (RateLimit, Retry-After) or else MinWait doubling up to MaxWait, at most
// MaxRetries times. A wait longer than MaxServerWait is not sat out: the
// call fails with ErrRateLimited instead.
type RetryPolicy struct {
	MaxRetries    int
	MinWait       time.Duration
	MaxWait       time.Duration
	MaxServerWait time.Duration
}

// DefaultRetryPolicy mirrors huggingface_hub's http_backoff (1 s doubling to
// 8 s, 5 retries) and waits out rate-limit windows of up to 6 minutes.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 5, MinWait: time.Second, MaxWait: 8 * time.Second, MaxServerWait: 6 * time.Minute}

// Option configures a Client.
type Option func(*Client)

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithTransport sets the underlying round tripper (tests, proxies).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.http.Transport.(*authTransport).base = rt }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithLogf receives one line per retry (never containing the token).
func WithLogf(f func(format string, args ...any)) Option { return func(c *Client) { c.logf = f } }

// New returns a client for endpoint (DefaultEndpoint when empty) using token
// (anonymous when empty).
func New(endpoint, token string, opts ...Option) *Client {
	endpoint = strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	// Callers check the endpoint with CheckEndpoint first; credentials in
	// it are still never sent (Go would send them as basic auth) nor shown.
	endpoint = stripUserinfo(endpoint)
	origin, err := url.Parse(endpoint)
	if err != nil || origin.Host == "" {
		origin = &url.URL{Scheme: "https", Host: "invalid.endpoint"}
		if strings.Contains(endpoint, "@") {
			endpoint = origin.String()
		}
	}
	c := &Client{
		endpoint:  endpoint,
		origin:    origin,
		token:     strings.TrimSpace(token),
		userAgent: "skulk-weights",
		retry:     DefaultRetryPolicy,
		timeouts:  DefaultTimeouts,
		logf:      func(string, ...any) {},
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	// Go's transparent gzip would hide Content-Length and change byte
	// counts; weights are incompressible anyway.
	tr.DisableCompression = true
	c.http = &http.Client{Transport: &authTransport{base: tr, c: c}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// FromEnv returns a client configured as the official clients are:
// HF_ENDPOINT (default https://huggingface.co), checked by CheckEndpoint,
// and the token TokenFromEnv finds, which it also returns so the caller
// can say where it came from. A client without a token is anonymous.
func FromEnv(getenv func(string) string, opts ...Option) (*Client, Token, error) {
	endpoint, err := CheckEndpoint("HF_ENDPOINT", getenv("HF_ENDPOINT"))
	if err != nil {
		return nil, Token{}, err
	}
	tok, err := TokenFromEnv(getenv)
	if err != nil {
		return nil, Token{}, err
	}
	return New(endpoint, tok.Value, opts...), tok, nil
}

// Endpoint returns the base URL without a trailing slash.
func (c *Client) Endpoint() string { return c.endpoint }

// HasToken reports whether the client sends a token.
func (c *Client) HasToken() bool { return c.token != "" }

// Redact replaces the client's token in s; use it on any text that might
// have passed through a server or a URL.
func (c *Client) Redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[redacted]")
}

type authKey struct{}

// authTransport adds the bearer token to every hop of a call that asked for
// it whose URL is on the endpoint's own scheme and host (port included):
// the first request, and the redirects the Hub answers on its own host (a
// renamed repo's old name, a small file's relative redirect to
// /api/resolve-cache/...). A hop to any other origin (the storage CDN of an
// LFS file) never carries it, and storage transfers never do. This is what
// huggingface_hub does: its httpx client follows redirects and keeps
// Authorization only on the same origin (utils/_http.py
// default_client_factory, follow_redirects=True; file_download.py
// _httpx_follow_relative_redirects_with_backoff for the relative ones).
type authTransport struct {
	base http.RoundTripper
	c    *Client
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	want, _ := r.Context().Value(authKey{}).(bool)
	if want && t.c.token != "" &&
		r.URL.Scheme == t.c.origin.Scheme && r.URL.Host == t.c.origin.Host {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+t.c.token)
	}
	return t.base.RoundTrip(r)
}

// call describes one logical request.
type call struct {
	method string
	url    string
	header http.Header
	// body is called once per attempt so a retry never needs a buffered
	// copy of what was sent; nil means no body.
	body func() (io.ReadCloser, error)
	size int64 // Content-Length of body; -1 unknown
	auth bool  // send the token (endpoint origin only)
	// retry marks the call safe to repeat.
	retry bool
	// slow marks a call the server may work on for a while before it
	// answers (Timeouts.SlowHeader).
	slow bool
	// ok lists extra statuses returned to the caller instead of failing.
	ok []int
}

func jsonBody(v any) (func() (io.ReadCloser, error), int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, int64(len(b)), nil
}

// permanent is implemented by errors (typically from a request body) that
// must not be retried, such as a checksum mismatch.
type permanent interface{ Permanent() bool }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// do runs a call with the retry policy and returns a response with a 2xx
// status (or one listed in call.ok); the caller closes its body.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, cl)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !cl.retry || attempt >= c.retry.MaxRetries || !retryable(err) {
			return nil, err
		}
		wait := c.backoff(attempt)
		var he *Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			wait = he.RetryAfter
			if wait > c.retry.MaxServerWait {
				return nil, err
			}
		}
		c.logf("retrying %s %s in %s: %s", cl.method, redactURL(cl.url), wait.Round(time.Millisecond), c.Redact(err.Error()))
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) once(ctx context.Context, cl call) (*http.Response, error) {
	ctx = context.WithValue(ctx, authKey{}, cl.auth)
	header := c.timeouts.Header
	if cl.slow {
		header = c.timeouts.SlowHeader
	}
	ctx, wd := newWatchdog(ctx, cl.method, redactURL(cl.url), header, c.timeouts.Stall)
	var body io.ReadCloser
	if cl.body != nil {
		var err error
		if body, err = cl.body(); err != nil {
			wd.stop()
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, nil)
	if err != nil {
		if body != nil {
			body.Close()
		}
		wd.stop()
		return nil, err
	}
	hasBody := body != nil && cl.size != 0
	if body != nil {
		req.ContentLength = cl.size
		if cl.size == 0 {
			body.Close()
			req.Body = http.NoBody
		} else {
			req.Body = &sendBody{r: body, w: wd, size: cl.size}
			// A 307 or 308 on the Hub's own host (a renamed repo) is
			// followed with the body opened afresh, never a buffered copy.
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := cl.body()
				if err != nil {
					return nil, err
				}
				return &sendBody{r: b, w: wd, size: cl.size}, nil
			}
		}
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	wd.start(hasBody)
	resp, err := c.http.Do(req)
	wd.answered()
	if err != nil {
		wd.stop()
		if te := wd.cause(ctx); te != nil {
			return nil, te
		}
		return nil, &transportError{method: cl.method, url: redactURL(cl.url), err: err, token: c.token}
	}
	resp.Body = &recvBody{r: resp.Body, w: wd, ctx: ctx}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	for _, s := range cl.ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	return nil, newError(resp, c.token)
}

// transportError is a request that got no HTTP answer. Its text never holds
// a query string (presigned URLs) or the token.
type transportError struct {
	method, url string
	err         error
	token       string
}

func (e *transportError) Error() string {
	msg := e.err.Error()
	// url.Error repeats the full URL; keep only the cause.
	var ue *url.Error
	if errors.As(e.err, &ue) {
		msg = ue.Err.Error()
	}
	if e.token != "" {
		msg = strings.ReplaceAll(msg, e.token, "[redacted]")
	}
	return fmt.Sprintf("%s %s: %s", e.method, e.url, msg)
}

func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	// A timeout of ours is a server gone silent, retried like a lost
	// connection; the caller's own deadline is not (do checks ctx first).
	if errors.Is(err, ErrTimeout) {
		return true
	}
	if isPermanent(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var he *Error
	if errors.As(err, &he) {
		switch he.Status {
		case 408, 429, 500, 502, 503, 504:
			return true
		}
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		var ne net.Error
		var ue *url.Error
		return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.MinWait << attempt
	if d > c.retry.MaxWait || d <= 0 {
		d = c.retry.MaxWait
	}
	// ±20% jitter so parallel transfers do not retry in lockstep.
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return d - d/10 + j
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redactURL drops the query string: storage URLs carry signatures there.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<url>"
	}
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// decode reads a JSON response body into v and closes it.
func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: decoding response: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// getJSON GETs an API URL (retried) and decodes it.
func (c *Client) getJSON(ctx context.Context, u string, v any) (*http.Response, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, url: u, auth: true, retry: true,
		header: http.Header{"Accept": {"application/json"}}})
	if err != nil {
		return nil, err
	}
	return resp, decode(resp, v)
}

// postJSON POSTs a JSON body and decodes the answer into out (if non-nil).
func (c *Client) postJSON(ctx context.Context, u string, in, out any, retry bool, ok ...int) (*http.Response, error) {
	body, size, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, url: u, auth: true, retry: retry, body: body, size: size, ok: ok,
		header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
	if err != nil {
		return nil, err
	}
	if out == nil {
		resp.Body.Close()
		return resp, nil
	}
	return resp, decode(resp, out)
}

// repoPath escapes "owner/name" for the URL (each segment, keeping the slash).
func repoPath(repo string) string { return escapePath(repo) }

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// escapeRev escapes a revision with no safe characters (refs/pr/1 ->
// refs%2Fpr%2F1), as huggingface_hub does.
func escapeRev(rev string) string { return url.PathEscape(rev) }

func (c *Client) api(format string, args ...any) string {
	return c.endpoint + fmt.Sprintf(format, args...)
}
