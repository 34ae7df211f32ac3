package mirror_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// through serves the env's hub behind wrap and points its clients there.
func (e *env) through(wrap func(http.Handler) http.Handler) {
	e.t.Helper()
	srv := httptest.NewServer(wrap(e.h))
	e.t.Cleanup(srv.Close)
	e.url = srv.URL
	cl := hub.New(srv.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(e.log, f+"\n", a...) }))
	e.opts.Source, e.opts.Dest = cl, cl
}

// hubAccess reads a repo's settings from the devhub itself.
func (e *env) hubAccess(repo string) hub.Access {
	e.t.Helper()
	private, gated, err := e.h.RepoAccess(repo)
	if err != nil {
		e.t.Fatal(err)
	}
	a := hub.Access{Private: private, Gate: hub.GateOff}
	if gated != "" {
		a.Gate = hub.Gate(gated)
	}
	return a
}

// guardUploads fails the test if an LFS upload, a storage transfer or a
// commit reaches the hub while the sidecar is less restricted than want:
// the window in which weights could be more reachable than their source.
// The returned function counts the requests it checked.
func (e *env) guardUploads(want hub.Access) func() int {
	var mu sync.Mutex
	seen := new(int)
	for _, route := range []string{"lfs-batch", "storage-put", "storage-part", "commit", "lfs-duplicate"} {
		e.h.AddFault(devhub.Fault{Route: route, Kind: devhub.FaultNone, Before: func() {
			mu.Lock()
			defer mu.Unlock()
			*seen++
			private, gated, err := e.h.RepoAccess(dstRepo)
			got := hub.Access{Private: private, Gate: hub.GateOff}
			if gated != "" {
				got.Gate = hub.Gate(gated)
			}
			if err != nil || !got.Covers(want) {
				e.t.Errorf("%s reached the sidecar while it was %s (source %s): %v", route, got, want, err)
			}
		}})
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return *seen
	}
}

func TestSecurityAccessNewSidecarIsAsRestrictedAsItsSource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		private bool
		gated   string
		scope   string // the publisher's token: it must be able to read the source
	}{
		{"private", true, "", "write:FoxlightAI/*,read:third-party/*"},
		{"gated-auto", false, "auto", "write:FoxlightAI/*,gated:third-party/*"},
		{"gated-manual", false, "manual", "write:FoxlightAI/*,gated:third-party/kimi-vision"},
		{"private-gated-manual", true, "manual", "write:FoxlightAI/*,read:third-party/*"},
		{"public", false, "", "write:FoxlightAI/*"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, c.scope)
			if err := e.h.SetRepoAccess(srcRepo, c.private, c.gated); err != nil {
				t.Fatal(err)
			}
			want := e.hubAccess(srcRepo)
			uploads := e.guardUploads(want)
			r := e.mustPublish()
			if uploads() == 0 {
				t.Fatalf("no upload or commit was watched: the guard proves nothing")
			}
			if got := e.hubAccess(dstRepo); got != want {
				t.Errorf("sidecar is %s, source %s", got, want)
			}
			if r.Plan.SourceAccess != want || r.Plan.SidecarAccess != want {
				t.Errorf("plan says source %s, sidecar %s", r.Plan.SourceAccess, r.Plan.SidecarAccess)
			}
			fm, err := card.FrontMatter([]byte(e.readme()))
			if err != nil {
				t.Fatal(err)
			}
			fox := fm["foxlight"].(map[string]any)
			src, _ := fox["source_access"].(map[string]any)
			side, _ := fox["sidecar_access"].(map[string]any)
			wantGated := any(false)
			if c.gated != "" {
				wantGated = c.gated
			}
			if src["private"] != c.private || src["gated"] != wantGated || side["private"] != c.private || side["gated"] != wantGated {
				t.Errorf("card access: source %v, sidecar %v", src, side)
			}
			// What the sidecar shows a reader without a token.
			anon := hub.New(e.url, "", hub.WithRetryPolicy(fast))
			_, infoErr := anon.RepoInfo(context.Background(), dstRepo, "")
			_, fileErr := anon.Open(context.Background(), dstRepo, "main", "a.safetensors", 0)
			switch {
			case c.private && (!errors.Is(infoErr, hub.ErrRepoNotFound) || !errors.Is(fileErr, hub.ErrRepoNotFound)):
				t.Errorf("private sidecar, anonymous: info %v, file %v", infoErr, fileErr)
			case !c.private && c.gated != "" && (infoErr != nil || !errors.Is(fileErr, hub.ErrGated)):
				t.Errorf("gated sidecar, anonymous: info %v, file %v", infoErr, fileErr)
			case c.name == "public" && (infoErr != nil || fileErr != nil):
				t.Errorf("public sidecar, anonymous: info %v, file %v", infoErr, fileErr)
			}
			settings := e.h.Stats().Requests["repo-settings"]
			if (c.gated != "") != (settings == 1) {
				t.Errorf("%d settings calls, want one exactly when the source is gated", settings)
			}
			report(t, "source %s -> new sidecar %s; %d uploads/commits all saw the sidecar already %s; %d settings calls", want, e.hubAccess(dstRepo), uploads(), want, settings)
		})
	}
}

func TestSecurityAccessSourceRestrictedLaterIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		private bool
		gated   string
		words   []string
	}{
		{"gated", false, "manual", []string{"is public, but its source " + srcRepo + " is public, gated (manual)", "make " + dstRepo + " public, gated (manual) on the Hub"}},
		{"private", true, "", []string{"is public, but its source " + srcRepo + " is private", "make " + dstRepo + " private on the Hub"}},
		{"private-gated", true, "auto", []string{"its source " + srcRepo + " is private, gated (auto)", "make " + dstRepo + " private, gated (auto)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, "write:FoxlightAI/*,read:third-party/*")
			e.mustPublish()
			head, _ := e.h.Head(dstRepo, "main")
			// Upstream restricts the source and moves on.
			if err := e.h.SetRepoAccess(srcRepo, c.private, c.gated); err != nil {
				t.Fatal(err)
			}
			seed(t, e.h, "v2", map[string]int64{"a.safetensors": 2 << 20}, nil, nil)
			before := e.h.Stats()
			_, err := e.publish()
			after := e.h.Stats()
			var pe *mirror.PlanError
			if !errors.As(err, &pe) {
				t.Fatalf("publish after the source was restricted: %v, want a refusal", err)
			}
			for _, w := range append(c.words, dstRepo, "Nothing was written", "never changes an existing sidecar") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if h2, _ := e.h.Head(dstRepo, "main"); h2 != head {
				t.Errorf("the sidecar moved %s -> %s", head, h2)
			}
			for _, route := range []string{"repo-settings", "repo-create", "preupload", "lfs-batch", "storage-put", "storage-part", "commit"} {
				if after.Requests[route] != before.Requests[route] {
					t.Errorf("a refused run hit %s %d times", route, after.Requests[route]-before.Requests[route])
				}
			}
			if n := after.BytesReceived - before.BytesReceived; n != 0 {
				t.Errorf("a refused run sent %d bytes", n)
			}
			if got := e.hubAccess(dstRepo); got != (hub.Access{Gate: hub.GateOff}) {
				t.Errorf("the sidecar's settings were changed to %s", got)
			}
			// The plan (dry run, pull request) refuses it the same way.
			if _, err := mirror.MakePlan(context.Background(), e.opts); !errors.As(err, &pe) || !strings.Contains(err.Error(), "at least as restricted") {
				t.Errorf("MakePlan: %v", err)
			}
			report(t, "fails: %q; sidecar head unchanged, 0 writes, 0 bytes", err)
		})
	}
}

func TestSecurityAccessMoreRestrictedSidecarIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.mustPublish()
	// The operator locks the sidecar down further than its public source.
	if err := e.h.SetRepoAccess(dstRepo, true, "manual"); err != nil {
		t.Fatal(err)
	}
	seed(t, e.h, "v2", map[string]int64{"b.safetensors": 2 << 20}, nil, nil)
	before := e.h.Stats()
	r := e.mustPublish()
	if r.UpToDate || r.Copied != 1 {
		t.Errorf("result %+v, want b.safetensors copied", r)
	}
	if got := e.hubAccess(dstRepo); got != (hub.Access{Private: true, Gate: hub.GateManual}) {
		t.Errorf("the sidecar was loosened to %s", got)
	}
	if n := e.h.Stats().Requests["repo-settings"] - before.Requests["repo-settings"]; n != 0 {
		t.Errorf("%d settings calls on an existing sidecar", n)
	}
	if !strings.Contains(e.readme(), "sidecar_access: {private: true, gated: manual}") {
		t.Errorf("card does not state the sidecar's access:\n%s", e.readme())
	}
}

func TestSecurityAccessEmptySidecarIsRaisedBeforeWeights(t *testing.T) {
	t.Parallel()
	// A run stopped between creating the sidecar and gating it leaves a
	// public, ungated repo holding only .gitattributes.
	e := setup(t, "write:FoxlightAI/*,gated:third-party/*")
	if err := e.h.CreateRepo(dstRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.h.SetRepoAccess(srcRepo, false, "auto"); err != nil {
		t.Fatal(err)
	}
	want := hub.Access{Gate: hub.GateAuto}
	uploads := e.guardUploads(want)
	e.mustPublish()
	if uploads() == 0 {
		t.Fatal("no upload was watched")
	}
	if got := e.hubAccess(dstRepo); got != want {
		t.Errorf("sidecar %s, want %s", got, want)
	}
	if !strings.Contains(e.log.String(), dstRepo+" is now public, gated (auto), as its source "+srcRepo+" (it holds no file yet)") {
		t.Errorf("the log does not say the empty sidecar was gated:\n%s", e.log)
	}
}

// settingsIgnored answers PUT .../settings with 200 without passing it on,
// as a Hub (or a proxy) that drops the change would.
func settingsIgnored(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/settings") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestSecurityAccessSettingsTheHubDidNotApplyStopTheRun(t *testing.T) {
	t.Parallel()
	e := setup(t, "write:FoxlightAI/*,gated:third-party/*")
	e.through(settingsIgnored)
	if err := e.h.SetRepoAccess(srcRepo, false, "manual"); err != nil {
		t.Fatal(err)
	}
	_, err := e.publish()
	if err == nil || !strings.Contains(err.Error(), "refusing to upload to "+dstRepo) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("publish: %v, want a refusal to upload", err)
	}
	st := e.h.Stats()
	for _, route := range []string{"preupload", "lfs-batch", "storage-put", "storage-part", "commit"} {
		if st.Requests[route] != 0 {
			t.Errorf("%s hit %d times", route, st.Requests[route])
		}
	}
	if st.Commits[dstRepo] != 1 {
		t.Errorf("sidecar commits %d, want only the Hub's initial one", st.Commits[dstRepo])
	}
	report(t, "fails: %q; 0 uploads, 0 commits beyond the empty repo", err)
}

// rewriteGate serves repo's model info with its gated value replaced.
func rewriteGate(repo, value string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/api/models/"+repo) || strings.Contains(r.URL.Path, "/tree/") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var info map[string]json.RawMessage
			if rec.Code == http.StatusOK && json.Unmarshal(body, &info) == nil {
				info["gated"] = json.RawMessage(value)
				body, _ = json.Marshal(info)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
}

func TestSecurityAccessUnknownGateIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ repo, value string }{
		{srcRepo, `"sometimes"`}, {srcRepo, `true`}, {srcRepo, `null`}, {dstRepo, `"members-only"`},
	} {
		t.Run(c.repo+"="+c.value, func(t *testing.T) {
			t.Parallel()
			e := setup(t, "")
			if c.repo == dstRepo {
				e.mustPublish()
			}
			e.through(rewriteGate(c.repo, c.value))
			before := e.h.Stats()
			_, err := e.publish()
			var pe *mirror.PlanError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.repo+": the Hub reports its access as") || !strings.Contains(err.Error(), "does not know") {
				t.Fatalf("publish: %v, want a refusal naming %s's unknown gate", err, c.repo)
			}
			after := e.h.Stats()
			for _, route := range []string{"repo-create", "repo-settings", "preupload", "lfs-batch", "commit"} {
				if after.Requests[route] != before.Requests[route] {
					t.Errorf("%s hit after an unknown gate", route)
				}
			}
		})
	}
}

func TestSecurityPlanWithoutTokenReportsHiddenRepos(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, "write:FoxlightAI/*,read:third-party/*")
	anon := e.opts
	anonClient := hub.New(e.url, "", hub.WithRetryPolicy(fast))
	anon.Source, anon.Dest = anonClient, anonClient

	// A new sidecar and a private one look the same without a token.
	p, err := mirror.MakePlan(ctx, anon)
	if err != nil || p.SidecarHead != "" || !p.SidecarHidden {
		t.Fatalf("new sidecar: %+v, %v", p, err)
	}
	e.mustPublish()
	if err := e.h.SetRepoAccess(dstRepo, true, ""); err != nil {
		t.Fatal(err)
	}
	p, err = mirror.MakePlan(ctx, anon)
	if err != nil || p.SidecarHead != "" || !p.SidecarHidden {
		t.Fatalf("private sidecar: %+v, %v", p, err)
	}
	// With a token the sidecar is seen: not hidden.
	if p, err = mirror.MakePlan(ctx, e.opts); err != nil || p.SidecarHidden || p.SidecarHead == "" || !p.SidecarAccess.Private {
		t.Fatalf("with a token: %+v, %v", p, err)
	}

	// A gated source: its metadata is public, so the plan shows the gate,
	// and says it could not read the headers.
	if err := e.h.SetRepoAccess(srcRepo, false, "manual"); err != nil {
		t.Fatal(err)
	}
	p, err = mirror.MakePlan(ctx, anon)
	if err != nil || p.SourceAccess != (hub.Access{Gate: hub.GateManual}) || !strings.Contains(p.HeadersUnread, "gated (manual)") || len(p.Copy)+len(p.Skip) == 0 {
		t.Fatalf("gated source: %+v, %v", p, err)
	}
	// A private source cannot be read at all: a finding, not a pass.
	if err := e.h.SetRepoAccess(srcRepo, true, ""); err != nil {
		t.Fatal(err)
	}
	_, err = mirror.MakePlan(ctx, anon)
	if !errors.Is(err, mirror.ErrHiddenSource) || !errors.Is(err, hub.ErrRepoNotFound) || !strings.Contains(err.Error(), srcRepo+" is private or does not exist") {
		t.Fatalf("private source: %v", err)
	}
	if strings.Contains(err.Error(), "token") && strings.Contains(err.Error(), "refused") {
		t.Errorf("a plan that sent no token blames a token: %v", err)
	}
	report(t, "new and private sidecars: hidden, head unknown; gated source: plan with gate %s, headers left to the publish; private source: %q", hub.GateManual, err)
}
