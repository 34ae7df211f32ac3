package devhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// call is one request on its way through a handler.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	caller *caller
	// Repo routes: type (model, dataset, space), namespace and name; the
	// revision and in-repo path when the route has them.
	typ, ns, name string
	rev, path     string
	// Other route parameters (upload id, part number, collection slug...).
	params []string
	// dropAfter closes the connection once the handler is done, without
	// sending its response.
	dropAfter bool
	// storageRepo is the repo a storage download served bytes of.
	storageRepo string
	// fileRepo is the repo whose file a resolve or raw answer serves
	// directly (a redirect serves no file bytes), for FileBytesServed.
	fileRepo string
}

type storageOriginKey struct{}

func withStorageOrigin(ctx context.Context) context.Context {
	return context.WithValue(ctx, storageOriginKey{}, true)
}

func onStorageOrigin(r *http.Request) bool {
	v, _ := r.Context().Value(storageOriginKey{}).(bool)
	return v
}

// baseURL is the Hub's own address as the client reached it; Link headers
// and storage hrefs are absolute URLs on it.
func (c *call) baseURL() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

type handler func(*call) error

// ServeHTTP answers one request of the Hub protocol.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := fmt.Sprintf("Root=1-devhub-%08d", h.reqSeq.Add(1))
	w.Header().Set("X-Request-Id", reqID)
	route, fn, c := h.route(r)

	cw := &countingWriter{ResponseWriter: w, head: r.Method == http.MethodHead, cutAt: -1, flip: -1}
	cr := &countingReader{r: r.Body}
	r.Body = cr
	admin := strings.HasPrefix(route, "admin-")
	if !admin {
		h.inflight.Add(1)
	}
	defer func() {
		if !admin {
			defer h.inflight.Add(-1)
		}
		h.mu.Lock()
		h.stats.Requests[route]++
		h.stats.BytesServed += cw.n
		h.stats.BytesReceived += cr.n
		if isStorageRoute(route) && r.Header.Get("Authorization") != "" {
			h.stats.StorageAuthorization++
		}
		if route == "blob" && c.storageRepo != "" {
			h.stats.StorageBytes[c.storageRepo] += cw.n
			h.stats.FileBytesServed[c.storageRepo] += cw.n
		}
		if c.fileRepo != "" && cw.n > 0 {
			h.stats.FileBytesServed[c.fileRepo] += cw.n
		}
		h.mu.Unlock()
	}()
	c.w, c.r = cw, r

	// A storage origin serves storage and nothing else; once there is
	// one, the Hub's own origin serves no storage.
	separate := h.StorageURL() != ""
	if onStorageOrigin(r) != isStorageRoute(route) && (separate || onStorageOrigin(r)) {
		writeError(c.w, r, errNotFound("Sorry, we can't find the page you are looking for."))
		return
	}
	if isStorageRoute(route) {
		if herr := h.checkSignature(r); herr != nil {
			writeError(c.w, r, herr)
			return
		}
	}

	if !strings.HasPrefix(route, "admin-") {
		if f := h.takeFault(r, route); f != nil {
			if !h.applyFault(f, c, cw, cr) {
				return
			}
		}
	}
	if fn != nil && !strings.HasPrefix(route, "admin-") && !strings.HasPrefix(route, "storage-") && route != "blob" {
		var herr *hubError
		if c.caller, herr = h.identify(r); herr != nil {
			writeError(c.w, r, herr)
			return
		}
		if to := h.redirectMoved(c, r); to != "" {
			route = "moved-redirect"
			c.w.Header().Set("Location", to)
			c.w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
	}
	if fn == nil {
		writeError(c.w, r, errNotFound("Sorry, we can't find the page you are looking for."))
		return
	}
	err := fn(c)
	if c.dropAfter {
		panic(http.ErrAbortHandler)
	}
	if err == nil {
		return
	}
	var he *hubError
	if !errors.As(err, &he) {
		he = internalError(err)
	}
	writeError(c.w, r, he)
}

// route maps a request to its route name and handler. The escaped path is
// split on "/" before each segment is unescaped, so a revision such as
// refs%2Fpr%2F1 stays one segment.
func (h *Hub) route(r *http.Request) (string, handler, *call) {
	c := &call{}
	var segs []string
	for _, s := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		segs = append(segs, u)
	}
	m := r.Method
	is := func(methods ...string) bool {
		for _, x := range methods {
			if m == x {
				return true
			}
		}
		return false
	}
	get := is(http.MethodGet, http.MethodHead)
	n := len(segs)
	switch {
	case n == 0:
	case segs[0] == "_devhub":
		switch {
		case n == 2 && segs[1] == "stats" && get:
			return "admin-stats", h.adminStats, c
		case n == 2 && segs[1] == "faults":
			return "admin-faults", h.adminFaults, c
		case n == 3 && segs[1] == "upload" && m == http.MethodPut:
			c.params = segs[2:]
			return "storage-put", h.storagePut, c
		case n == 3 && segs[1] == "upload" && m == http.MethodPost:
			c.params = segs[2:]
			return "storage-complete", h.storageComplete, c
		case n == 4 && segs[1] == "upload" && segs[3] == "verify" && m == http.MethodPost:
			c.params = segs[2:3]
			return "storage-verify", h.storageVerify, c
		case n == 4 && segs[1] == "upload" && m == http.MethodPut:
			c.params = segs[2:]
			return "storage-part", h.storagePart, c
		case n == 3 && segs[1] == "blob" && get:
			c.params = segs[2:]
			return "blob", h.blob, c
		}
	case segs[0] == "api":
		return h.routeAPI(c, segs[1:], m, get)
	default:
		return h.routeFiles(c, segs, m, get)
	}
	return "not-found", nil, c
}

func (h *Hub) routeAPI(c *call, segs []string, m string, get bool) (string, handler, *call) {
	n := len(segs)
	switch {
	case n == 1 && segs[0] == "whoami-v2" && get:
		return "whoami", h.whoami, c
	case n == 2 && segs[0] == "repos" && segs[1] == "create" && m == http.MethodPost:
		return "repo-create", h.createRepo, c
	case n == 2 && segs[0] == "repos" && segs[1] == "delete" && m == http.MethodDelete:
		return "repo-delete", h.deleteRepo, c
	case n == 2 && segs[0] == "repos" && segs[1] == "move" && m == http.MethodPost:
		return "repo-move", h.moveRepo, c
	case n == 1 && segs[0] == "validate-yaml" && m == http.MethodPost:
		return "validate-yaml", h.validateYAML, c
	case n >= 6 && segs[0] == "resolve-cache" && (segs[1] == "models" || segs[1] == "datasets" || segs[1] == "spaces") && get:
		c.typ, c.ns, c.name = strings.TrimSuffix(segs[1], "s"), segs[2], segs[3]
		c.rev, c.path = segs[4], strings.Join(segs[5:], "/")
		return "resolve-cache", h.resolveCacheFile, c
	case n >= 1 && segs[0] == "collections":
		c.params = segs[1:]
		switch {
		case n == 1 && get:
			return "collections-list", h.listCollections, c
		case n == 1 && m == http.MethodPost:
			return "collection-create", h.createCollection, c
		case n == 3 && get:
			return "collection-get", h.getCollection, c
		case n == 3 && m == http.MethodDelete:
			return "collection-delete", h.deleteCollection, c
		case n == 4 && segs[3] == "items" && m == http.MethodPost:
			return "collection-add-item", h.addCollectionItem, c
		case n == 5 && segs[3] == "items" && m == http.MethodDelete:
			return "collection-delete-item", h.deleteCollectionItem, c
		}
	case n >= 3 && (segs[0] == "models" || segs[0] == "datasets" || segs[0] == "spaces"):
		c.typ, c.ns, c.name = strings.TrimSuffix(segs[0], "s"), segs[1], segs[2]
		rest := segs[3:]
		switch {
		case len(rest) == 0 && get:
			return "repo-info", h.repoInfo, c
		case len(rest) >= 2 && rest[0] == "revision" && get:
			c.rev = strings.Join(rest[1:], "/")
			return "repo-info", h.repoInfo, c
		case len(rest) >= 2 && rest[0] == "tree" && get:
			// JS sends the tree revision unescaped: take refs/x/y whole.
			k := 2
			if rest[1] == "refs" && len(rest) >= 4 {
				k = 4
			}
			c.rev, c.path = strings.Join(rest[1:k], "/"), strings.Join(rest[k:], "/")
			return "tree", h.tree, c
		case len(rest) == 2 && rest[0] == "paths-info" && m == http.MethodPost:
			c.rev = rest[1]
			return "paths-info", h.pathsInfo, c
		case len(rest) == 2 && rest[0] == "preupload" && m == http.MethodPost:
			c.rev = rest[1]
			return "preupload", h.preupload, c
		case len(rest) == 2 && rest[0] == "commit" && m == http.MethodPost:
			c.rev = rest[1]
			return "commit", h.commit, c
		case len(rest) == 2 && rest[0] == "lfs-files" && rest[1] == "duplicate" && m == http.MethodPost:
			return "lfs-duplicate", h.duplicateLFS, c
		case len(rest) == 1 && rest[0] == "refs" && get:
			return "refs", h.refs, c
		case len(rest) == 1 && rest[0] == "settings" && m == http.MethodPut:
			return "repo-settings", h.repoSettings, c
		}
	}
	return "not-found", nil, c
}

func (h *Hub) routeFiles(c *call, segs []string, m string, get bool) (string, handler, *call) {
	c.typ = "model"
	if segs[0] == "datasets" || segs[0] == "spaces" {
		c.typ = strings.TrimSuffix(segs[0], "s")
		segs = segs[1:]
	}
	n := len(segs)
	switch {
	case n == 6 && strings.HasSuffix(segs[1], ".git") && strings.Join(segs[2:], "/") == "info/lfs/objects/batch" && m == http.MethodPost:
		c.ns, c.name = segs[0], strings.TrimSuffix(segs[1], ".git")
		return "lfs-batch", h.lfsBatch, c
	case n >= 5 && (segs[2] == "resolve" || segs[2] == "raw") && get:
		c.ns, c.name, c.rev, c.path = segs[0], segs[1], segs[3], strings.Join(segs[4:], "/")
		if segs[2] == "raw" {
			return "raw", h.raw, c
		}
		return "resolve", h.resolve, c
	}
	return "not-found", nil, c
}

// countingWriter counts body bytes and carries the response-side faults.
type countingWriter struct {
	http.ResponseWriter
	n     int64
	head  bool
	cutAt int64 // abort the connection once this many bytes went out (-1: never)
	flip  int64 // flip the byte at this offset (-1: never)
	armed bool
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.armed && w.flip >= w.n && w.flip < w.n+int64(len(p)) {
		q := append([]byte(nil), p...)
		q[w.flip-w.n] ^= 0xff
		p = q
	}
	if w.armed && w.cutAt >= 0 && w.n+int64(len(p)) >= w.cutAt {
		k := w.cutAt - w.n
		m, _ := w.ResponseWriter.Write(p[:k])
		w.n += int64(m)
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	m, err := w.ResponseWriter.Write(p)
	w.n += int64(m)
	return m, err
}

// ReadFrom lets a file served without a fault go out by sendfile(2): the
// kernel copies it to the socket, and no byte passes through user space.
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok && !w.armed {
		n, err := rf.ReadFrom(r)
		w.n += n
		return n, err
	}
	return copyBuf(writerOnly{w}, r)
}

// writerOnly hides a writer's ReadFrom so that io.Copy uses Write.
type writerOnly struct{ io.Writer }

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// countingReader counts request body bytes and can cut the connection.
type countingReader struct {
	r     io.ReadCloser
	n     int64
	cutAt int64
	armed bool
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.armed && r.n+int64(len(p)) > r.cutAt {
		p = p[:r.cutAt-r.n]
		if len(p) == 0 {
			panic(http.ErrAbortHandler)
		}
	}
	m, err := r.r.Read(p)
	r.n += int64(m)
	return m, err
}

func (r *countingReader) Close() error { return r.r.Close() }

// decodeSegment is used for path pieces taken from query strings.
func cleanPath(p string) string { return strings.Trim(p, "/") }
