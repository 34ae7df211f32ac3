package devhub

import (
	"net/http"
	"net/url"
	"strings"
)

// WithResolveCache makes /resolve/ answer a regular (non-LFS) file with a
// relative 307 redirect to /api/resolve-cache/{type}s/{ns}/{name}/{commit}/{path}
// on the Hub's own host, as the Hub does for small files. A client must
// follow it with its token (huggingface_hub keeps Authorization on
// same-origin redirects, utils/_http.py), or a private or gated file
// fails.
func WithResolveCache(on bool) Option {
	return func(h *Hub) error { h.resolveCache = on; return nil }
}

// resolveCacheURL is the relative URL a small file's resolve redirects to.
func resolveCacheURL(rp *repo, commit, p string) string {
	return "/api/resolve-cache/" + rp.Type + "s/" + url.PathEscape(rp.NS) + "/" + url.PathEscape(rp.Name) + "/" + commit + "/" + escapePath(p)
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// resolveCacheFile serves what a resolve-cache redirect points at: the
// file at that commit, with the same access checks as /resolve/.
func (h *Hub) resolveCacheFile(c *call) error {
	rp, _, e, err := h.fileForDownload(c)
	if err != nil {
		return err
	}
	if e.LFS {
		return h.redirectToBlob(c, rp, e)
	}
	// The bytes of the file the resolve redirected here are served here.
	c.fileRepo = rp.statsKey()
	return h.serveRegular(c, e)
}

// MoveRepo renames repo from to to ("ns/name", "datasets/ns/name"), as
// POST /api/repos/move does: from then on the old name answers a redirect
// to the new one, until a repo is created under the old name again.
func (h *Hub) MoveRepo(from, to string) error {
	ft, fns, fname, err := splitRepoID(from)
	if err != nil {
		return err
	}
	tt, tns, tname, err := splitRepoID(to)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if herr := h.moveLocked(ft, fns, fname, tt, tns, tname); herr != nil {
		return herr
	}
	return nil
}

func (h *Hub) moveLocked(ft, fns, fname, tt, tns, tname string) *hubError {
	if ft != tt {
		return badRequest("Cannot move a %s repo to a %s repo", ft, tt)
	}
	fk, tk := repoKey(ft, fns, fname), repoKey(tt, tns, tname)
	rp, ok := h.repos[fk]
	if !ok {
		return errRepoNotFound(404)
	}
	if _, ok := h.repos[tk]; ok {
		return errConflict("You already created this "+tt+" repo", nil)
	}
	delete(h.repos, fk)
	rp.NS, rp.Name = tns, tname
	h.repos[tk] = rp
	h.moved[fk] = tk
	delete(h.moved, tk)
	for _, up := range h.uploads {
		if up.repoKey == fk {
			up.repoKey = tk
		}
	}
	return nil
}

// moveRepo is POST /api/repos/move ({"fromRepo", "toRepo", "type"}, as
// huggingface_hub's move_repo sends, hf_api.py): the caller must be able to
// write both names.
func (h *Hub) moveRepo(c *call) error {
	var req struct {
		FromRepo string `json:"fromRepo"`
		ToRepo   string `json:"toRepo"`
		Type     string `json:"type"`
	}
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	typ := req.Type
	if typ == "" {
		typ = "model"
	}
	fns, fname, ok1 := strings.Cut(req.FromRepo, "/")
	tns, tname, ok2 := strings.Cut(req.ToRepo, "/")
	if !ok1 || !ok2 || !validName(tns) || !validName(tname) {
		return badRequest("fromRepo and toRepo must be namespace/name")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, herr := h.writeRepoLocked(c.caller, typ, fns, fname); herr != nil {
		return herr
	}
	if !c.caller.tok.allows(true, tns, tname) {
		return errForbidden("You don't have the rights to create a " + typ + " under the namespace " + tns)
	}
	if herr := h.moveLocked(typ, fns, fname, typ, tns, tname); herr != nil {
		return herr
	}
	writeJSON(c.w, 200, map[string]any{"success": true})
	return nil
}

// redirectMoved returns where a request for a renamed repo's old name
// goes: the same URL with the new name, relative to the Hub's host, when
// the caller may read the repo under its new name; "" otherwise (the old
// name then answers as a missing repo would).
func (h *Hub) redirectMoved(c *call, r *http.Request) string {
	if c.ns == "" || c.name == "" {
		return ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := repoKey(c.typ, c.ns, c.name)
	if _, ok := h.repos[key]; ok {
		return ""
	}
	to, ok := h.moved[key]
	rp := h.repos[to]
	if !ok || rp == nil || (rp.Private && !c.caller.tok.allows(false, rp.NS, rp.Name)) {
		return ""
	}
	segs := strings.Split(r.URL.EscapedPath(), "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] != url.PathEscape(c.ns) {
			continue
		}
		switch segs[i+1] {
		case url.PathEscape(c.name):
			segs[i], segs[i+1] = url.PathEscape(rp.NS), url.PathEscape(rp.Name)
		case url.PathEscape(c.name) + ".git":
			segs[i], segs[i+1] = url.PathEscape(rp.NS), url.PathEscape(rp.Name)+".git"
		default:
			continue
		}
		loc := strings.Join(segs, "/")
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		return loc
	}
	return ""
}
