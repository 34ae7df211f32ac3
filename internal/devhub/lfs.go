package devhub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// upload is an LFS object the batch endpoint handed out storage URLs for.
type upload struct {
	repoKey string
	oid     string
	size    int64
	chunk   int64          // 0 for a basic upload
	parts   int            // number of parts of a multipart upload
	etags   map[int]string // part number -> etag (without quotes)
	// writing counts part PUTs in progress and completing is set while a
	// completion hashes the parts' file (both under Hub.mu): a part is
	// never written into a file being hashed or already stored.
	writing    int
	completing bool
	// The object's sha256 is computed as parts land, in file order, by
	// reading back each part once the ones before it are hashed (catchUp),
	// so a completion only hashes what is left instead of the whole file.
	catching bool       // a catchUp goroutine runs (under Hub.mu)
	hmu      sync.Mutex // held while hashing; guards hash and hashed
	hash     hash.Hash
	hashed   int64 // bytes hashed: always at a part boundary
}

func (h *Hub) lfsBatch(c *call) error {
	var req struct {
		Operation string   `json:"operation"`
		Transfers []string `json:"transfers"`
		HashAlgo  string   `json:"hash_algo"`
		Objects   []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
	}
	h.mu.Lock()
	var rp *repo
	var herr *hubError
	rp, herr = h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	h.mu.Unlock()
	if herr != nil {
		return herr
	}
	if err := decodeJSON(c.r, &req, 16<<20); err != nil {
		return err
	}
	switch req.HashAlgo {
	case "", "sha256", "sha_256":
	default:
		return &hubError{Status: 409, Code: "Conflict", Msg: "Unsupported hash algorithm " + req.HashAlgo}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch req.Operation {
	case "upload":
		if _, herr = h.writeRepoLocked(c.caller, c.typ, c.ns, c.name); herr != nil {
			return herr
		}
	case "download":
		if herr = h.checkGateLocked(c.caller, rp); herr != nil {
			return herr
		}
	default:
		return badRequest("Unknown operation %q", req.Operation)
	}
	multipart := false
	for _, t := range req.Transfers {
		if t == "multipart" {
			multipart = true
		}
	}
	ttl := h.storageTTL
	transfer := "basic"
	objects := make([]map[string]any, 0, len(req.Objects))
	for _, o := range req.Objects {
		obj := map[string]any{"oid": o.OID, "size": o.Size}
		objects = append(objects, obj)
		switch {
		case !hex64.MatchString(o.OID) || o.Size < 0:
			obj["error"] = map[string]any{"code": 422, "message": "Invalid object: oid must be a lowercase sha256 and size non-negative"}
			continue
		case o.Size > maxLFSObjectSize:
			obj["error"] = map[string]any{"code": 422, "message": "Object too large: files are limited to 50GB"}
			continue
		}
		size, stored := h.store.has(o.OID)
		present := stored && rp.LFS[o.OID] && size == o.Size
		if req.Operation == "download" {
			if !present {
				obj["error"] = map[string]any{"code": 404, "message": "Object does not exist"}
				continue
			}
			obj["authenticated"] = true
			obj["actions"] = map[string]any{"download": map[string]any{"href": h.storageURL(c, "/_devhub/blob/"+o.OID, rp.statsKey(), ttl), "expires_in": int(ttl.Seconds())}}
			continue
		}
		if present {
			obj["authenticated"] = true
			continue // no actions: the client skips the upload
		}
		id := randHex(16)
		up := &upload{repoKey: repoKey(rp.Type, rp.NS, rp.Name), oid: o.OID, size: o.Size, etags: map[int]string{}}
		h.uploads[id] = up
		href := h.storageURL(c, "/_devhub/upload/"+id, "", ttl)
		action := map[string]any{"href": href, "expires_in": int(ttl.Seconds())}
		if multipart && o.Size >= h.mpThresh && o.Size > 0 {
			transfer = "multipart"
			up.chunk = h.chunkSize
			up.hash = sha256.New()
			up.parts = int((o.Size + h.chunkSize - 1) / h.chunkSize)
			hdr := map[string]string{"chunk_size": strconv.FormatInt(h.chunkSize, 10)}
			for i := 1; i <= up.parts; i++ {
				hdr[fmt.Sprintf("%05d", i)] = h.storageURL(c, "/_devhub/upload/"+id+"/"+strconv.Itoa(i), "", ttl)
			}
			action["header"] = hdr
		}
		obj["authenticated"] = true
		obj["actions"] = map[string]any{
			"upload": action,
			// Verify is a Hub call, not a storage one: it stays on the
			// Hub's origin (huggingface_hub sends it with the token, lfs.py).
			"verify": map[string]any{"href": c.baseURL() + "/_devhub/upload/" + id + "/verify"},
		}
	}
	w := c.w
	writeJSONType(w, 200, "application/vnd.git-lfs+json", map[string]any{"transfer": transfer, "objects": objects})
	return nil
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	w.Header().Set("Content-Type", ctype)
	writeJSONKeepType(w, status, v)
}

func (h *Hub) takeUpload(id string) (*upload, *hubError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	up, ok := h.uploads[id]
	if !ok {
		return nil, &hubError{Status: 404, Code: "NoSuchUpload", Msg: "The specified upload does not exist or has already completed."}
	}
	return up, nil
}

// finishUpload links a stored object to the repo that asked to upload it.
func (h *Hub) finishUpload(id string, up *upload) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.uploads, id)
	if rp, ok := h.repos[up.repoKey]; ok {
		rp.LFS[up.oid] = true
	}
}

func digestError(err error) error {
	if errors.Is(err, errDigest) {
		return &hubError{Status: 400, Code: "BadDigest", Msg: err.Error()}
	}
	return err
}

func (h *Hub) storagePut(c *call) error {
	id := c.params[0]
	up, herr := h.takeUpload(id)
	if herr != nil {
		return herr
	}
	if up.parts > 0 {
		return badRequest("This is a multipart upload: PUT the parts, then POST the completion")
	}
	if _, err := h.store.put(c.r.Body, up.oid, up.size); err != nil {
		return digestError(err)
	}
	h.finishUpload(id, up)
	c.w.Header().Set("ETag", `"`+up.oid+`"`)
	c.w.WriteHeader(200)
	return nil
}

// partPath is the file a multipart upload's parts are written into, each at
// its own offset, so that completing the upload is a rename rather than a
// second copy of every byte.
func (h *Hub) partPath(id string) string {
	return filepath.Join(h.store.dir, "parts", id)
}

// hashParts hashes, in order, the parts after up.hashed that ok allows
// (called with up.hmu held); it stops at the first part ok refuses.
func (h *Hub) hashParts(id string, up *upload, ok func(n int) bool) error {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for up.hashed < up.size {
		n := int(up.hashed/up.chunk) + 1
		if !ok(n) {
			return nil
		}
		if f == nil {
			var err error
			if f, err = os.Open(h.partPath(id)); err != nil {
				return err
			}
		}
		size := min(up.chunk, up.size-up.hashed)
		got, err := copyBuf(up.hash, io.NewSectionReader(f, up.hashed, size))
		if err != nil || got != size {
			// A torn state: start over at the completion.
			up.hash, up.hashed = sha256.New(), 0
			if err == nil {
				err = fmt.Errorf("part %d: read back %d bytes, expected %d", n, got, size)
			}
			return err
		}
		up.hashed += size
	}
	return nil
}

// catchUp hashes uploaded parts in order while later parts still stream,
// one part per hold of hmu so that a part PUT checking the hashed range
// waits for one part's hashing at most. It stops at the first part not
// uploaded yet, clearing catching in the same critical section that saw the
// part missing, so that part's PUT, recording its ETag, starts it again.
func (h *Hub) catchUp(id string, up *upload) {
	for {
		up.hmu.Lock()
		h.mu.Lock()
		n := int(up.hashed/up.chunk) + 1
		if up.hashed >= up.size || up.completing || up.etags[n] == "" {
			up.catching = false
			h.mu.Unlock()
			up.hmu.Unlock()
			return
		}
		h.mu.Unlock()
		first := true
		err := h.hashParts(id, up, func(int) bool { ok := first; first = false; return ok })
		up.hmu.Unlock()
		if err != nil {
			h.mu.Lock()
			up.catching = false
			h.mu.Unlock()
			return
		}
	}
}

func (h *Hub) storagePart(c *call) error {
	id := c.params[0]
	up, herr := h.takeUpload(id)
	if herr != nil {
		return herr
	}
	n, err := strconv.Atoi(c.params[1])
	if err != nil || n < 1 || n > up.parts {
		return badRequest("Invalid part number %q", c.params[1])
	}
	want := up.chunk
	if n == up.parts {
		want = up.size - int64(up.parts-1)*up.chunk
	}
	// The part's region is rewritten: until this PUT succeeds, the part
	// counts as not uploaded, so a completion cannot pick up torn bytes.
	h.mu.Lock()
	if up.completing {
		h.mu.Unlock()
		return &hubError{Status: 409, Code: "Conflict", Msg: "This upload is being completed"}
	}
	delete(up.etags, n)
	up.writing++
	h.mu.Unlock()
	etag := ""
	defer func() {
		h.mu.Lock()
		up.writing--
		if etag != "" {
			up.etags[n] = etag
			if !up.catching {
				up.catching = true
				go h.catchUp(id, up)
			}
		}
		h.mu.Unlock()
	}()
	// Bytes already hashed are about to change (a part sent again): the
	// hash starts over. Taking hmu also waits out a read-back of this part.
	off := int64(n-1) * up.chunk
	up.hmu.Lock()
	if up.hashed > off {
		up.hash, up.hashed = sha256.New(), 0
	}
	up.hmu.Unlock()
	f, err := os.OpenFile(h.partPath(id), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	got, err := copyBuf(io.NewOffsetWriter(f, off), io.LimitReader(c.r.Body, want))
	if err == nil && got == want {
		// One byte more is a body longer than the part: refuse it without
		// writing into the next part's bytes.
		var extra int64
		extra, err = io.CopyN(io.Discard, c.r.Body, 1)
		got += extra
		if err == io.EOF {
			err = nil
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got != want {
		return &hubError{Status: 400, Code: "IncompleteBody", Msg: fmt.Sprintf("part %d has %d bytes, expected %d", n, got, want)}
	}
	// Like an S3 ETag, it names what this PUT stored; it is random rather
	// than the part's MD5, which clients pass back unread and which cost a
	// quarter of the hub's CPU.
	etag = randHex(16)
	c.w.Header().Set("ETag", `"`+etag+`"`)
	c.w.WriteHeader(200)
	return nil
}

func (h *Hub) storageComplete(c *call) error {
	id := c.params[0]
	up, herr := h.takeUpload(id)
	if herr != nil {
		return herr
	}
	if up.parts == 0 {
		return badRequest("This is a basic upload: PUT the object")
	}
	var req struct {
		OID   string `json:"oid"`
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if err := decodeJSON(c.r, &req, 16<<20); err != nil {
		return err
	}
	if req.OID != up.oid {
		return badRequest("oid %q does not match the upload's %q", req.OID, up.oid)
	}
	if len(req.Parts) != up.parts {
		return badRequest("completion lists %d parts, the upload has %d", len(req.Parts), up.parts)
	}
	h.mu.Lock()
	if up.writing > 0 || up.completing {
		h.mu.Unlock()
		return &hubError{Status: 409, Code: "Conflict", Msg: "A part of this upload is still being written"}
	}
	up.completing = true
	etags := make(map[int]string, len(up.etags))
	for k, v := range up.etags {
		etags[k] = v
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		up.completing = false
		h.mu.Unlock()
	}()
	for i, p := range req.Parts {
		if p.PartNumber != i+1 {
			return badRequest("parts must be listed in order 1..%d", up.parts)
		}
		if etags[p.PartNumber] == "" || strings.Trim(p.ETag, `"`) != etags[p.PartNumber] {
			return &hubError{Status: 400, Code: "InvalidPart", Msg: fmt.Sprintf("part %d was not uploaded or its etag does not match", p.PartNumber)}
		}
	}
	up.hmu.Lock()
	err := h.hashParts(id, up, func(int) bool { return true })
	sum := hex.EncodeToString(up.hash.Sum(nil))
	up.hmu.Unlock()
	if err != nil {
		return err
	}
	if err := h.store.adopt(h.partPath(id), sum, up.oid, up.size); err != nil {
		return digestError(err)
	}
	os.Remove(h.partPath(id)) // still there when the object was already stored
	h.finishUpload(id, up)
	writeJSON(c.w, 200, map[string]any{"oid": up.oid, "size": up.size})
	return nil
}

// storageVerify answers the LFS verify action: 200 once the object is stored.
func (h *Hub) storageVerify(c *call) error {
	var req struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	if size, ok := h.store.has(req.OID); !ok || size != req.Size {
		return &hubError{Status: 404, Code: "EntryNotFound", Msg: "Object " + req.OID + " is not stored"}
	}
	writeJSON(c.w, 200, map[string]any{"oid": req.OID, "size": req.Size})
	return nil
}

func (h *Hub) blob(c *call) error {
	sha := c.params[0]
	c.storageRepo = storageRepo(c.r)
	f, err := h.store.open(sha)
	if err != nil {
		return &hubError{Status: 404, Code: "NoSuchKey", Msg: "The specified key does not exist."}
	}
	defer f.Close()
	hd := c.w.Header()
	hd.Set("ETag", `"`+sha+`"`)
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Accept-Ranges", "bytes")
	serveContent(c, f)
	return nil
}

// fileForDownload finds the file of a resolve or raw request.
func (h *Hub) fileForDownload(c *call) (*repo, *commit, *fileEntry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, herr := h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return nil, nil, nil, herr
	}
	if herr := h.checkGateLocked(c.caller, rp); herr != nil {
		return nil, nil, nil, herr
	}
	cm, herr := resolveLocked(rp, c.rev)
	if herr != nil {
		return nil, nil, nil, herr
	}
	c.w.Header().Set("X-Repo-Commit", cm.ID)
	e, ok := cm.Files[cleanPath(c.path)]
	if !ok {
		return nil, nil, nil, errEntry(cleanPath(c.path))
	}
	return rp, cm, e, nil
}

func (h *Hub) serveRegular(c *call, e *fileEntry) error {
	f, err := h.store.open(e.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	hd := c.w.Header()
	hd.Set("ETag", `"`+e.GitOID+`"`)
	hd.Set("Accept-Ranges", "bytes")
	ct := mime.TypeByExtension(path.Ext(c.path))
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	hd.Set("Content-Type", ct)
	serveContent(c, f)
	return nil
}

func (h *Hub) resolve(c *call) error {
	rp, cm, e, err := h.fileForDownload(c)
	if err != nil {
		return err
	}
	c.fileRepo = rp.statsKey()
	if !e.LFS {
		if h.resolveCache {
			hd := c.w.Header()
			hd.Set("ETag", `"`+e.GitOID+`"`)
			hd.Set("Location", resolveCacheURL(rp, cm.ID, cleanPath(c.path)))
			hd.Set("Content-Length", "0")
			c.w.WriteHeader(http.StatusTemporaryRedirect)
			return nil
		}
		return h.serveRegular(c, e)
	}
	return h.redirectToBlob(c, rp, e)
}

// redirectToBlob answers an LFS file with a 302 to its signed storage URL.
func (h *Hub) redirectToBlob(c *call, rp *repo, e *fileEntry) error {
	hd := c.w.Header()
	hd.Set("ETag", `"`+e.GitOID+`"`)
	hd.Set("X-Linked-Etag", `"`+e.SHA256+`"`)
	hd.Set("X-Linked-Size", strconv.FormatInt(e.Size, 10))
	hd.Set("Location", h.storageURL(c, "/_devhub/blob/"+e.SHA256, rp.statsKey(), h.storageTTL))
	hd.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusFound)
	return nil
}

func (h *Hub) raw(c *call) error {
	rp, _, e, err := h.fileForDownload(c)
	if err != nil {
		return err
	}
	c.fileRepo = rp.statsKey()
	if !e.LFS {
		return h.serveRegular(c, e)
	}
	ptr := lfsPointer(e.SHA256, e.Size)
	hd := c.w.Header()
	hd.Set("ETag", `"`+e.GitOID+`"`)
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	serveContent(c, strings.NewReader(ptr))
	return nil
}

func (h *Hub) duplicateLFS(c *call) error {
	if !h.duplication {
		return errNotFound("Sorry, we can't find the page you are looking for.")
	}
	var req struct {
		Target struct{ Type, Name string } `json:"target"`
		Files  []struct {
			XetHash  string `json:"xetHash"`
			SHA256   string `json:"sha256"`
			Filename string `json:"filename"`
		} `json:"files"`
	}
	h.mu.Lock()
	_, herr := h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	h.mu.Unlock()
	if herr != nil {
		return herr
	}
	if err := decodeJSON(c.r, &req, 16<<20); err != nil {
		return err
	}
	if len(req.Files) > 500 {
		return badRequest("At most 500 files per request")
	}
	ttyp := req.Target.Type
	if ttyp == "" {
		ttyp = "model"
	}
	tns, tname, ok := strings.Cut(req.Target.Name, "/")
	if !ok {
		return badRequest("target.name must be namespace/name")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	src, herr := h.readRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return herr
	}
	if herr := h.checkGateLocked(c.caller, src); herr != nil {
		return herr
	}
	dst, herr := h.writeRepoLocked(c.caller, ttyp, tns, tname)
	if herr != nil {
		return herr
	}
	failed := []map[string]any{}
	for _, f := range req.Files {
		_, stored := h.store.has(f.SHA256)
		switch {
		case !stored || !src.LFS[f.SHA256]:
			failed = append(failed, map[string]any{"sha256": f.SHA256, "error": "File not found in source repository"})
		case f.XetHash != xetHashFor(f.SHA256):
			failed = append(failed, map[string]any{"sha256": f.SHA256, "error": "xetHash does not match the file"})
		case !h.xetVisibleLocked(f.SHA256):
			// Only objects stored in Xet can be copied by their xetHash.
			failed = append(failed, map[string]any{"sha256": f.SHA256, "error": "File is not stored in Xet"})
		default:
			dst.LFS[f.SHA256] = true
		}
	}
	writeJSON(c.w, 200, map[string]any{"success": len(failed) == 0, "processed": len(req.Files),
		"succeeded": len(req.Files) - len(failed), "failed": failed})
	return nil
}

// serveContent serves content with Range support (206, Content-Range) and
// turns the failures http.ServeContent reports (416 and such) into the
// Hub's error form.
func serveContent(c *call, content io.ReadSeeker) {
	iw := &interceptWriter{ResponseWriter: c.w}
	http.ServeContent(iw, c.r, "", time.Time{}, content)
	switch {
	case iw.status == http.StatusRequestedRangeNotSatisfiable:
		writeError(c.w, c.r, &hubError{Status: iw.status, Code: "RangeNotSatisfiable", Msg: "Requested Range Not Satisfiable"})
	case iw.status >= 400:
		writeError(c.w, c.r, &hubError{Status: iw.status, Code: "PreconditionFailed", Msg: http.StatusText(iw.status)})
	}
}

// interceptWriter holds back an error answer so it can be rewritten.
type interceptWriter struct {
	http.ResponseWriter
	status int
}

func (w *interceptWriter) WriteHeader(code int) {
	if code >= 400 {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// ReadFrom keeps the response writer's sendfile path for the body of a
// successful answer.
func (w *interceptWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status >= 400 {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return copyBuf(writerOnly{w}, r)
}

func (w *interceptWriter) Write(p []byte) (int, error) {
	if w.status >= 400 {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}
