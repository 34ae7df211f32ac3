package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

func TestGateDecoding(t *testing.T) {
	for _, c := range []struct {
		json  string
		gate  hub.Gate
		known bool
	}{
		{`{"gated": false}`, hub.GateOff, true},
		{`{"gated": "auto"}`, hub.GateAuto, true},
		{`{"gated": "manual"}`, hub.GateManual, true},
		// Anything else is kept as unknown, never read as "not gated".
		{`{"gated": true}`, "true", false},
		{`{"gated": null}`, "null", false},
		{`{"gated": ""}`, `""`, false},
		{`{"gated": "false"}`, `"false"`, false},
		{`{"gated": "Manual"}`, `"Manual"`, false},
		{`{"gated": 0}`, "0", false},
		{`{"gated": {"mode": "auto"}}`, `{"mode": "auto"}`, false},
		{`{}`, "", false},
	} {
		var info hub.RepoInfo
		if err := json.Unmarshal([]byte(c.json), &info); err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if info.Gated != c.gate || info.Gated.Known() != c.known {
			t.Errorf("%s: gate %q (known %v), want %q (%v)", c.json, info.Gated, info.Gated.Known(), c.gate, c.known)
		}
		err := hub.AccessOf(&info).Check("x/y")
		if c.known != (err == nil) || (err != nil && !errors.Is(err, hub.ErrUnknownAccess)) {
			t.Errorf("%s: Check = %v", c.json, err)
		}
	}
	var long hub.RepoInfo
	json.Unmarshal([]byte(`{"gated": "`+strings.Repeat("x", 5000)+`"}`), &long)
	if len(long.Gated) > 50 || !strings.Contains(long.Gated.String(), "unknown") {
		t.Errorf("a long unknown gate is kept whole (%d bytes) or not called unknown: %s", len(long.Gated), long.Gated.String()[:60])
	}
}

func TestGateJSON(t *testing.T) {
	for g, want := range map[hub.Gate]string{hub.GateOff: "false", hub.GateAuto: `"auto"`, hub.GateManual: `"manual"`, "": "null", "true": `"gated true (unknown)"`} {
		b, err := json.Marshal(g)
		if err != nil || string(b) != want {
			t.Errorf("%q: %s, %v; want %s", g, b, err, want)
		}
	}
}

func TestAccessOrder(t *testing.T) {
	pub := hub.Access{Gate: hub.GateOff}
	auto := hub.Access{Gate: hub.GateAuto}
	manual := hub.Access{Gate: hub.GateManual}
	priv := hub.Access{Private: true, Gate: hub.GateOff}
	privAuto := hub.Access{Private: true, Gate: hub.GateAuto}
	privManual := hub.Access{Private: true, Gate: hub.GateManual}
	unknown := hub.Access{Gate: "true"}
	all := []hub.Access{pub, auto, manual, priv, privAuto, privManual}
	covers := func(a, b hub.Access) bool {
		// The order on each axis: private >= public, manual >= auto >= off.
		rank := map[hub.Gate]int{hub.GateOff: 0, hub.GateAuto: 1, hub.GateManual: 2}
		return (a.Private || !b.Private) && rank[a.Gate] >= rank[b.Gate]
	}
	for _, a := range all {
		for _, b := range all {
			if got := a.Covers(b); got != covers(a, b) {
				t.Errorf("%s covers %s = %v", a, b, got)
			}
			j := a.Join(b)
			if !j.Covers(a) || !j.Covers(b) {
				t.Errorf("%s join %s = %s covers neither", a, b, j)
			}
		}
		if a.Covers(unknown) || unknown.Covers(a) {
			t.Errorf("an unknown gate is ordered against %s", a)
		}
	}
	// The two axes are independent: private does not cover gated.
	if priv.Covers(auto) || manual.Covers(priv) {
		t.Errorf("private and gated are compared as one axis")
	}
	for a, want := range map[hub.Access]string{pub: "public", priv: "private", manual: "public, gated (manual)", privAuto: "private, gated (auto)"} {
		if a.String() != want {
			t.Errorf("%#v: %q, want %q", a, a.String(), want)
		}
	}
}

// recorder keeps the method, path and body of each request it passes on.
type recorder struct {
	mu   sync.Mutex
	reqs []string
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(strings.NewReader(string(b)))
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path+" "+string(b))
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func TestUpdateRepoSettings(t *testing.T) {
	h, err := devhub.New(devhub.WithToken(token, "write:alice/*"), devhub.WithToken("hf_reader_token", "read:alice/*"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(func() { srv.Close(); h.Close() })
	ctx := context.Background()
	c := hub.New(srv.URL, token, hub.WithRetryPolicy(fast))
	if err := c.CreateRepo(ctx, "alice/side", true); err != nil {
		t.Fatal(err)
	}
	yes, manual := true, hub.GateManual
	if err := c.UpdateRepoSettings(ctx, "alice/side", hub.RepoSettings{Gate: &manual}); err != nil {
		t.Fatal(err)
	}
	info, err := c.RepoInfo(ctx, "alice/side", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := hub.AccessOf(info); got != (hub.Access{Private: true, Gate: hub.GateManual}) {
		t.Errorf("access after create(private) + gate manual = %s", got)
	}
	off, no := hub.GateOff, false
	if err := c.UpdateRepoSettings(ctx, "alice/side", hub.RepoSettings{Private: &no, Gate: &off}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateRepoSettings(ctx, "alice/side", hub.RepoSettings{Private: &yes}); err != nil {
		t.Fatal(err)
	}
	// Only the fields set are sent, spelled as huggingface_hub spells them.
	var bodies []string
	for _, r := range rec.reqs {
		if strings.HasPrefix(r, "PUT /api/models/alice/side/settings ") {
			bodies = append(bodies, strings.TrimPrefix(r, "PUT /api/models/alice/side/settings "))
		}
	}
	want := []string{`{"gated":"manual"}`, `{"gated":false,"private":false}`, `{"private":true}`}
	if strings.Join(bodies, " ") != strings.Join(want, " ") {
		t.Errorf("settings bodies %q, want %q", bodies, want)
	}
	if p, g, _ := h.RepoAccess("alice/side"); !p || g != "" {
		t.Errorf("devhub holds private %v gated %q", p, g)
	}

	// Refused before anything is sent: nothing to change, an unknown gate.
	n := len(rec.reqs)
	bad := hub.Gate("true")
	for _, s := range []hub.RepoSettings{{}, {Gate: &bad}} {
		if err := c.UpdateRepoSettings(ctx, "alice/side", s); err == nil {
			t.Errorf("settings %+v accepted", s)
		}
	}
	if len(rec.reqs) != n {
		t.Errorf("refused settings were sent")
	}
	// A token that can only read is refused by the Hub.
	err = hub.New(srv.URL, "hf_reader_token", hub.WithRetryPolicy(fast)).UpdateRepoSettings(ctx, "alice/side", hub.RepoSettings{Private: &no})
	if !errors.Is(err, hub.ErrForbidden) {
		t.Errorf("read-only token: %v, want ErrForbidden", err)
	}
}

func TestAnonymous401IsRepoNotFound(t *testing.T) {
	h, c, _, url := setup(t)
	ctx := context.Background()
	if err := h.CreateRepo("alice/private", devhub.RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	anon := hub.New(url, "", hub.WithRetryPolicy(fast))
	for _, repo := range []string{"alice/missing", "alice/private"} {
		_, err := anon.RepoInfo(ctx, repo, "")
		var he *hub.Error
		if !errors.As(err, &he) || he.Status != 401 || he.Code != "" {
			t.Fatalf("%s anonymously: %v, want the Hub's 401 without a code", repo, err)
		}
		if !errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrUnauthorized) {
			t.Errorf("%s anonymously: %v is not (only) repo-not-found", repo, err)
		}
		_, err = anon.Open(ctx, repo, "main", "config.json", 0)
		if !errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrUnauthorized) {
			t.Errorf("%s resolve anonymously: %v", repo, err)
		}
	}
	// With a token that cannot see it: 404 RepoNotFound.
	if _, err := hub.New(url, token).RepoInfo(ctx, "bob/x", ""); !errors.Is(err, hub.ErrRepoNotFound) {
		t.Errorf("with a token: %v", err)
	}
	// A refused token stays a token problem, on a repo URL too.
	_, err := hub.New(url, "hf_wrong").RepoInfo(ctx, "alice/src", "")
	if !errors.Is(err, hub.ErrUnauthorized) || errors.Is(err, hub.ErrRepoNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	_ = c

	// The mapping itself, on the answers a Hub may give.
	for _, e := range []struct {
		err              hub.Error
		notFound, unauth bool
	}{
		{hub.Error{Status: 401, Path: "/api/models/a/b"}, true, false},
		{hub.Error{Status: 401, Path: "/api/datasets/a/b/tree/main"}, true, false},
		{hub.Error{Status: 401, Path: "/a/b/resolve/main/x.json"}, true, false},
		{hub.Error{Status: 401, Path: "/api/models/a/b", Message: "Invalid credentials in Authorization header"}, false, true},
		{hub.Error{Status: 401, Path: "/api/repos/create"}, false, true},
		{hub.Error{Status: 401, Path: "/api/whoami-v2"}, false, true},
		{hub.Error{Status: 401, Path: "/api/models/a/b", Code: "GatedRepo"}, false, false},
		{hub.Error{Status: 401, Path: "/api/models/a/b", Code: "RepoNotFound"}, true, false},
		{hub.Error{Status: 404, Path: "/api/models/a/b"}, false, false},
	} {
		err := &e.err
		if errors.Is(err, hub.ErrRepoNotFound) != e.notFound || errors.Is(err, hub.ErrUnauthorized) != e.unauth {
			t.Errorf("%+v: not found %v, unauthorized %v; want %v, %v", e.err, errors.Is(err, hub.ErrRepoNotFound), errors.Is(err, hub.ErrUnauthorized), e.notFound, e.unauth)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", hub.DefaultEndpoint, ""},
		{"  https://hub.example/  ", "https://hub.example", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", ""},
		{"https://hub.example/mirror//", "https://hub.example/mirror", ""},
		{"http://user:pa55word-secret@127.0.0.1:9/", "", "names credentials before its host (http://…@127.0.0.1:9)"},
		{"https://hf_token_as_user_0123@hub.example", "", "names credentials"},
		{"https://:only-password-0123@hub.example", "", "names credentials"},
		{"https://us%40er:p%3Ass-0123@hub.example", "", "names credentials"},
		{"https://hub.example/?sig=query-secret-0123", "", "must not have a query or a fragment (https://hub.example/?…)"},
		{"https://hub.example/#frag-secret-0123", "", "must not have a query or a fragment"},
		{"ftp://hub.example", "", `X "ftp://hub.example" must be an http(s) URL`},
		{"hub.example", "", "must be an http(s) URL"},
		{"http//user:secret-0123@host", "", "X must be an http(s) URL"},
		{"https://user:secret 0123@ho st", "", "X must be an http(s) URL"},
	} {
		got, err := hub.CheckEndpoint("X", c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: %q, %v; want an error containing %q", c.in, got, err, c.err)
		case err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "0123") || strings.Contains(err.Error(), "pa55")):
			t.Errorf("%q: the error repeats what may be secret: %v", c.in, err)
		}
		if strings.Contains(c.err, "credentials") && !errors.Is(err, hub.ErrEndpointCredentials) {
			t.Errorf("%q: %v is not ErrEndpointCredentials", c.in, err)
		}
	}
}

func TestClientDropsEndpointCredentials(t *testing.T) {
	if c := hub.New(" http://127.0.0.1:9/ ", " hf_x "); c.Endpoint() != "http://127.0.0.1:9" || !c.HasToken() {
		t.Errorf("endpoint %q token %v", c.Endpoint(), c.HasToken())
	}
	if hub.New("", "").Endpoint() != hub.DefaultEndpoint {
		t.Errorf("default endpoint")
	}
	var auth []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"a/b","sha":"`+strings.Repeat("a", 40)+`","private":false,"gated":false}`)
	}))
	defer srv.Close()
	ep := strings.Replace(srv.URL, "http://", "http://user:endpoint-secret-0123@", 1)
	for _, tok := range []string{"", token} {
		c := hub.New(ep, tok)
		if strings.Contains(c.Endpoint(), "endpoint-secret") || strings.Contains(c.Endpoint(), "@") {
			t.Errorf("Endpoint() = %q", c.Endpoint())
		}
		if _, err := c.RepoInfo(context.Background(), "a/b", ""); err != nil {
			t.Fatal(err)
		}
	}
	if len(auth) != 2 || auth[0] != "" || auth[1] != "Bearer "+token {
		t.Errorf("Authorization headers sent: %q; want none, then the bearer token (never basic auth)", auth)
	}
}
