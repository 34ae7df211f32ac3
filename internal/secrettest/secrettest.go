// Package secrettest checks, in tests, that secrets stay secret: a Watch
// collects every text a run produces (stdout, stderr, logs, errors, step
// summaries, outputs, comments) and every request a test server receives,
// and fails the test at cleanup if a secret appears anywhere except in a
// request's Authorization header. Credentials of an endpoint URL
// (user:password@host, see Endpoint) may not appear even there.
package secrettest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Watch looks for secrets in what it is given. It is safe for concurrent
// use.
type Watch struct {
	t testing.TB

	mu       sync.Mutex
	secrets  []string
	endpoint []string       // endpoint credentials: secrets that no header may carry either
	texts    map[string]int // source name -> number of texts checked
	leaks    []string       // "source: context"
	auth     map[string]int // server name -> requests that carried a secret in Authorization
	reqs     map[string]int // server name -> requests seen
}

// New returns a Watch for secrets that reports at t's cleanup. Empty
// secrets and secrets shorter than 8 bytes are refused: they would match
// by accident.
func New(t testing.TB, secrets ...string) *Watch {
	t.Helper()
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("secrettest: secret %q is too short to search for", s)
		}
	}
	w := &Watch{t: t, secrets: secrets, texts: map[string]int{}, auth: map[string]int{}, reqs: map[string]int{}}
	t.Cleanup(w.check)
	return w
}

// Endpoint adds the credentials of an endpoint URL (scheme://user:password@host)
// to what the Watch looks for: the password, the user:password pair as
// written and percent-decoded, and the base64 form a Basic Authorization
// header carries (a user name alone is not a secret). Unlike
// a token, endpoint credentials may not appear in a request's Authorization
// header either: a request carrying them is a leak. The password must be at
// least 8 bytes long; an endpoint without one fails the test.
func (w *Watch) Endpoint(endpoint string) {
	w.t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		w.t.Fatalf("secrettest: endpoint %q has no credentials to watch", endpoint)
	}
	pass, ok := u.User.Password()
	if !ok || len(pass) < 8 {
		w.t.Fatalf("secrettest: the endpoint's password is missing or too short to search for")
	}
	user := u.User.Username()
	raw, _, _ := strings.Cut(strings.TrimPrefix(endpoint, u.Scheme+"://"), "@")
	found := []string{pass, user + ":" + pass, raw, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	if esc := url.QueryEscape(pass); esc != pass {
		found = append(found, esc)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets = append(w.secrets, found...)
	w.endpoint = append(w.endpoint, found...)
}

// all returns every secret searched for.
func (w *Watch) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.secrets
}

// Text checks one text produced under source (e.g. "stderr", "error").
func (w *Watch) Text(source, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.texts[source]++
	for _, s := range w.secrets {
		if i := strings.Index(text, s); i >= 0 {
			w.leaks = append(w.leaks, fmt.Sprintf("%s: …%s…", source, excerpt(text, i, len(s), w.secrets)))
		}
	}
}

// Err checks an error's text; nil is fine.
func (w *Watch) Err(source string, err error) {
	if err != nil {
		w.Text(source, err.Error())
	}
}

// Writer returns a writer that checks everything written to it, across
// write boundaries, and passes it on to next (nil: discarded).
func (w *Watch) Writer(source string, next io.Writer) io.Writer {
	if next == nil {
		next = io.Discard
	}
	return &scanWriter{w: w, source: source, next: next}
}

// Handler wraps a test server's handler: each request's method, URL,
// headers other than Authorization and body, and each response's headers
// and body, are checked as they pass, without buffering. Requests whose
// Authorization header carries a secret are counted per server name (see
// AuthCount): a server that must never receive the token can assert zero.
func (w *Watch) Handler(server string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.reqs[server]++
		w.mu.Unlock()
		if a := r.Header.Get("Authorization"); a != "" && w.contains(a) {
			w.mu.Lock()
			w.auth[server]++
			for _, sec := range w.endpoint {
				if strings.Contains(a, sec) {
					w.leaks = append(w.leaks, fmt.Sprintf("%s request Authorization header: endpoint credentials (%s %s)", server, r.Method, r.URL.Path))
					break
				}
			}
			w.mu.Unlock()
		}
		var head bytes.Buffer
		fmt.Fprintf(&head, "%s %s\n", r.Method, r.URL.String())
		for k, vs := range r.Header {
			if k == "Authorization" {
				continue
			}
			fmt.Fprintf(&head, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		w.Text(server+" request", head.String())
		if r.Body != nil {
			r.Body = &scanReader{r: r.Body, s: &scanWriter{w: w, source: server + " request body", next: io.Discard}}
		}
		next.ServeHTTP(&scanResponse{ResponseWriter: rw, w: w, server: server,
			body: &scanWriter{w: w, source: server + " response body", next: io.Discard}}, r)
	})
}

// AuthCount returns how many requests to server carried a secret in their
// Authorization header.
func (w *Watch) AuthCount(server string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.auth[server]
}

// Requests returns how many requests server received.
func (w *Watch) Requests(server string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reqs[server]
}

// Sources lists what was checked: "source×count", sorted.
func (w *Watch) Sources() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for s, n := range w.texts {
		out = append(out, fmt.Sprintf("%s×%d", s, n))
	}
	sort.Strings(out)
	return out
}

// Leaks returns what was found so far.
func (w *Watch) Leaks() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.leaks...)
}

func (w *Watch) contains(s string) bool {
	for _, sec := range w.all() {
		if strings.Contains(s, sec) {
			return true
		}
	}
	return false
}

func (w *Watch) check() {
	for _, l := range w.Leaks() {
		w.t.Errorf("secret leaked into %s", l)
	}
}

func excerpt(s string, i, n int, secrets []string) string {
	lo, hi := max(0, i-40), min(len(s), i+n+40)
	// The excerpt itself must not print any secret into the test log,
	// longest first so one that contains another is masked whole.
	out := s[lo:hi]
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(a, b int) bool { return len(sorted[a]) > len(sorted[b]) })
	for _, sec := range sorted {
		out = strings.ReplaceAll(out, sec, "<SECRET>")
	}
	return out
}

// scanWriter finds secrets in a stream, keeping the last len(secret)-1
// bytes of each write so a secret split across writes is still found.
type scanWriter struct {
	w      *Watch
	source string
	next   io.Writer
	mu     sync.Mutex
	tail   []byte
}

func (s *scanWriter) Write(p []byte) (int, error) {
	s.scan(p)
	return s.next.Write(p)
}

func (s *scanWriter) scan(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := 0
	for _, sec := range s.w.all() {
		keep = max(keep, len(sec)-1)
	}
	buf := append(s.tail, p...)
	s.w.Text(s.source, string(buf))
	if len(buf) > keep {
		buf = buf[len(buf)-keep:]
	}
	s.tail = append([]byte(nil), buf...)
}

type scanReader struct {
	r io.ReadCloser
	s *scanWriter
}

func (r *scanReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.s.scan(p[:n])
	}
	return n, err
}

func (r *scanReader) Close() error { return r.r.Close() }

type scanResponse struct {
	http.ResponseWriter
	w      *Watch
	server string
	body   *scanWriter
	wrote  bool
}

func (s *scanResponse) WriteHeader(code int) {
	if !s.wrote {
		s.wrote = true
		var b bytes.Buffer
		for k, vs := range s.Header() {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		s.w.Text(s.server+" response", b.String())
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *scanResponse) Write(p []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	s.body.scan(p)
	return s.ResponseWriter.Write(p)
}

// Flush passes flushes through for streamed responses.
func (s *scanResponse) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *scanResponse) Unwrap() http.ResponseWriter { return s.ResponseWriter }
