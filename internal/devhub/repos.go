package devhub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (h *Hub) createRepo(c *call) error {
	var req struct {
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Type         string `json:"type"`
		Private      *bool  `json:"private"`
		Visibility   string `json:"visibility"`
		Files        []struct {
			Path, Content, Encoding string
		} `json:"files"`
	}
	if err := decodeJSON(c.r, &req, 64<<20); err != nil {
		return err
	}
	if c.caller.anonymous() {
		return errUnauthorized("You must be authenticated to create a repo.")
	}
	ns, name := req.Organization, req.Name
	if ns == "" {
		if a, b, ok := strings.Cut(name, "/"); ok {
			ns, name = a, b
		} else {
			ns = c.caller.tok.user()
		}
	}
	typ := req.Type
	if typ == "" {
		typ = "model"
	}
	if typ != "model" && typ != "dataset" && typ != "space" {
		return badRequest("Invalid repo type %q", req.Type)
	}
	if !validName(ns) || !validName(name) {
		return badRequest("Invalid repo name %q: use letters, digits, '-', '_' and '.'", ns+"/"+name)
	}
	if !c.caller.tok.allows(true, ns, name) {
		return errForbidden(fmt.Sprintf("You don't have the rights to create a %s under the namespace %q", typ, ns))
	}
	private, herr := visibility(req.Private, req.Visibility)
	if herr != nil {
		return herr
	}
	extra := map[string]*fileEntry{}
	for _, f := range req.Files {
		data, err := decodeContent(f.Content, f.Encoding)
		if err != nil {
			return badRequest("file %s: %v", f.Path, err)
		}
		e, err := h.putRegular(data)
		if err != nil {
			return err
		}
		extra[cleanPath(f.Path)] = e
	}
	ga, err := h.store.put(strings.NewReader(defaultGitattributes), "", -1)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	prefix := ""
	if typ != "model" {
		prefix = typ + "s/"
	}
	repoURL := c.baseURL() + "/" + prefix + ns + "/" + name
	if _, ok := h.repos[repoKey(typ, ns, name)]; ok {
		return errConflict("You already created this "+typ+" repo", map[string]any{"url": repoURL})
	}
	rp := h.newRepoLocked(typ, ns, name, private)
	h.initialCommitLocked(rp, ga, extra)
	writeJSON(c.w, 200, map[string]any{"url": repoURL, "name": ns + "/" + name, "id": rp.ObjID})
	return nil
}

func (h *Hub) putRegular(data []byte) (*fileEntry, error) {
	info, err := h.store.put(bytes.NewReader(data), "", -1)
	if err != nil {
		return nil, err
	}
	return &fileEntry{Size: info.Size, SHA256: info.SHA256, GitOID: gitBlobSHA1(data)}, nil
}

func decodeContent(content, encoding string) ([]byte, error) {
	switch encoding {
	case "base64":
		return base64.StdEncoding.DecodeString(content)
	case "utf-8", "utf8", "":
		return []byte(content), nil
	}
	return nil, fmt.Errorf("unknown encoding %q", encoding)
}

func decodeJSON(r *http.Request, v any, limit int64) error {
	body, err := readAllLimit(r.Body, limit)
	if err != nil {
		return badRequest("%v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Invalid JSON body: %v", err)
	}
	return nil
}

func (h *Hub) deleteRepo(c *call) error {
	var req struct{ Name, Organization, Type string }
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	ns, name := req.Organization, req.Name
	if ns == "" {
		ns, name, _ = strings.Cut(name, "/")
	}
	typ := req.Type
	if typ == "" {
		typ = "model"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.writeRepoLocked(c.caller, typ, ns, name); err != nil {
		return err
	}
	delete(h.repos, repoKey(typ, ns, name))
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(200)
	io.WriteString(c.w, "OK")
	return nil
}

// readRevisionLocked finds the repo the call names, if the caller may read
// it, and the commit its revision resolves to.
func (h *Hub) readRevisionLocked(c *call) (*repo, *commit, *hubError) {
	rp, herr := h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return nil, nil, herr
	}
	cm, herr := resolveLocked(rp, c.rev)
	if herr != nil {
		return nil, nil, herr
	}
	return rp, cm, nil
}

// resolveLocked maps a revision (branch, full commit id or HEAD) to a commit.
func resolveLocked(rp *repo, rev string) (*commit, *hubError) {
	if rev == "" || rev == "HEAD" {
		rev = "main"
	}
	rev = strings.TrimPrefix(rev, "refs/heads/")
	if sha, ok := rp.Branches[rev]; ok {
		return rp.Commits[sha], nil
	}
	if cm, ok := rp.Commits[rev]; ok {
		return cm, nil
	}
	return nil, errRevision(rev)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// cardData parses the YAML front matter of README.md.
func cardData(readme string) map[string]any {
	readme = strings.TrimPrefix(readme, "\ufeff")
	rest, ok := strings.CutPrefix(readme, "---\n")
	if !ok {
		if rest, ok = strings.CutPrefix(readme, "---\r\n"); !ok {
			return nil
		}
	}
	var yml string
	for _, end := range []string{"\n---\n", "\n---\r\n", "\n---"} {
		if i := strings.Index(rest, end); i >= 0 {
			yml = rest[:i]
			break
		}
	}
	if strings.HasPrefix(rest, "---") {
		yml = ""
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(yml), &m); err != nil || m == nil {
		return nil
	}
	return m
}

// tagsFrom folds card metadata into the tags the Hub lists.
func tagsFrom(card map[string]any, files map[string]*fileEntry) []string {
	var tags []string
	seen := map[string]bool{}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	strs := func(v any) []string {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	for _, s := range strs(card["library_name"]) {
		add(s)
	}
	for _, s := range strs(card["tags"]) {
		add(s)
	}
	for p := range files {
		if strings.HasSuffix(p, ".safetensors") {
			add("safetensors")
			break
		}
	}
	for _, s := range strs(card["pipeline_tag"]) {
		add(s)
	}
	for _, s := range strs(card["base_model"]) {
		add("base_model:" + s)
	}
	for _, s := range strs(card["license"]) {
		add("license:" + s)
	}
	add("region:us")
	return tags
}

func (h *Hub) repoInfo(c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, cm, herr := h.readRevisionLocked(c)
	if herr != nil {
		return herr
	}
	q := c.r.URL.Query()
	blobs := boolParam(q.Get("blobs"))
	paths := sortedPaths(cm.Files)
	siblings := make([]map[string]any, 0, len(paths))
	var used int64
	for _, p := range paths {
		e := cm.Files[p]
		used += e.Size
		s := map[string]any{"rfilename": p}
		if blobs {
			s["size"] = e.Size
			s["blobId"] = e.GitOID
			if e.LFS {
				s["lfs"] = map[string]any{"size": e.Size, "sha256": e.SHA256, "pointerSize": len(lfsPointer(e.SHA256, e.Size))}
			}
		}
		siblings = append(siblings, s)
	}
	var gated any = false
	if rp.Gated != "" {
		gated = rp.Gated
	}
	info := map[string]any{
		"_id": rp.ObjID, "id": rp.ID(), "author": rp.NS, "sha": cm.ID,
		"lastModified": iso(rp.Commits[rp.Branches["main"]].Date), "createdAt": iso(rp.Created),
		"private": rp.Private, "gated": gated, "disabled": false, "downloads": 0, "likes": 0,
		"siblings": siblings, "spaces": []string{}, "usedStorage": used,
	}
	if rp.Type == "model" {
		info["modelId"] = rp.ID()
	}
	card := cardData(h.readSmall(cm.Files["README.md"]))
	if card != nil {
		info["cardData"] = card
		if s, ok := card["pipeline_tag"].(string); ok {
			info["pipeline_tag"] = s
		}
		if s, ok := card["library_name"].(string); ok {
			info["library_name"] = s
		}
	}
	info["tags"] = tagsFrom(card, cm.Files)
	// With expand, the Hub returns only the requested fields (and the ids).
	expand := append(q["expand"], q["expand[]"]...)
	if len(expand) > 0 {
		sel := map[string]any{"_id": info["_id"], "id": info["id"]}
		for _, k := range expand {
			if v, ok := info[k]; ok {
				sel[k] = v
			}
		}
		info = sel
	}
	writeJSON(c.w, 200, info)
	return nil
}

func boolParam(s string) bool {
	b, err := strconv.ParseBool(strings.ToLower(s))
	return err == nil && b
}

func sortedPaths(files map[string]*fileEntry) []string {
	ps := make([]string, 0, len(files))
	for p := range files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// treeEntry is a file or directory as tree and paths-info list it.
type treeEntry struct {
	Type       string          `json:"type"`
	OID        string          `json:"oid"`
	Size       int64           `json:"size"`
	Path       string          `json:"path"`
	LFS        *lfsMeta        `json:"lfs,omitempty"`
	XetHash    string          `json:"xetHash,omitempty"`
	LastCommit *lastCommitMeta `json:"lastCommit,omitempty"`
	Security   map[string]any  `json:"securityFileStatus,omitempty"`
}

type lfsMeta struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type lastCommitMeta struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Date  string `json:"date"`
}

func (h *Hub) fileEntryJSON(p string, e *fileEntry) treeEntry {
	t := treeEntry{Type: "file", OID: e.GitOID, Size: e.Size, Path: p}
	if e.LFS {
		t.LFS = &lfsMeta{OID: e.SHA256, Size: e.Size, PointerSize: len(lfsPointer(e.SHA256, e.Size))}
		if h.xetVisibleLocked(e.SHA256) {
			t.XetHash = xetHashFor(e.SHA256)
		}
	}
	return t
}

// objectAt is the git id of path p (file or directory) in cm, "" if absent.
func objectAt(cm *commit, p string, dir bool) string {
	if dir {
		return cm.Trees[p]
	}
	if e := cm.Files[p]; e != nil {
		return e.GitOID
	}
	return ""
}

// lastCommitLocked walks back from cm to the commit that last changed p.
func lastCommitLocked(rp *repo, cm *commit, p string, dir bool) *lastCommitMeta {
	cur := cm
	for cur.Parent != "" {
		par := rp.Commits[cur.Parent]
		if par == nil || objectAt(par, p, dir) != objectAt(cur, p, dir) {
			break
		}
		cur = par
	}
	return &lastCommitMeta{ID: cur.ID, Title: cur.Title, Date: iso(cur.Date)}
}

func (h *Hub) expandEntryLocked(rp *repo, cm *commit, t *treeEntry) {
	t.LastCommit = lastCommitLocked(rp, cm, t.Path, t.Type == "directory")
	if t.Type == "file" {
		t.Security = map[string]any{"status": "unscanned"}
	}
}

func (h *Hub) tree(c *call) error {
	q := c.r.URL.Query()
	recursive, expand := boolParam(q.Get("recursive")), boolParam(q.Get("expand"))
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, cm, herr := h.readRevisionLocked(c)
	if herr != nil {
		return herr
	}
	dir := cleanPath(c.path)
	if _, ok := cm.Trees[dir]; !ok {
		return errEntry(dir)
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var entries []treeEntry
	dirs := map[string]bool{}
	for _, p := range sortedPaths(cm.Files) {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		parts := strings.Split(rel, "/")
		if !recursive && len(parts) > 1 {
			d := prefix + parts[0]
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, treeEntry{Type: "directory", OID: cm.Trees[d], Path: d})
			}
			continue
		}
		for i := 1; i < len(parts); i++ {
			d := prefix + strings.Join(parts[:i], "/")
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, treeEntry{Type: "directory", OID: cm.Trees[d], Path: d})
			}
		}
		entries = append(entries, h.fileEntryJSON(p, cm.Files[p]))
	}
	start := 0
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.Atoi(cur)
		if err != nil || n < 0 || n > len(entries) {
			return badRequest("Invalid cursor %q", cur)
		}
		start = n
	}
	end := min(start+h.pageSize, len(entries))
	page := entries[start:end]
	if expand {
		for i := range page {
			h.expandEntryLocked(rp, cm, &page[i])
		}
	}
	if end < len(entries) {
		setNextLink(c, q, strconv.Itoa(end))
	}
	if page == nil {
		page = []treeEntry{}
	}
	writeJSON(c.w, 200, page)
	return nil
}

// setNextLink points the Link header at the next page: an absolute URL,
// which the JS client requires.
func setNextLink(c *call, q url.Values, cursor string) {
	q.Set("cursor", cursor)
	next := c.baseURL() + c.r.URL.EscapedPath() + "?" + q.Encode()
	c.w.Header().Set("Link", "<"+next+`>; rel="next"`)
}

func (h *Hub) pathsInfo(c *call) error {
	var paths []string
	var expand bool
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/json") {
		var req struct {
			Paths  []string `json:"paths"`
			Expand any      `json:"expand"`
		}
		if err := decodeJSON(c.r, &req, 16<<20); err != nil {
			return err
		}
		paths = req.Paths
		expand = req.Expand == true || req.Expand == "true" || req.Expand == "1"
	} else {
		c.r.Body = http.MaxBytesReader(c.w, c.r.Body, 16<<20)
		if err := c.r.ParseForm(); err != nil {
			return badRequest("Invalid form body: %v", err)
		}
		paths = append(c.r.PostForm["paths"], c.r.PostForm["paths[]"]...)
		expand = boolParam(c.r.PostForm.Get("expand"))
	}
	if len(paths) > 1000 {
		return &hubError{Status: 413, Code: "PayloadTooLarge", Msg: "too many parameters"}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, cm, herr := h.readRevisionLocked(c)
	if herr != nil {
		return herr
	}
	out := []treeEntry{}
	for _, p := range paths {
		p = cleanPath(p)
		var t treeEntry
		if e, ok := cm.Files[p]; ok {
			t = h.fileEntryJSON(p, e)
		} else if oid, ok := cm.Trees[p]; ok && p != "" {
			t = treeEntry{Type: "directory", OID: oid, Path: p}
		} else {
			continue
		}
		if expand {
			h.expandEntryLocked(rp, cm, &t)
		}
		out = append(out, t)
	}
	writeJSON(c.w, 200, out)
	return nil
}

func (h *Hub) preupload(c *call) error {
	var req struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			Sample string `json:"sample"`
		} `json:"files"`
		GitAttributes *string `json:"gitAttributes"`
		GitIgnore     *string `json:"gitIgnore"`
	}
	h.mu.Lock()
	rp, herr := h.writeRepoLocked(c.caller, c.typ, c.ns, c.name)
	h.mu.Unlock()
	if herr != nil {
		return herr
	}
	if err := decodeJSON(c.r, &req, 16<<20); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	head, ok := rp.Branches[c.rev]
	if !ok {
		return errRevision(c.rev)
	}
	cm := rp.Commits[head]
	rules := parseGitattributes(h.readSmall(cm.Files[".gitattributes"]))
	if req.GitAttributes != nil {
		rules = parseGitattributes(*req.GitAttributes)
	}
	// shouldIgnore comes from the branch's .gitignore, or the one the
	// commit brings (huggingface_hub sends it as gitIgnore, _commit_api.py).
	ignore := parseGitignore(h.readSmall(cm.Files[".gitignore"]))
	if req.GitIgnore != nil {
		ignore = parseGitignore(*req.GitIgnore)
	}
	files := make([]map[string]any, 0, len(req.Files))
	for _, f := range req.Files {
		sample, err := base64.StdEncoding.DecodeString(f.Sample)
		if err != nil {
			return badRequest("sample of %s is not base64: %v", f.Path, err)
		}
		mode := "regular"
		if h.isLFS(rules, cleanPath(f.Path), f.Size, sample) {
			mode = "lfs"
		}
		m := map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": ignored(ignore, cleanPath(f.Path))}
		if e, ok := cm.Files[cleanPath(f.Path)]; ok {
			if e.LFS {
				m["oid"] = e.SHA256
			} else {
				m["oid"] = e.GitOID
			}
		}
		files = append(files, m)
	}
	writeJSON(c.w, 200, map[string]any{"files": files, "commitOid": head})
	return nil
}

// commitLine is one NDJSON line of a commit.
type commitLine struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (h *Hub) commit(c *call) error {
	if boolParam(c.r.URL.Query().Get("create_pr")) {
		return badRequest("devhub does not support pull requests (create_pr)")
	}
	h.mu.Lock()
	_, herr := h.writeRepoLocked(c.caller, c.typ, c.ns, c.name)
	h.mu.Unlock()
	if herr != nil {
		return herr
	}
	var header struct {
		Summary      string `json:"summary"`
		Description  string `json:"description"`
		ParentCommit string `json:"parentCommit"`
	}
	gotHeader := false
	var ops []commitOp
	var binary []string // plain file lines the Hub refuses as binary
	dec := json.NewDecoder(c.r.Body)
	for {
		var line commitLine
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return badRequest("Invalid NDJSON body: %v", err)
		}
		switch line.Key {
		case "header":
			if err := json.Unmarshal(line.Value, &header); err != nil {
				return badRequest("Invalid header: %v", err)
			}
			gotHeader = true
		case "file":
			var v struct{ Path, Content, Encoding string }
			if err := json.Unmarshal(line.Value, &v); err != nil {
				return badRequest("Invalid file operation: %v", err)
			}
			data, err := decodeContent(v.Content, v.Encoding)
			if err != nil {
				return badRequest("file %s: %v", v.Path, err)
			}
			if h.binaryLimit > 0 && int64(len(data)) > h.binaryLimit && looksBinary(data) {
				binary = append(binary, v.Path)
				continue
			}
			e, err := h.putRegular(data)
			if err != nil {
				return err
			}
			ops = append(ops, commitOp{Kind: "file", Path: v.Path, Entry: e})
		case "lfsFile":
			var v struct {
				Path    string `json:"path"`
				Algo    string `json:"algo"`
				OID     string `json:"oid"`
				Size    *int64 `json:"size"`
				OldPath string `json:"oldPath"`
			}
			if err := json.Unmarshal(line.Value, &v); err != nil {
				return badRequest("Invalid lfsFile operation: %v", err)
			}
			if v.OID == "" && v.OldPath != "" {
				ops = append(ops, commitOp{Kind: "lfsFile", Path: v.Path, OldPath: v.OldPath})
				continue
			}
			if (v.Algo != "" && v.Algo != "sha256") || !hex64.MatchString(v.OID) {
				return badRequest("lfsFile %s: oid must be a lowercase sha256 (algo sha256)", v.Path)
			}
			size := int64(-1)
			if v.Size != nil {
				size = *v.Size
			}
			ops = append(ops, commitOp{Kind: "lfsFile", Path: v.Path, Entry: &fileEntry{SHA256: v.OID, Size: size, LFS: true}})
		case "deletedFile", "deletedFolder":
			var v struct{ Path string }
			if err := json.Unmarshal(line.Value, &v); err != nil {
				return badRequest("Invalid %s operation: %v", line.Key, err)
			}
			ops = append(ops, commitOp{Kind: line.Key, Path: v.Path})
		default:
			return badRequest("Unknown commit key %q", line.Key)
		}
	}
	if !gotHeader {
		return badRequest("The commit must start with a header line")
	}
	if len(binary) > 0 {
		return badRequest("%s", binaryRejection(binary, c.rev))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, herr := h.writeRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return herr
	}
	cm, herr := h.applyCommitLocked(rp, c.rev, header.ParentCommit, header.Summary, header.Description, ops)
	if herr != nil {
		return herr
	}
	writeJSON(c.w, 200, map[string]any{
		"success": true, "commitOid": cm.ID, "hookOutput": "",
		"commitUrl": c.baseURL() + "/" + rp.urlPrefix() + rp.ID() + "/commit/" + cm.ID,
	})
	return nil
}

func (h *Hub) refs(c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, herr := h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return herr
	}
	var names []string
	for b := range rp.Branches {
		names = append(names, b)
	}
	sort.Strings(names)
	branches := []map[string]any{}
	for _, b := range names {
		branches = append(branches, map[string]any{"name": b, "ref": "refs/heads/" + b, "targetCommit": rp.Branches[b]})
	}
	writeJSON(c.w, 200, map[string]any{"branches": branches, "converts": []any{}, "tags": []any{}})
	return nil
}

func (h *Hub) whoami(c *call) error {
	if c.caller.anonymous() {
		return errUnauthorized("Invalid credentials in Authorization header")
	}
	t := c.caller.tok
	role := "read"
	var scoped []map[string]any
	orgs := []map[string]any{}
	user := t.user()
	seen := map[string]bool{}
	for _, s := range t.scopes {
		if s.gated {
			// Access to a gated repo's files is not a permission of the token.
			continue
		}
		if s.write {
			role = "write"
		}
		perms := []string{"repo.content.read"}
		if s.write {
			perms = append(perms, "repo.write")
		}
		ent := map[string]any{"type": "org", "name": s.ns}
		if s.name != "*" {
			ent = map[string]any{"type": "model", "name": s.ns + "/" + s.name}
		} else if s.ns == user {
			ent["type"] = "user"
		}
		scoped = append(scoped, map[string]any{"entity": ent, "permissions": perms})
		if s.ns != user && s.ns != "*" && !seen[s.ns] {
			seen[s.ns] = true
			orgs = append(orgs, map[string]any{"type": "org", "name": s.ns, "fullname": s.ns, "roleInOrg": role})
		}
	}
	writeJSON(c.w, 200, map[string]any{
		"type": "user", "id": sha256Hex([]byte(user))[:24], "name": user, "fullname": user,
		"emailVerified": false, "isPro": false, "canPay": false, "orgs": orgs,
		"auth": map[string]any{"type": "access_token", "accessToken": map[string]any{
			"displayName": "devhub", "role": "fineGrained", "fineGrained": map[string]any{"scoped": scoped, "canReadGatedRepos": true},
		}},
	})
	_ = role
	return nil
}

// looksBinary tells binary content as git does: a NUL byte in the first
// 8000 bytes.
func looksBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

// binaryRejection is the Hub's refusal of binary files committed as plain
// git files.
func binaryRejection(paths []string, rev string) string {
	var b strings.Builder
	b.WriteString("Your push was rejected because it contains binary files.\nPlease use https://huggingface.co/docs/hub/xet to store binary files.\n\nOffending files:\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "  - %s (ref: refs/heads/%s)\n", p, rev)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
