package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/secrettest"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

// The fault suite: each case injects one failure into a republish of a
// changed source and checks that the run either succeeds with the right
// bytes or fails with a clear error leaving the sidecar's head where it
// was, and that a rerun without the fault converges. Every text the runs
// produce and every request the hub sees is searched for the token.
// `go test -v -run Fault ./internal/mirror` prints one "reliability:" line
// of numbers per case.

// fx is a fault-suite fixture: the mirror test env behind a watched hub.
type fx struct {
	*env
	w *secrettest.Watch
}

// newFX starts a devhub (FoxlightAI write token) whose requests and
// responses are searched for the token, seeds the source, mirrors it once,
// then changes two shards upstream: the next publish must copy
// a.safetensors (3 MiB) and b.safetensors (1 MiB) and write the card.
func newFX(t *testing.T, opts ...devhub.Option) *fx {
	t.Helper()
	return newFXWith(t, func(h http.Handler) http.Handler { return h }, opts...)
}

// newFXWith is newFX with the hub handler wrapped by wrap (stand-ins that
// break the protocol).
func newFXWith(t *testing.T, wrap func(http.Handler) http.Handler, opts ...devhub.Option) *fx {
	t.Helper()
	h, err := devhub.New(append([]devhub.Option{devhub.WithToken(token, "write:FoxlightAI/*")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w := secrettest.New(t, token)
	srv := httptest.NewServer(w.Handler("hub", wrap(h)))
	t.Cleanup(func() { srv.Close(); h.Close() })
	if err := h.CreateRepo(srcRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	seed(t, h, "initial", map[string]int64{"a.safetensors": 3 << 20, "b.safetensors": 1 << 20, "sub/c.safetensors": 512 << 10},
		map[string]string{"config.json": `{"model_type":"moonvit"}`, "README.md": "---\nlicense: apache-2.0\n---\n# vision\n"}, nil)
	e := &env{t: t, h: h, url: srv.URL, log: &syncbuf.Buffer{}}
	cl := hub.New(srv.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(e.log, f+"\n", a...) }))
	e.opts = entryOpts()
	e.opts.Source, e.opts.Dest, e.opts.Progress, e.opts.Collection = cl, cl, w.Writer("progress", e.log), "none"
	f := &fx{env: e, w: w}
	f.mustPublish()
	if _, err := h.CommitFiles(srcRepo, "main", "upstream change", []devhub.SeedFile{
		{Path: "a.safetensors", Content: gen(t, "a.safetensors", 3<<20, 1)},
		{Path: "b.safetensors", Content: gen(t, "b.safetensors", 1<<20, 1)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// entryOpts are the Options of the mirror tests' catalog entry, without
// clients.
func entryOpts() mirror.Options {
	return mirror.Options{
		Entry: &catalog.Entry{Key: "kimi", SourceModel: "moonshotai/Kimi-K2.5", VisionSourceRepo: srcRepo, VisionSidecarRepo: dstRepo,
			Source: &catalog.Source{Namespace: "foxlight"}},
		Jobs: 3, ToolVersion: "test",
	}
}

// run publishes with the token watched in the error and the result.
func (f *fx) run() (*mirror.Result, error) {
	f.t.Helper()
	r, err := f.publish()
	f.w.Err("error", err)
	if r != nil {
		f.w.Text("result", fmt.Sprintf("%+v", *r))
	}
	return r, err
}

func (f *fx) head() string {
	f.t.Helper()
	h, err := f.h.Head(dstRepo, "main")
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// unchanged asserts that a failed run left the sidecar where it was.
func (f *fx) unchanged(head string, before devhub.Stats) {
	f.t.Helper()
	if h := f.head(); h != head {
		f.t.Errorf("sidecar head moved %s -> %s after a failed run", head, h)
	}
	if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 0 {
		f.t.Errorf("a failed run made %d commits", n)
	}
}

// converge reruns with no fault: one new commit with the right bytes.
func (f *fx) converge() {
	f.t.Helper()
	f.h.ClearFaults()
	before := f.h.Stats()
	r, err := f.run()
	if err != nil {
		f.t.Fatalf("rerun: %v\n%s", err, f.log)
	}
	if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || r.Commit != f.head() {
		f.t.Errorf("rerun made %d commits (result %s, head %s), want 1", n, r.Commit, f.head())
	}
	f.assertMirrored(r.Plan.SourceSHA)
}

// delta is what the hub counted between two snapshots, per route.
func delta(before, after devhub.Stats) map[string]int {
	d := map[string]int{}
	for k, v := range after.Requests {
		if v-before.Requests[k] != 0 {
			d[k] = v - before.Requests[k]
		}
	}
	return d
}

// report prints a case's numbers for the Faults table of docs/reliability.md.
func report(t *testing.T, format string, args ...any) {
	t.Logf("reliability: %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

func count(s, sub string) int { return strings.Count(s, sub) }

func TestFaultSourceDropsMidFile(t *testing.T) {
	t.Parallel()
	t.Run("once", func(t *testing.T) {
		f := newFX(t, devhub.WithMultipart(2<<20, 1<<20))
		before, head := f.h.Stats(), f.head()
		// Times 4: each file's first three GETs are small ranges that end
		// before the cut (the header check's two and preupload's sample);
		// the fourth is the copy's.
		f.h.AddFault(devhub.Fault{Route: "blob", Path: f.blobPath("b.safetensors"), Kind: devhub.FaultCutBody, AfterBytes: 300_000, Times: 4})
		f.h.AddFault(devhub.Fault{Route: "blob", Path: f.blobPath("a.safetensors"), Kind: devhub.FaultCutBody, AfterBytes: 200_000, Times: 4})
		r, err := f.run()
		if err != nil {
			t.Fatalf("publish: %v\n%s", err, f.log)
		}
		after := f.h.Stats()
		f.assertMirrored(r.Plan.SourceSHA)
		resumes := count(f.log.String(), "resuming GET")
		if resumes != 2 {
			t.Errorf("%d Range resumes, want 2 (one per cut file)\n%s", resumes, f.log)
		}
		// Resuming re-reads nothing: the bytes served for the two files are
		// their sizes (plus the headers of the unchanged shard for the card).
		if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || r.Commit == head {
			t.Errorf("%d commits, want 1", n)
		}
		if r.BytesMoved != 4<<20+int64(len(`{"model_type":"moonvit"}`)) && r.BytesMoved != 4<<20 {
			t.Errorf("moved %d bytes, want the two shards once (%d)", r.BytesMoved, 4<<20)
		}
		report(t, "ok; blob GETs %d (4 parts/files + %d resumes), bytes moved %d, commits 1", delta(before, after)["blob"], resumes, r.BytesMoved)
	})
	t.Run("repeatedly", func(t *testing.T) {
		f := newFX(t)
		before, head := f.h.Stats(), f.head()
		// Every response for a.safetensors stops after 200 kB.
		f.h.AddFault(devhub.Fault{Route: "blob", Path: f.blobPath("a.safetensors"), Kind: devhub.FaultCutBody, AfterBytes: 200_000})
		_, err := f.run()
		if err == nil {
			t.Fatalf("publish succeeded while the source never delivered a.safetensors\n%s", f.log)
		}
		if !strings.Contains(err.Error(), "a.safetensors") || !strings.Contains(err.Error(), "nothing was committed") {
			t.Errorf("error %q should name the file and say nothing was committed", err)
		}
		f.unchanged(head, before)
		d := delta(before, f.h.Stats())
		// Bounded: (1 + 4 retries of the PUT) x (1 + 4 resumes of the GET),
		// plus the header check's two ranged GETs per shard (3 shards).
		if d["blob"] > 25+2+6 || d["storage-put"] > 5+1 {
			t.Errorf("unbounded retries: %v", d)
		}
		report(t, "fails: %q; blob GETs %d, storage PUTs %d, commits 0", err, d["blob"], d["storage-put"])
		f.converge()
	})
}

func TestFaultStorage500(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		multipart bool
		route     string
		times     int
	}{
		{"put once", false, "storage-put", 1},
		{"put repeatedly", false, "storage-put", 0},
		{"part once", true, "storage-part", 1},
		{"part repeatedly", true, "storage-part", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []devhub.Option
			if c.multipart {
				opts = append(opts, devhub.WithMultipart(2<<20, 1<<20))
			}
			f := newFX(t, opts...)
			before, head := f.h.Stats(), f.head()
			f.h.AddFault(devhub.Fault{Route: c.route, Kind: devhub.FaultStatus, Status: 500, Times: c.times})
			r, err := f.run()
			d := delta(before, f.h.Stats())
			if c.times == 1 {
				if err != nil {
					t.Fatalf("publish: %v\n%s", err, f.log)
				}
				f.assertMirrored(r.Plan.SourceSHA)
				if n := count(f.log.String(), "retrying PUT"); n != 1 {
					t.Errorf("%d PUT retries, want 1", n)
				}
				report(t, "ok; %s requests %d (1 retried), retries logged %d, commits %d", c.route, d[c.route], count(f.log.String(), "retrying PUT"), d["commit"])
				return
			}
			if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), ".safetensors") || !strings.Contains(err.Error(), "nothing was committed") {
				t.Fatalf("error %v should name the file, the 500 and say nothing was committed", err)
			}
			f.unchanged(head, before)
			// Two basic transfers, or three parts of a.safetensors, in flight.
			if d[c.route] > 3*(fast.MaxRetries+1) || d["commit"] != 0 {
				t.Errorf("requests %v: more than %d attempts per transfer, or a commit", d, fast.MaxRetries+1)
			}
			report(t, "fails: %q; %s requests %d (<= %d per transfer), commits 0", err, c.route, d[c.route], fast.MaxRetries+1)
			f.converge()
		})
	}
}

var waitRE = regexp.MustCompile(`retrying GET \S+ in (\S+):`)

func TestFaultRateLimitBurst(t *testing.T) {
	t.Parallel()
	t.Run("waits as told", func(t *testing.T) {
		f := newFX(t)
		before := f.h.Stats()
		// A burst of two 429s (RateLimit "api";r=0;t=1, Retry-After: 1) on
		// the tree listing.
		f.h.AddFault(devhub.Fault{Route: "tree", Kind: devhub.FaultRateLimit, RetryAfter: time.Second, Times: 2})
		start := time.Now()
		r, err := f.run()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("publish: %v\n%s", err, f.log)
		}
		d := delta(before, f.h.Stats())
		f.assertMirrored(r.Plan.SourceSHA)
		waits := waitRE.FindAllStringSubmatch(f.log.String(), -1)
		if len(waits) != 2 {
			t.Fatalf("%d waits logged, want 2:\n%s", len(waits), f.log)
		}
		var total time.Duration
		for _, w := range waits {
			dur, _ := time.ParseDuration(w[1])
			// The RateLimit header's t=1 plus the client's one-second margin;
			// never the 1 ms backoff of the test's retry policy.
			if dur < time.Second || dur > 2*time.Second {
				t.Errorf("waited %s, want what the hub asked (1 s + 1 s margin)", dur)
			}
			total += dur
		}
		if took < total {
			t.Errorf("run took %s, less than the %s it was told to wait", took, total)
		}
		// No hammering: the two refused requests plus the same listings as
		// an unthrottled run (source and sidecar trees, the verify).
		if d["tree"] != 2+3 {
			t.Errorf("tree requests %d, want 5 (2 refused + 3)", d["tree"])
		}
		report(t, "ok; waits %s+%s (told t=1 s; +1 s margin), run %s, tree requests %d (2 refused), commits %d", waits[0][1], waits[1][1], took.Round(100*time.Millisecond), d["tree"], d["commit"])
	})
	t.Run("longer than the client will wait", func(t *testing.T) {
		f := newFX(t)
		before, head := f.h.Stats(), f.head()
		f.h.AddFault(devhub.Fault{Route: "tree", Kind: devhub.FaultRateLimit, RetryAfter: time.Hour})
		start := time.Now()
		_, err := f.run()
		if !errors.Is(err, hub.ErrRateLimited) {
			t.Fatalf("error %v, want one matching ErrRateLimited", err)
		}
		d := delta(before, f.h.Stats())
		if d["tree"] != 1 || time.Since(start) > 5*time.Second {
			t.Errorf("tree requests %d in %s: the client should give up at once", d["tree"], time.Since(start))
		}
		f.unchanged(head, before)
		report(t, "fails at once: %q; tree requests 1", err)
		f.converge()
	})
	t.Run("on the commit", func(t *testing.T) {
		f := newFX(t)
		before := f.h.Stats()
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultRateLimit, RetryAfter: time.Second, Times: 1})
		r, err := f.run()
		if err != nil {
			t.Fatalf("a 429 on the commit failed the run: %v\n%s", err, f.log)
		}
		d := delta(before, f.h.Stats())
		if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 1 || d["commit"] != 2 {
			t.Errorf("%d commits from %d commit requests, want 1 from 2", n, d["commit"])
		}
		f.assertMirrored(r.Plan.SourceSHA)
		report(t, "ok; commit requests %d (1 refused with 429), commits 1", d["commit"])
	})
}

func TestFaultConcurrentWriter(t *testing.T) {
	t.Parallel()
	t.Run("once", func(t *testing.T) {
		f := newFX(t)
		before := f.h.Stats()
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Times: 1, Before: func() {
			if _, err := f.h.CommitFiles(dstRepo, "main", "concurrent", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader("x")}}, nil); err != nil {
				t.Error(err)
			}
		}})
		r, err := f.run()
		if err != nil {
			t.Fatalf("publish: %v\n%s", err, f.log)
		}
		after := f.h.Stats()
		d := delta(before, after)
		if d["commit"] != 2 || after.Commits[dstRepo]-before.Commits[dstRepo] != 2 {
			t.Errorf("commit requests %d, commits %d; want 2 (412 + re-planned) and 2 (theirs + ours)", d["commit"], after.Commits[dstRepo]-before.Commits[dstRepo])
		}
		if d["storage-put"] != 2 {
			t.Errorf("storage PUTs %d, want 2: the re-plan reuses the uploads", d["storage-put"])
		}
		if _, ok := f.tree()["NOTES.md"]; !ok {
			t.Errorf("the concurrent writer's file was lost")
		}
		f.assertMirrored(r.Plan.SourceSHA)
		report(t, "ok; commit requests %d (1 answered 412), storage PUTs %d (not redone), commits %d (theirs + ours)", d["commit"], d["storage-put"], after.Commits[dstRepo]-before.Commits[dstRepo])
	})
	t.Run("on every attempt", func(t *testing.T) {
		f := newFX(t)
		before := f.h.Stats()
		n := 0
		f.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Before: func() {
			n++
			if _, err := f.h.CommitFiles(dstRepo, "main", "concurrent", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader(fmt.Sprint(n))}}, nil); err != nil {
				t.Error(err)
			}
		}})
		_, err := f.run()
		if !errors.Is(err, hub.ErrPreconditionFailed) || !strings.Contains(err.Error(), dstRepo) {
			t.Fatalf("error %v: want a 412 naming the sidecar", err)
		}
		after := f.h.Stats()
		d := delta(before, after)
		if d["commit"] != 4 || after.Commits[dstRepo]-before.Commits[dstRepo] != n {
			t.Errorf("commit requests %d, commits %d (theirs %d); want 4 attempts (1 + 3 re-plans) and only theirs", d["commit"], after.Commits[dstRepo]-before.Commits[dstRepo], n)
		}
		report(t, "fails: %q; commit requests %d (1 + 3 re-plans), our commits 0", err, d["commit"])
		f.converge()
	})
}

func TestFaultCommitResponseLost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault devhub.Fault
		sent  int // commit requests expected
	}{
		// The hub applies the commit, then the connection dies.
		{"applied, answer dropped", devhub.Fault{Route: "commit", Kind: devhub.FaultDropResponse, Times: 1}, 1},
		// The connection dies while the commit is uploaded: not applied.
		{"not applied, request cut", devhub.Fault{Route: "commit", Kind: devhub.FaultCutBody, AfterBytes: 100, Times: 1}, 2},
		// A gateway answers 502 before the hub sees it: the outcome is
		// unknown to the client, the head says it did not land.
		{"not applied, 502", devhub.Fault{Route: "commit", Kind: devhub.FaultStatus, Status: 502, Times: 1}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFX(t)
			before := f.h.Stats()
			f.h.AddFault(c.fault)
			r, err := f.run()
			if err != nil {
				t.Fatalf("publish: %v\n%s", err, f.log)
			}
			after := f.h.Stats()
			d := delta(before, after)
			if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 1 {
				t.Errorf("%d commits, want exactly 1", n)
			}
			if r.Commit != f.head() {
				t.Errorf("result commit %s, head %s", r.Commit, f.head())
			}
			if d["commit"] != c.sent {
				t.Errorf("commit requests %d, want %d", d["commit"], c.sent)
			}
			// The result reports what the commit carried, also when the
			// run learnt from the head that its commit had landed.
			var paths []string
			for _, a := range r.Plan.Copy {
				paths = append(paths, a.Path+" "+a.Method)
			}
			if got := strings.Join(paths, ", "); r.Copied != 2 || got != "a.safetensors stream, b.safetensors stream" || r.UpToDate {
				t.Errorf("result: copied %d (%s), up to date %v; want the 2 changed shards", r.Copied, got, r.UpToDate)
			}
			for _, a := range r.Plan.Skip {
				if a.Path == "a.safetensors" || a.Path == "b.safetensors" {
					t.Errorf("%s reported both copied and skipped", a.Path)
				}
			}
			f.assertMirrored(r.Plan.SourceSHA)
			report(t, "ok; commit requests %d, commits 1, head = result", d["commit"])
		})
	}
}

func TestFaultCorruptedByte(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file string
		multipart  bool
	}{
		{"streamed", "a.safetensors", false},
		{"multipart", "a.safetensors", true},
		{"regular file", "config.json", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []devhub.Option
			if c.multipart {
				opts = append(opts, devhub.WithMultipart(2<<20, 1<<20))
			}
			f := newFX(t, opts...)
			if c.file == "config.json" {
				seed(t, f.h, "config", nil, map[string]string{"config.json": `{"model_type":"moonvit","v":2}`}, nil)
			}
			before, head := f.h.Stats(), f.head()
			fault := devhub.Fault{Kind: devhub.FaultFlipByte, AfterBytes: 10}
			if c.file == "config.json" {
				fault.Route, fault.Path = "resolve", "/"+srcRepo+"/resolve/*/config.json"
			} else {
				// Inside every response: a part is 1 MiB, the file 3 MiB.
				fault.Route, fault.Path, fault.AfterBytes = "blob", f.blobPath(c.file), 500_000
			}
			f.h.AddFault(fault)
			_, err := f.run()
			var me *mirror.MismatchError
			if !errors.As(err, &me) || me.Path != c.file || me.Expected == me.Actual {
				t.Fatalf("error %v, want a mismatch on %s", err, c.file)
			}
			if !strings.Contains(err.Error(), me.Expected) || !strings.Contains(err.Error(), me.Actual) || !strings.Contains(err.Error(), "nothing was committed") {
				t.Errorf("error %q should give expected and actual values and say nothing was committed", err)
			}
			f.unchanged(head, before)
			d := delta(before, f.h.Stats())
			if d["commit"] != 0 {
				t.Errorf("%d commit requests after a mismatch", d["commit"])
			}
			report(t, "fails: %s %s mismatch; commit requests 0, storage PUTs+parts %d", me.Path, me.What, d["storage-put"]+d["storage-part"])
			f.converge()
		})
	}
}

func TestFaultSourceMovesMidRun(t *testing.T) {
	t.Parallel()
	for _, route := range []string{"tree", "commit"} {
		t.Run("before "+route, func(t *testing.T) {
			f := newFX(t)
			pinned, _ := f.h.Head(srcRepo, "main")
			var moved string
			f.h.AddFault(devhub.Fault{Route: route, Kind: devhub.FaultNone, Times: 1, Before: func() {
				moved = seed(t, f.h, "moved", map[string]int64{"late.safetensors": 1 << 20, "a.safetensors": 3 << 20}, nil, []string{"b.safetensors"})
			}})
			r, err := f.run()
			if err != nil {
				t.Fatalf("publish: %v\n%s", err, f.log)
			}
			if moved == "" || r.Plan.SourceSHA != pinned {
				t.Fatalf("pinned %s, copied %s (moved to %q)", pinned, r.Plan.SourceSHA, moved)
			}
			readme := f.readme()
			if !strings.Contains(readme, "source_revision: "+pinned) || strings.Contains(readme, moved) {
				t.Errorf("the card does not record the pinned sha")
			}
			if _, ok := f.tree()["late.safetensors"]; ok {
				t.Errorf("a file of the later commit was mirrored")
			}
			f.assertMirrored(pinned)
			report(t, "ok; card and files at the pinned %s, not %s", pinned[:12], moved[:12])
		})
	}
}

func TestFaultHubUnreachableSlowGarbage(t *testing.T) {
	t.Parallel()
	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(nil)
		dead.Close()
		log := &syncbuf.Buffer{}
		cl := hub.New(dead.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }))
		w := secrettest.New(t, token)
		opts := entryOpts()
		opts.Source, opts.Dest, opts.Progress = cl, cl, w.Writer("progress", log)
		_, err := mirror.Publish(context.Background(), opts)
		w.Err("error", err)
		if err == nil || !strings.Contains(err.Error(), "resolving "+srcRepo) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("error %v: want one naming what failed and why", err)
		}
		if n := count(log.String(), "retrying"); n != fast.MaxRetries {
			t.Errorf("%d retries, want %d", n, fast.MaxRetries)
		}
		report(t, "fails: %q; attempts %d", strings.Replace(err.Error(), dead.URL, "http://127.0.0.1:PORT", 1), fast.MaxRetries+1)
	})
	t.Run("slow", func(t *testing.T) {
		f := newFX(t)
		before := f.h.Stats()
		// Every request waits 100 ms before the hub answers.
		f.h.AddFault(devhub.Fault{Kind: devhub.FaultDelay, Delay: 100 * time.Millisecond})
		start := time.Now()
		r, err := f.run()
		if err != nil {
			t.Fatalf("a slow hub failed the run: %v", err)
		}
		d := delta(before, f.h.Stats())
		f.assertMirrored(r.Plan.SourceSHA)
		total := 0
		for _, n := range d {
			total += n
		}
		if strings.Contains(f.log.String(), "retrying") {
			t.Errorf("a slow answer was retried:\n%s", f.log)
		}
		report(t, "ok; %d requests each delayed 100 ms, run %s, no retries", total, time.Since(start).Round(100*time.Millisecond))
	})
	for _, route := range []string{"repo-info", "tree", "lfs-batch", "preupload", "commit"} {
		t.Run("garbage JSON from "+route, func(t *testing.T) {
			var armed bool
			var f *fx
			f = newFXWith(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if armed && routeOf(r) == route {
						if route == "commit" {
							// The hub applies it; the answer is garbage.
							next.ServeHTTP(&garbageWriter{ResponseWriter: w}, r)
							return
						}
						w.Header().Set("Content-Type", "application/json")
						w.Write([]byte(`{"sha": "` + strings.Repeat("\x00", 3) + `", [`))
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			before, head := f.h.Stats(), f.head()
			armed = true
			r, err := f.run()
			armed = false
			if route == "commit" {
				// An unreadable commit answer is an unknown outcome: the run
				// reads the head and finds its commit there.
				if err != nil {
					t.Fatalf("publish: %v\n%s", err, f.log)
				}
				if n := f.h.Stats().Commits[dstRepo] - before.Commits[dstRepo]; n != 1 {
					t.Errorf("%d commits, want 1", n)
				}
				f.assertMirrored(r.Plan.SourceSHA)
				report(t, "ok; commit requests %d, commits 1", delta(before, f.h.Stats())["commit"])
				return
			}
			if err == nil || !strings.Contains(err.Error(), "decoding response") {
				t.Fatalf("error %v: want one saying the answer could not be decoded", err)
			}
			f.unchanged(head, before)
			report(t, "fails: %q; commits 0", err)
			f.converge()
		})
	}
}

// routeOf names the few hub routes the garbage stand-in breaks.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/commit/main") && r.Method == http.MethodPost:
		return "commit"
	case strings.Contains(p, "/preupload/"):
		return "preupload"
	case strings.HasSuffix(p, ".git/info/lfs/objects/batch"):
		return "lfs-batch"
	case strings.Contains(p, "/tree/"):
		return "tree"
	case strings.HasPrefix(p, "/api/models/") && r.Method == http.MethodGet:
		return "repo-info"
	}
	return ""
}

// garbageWriter lets the hub serve a request but replaces its JSON answer.
type garbageWriter struct {
	http.ResponseWriter
	wrote bool
}

func (g *garbageWriter) Write(p []byte) (int, error) {
	if !g.wrote {
		g.wrote = true
		g.ResponseWriter.Write([]byte("<html>upstream error"))
	}
	return len(p), nil
}
