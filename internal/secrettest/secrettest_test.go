package secrettest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeTB records errors instead of failing, so the Watch's own failures can
// be checked.
type fakeTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, a ...any) { f.errs = append(f.errs, format) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.errs = append(f.errs, format) }
func (f *fakeTB) finish() {
	for _, c := range f.cleanups {
		c()
	}
}

const secret = "hf_secrettest_0123456789"

func TestFindsSecretsSplitAcrossWrites(t *testing.T) {
	ft := &fakeTB{TB: t}
	w := New(ft, secret)
	out := w.Writer("stderr", nil)
	io.WriteString(out, "token is hf_secret")
	io.WriteString(out, "test_0123456789 done")
	w.Text("summary", "clean")
	if got := w.Leaks(); len(got) != 1 || !strings.HasPrefix(got[0], "stderr:") || strings.Contains(got[0], secret) {
		t.Fatalf("leaks = %q, want one in stderr with the secret masked", got)
	}
	ft.finish()
	if len(ft.errs) != 1 {
		t.Errorf("cleanup reported %d errors, want 1", len(ft.errs))
	}
}

func TestHandlerSeparatesAuthorizationFromTheRest(t *testing.T) {
	ft := &fakeTB{TB: t}
	w := New(ft, secret)
	srv := httptest.NewServer(w.Handler("hub", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("echo") != "" {
			io.WriteString(rw, "you sent "+secret)
		}
	})))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/x", strings.NewReader("plain body"))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := w.AuthCount("hub"); n != 1 {
		t.Errorf("AuthCount = %d, want 1", n)
	}
	if l := w.Leaks(); len(l) != 0 {
		t.Fatalf("the Authorization header counted as a leak: %q", l)
	}
	resp, err = http.Post(srv.URL+"/x?echo=1", "text/plain", strings.NewReader("body with "+secret))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	joined := strings.Join(w.Leaks(), "\n")
	for _, want := range []string{"hub request body", "hub response body"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no leak reported in %s: %q", want, joined)
		}
	}
	if w.Requests("hub") != 2 {
		t.Errorf("Requests = %d", w.Requests("hub"))
	}
}

func TestEndpointCredentialsAreWatchedEverywhere(t *testing.T) {
	const endpoint = "https://publisher:p%40ss-w0rd-0123@hub.example"
	for _, c := range []struct {
		name string
		leak func(w *Watch, srvURL string)
	}{
		{"password in a log", func(w *Watch, _ string) { w.Text("stderr", "connecting with p@ss-w0rd-0123") }},
		{"userinfo as written in a card", func(w *Watch, _ string) { w.Text("card", "see https://publisher:p%40ss-w0rd-0123@hub.example/x") }},
		{"user:password decoded", func(w *Watch, _ string) { w.Text("comment", "publisher:p@ss-w0rd-0123") }},
		{"basic auth header sent", func(w *Watch, srvURL string) {
			req, _ := http.NewRequest("GET", srvURL+"/api/models/a/b", nil)
			req.SetBasicAuth("publisher", "p@ss-w0rd-0123")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}},
		{"basic auth from the URL", func(w *Watch, srvURL string) {
			u := strings.Replace(srvURL, "http://", "http://publisher:p%40ss-w0rd-0123@", 1)
			if resp, err := http.Get(u + "/x"); err == nil {
				resp.Body.Close()
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ft := &fakeTB{TB: t}
			w := New(ft, secret)
			w.Endpoint(endpoint)
			srv := httptest.NewServer(w.Handler("hub", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			defer srv.Close()
			c.leak(w, srv.URL)
			if got := w.Leaks(); len(got) == 0 || strings.Contains(strings.Join(got, " "), "w0rd-0123") {
				t.Errorf("leaks = %q, want the credentials found and masked", got)
			}
			ft.finish()
		})
	}
	// A clean run with the token in Authorization is not a leak.
	ft := &fakeTB{TB: t}
	w := New(ft, secret)
	w.Endpoint(endpoint)
	w.Text("stderr", "publishing to https://hub.example as publisher")
	if got := w.Leaks(); len(got) != 0 {
		t.Errorf("clean text reported: %q", got)
	}
	// Too short a password cannot be searched for.
	ft = &fakeTB{TB: t}
	New(ft, secret).Endpoint("https://u:short@h")
	if len(ft.errs) != 1 {
		t.Errorf("a short endpoint password was accepted")
	}
}
