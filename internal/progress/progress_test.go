package progress

import (
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

// fakeClock is a clock the test advances and a ticker it fires by hand.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	ticks chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ticks: make(chan time.Time)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tick fires the ticker and waits until the output holds want more bytes
// than before, so the drawing goroutine is done before the test moves on.
func (c *fakeClock) tick(t *testing.T, out *syncbuf.Buffer, want string) {
	t.Helper()
	before := out.String()
	c.ticks <- c.now()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := out.String()
		if len(got) >= len(before)+len(want) {
			if got[len(before):] != want {
				t.Fatalf("after a tick the output added\n%q\nwant\n%q", got[len(before):], want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a tick the output added %q, want %q", got[len(before):], want)
		}
		time.Sleep(time.Millisecond)
	}
}

// captureStdout runs f with os.Stdout sent to a pipe and returns what was
// written there.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	got := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	defer func() { os.Stdout = orig }()
	f()
	os.Stdout = orig
	w.Close()
	return <-got
}

// feed adds n bytes to f in 8 KiB chunks, as the copy loop does.
func feed(f *File, n int64) {
	for ; n > 0; n -= 8 << 10 {
		f.Add(min(n, 8<<10))
	}
}

// TestProgressPlainLinesArePeriodic: off a terminal, each tick prints one
// line per active file with its bytes, share and rate; chunks between
// ticks print nothing; a finished file gets its own line; nothing uses \r.
func TestProgressPlainLinesArePeriodic(t *testing.T) {
	out := &syncbuf.Buffer{}
	clk := newFakeClock()
	stdout := captureStdout(t, func() {
		p := start(out, false, "copied", clk.now, clk.ticks, func() {})
		a := p.Begin("a.safetensors", 10<<20)
		b := p.Begin("sub/b.json", 1000)
		feed(a, 5<<20) // 640 chunks
		b.Add(500)
		clk.advance(2 * time.Second)
		clk.tick(t, out, "progress: a.safetensors 5.0 MiB/10.0 MiB (50%) 2.5 MiB/s\n"+
			"progress: sub/b.json 500 B/1000 B (50%) 250 B/s\n")

		before := out.String()
		feed(a, 5<<20) // 640 more chunks and no tick: no line
		clk.advance(2 * time.Second)
		time.Sleep(20 * time.Millisecond)
		if got := out.String(); got != before {
			t.Fatalf("chunks without a tick printed %q", got[len(before):])
		}
		p.Finish(a, "multipart")
		if got := out.String()[len(before):]; got != "copied a.safetensors (10.0 MiB) in 4s, 2.5 MiB/s [multipart]\n" {
			t.Fatalf("finish printed %q", got)
		}
		clk.tick(t, out, "progress: sub/b.json 500 B/1000 B (50%) 125 B/s\n")
		p.Finish(b, "regular")
		before = out.String()
		clk.idleTick() // no active file: a tick prints nothing
		p.Close()
		if got := out.String(); got != before {
			t.Errorf("idle tick or close printed %q", got[len(before):])
		}
	})
	if got := out.String(); strings.Contains(got, "\r") || strings.Count(got, "\n") != 5 {
		t.Errorf("plain output must be whole lines without \\r, 5 of them:\n%s", got)
	}
	if stdout != "" {
		t.Errorf("progress wrote to stdout: %q", stdout)
	}
}

// idleTick fires one tick when nothing should be drawn (so there is no
// output to wait for) and gives the drawing goroutine time to act on it.
func (c *fakeClock) idleTick() {
	c.ticks <- c.now()
	time.Sleep(20 * time.Millisecond)
}

// TestProgressTerminalRedrawsOneLine: on a terminal each tick redraws a
// single status line in place (\r, clear to end of line) listing every
// active file; a log line first clears the status line; chunks between
// ticks draw nothing; close leaves the cursor on a clean line.
func TestProgressTerminalRedrawsOneLine(t *testing.T) {
	out := &syncbuf.Buffer{}
	clk := newFakeClock()
	const clear = "\r\033[K"
	stdout := captureStdout(t, func() {
		p := start(out, true, "copied", clk.now, clk.ticks, func() {})
		a := p.Begin("a.safetensors", 4<<20)
		b := p.Begin("b.safetensors", 2<<20)
		feed(a, 1<<20)
		clk.advance(time.Second)
		clk.tick(t, out, clear+"a.safetensors 1.0 MiB/4.0 MiB (25%) 1.0 MiB/s | b.safetensors 0 B/2.0 MiB (0%) 0 B/s")
		feed(a, 1<<20)
		feed(b, 1<<20)
		clk.advance(time.Second)
		clk.tick(t, out, clear+"a.safetensors 2.0 MiB/4.0 MiB (50%) 1.0 MiB/s | b.safetensors 1.0 MiB/2.0 MiB (50%) 512.0 KiB/s")

		before := out.String()
		p.Logf("pinned %s", "src@main")
		if got := out.String()[len(before):]; got != clear+"pinned src@main\n" {
			t.Fatalf("a log line over the status line printed %q", got)
		}
		feed(b, 1<<20)
		clk.advance(time.Second)
		p.Finish(b, "regular")
		clk.tick(t, out, clear+"a.safetensors 2.0 MiB/4.0 MiB (50%) 682.7 KiB/s")
		before = out.String()
		p.Close()
		if got := out.String()[len(before):]; got != clear {
			t.Errorf("close printed %q, want the status line cleared", got)
		}
	})
	got := out.String()
	if n := strings.Count(got, clear+"a.safetensors"); n != 3 {
		t.Errorf("%d status redraws for 3 ticks and 2048 chunks:\n%q", n, got)
	}
	if !strings.Contains(got, "\ncopied b.safetensors (2.0 MiB) in 3s, 682.7 KiB/s [regular]\n") {
		t.Errorf("finished file has no line of its own:\n%q", got)
	}
	if !strings.HasSuffix(got, clear) {
		t.Errorf("output does not end on a cleared line: %q", got)
	}
	if stdout != "" {
		t.Errorf("progress wrote to stdout: %q", stdout)
	}
}

// TestProgressRealTickerIsPeriodic: with the real ticker and a short
// interval, thousands of chunks over ~150 ms give a handful of lines. The
// loop runs on until it has fed 1,000 chunks and seen a line, however
// slowly a loaded machine schedules it: the bounds hold for any duration.
func TestProgressRealTickerIsPeriodic(t *testing.T) {
	out := &syncbuf.Buffer{}
	p := New(out, false, 25*time.Millisecond, "copied")
	f := p.Begin("a.safetensors", 1<<30)
	start := time.Now()
	chunks := 0
	for time.Since(start) < 150*time.Millisecond || chunks < 1000 ||
		(!strings.Contains(out.String(), "progress: a.safetensors ") && time.Since(start) < 10*time.Second) {
		// No sleep between chunks: a sleep can last milliseconds on a
		// loaded machine, which would bring the chunk rate near the tick
		// rate and make the ratio below a matter of luck.
		f.Add(8 << 10)
		chunks++
		runtime.Gosched()
	}
	p.Close()
	elapsed := time.Since(start)
	lines := strings.Count(out.String(), "progress: a.safetensors ")
	if lines < 1 || lines > int(elapsed/(25*time.Millisecond))+1 || lines*10 > chunks {
		t.Errorf("%d lines for %d chunks in %s with a 25ms interval:\n%s", lines, chunks, elapsed, out)
	}
}

// TestProgressOverallLine: once the total is known, each tick starts with
// an overall line (files done of the total, bytes, rate since the start,
// time left at that rate); files sent whole (inline) are logged and
// counted like streamed ones.
func TestProgressOverallLine(t *testing.T) {
	out := &syncbuf.Buffer{}
	clk := newFakeClock()
	p := start(out, false, "copied", clk.now, clk.ticks, func() {})
	p.SetTotal(3, 10<<20+1000)
	p.Done("config.json", 1000, "inline")
	if got := out.String(); got != "copied config.json (1000 B) [inline]\n" {
		t.Fatalf("an inline file logged %q", got)
	}
	a := p.Begin("a.safetensors", 8<<20)
	feed(a, 2<<20)
	clk.advance(2 * time.Second)
	clk.tick(t, out, "progress: total 1/3 files, 2.0 MiB/10.0 MiB, 1.0 MiB/s, ETA 8s\n"+
		"progress: a.safetensors 2.0 MiB/8.0 MiB (25%) 1.0 MiB/s\n")
	feed(a, 6<<20)
	clk.advance(2 * time.Second)
	p.Finish(a, "stream")
	b := p.Begin("b.safetensors", 2<<20)
	feed(b, 1<<20)
	clk.advance(time.Second)
	// 9 MiB in 5 s; 1 MiB left at 1.8 MiB/s.
	clk.tick(t, out, "progress: total 2/3 files, 9.0 MiB/10.0 MiB, 1.8 MiB/s, ETA 1s\n"+
		"progress: b.safetensors 1.0 MiB/2.0 MiB (50%) 1.0 MiB/s\n")
	p.Close()
}

// TestProgressTerminalOverall: on a terminal the overall line leads the
// status line.
func TestProgressTerminalOverall(t *testing.T) {
	out := &syncbuf.Buffer{}
	clk := newFakeClock()
	p := start(out, true, "uploaded", clk.now, clk.ticks, func() {})
	p.SetTotal(1, 4<<20)
	a := p.Begin("a.bin", 4<<20)
	feed(a, 1<<20)
	clk.advance(time.Second)
	clk.tick(t, out, "\r\033[Ktotal 0/1 files, 1.0 MiB/4.0 MiB, 1.0 MiB/s, ETA 3s | a.bin 1.0 MiB/4.0 MiB (25%) 1.0 MiB/s")
	p.Finish(a, "lfs")
	if !strings.HasSuffix(out.String(), "\r\033[Kuploaded a.bin (4.0 MiB) in 1s, 4.0 MiB/s [lfs]\n") {
		t.Errorf("finish printed %q", out.String())
	}
	p.Close()
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -123: "-123", -1234: "-1,234"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
