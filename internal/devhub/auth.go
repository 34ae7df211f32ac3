package devhub

import (
	"fmt"
	"net/http"
	"strings"
)

// scope grants read or write on one namespace ("ns/*"), one repo ("ns/name")
// or everything ("*").
type scope struct {
	write    bool
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
		if !ok || (perm != "read" && perm != "write") {
			return nil, fmt.Errorf("token scope %q: want read:TARGET or write:TARGET", s)
		}
		sc := scope{write: perm == "write"}
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
			if s.write == w && s.ns != "*" {
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
		if write && !s.write {
			continue
		}
		if (s.ns == "*" || s.ns == ns) && (s.name == "*" || s.name == name) {
			return true
		}
	}
	return false
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
// tell a missing repo from a private one: 401 to anonymous callers, 404 to
// authenticated ones.
func (h *Hub) readRepoLocked(c *caller, typ, ns, name string) (*repo, *hubError) {
	rp, ok := h.repos[repoKey(typ, ns, name)]
	if ok && (!rp.Private || c.tok.allows(false, ns, name)) {
		return rp, nil
	}
	if c.anonymous() {
		return nil, errRepoNotFound(401)
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

// canDownload reports whether the caller passes a gated repo's gate.
func (h *Hub) checkGateLocked(c *caller, rp *repo) *hubError {
	if !rp.Gated || c.tok.allows(false, rp.NS, rp.Name) || rp.GatedAllow[c.raw] && c.raw != "" {
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
