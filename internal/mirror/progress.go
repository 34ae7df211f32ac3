package mirror

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports transfers: on a terminal a status line redrawn a few
// times a second with each active file's bytes and rate; otherwise a plain
// line every interval. Finished files always get a line of their own.
type progress struct {
	w    io.Writer
	term bool
	now  func() time.Time

	mu     sync.Mutex
	active map[*fileProgress]bool
	drawn  bool
	stop   chan struct{}
	done   chan struct{}
}

type fileProgress struct {
	path  string
	size  int64
	n     atomic.Int64
	start time.Time
}

func (f *fileProgress) add(n int64) {
	if f != nil {
		f.n.Add(n)
	}
}

func (f *fileProgress) reset() {
	if f != nil {
		f.n.Store(0)
	}
}

// redrawEvery is how often the terminal status line is redrawn.
const redrawEvery = 200 * time.Millisecond

func newProgress(w io.Writer, term bool, every time.Duration) *progress {
	if term {
		every = redrawEvery
	}
	t := time.NewTicker(every)
	return startProgress(w, term, time.Now, t.C, t.Stop)
}

// startProgress runs a progress that draws on every value of ticks and
// measures time with now; tests drive both by hand.
func startProgress(w io.Writer, term bool, now func() time.Time, ticks <-chan time.Time, stopTicks func()) *progress {
	p := &progress{w: w, term: term, now: now, active: map[*fileProgress]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer stopTicks()
		for {
			select {
			case <-p.stop:
				return
			case <-ticks:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) close() {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	p.clearLine()
	p.mu.Unlock()
}

func (p *progress) clearLine() {
	if p.term && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// logf prints one line, above the status line on a terminal.
func (p *progress) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) begin(path string, size int64) *fileProgress {
	f := &fileProgress{path: path, size: size, start: p.now()}
	p.mu.Lock()
	p.active[f] = true
	p.mu.Unlock()
	return f
}

func (p *progress) finish(f *fileProgress, method string) {
	p.mu.Lock()
	delete(p.active, f)
	p.mu.Unlock()
	d := p.now().Sub(f.start)
	p.logf("copied %s (%s) in %s, %s/s [%s]", f.path, HumanBytes(f.size), d.Round(time.Millisecond), HumanBytes(rate(f.size, d)), method)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.active) == 0 {
		return
	}
	files := make([]*fileProgress, 0, len(p.active))
	for f := range p.active {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var parts []string
	for _, f := range files {
		n := f.n.Load()
		pct := 100.0
		if f.size > 0 {
			pct = 100 * float64(n) / float64(f.size)
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s (%.0f%%) %s/s", f.path, HumanBytes(n), HumanBytes(f.size), pct, HumanBytes(rate(n, p.now().Sub(f.start)))))
	}
	if p.term {
		line := strings.Join(parts, " | ")
		if len(line) > 200 {
			line = line[:200]
		}
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.drawn = true
		return
	}
	for _, s := range parts {
		fmt.Fprintf(p.w, "progress: %s\n", s)
	}
}
