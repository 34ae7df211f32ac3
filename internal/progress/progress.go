// Package progress reports file transfers as they happen: one log line per
// finished file, and, while transfers run, the bytes and rate of each active
// file plus an overall line (files done of the total, bytes, rate, time
// left). On a terminal the status is one line redrawn in place; elsewhere it
// is plain lines printed periodically, so CI logs stay readable.
package progress

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reporter reports the transfers of one run. It is safe for concurrent use.
type Reporter struct {
	w    io.Writer
	term bool
	now  func() time.Time
	verb string // what Finish says happened to a file: "copied", "uploaded"

	mu         sync.Mutex
	active     map[*File]bool
	drawn      bool
	start      time.Time
	totalFiles int
	totalBytes int64
	doneFiles  int
	doneBytes  int64 // bytes of finished files
	stop       chan struct{}
	done       chan struct{}
}

// File is the progress of one file's transfer.
type File struct {
	path  string
	size  int64
	n     atomic.Int64
	start time.Time
}

// Add counts n more bytes of the file; a nil File ignores it.
func (f *File) Add(n int64) {
	if f != nil {
		f.n.Add(n)
	}
}

// Reset starts the file's count over, for a transfer that is retried.
func (f *File) Reset() {
	if f != nil {
		f.n.Store(0)
	}
}

// redrawEvery is how often the terminal status line is redrawn.
const redrawEvery = 200 * time.Millisecond

// New starts a Reporter writing to w: on a terminal (term) a status line
// redrawn a few times a second, otherwise plain lines every interval. verb
// is the word of a finished file's line ("copied").
func New(w io.Writer, term bool, every time.Duration, verb string) *Reporter {
	if term {
		every = redrawEvery
	}
	t := time.NewTicker(every)
	return start(w, term, verb, time.Now, t.C, t.Stop)
}

// start runs a Reporter that draws on every value of ticks and measures
// time with now; tests drive both by hand.
func start(w io.Writer, term bool, verb string, now func() time.Time, ticks <-chan time.Time, stopTicks func()) *Reporter {
	r := &Reporter{w: w, term: term, verb: verb, now: now, start: now(), active: map[*File]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer stopTicks()
		for {
			select {
			case <-r.stop:
				return
			case <-ticks:
				r.draw()
			}
		}
	}()
	return r
}

// Close stops drawing and leaves the cursor on a clean line.
func (r *Reporter) Close() {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	r.clearLine()
	r.mu.Unlock()
}

func (r *Reporter) clearLine() {
	if r.term && r.drawn {
		fmt.Fprint(r.w, "\r\033[K")
		r.drawn = false
	}
}

// SetTotal sets what the run will transfer, for the overall line; until it
// is called there is none. The time left is measured from this call.
func (r *Reporter) SetTotal(files int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.totalFiles == 0 && r.totalBytes == 0 {
		r.start = r.now()
	}
	r.totalFiles, r.totalBytes = files, bytes
}

// Logf prints one line, above the status line on a terminal.
func (r *Reporter) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLine()
	fmt.Fprintf(r.w, format+"\n", args...)
}

// Begin starts reporting the transfer of a file of size bytes.
func (r *Reporter) Begin(path string, size int64) *File {
	f := &File{path: path, size: size, start: r.now()}
	r.mu.Lock()
	r.active[f] = true
	r.mu.Unlock()
	return f
}

// Finish ends a file's transfer and logs it with its size, time, rate and
// how it was sent.
func (r *Reporter) Finish(f *File, method string) {
	d := r.now().Sub(f.start)
	r.mu.Lock()
	delete(r.active, f)
	r.doneFiles++
	r.doneBytes += f.size
	r.mu.Unlock()
	r.Logf("%s %s (%s) in %s, %s/s [%s]", r.verb, f.path, HumanBytes(f.size), d.Round(time.Millisecond), HumanBytes(rate(f.size, d)), method)
}

// Done logs and counts a file sent whole without a transfer of its own,
// such as a small file committed inline.
func (r *Reporter) Done(path string, size int64, method string) {
	r.mu.Lock()
	r.doneFiles++
	r.doneBytes += size
	r.mu.Unlock()
	r.Logf("%s %s (%s) [%s]", r.verb, path, HumanBytes(size), method)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// overall is the overall line: files done of the total, bytes done of the
// total, the rate since SetTotal and the time left at that rate. Called with
// mu held.
func (r *Reporter) overall() string {
	done := r.doneBytes
	for f := range r.active {
		done += min(f.n.Load(), f.size)
	}
	elapsed := r.now().Sub(r.start)
	bps := rate(done, elapsed)
	eta := "--"
	if left := r.totalBytes - done; bps > 0 && left >= 0 {
		eta = time.Duration(float64(left) / float64(bps) * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("total %d/%d files, %s/%s, %s/s, ETA %s",
		r.doneFiles, r.totalFiles, HumanBytes(done), HumanBytes(r.totalBytes), HumanBytes(bps), eta)
}

func (r *Reporter) draw() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.active) == 0 {
		return
	}
	files := make([]*File, 0, len(r.active))
	for f := range r.active {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var parts []string
	if r.totalFiles > 0 {
		parts = append(parts, r.overall())
	}
	for _, f := range files {
		n := f.n.Load()
		pct := 100.0
		if f.size > 0 {
			pct = 100 * float64(n) / float64(f.size)
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s (%.0f%%) %s/s", f.path, HumanBytes(n), HumanBytes(f.size), pct, HumanBytes(rate(n, r.now().Sub(f.start)))))
	}
	if r.term {
		line := strings.Join(parts, " | ")
		if len(line) > 200 {
			line = line[:200]
		}
		fmt.Fprint(r.w, "\r\033[K"+line)
		r.drawn = true
		return
	}
	for _, s := range parts {
		fmt.Fprintf(r.w, "progress: %s\n", s)
	}
}

// HumanBytes formats n in binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Thousands formats n with a comma between each group of three digits.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
