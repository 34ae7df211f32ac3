package devhub

import (
	"strings"
	"testing"
)

// info reads a model's private and gated fields as the Hub lists them.
func (e *env) access(repo, token string) (private bool, gated any) {
	e.t.Helper()
	r := e.do("GET", "/api/models/"+repo, token, nil)
	e.wantStatus(r, 200, "")
	var v struct {
		Private bool `json:"private"`
		Gated   any  `json:"gated"`
	}
	r.json(&v)
	return v.Private, v.Gated
}

func TestHiddenRepoIs401WithoutCodeAnd404WithAToken(t *testing.T) {
	e := setup(t)
	e.seed("alice/priv", RepoOptions{Private: true}, seedFiles)
	// Missing and private answer alike: 401 without an error code to a
	// caller without a token, 404 RepoNotFound to one with a token.
	for _, p := range []string{
		"/api/models/alice/priv", "/api/models/alice/nope", "/api/models/alice/nope/revision/main",
		"/api/models/alice/priv/tree/main", "/alice/priv/resolve/main/config.json", "/alice/nope/resolve/main/x",
	} {
		r := e.do("GET", p, "", nil)
		e.wantStatus(r, 401, noCode)
		if got := r.Header.Get("X-Error-Message"); got != "Invalid username or password." {
			t.Errorf("%s: message %q", p, got)
		}
		e.wantStatus(e.do("GET", p, tokOther, nil), 404, "RepoNotFound")
	}
	// An unknown token is told so, with the Hub's message, whatever the repo.
	r := e.do("GET", "/api/models/alice/nope", "hf_bogus", nil)
	e.wantStatus(r, 401, "")
	if got := r.Header.Get("X-Error-Message"); got != "Invalid credentials in Authorization header" {
		t.Errorf("unknown token: message %q", got)
	}
}

func TestCreateRepoPrivateAndVisibility(t *testing.T) {
	e := setup(t)
	for _, c := range []struct {
		name string
		body map[string]any
		want bool
	}{
		{"pub", map[string]any{}, false},
		{"priv-bool", map[string]any{"private": true}, true},
		{"priv-vis", map[string]any{"visibility": "private"}, true},
		{"pub-vis", map[string]any{"visibility": "public"}, false},
		{"both", map[string]any{"visibility": "private", "private": true}, true},
	} {
		c.body["name"], c.body["organization"] = c.name, "alice"
		e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, c.body), 200, "")
		if p, _ := e.access("alice/"+c.name, tokWrite); p != c.want {
			t.Errorf("%s: private = %v, want %v", c.name, p, c.want)
		}
		if private, _, _ := e.hub.RepoAccess("alice/" + c.name); private != c.want {
			t.Errorf("%s: RepoAccess private = %v", c.name, private)
		}
	}
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "x", "organization": "alice", "visibility": "protected"}), 400, "BadRequest")
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "y", "organization": "alice", "visibility": "public", "private": true}), 400, "BadRequest")
	if _, err := e.hub.Head("alice/y", "main"); err == nil {
		t.Errorf("a refused create made the repo")
	}
}

func TestRepoSettings(t *testing.T) {
	e := setup(t)
	e.seed("alice/m", RepoOptions{}, seedFiles)
	put := func(token string, body any) *resp { return e.do("PUT", "/api/models/alice/m/settings", token, body) }

	// Write access to that repo is needed.
	e.wantStatus(put("", map[string]any{"gated": "auto"}), 401, "")
	e.wantStatus(put(tokRead, map[string]any{"gated": "auto"}), 403, "Forbidden")
	e.wantStatus(put(tokOther, map[string]any{"gated": "auto"}), 403, "Forbidden")
	e.wantStatus(e.do("PUT", "/api/models/alice/nope/settings", tokWrite, map[string]any{"private": true}), 404, "RepoNotFound")
	if p, g := e.access("alice/m", ""); p || g != false {
		t.Fatalf("refused calls changed the settings: private %v gated %v", p, g)
	}

	// Each field is optional; an absent one is left as it is.
	steps := []struct {
		body        map[string]any
		priv        bool
		gated       any
		hubGate     string
		description string
	}{
		{map[string]any{"gated": "manual"}, false, "manual", "manual", "gate only"},
		{map[string]any{"private": true}, true, "manual", "manual", "private only, gate kept"},
		{map[string]any{"gated": "auto", "private": true}, true, "auto", "auto", "both"},
		{map[string]any{"visibility": "public"}, false, "auto", "auto", "visibility spelling"},
		{map[string]any{"gated": false}, false, false, "", "gate off"},
		{map[string]any{"description": "ignored"}, false, false, "", "other fields"},
	}
	for _, s := range steps {
		e.wantStatus(put(tokWrite, s.body), 200, "")
		p, g := e.access("alice/m", tokWrite)
		if p != s.priv || g != s.gated {
			t.Errorf("%s: private %v gated %v, want %v %v", s.description, p, g, s.priv, s.gated)
		}
		if hp, hg, _ := e.hub.RepoAccess("alice/m"); hp != s.priv || hg != s.hubGate {
			t.Errorf("%s: RepoAccess %v %q", s.description, hp, hg)
		}
	}
	for _, bad := range []map[string]any{
		{"gated": true}, {"gated": "sometimes"}, {"gated": "Auto"}, {"private": "yes"},
		{"visibility": "protected"}, {"visibility": "private", "private": false},
	} {
		e.wantStatus(put(tokWrite, bad), 400, "BadRequest")
	}
	if p, g := e.access("alice/m", tokWrite); p || g != false {
		t.Errorf("refused bodies changed the settings: private %v gated %v", p, g)
	}
	if n := e.hub.Stats().Requests["repo-settings"]; n != 16 {
		t.Errorf("repo-settings requests counted %d, want 16", n)
	}
}

func TestGatedScopeGrantsFilesOnly(t *testing.T) {
	const tokGated = "hf_accepted_terms"
	e := setup(t, WithToken(tokGated, "gated:carol/*,read:bob/*"))
	e.seed("carol/manual", RepoOptions{Gated: "manual"}, seedFiles)
	e.seed("carol/priv", RepoOptions{Private: true, Gated: "auto"}, seedFiles)
	e.seed("dave/gated", RepoOptions{Gated: "auto"}, seedFiles)
	if _, g := e.access("carol/manual", ""); g != "manual" {
		t.Errorf("gated = %v, want manual", g)
	}
	// The grant opens the gate of the repos it names...
	e.wantStatus(e.do("GET", "/carol/manual/resolve/main/config.json", tokGated, nil), 200, "")
	// ...but not others, gives no read on a private repo, and no write.
	e.wantStatus(e.do("GET", "/dave/gated/resolve/main/config.json", tokGated, nil), 403, "GatedRepo")
	e.wantStatus(e.do("GET", "/api/models/carol/priv", tokGated, nil), 404, "RepoNotFound")
	e.wantStatus(e.do("PUT", "/api/models/carol/manual/settings", tokGated, map[string]any{"gated": false}), 403, "Forbidden")
	e.wantStatus(e.do("GET", "/carol/manual/resolve/main/config.json", "", nil), 401, "GatedRepo")
	// whoami names the token's real namespace, not the gated grant.
	r := e.do("GET", "/api/whoami-v2", tokGated, nil)
	e.wantStatus(r, 200, "")
	if !strings.Contains(string(r.body), `"name":"bob"`) {
		t.Errorf("whoami %s", r.body)
	}
	if _, err := parseScopes("gated"); err == nil {
		t.Errorf("a scope without a target was accepted")
	}
}
