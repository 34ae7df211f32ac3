package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// The timeout cases: a hub that accepts a request and goes silent, or stops
// a body mid-stream, must be given up on after the client's bounds (here
// about a second) and handed to the usual retry, resume and head-check paths,
// while a body that keeps moving, however slowly, is never cut.

// Each case shortens only the bound it tests, to about a second: on a
// loaded two-core machine under -race a loopback answer can take a few
// hundred milliseconds, and a bound that such an answer could miss would
// make the case fail on scheduler luck. The bounds not under test stay at
// seconds; the hung calls hang until the client gives up, so no case
// depends on which comes first.
const (
	bound    = time.Second     // the bound under test
	generous = 5 * time.Second // the bounds not under test
)

// withTimeouts points the fixture's publishes at a client with bounds t
// (the fixture's first mirror ran with the defaults).
func (f *fx) withTimeouts(t hub.Timeouts, opts ...hub.Option) {
	cl := hub.New(f.url, token, append([]hub.Option{hub.WithRetryPolicy(fast), hub.WithTimeouts(t),
		hub.WithLogf(func(format string, a ...any) { fmt.Fprintf(f.log, format+"\n", a...) })}, opts...)...)
	f.opts.Source, f.opts.Dest = cl, cl
}

// hangs returns hang, which blocks a handler until the client gives up on
// the request or, for a handler that left the request body unread (the
// server cannot see the client go then), until release; register release
// as a cleanup after the server's, so it runs first.
func hangs() (hang func(*http.Request), release func()) {
	done := make(chan struct{})
	return func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}, func() { close(done) }
}

// smallSendBuffer is a transport whose connections have a 16 KiB socket
// send buffer, so that a server that stops reading blocks the client's
// writes within a part instead of the kernel taking the whole part.
func smallSendBuffer() http.RoundTripper {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{DisableCompression: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(16 << 10)
		}
		return c, err
	}}
}

// stallWriter sends the first after bytes of a response, then goes silent
// until the client gives up.
type stallWriter struct {
	http.ResponseWriter
	hang  func(*http.Request)
	r     *http.Request
	after int64
	n     int64
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if s.n+int64(len(p)) > s.after {
		k := s.after - s.n
		s.ResponseWriter.Write(p[:k])
		http.NewResponseController(s.ResponseWriter).Flush()
		s.hang(s.r)
		return int(k), errors.New("stalled on purpose")
	}
	s.n += int64(len(p))
	return s.ResponseWriter.Write(p)
}

// trickleWriter sends a response in 32 KiB pieces, one every gap.
type trickleWriter struct {
	http.ResponseWriter
	gap time.Duration
}

func (s *trickleWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 32<<10)
		m, err := s.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		http.NewResponseController(s.ResponseWriter).Flush()
		time.Sleep(s.gap)
		p = p[k:]
	}
	return n, nil
}

// trickleReader lets a handler read a request body 32 KiB every gap.
type trickleReader struct {
	r   io.ReadCloser
	gap time.Duration
}

func (s *trickleReader) Read(p []byte) (int, error) {
	time.Sleep(s.gap)
	return s.r.Read(p[:min(len(p), 32<<10)])
}

func (s *trickleReader) Close() error { return s.r.Close() }

// isPart2 matches the PUT of part 2 of a multipart upload.
func isPart2(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/_devhub/upload/") && strings.HasSuffix(r.URL.Path, "/2")
}

func TestFaultTimeoutHungMetadata(t *testing.T) {
	t.Parallel()
	f := newFX(t)
	f.withTimeouts(hub.Timeouts{Header: bound, SlowHeader: generous, Stall: generous})
	before, head := f.h.Stats(), f.head()
	// Every tree listing is accepted and never answered.
	f.h.AddFault(devhub.Fault{Route: "tree", Kind: devhub.FaultDelay, Delay: time.Hour})
	start := time.Now()
	_, err := f.run()
	took := time.Since(start)
	if !errors.Is(err, hub.ErrTimeout) || !strings.Contains(err.Error(), "/tree/") || !strings.Contains(err.Error(), "no response within 1s") {
		t.Fatalf("error %v: want a timeout naming the tree call and the bound", err)
	}
	if n := countLines(f.log.String(), "retrying GET", "/tree/"); n != fast.MaxRetries {
		t.Errorf("%d retries of the tree call logged, want %d", n, fast.MaxRetries)
	}
	// The hub counts a request once its handler returns.
	time.Sleep(50 * time.Millisecond)
	d := delta(before, f.h.Stats())
	// Each attempt waits out the bound, then a few ms of backoff.
	if limit := time.Duration(fast.MaxRetries+1)*bound + generous; took > limit {
		t.Errorf("gave up after %s, want within %s", took, limit)
	}
	f.unchanged(head, before)
	report(t, "fails after %s: %q; tree requests %d, commits 0", took.Round(100*time.Millisecond), err, d["tree"])
	f.converge()
}

func TestFaultTimeoutStalledDownload(t *testing.T) {
	t.Parallel()
	var stalls atomic.Int32
	var blob string
	hang, release := hangs()
	f := newFXWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The first whole-file GET stalls; the safetensors header
			// reads before it are small ranged GETs.
			if blob != "" && r.URL.Path == blob && r.Header.Get("Range") == "" && stalls.Add(1) == 1 {
				next.ServeHTTP(&stallWriter{ResponseWriter: w, hang: hang, r: r, after: 300_000}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	t.Cleanup(release)
	f.withTimeouts(hub.Timeouts{Header: generous, SlowHeader: generous, Stall: bound})
	before, head := f.h.Stats(), f.head()
	blob = f.blobPath("a.safetensors")
	r, err := f.run()
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, f.log)
	}
	d := delta(before, f.h.Stats())
	f.assertMirrored(r.Plan.SourceSHA)
	log := f.log.String()
	if count(log, "resuming GET") != 1 || !strings.Contains(log, "download stalled: no byte received for 1s") {
		t.Errorf("want one Range resume after a stall:\n%s", log)
	}
	// The upload waited on its stalled source without counting it as the
	// storage's stall: one PUT per file, nothing read twice.
	if d["storage-put"] != 2 || r.BytesMoved != 4<<20 {
		t.Errorf("storage PUTs %d, bytes moved %d: want 2, %d", d["storage-put"], r.BytesMoved, 4<<20)
	}
	if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || r.Commit == head {
		t.Errorf("%d commits, want 1", n)
	}
	report(t, "ok; blob GETs %d (1 Range resume), storage PUTs %d (none redone), bytes moved %d, commits 1", d["blob"], d["storage-put"], r.BytesMoved)
}

func TestFaultTimeoutStalledUploadPart(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	var stalls atomic.Int32
	hang, release := hangs()
	f := newFXWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() && isPart2(r) && stalls.Add(1) == 1 {
				// Take 64 KiB of the 1 MiB part, then stop reading.
				io.CopyN(io.Discard, r.Body, 64<<10)
				hang(r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, devhub.WithMultipart(2<<20, 1<<20))
	t.Cleanup(release)
	// A long header bound: the part must fail on the stall, not wait for
	// an answer.
	f.withTimeouts(hub.Timeouts{Header: generous, SlowHeader: time.Minute, Stall: bound}, hub.WithTransport(smallSendBuffer()))
	before := f.h.Stats()
	armed.Store(true)
	start := time.Now()
	r, err := f.run()
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, f.log)
	}
	d := delta(before, f.h.Stats())
	f.assertMirrored(r.Plan.SourceSHA)
	log := f.log.String()
	if n := count(log, "retrying PUT"); n != 1 || !strings.Contains(log, "upload stalled: the server took no byte for 1s") {
		t.Errorf("%d PUT retries, want 1 after an upload stall:\n%s", n, log)
	}
	// a.safetensors has 3 parts (one retried); b.safetensors is a basic PUT.
	if d["storage-part"] != 3 || d["storage-put"] != 1 || stalls.Load() != 2 {
		// (the stalled attempt's handler returned no answer and is not counted)
		t.Errorf("part PUTs %d (+1 stalled), basic PUTs %d, part-2 attempts %d: want 3, 1, 2", d["storage-part"], d["storage-put"], stalls.Load())
	}
	report(t, "ok in %s; part 2 retried alone: part PUTs 3 + 1 stalled, commits %d", time.Since(start).Round(100*time.Millisecond), f.h.Stats().Commits[dstRepo]-before.Commits[dstRepo])
}

func TestFaultTimeoutSlowButMoving(t *testing.T) {
	t.Parallel()
	// 32 KiB every 100 ms: 1 MiB takes about 3.2 s, over twice the 1.5 s
	// stall bound, while each gap is a fifteenth of it. (The bound is well
	// above TCP's 200 ms zero-window probe, which the slowly read upload
	// runs into.)
	const gap = 100 * time.Millisecond
	const stall = 1500 * time.Millisecond
	var blob string
	var armed atomic.Bool
	var f *fx
	f = newFXWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case armed.Load() && r.URL.Path == blob:
				next.ServeHTTP(&trickleWriter{ResponseWriter: w, gap: gap}, r)
			case armed.Load() && isPart2(r):
				r.Body = &trickleReader{r: r.Body, gap: gap}
				next.ServeHTTP(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}, devhub.WithMultipart(2<<20, 1<<20))
	// Bytes the kernel took but the server has yet to read count against
	// the header bound once the client has sent them all: SlowHeader must
	// cover draining them, as the default's minutes do.
	f.withTimeouts(hub.Timeouts{Header: generous, SlowHeader: 10 * time.Second, Stall: stall}, hub.WithTransport(smallSendBuffer()))
	blob = f.blobPath("b.safetensors")
	before := f.h.Stats()
	armed.Store(true)
	start := time.Now()
	r, err := f.run()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("a slow but moving transfer was cut: %v\n%s", err, f.log)
	}
	d := delta(before, f.h.Stats())
	f.assertMirrored(r.Plan.SourceSHA)
	if log := f.log.String(); strings.Contains(log, "stalled") || strings.Contains(log, "retrying") || strings.Contains(log, "resuming") {
		t.Errorf("a moving transfer was retried:\n%s", log)
	}
	if took < 32*gap {
		t.Errorf("run took %s: the trickle did not happen", took)
	}
	report(t, "ok in %s; download of b and upload of a's part 2 at 32 KiB per 100 ms, no retries, blob GETs %d, part PUTs %d", took.Round(100*time.Millisecond), d["blob"], d["storage-part"])
}

func TestFaultTimeoutHungCommit(t *testing.T) {
	t.Parallel()
	t.Run("before applying", func(t *testing.T) {
		var armed atomic.Bool
		f := newFXWith(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if routeOf(r) == "commit" && armed.CompareAndSwap(true, false) {
					// Take the commit, never apply or answer it.
					io.Copy(io.Discard, r.Body)
					<-r.Context().Done()
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		f.withTimeouts(hub.Timeouts{Header: generous, SlowHeader: bound, Stall: generous})
		before := f.h.Stats()
		armed.Store(true)
		r, err := f.run()
		if err != nil {
			t.Fatalf("publish: %v\n%s", err, f.log)
		}
		after := f.h.Stats()
		d := delta(before, after)
		if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || d["commit"] != 1 || r.Commit != f.head() {
			t.Errorf("%d commits from %d commit requests reaching the hub (result %s, head %s): want 1 from 1 (+1 taken and dropped)", n, d["commit"], r.Commit, f.head())
		}
		if log := f.log.String(); !strings.Contains(log, "reading the head") || !strings.Contains(log, "no response within 1s") {
			t.Errorf("the timed-out commit did not go through the head check:\n%s", log)
		}
		f.assertMirrored(r.Plan.SourceSHA)
		report(t, "ok; head unmoved, re-planned commit sent: commit requests %d, commits 1", d["commit"])
	})
	t.Run("applied, answer hangs", func(t *testing.T) {
		var armed atomic.Bool
		f := newFXWith(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if routeOf(r) == "commit" && armed.CompareAndSwap(true, false) {
					next.ServeHTTP(&discard{h: http.Header{}}, r)
					<-r.Context().Done()
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		f.withTimeouts(hub.Timeouts{Header: generous, SlowHeader: bound, Stall: generous})
		before := f.h.Stats()
		armed.Store(true)
		r, err := f.run()
		if err != nil {
			t.Fatalf("publish: %v\n%s", err, f.log)
		}
		after := f.h.Stats()
		d := delta(before, after)
		if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || d["commit"] != 1 || r.Commit != f.head() {
			t.Errorf("%d commits from %d commit requests (result %s, head %s): want 1 from 1", n, d["commit"], r.Commit, f.head())
		}
		if log := f.log.String(); !strings.Contains(log, "had landed") {
			t.Errorf("the run did not find its commit through the head:\n%s", log)
		}
		f.assertMirrored(r.Plan.SourceSHA)
		report(t, "ok; commit requests %d, commits 1 (found at the head), result = head", d["commit"])
	})
}

// countLines counts the lines of s that hold every one of subs.
func countLines(s string, subs ...string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all {
			n++
		}
	}
	return n
}

// discard lets the hub serve a request whose answer is never sent.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
