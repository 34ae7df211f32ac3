package devhub

import (
	"fmt"
	"net/http"
	"strings"
)

// scope grants read or write on one namespace ("ns/*"), one repo ("ns/name")
// or everything ("*"); or, as gated, only access to the files of the gated
// repos it names: what a user gets on the Hub by accepting a gated repo's
// terms (and, for a manual gate, being approved), without any other right.
type scope struct {
	write    bool
	gated    bool
	ns, name string // "*" for any
}

// token is what the Hub knows about an access token.
type token struct {
	scopes []scope
}

func parseScopes(spec string) (*token, error) {
	t := &token{}
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		perm, target, ok := strings.Cut(s, ":")
		if !ok || (perm != "read" && perm != "write" && perm != "gated") {
			return nil, fmt.Errorf("token scope %q: want read:TARGET, write:TARGET or gated:TARGET", s)
		}
		sc := scope{write: perm == "write", gated: perm == "gated"}
		switch {
		case target == "*":
			sc.ns, sc.name = "*", "*"
		default:
			ns, name, ok := strings.Cut(target, "/")
			if !ok || !validName(ns) || (name != "*" && !validName(name)) {
				return nil, fmt.Errorf("token scope %q: target must be *, NS/* or NS/NAME", s)
			}
			sc.ns, sc.name = ns, name
		}
		t.scopes = append(t.scopes, sc)
	}
	return t, nil
}

// user is the name whoami reports: the first namespace the token may write
// to (or read, failing that).
func (t *token) user() string {
	for _, w := range []bool{true, false} {
		for _, s := range t.scopes {
			if s.write == w && !s.gated && s.ns != "*" {
				return s.ns
			}
		}
	}
	return "devhub"
}

func (t *token) allows(write bool, ns, name string) bool {
	if t == nil {
		return false
	}
	for _, s := range t.scopes {
		if s.gated || (write && !s.write) {
			continue
		}
		if s.matches(ns, name) {
			return true
		}
	}
	return false
}

// passesGate reports whether the token may download a gated repo's files:
// it can read the repo (as the owner's members can), or it was granted
// access to that repo's gate.
func (t *token) passesGate(ns, name string) bool {
	if t == nil {
		return false
	}
	for _, s := range t.scopes {
		if s.matches(ns, name) {
			return true
		}
	}
	return false
}

func (s scope) matches(ns, name string) bool {
	return (s.ns == "*" || s.ns == ns) && (s.name == "*" || s.name == name)
}

// caller is who sent a request.
type caller struct {
	raw string // the bearer token, "" when anonymous
	tok *token
}

func (c *caller) anonymous() bool { return c.raw == "" }

// identify reads the bearer token; an unknown token is refused outright,
// like the Hub does even on public resources.
func (h *Hub) identify(r *http.Request) (*caller, *hubError) {
	a := r.Header.Get("Authorization")
	if a == "" {
		return &caller{}, nil
	}
	raw, ok := strings.CutPrefix(a, "Bearer ")
	h.mu.Lock()
	t := h.tokens[strings.TrimSpace(raw)]
	h.mu.Unlock()
	if !ok || t == nil {
		return nil, errUnauthorized("Invalid credentials in Authorization header")
	}
	return &caller{raw: strings.TrimSpace(raw), tok: t}, nil
}

// readRepoLocked finds a repo the caller may read. Like the Hub it does not
// tell a missing repo from a private one: to a caller without a token it
// answers 401 with no X-Error-Code (errHiddenRepo), to one with a token 404
// RepoNotFound.
func (h *Hub) readRepoLocked(c *caller, typ, ns, name string) (*repo, *hubError) {
	rp, ok := h.repos[repoKey(typ, ns, name)]
	if ok && (!rp.Private || c.tok.allows(false, ns, name)) {
		return rp, nil
	}
	if c.anonymous() {
		return nil, errHiddenRepo()
	}
	return nil, errRepoNotFound(404)
}

// writeRepoLocked finds a repo the caller may write to.
func (h *Hub) writeRepoLocked(c *caller, typ, ns, name string) (*repo, *hubError) {
	rp, err := h.readRepoLocked(c, typ, ns, name)
	if err != nil {
		return nil, err
	}
	if c.anonymous() {
		return nil, errUnauthorized("You must be authenticated to access this resource.")
	}
	if !c.tok.allows(true, ns, name) {
		return nil, errForbidden(fmt.Sprintf("You don't have the rights to write to %s/%s. This token has no write access to it.", ns, name))
	}
	return rp, nil
}

// checkGateLocked refuses a caller that has not passed a gated repo's gate.
func (h *Hub) checkGateLocked(c *caller, rp *repo) *hubError {
	if rp.Gated == "" || c.tok.passesGate(rp.NS, rp.Name) || rp.GatedAllow[c.raw] && c.raw != "" {
		return nil
	}
	msg := fmt.Sprintf("Access to %s %s is restricted. You must have access to it and be authenticated to access it. Please log in.", rp.Type, rp.ID())
	status := 401
	if !c.anonymous() {
		status = 403
		msg = fmt.Sprintf("Access to %s %s is restricted and you are not in the authorized list. Visit %s to ask for access.", rp.Type, rp.ID(), rp.ID())
	}
	return &hubError{Status: status, Code: "GatedRepo", Msg: msg}
}
