package hub

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// PreuploadFile is one file offered to preupload.
type PreuploadFile struct {
	Path   string
	Size   int64
	Sample []byte // first 512 bytes
}

// PreuploadResult is the Hub's upload-mode decision for one path.
type PreuploadResult struct {
	Path         string `json:"path"`
	UploadMode   string `json:"uploadMode"` // "lfs" | "regular"
	ShouldIgnore bool   `json:"shouldIgnore"`
	OID          string `json:"oid,omitempty"`
}

// Preupload asks how each file must be uploaded to repo@branch and returns
// the decisions and the branch head. It needs write access, so it doubles
// as the permission check before anything is uploaded.
func (c *Client) Preupload(ctx context.Context, repo, branch string, files []PreuploadFile) ([]PreuploadResult, string, error) {
	var out []PreuploadResult
	var head string
	for i := 0; i < len(files) || (i == 0 && len(files) == 0); i += 100 {
		batch := files[i:min(i+100, len(files))]
		type f struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			Sample string `json:"sample"`
		}
		req := struct {
			Files []f `json:"files"`
		}{Files: []f{}}
		for _, b := range batch {
			req.Files = append(req.Files, f{b.Path, b.Size, base64.StdEncoding.EncodeToString(b.Sample)})
		}
		var resp struct {
			Files     []PreuploadResult `json:"files"`
			CommitOid string            `json:"commitOid"`
		}
		u := c.api("/api/models/%s/preupload/%s", repoPath(repo), escapeRev(branch))
		if _, err := c.postJSON(ctx, u, req, &resp, true); err != nil {
			return nil, "", err
		}
		out = append(out, resp.Files...)
		head = resp.CommitOid
		if len(files) == 0 {
			break
		}
	}
	return out, head, nil
}

// LFSAction is one href handed out by the LFS batch API.
type LFSAction struct {
	Href   string            `json:"href"`
	Header map[string]string `json:"header,omitempty"`
}

// LFSObject is one object of an LFS batch answer. Actions.Upload nil means
// the object is already stored: nothing to send.
type LFSObject struct {
	OID     string `json:"oid"`
	Size    int64  `json:"size"`
	Actions struct {
		Upload *LFSAction `json:"upload,omitempty"`
		Verify *LFSAction `json:"verify,omitempty"`
	} `json:"actions"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// NeedsUpload reports whether the Hub wants the object's bytes.
func (o *LFSObject) NeedsUpload() bool { return o.Actions.Upload != nil }

// Part is one multipart upload URL.
type Part struct {
	Number int // 1-based
	URL    string
	Offset int64
	Size   int64
}

// Multipart returns the object's part plan when the Hub asked for a
// multipart upload (header chunk_size plus numbered part URLs); ok is false
// for a basic upload.
func (o *LFSObject) Multipart() (parts []Part, ok bool, err error) {
	up := o.Actions.Upload
	if up == nil || up.Header["chunk_size"] == "" {
		return nil, false, nil
	}
	chunk, err := strconv.ParseInt(up.Header["chunk_size"], 10, 64)
	if err != nil || chunk <= 0 {
		return nil, true, fmt.Errorf("lfs object %s: bad chunk_size %q", o.OID, up.Header["chunk_size"])
	}
	for k, v := range up.Header {
		n, err := strconv.Atoi(k)
		if err != nil || n <= 0 {
			continue
		}
		parts = append(parts, Part{Number: n, URL: v})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	want := (o.Size + chunk - 1) / chunk
	if int64(len(parts)) != want {
		return nil, true, fmt.Errorf("lfs object %s: %d part URLs for %d bytes in %d-byte chunks", o.OID, len(parts), o.Size, chunk)
	}
	for i := range parts {
		if parts[i].Number != i+1 {
			return nil, true, fmt.Errorf("lfs object %s: part numbers are not 1..%d", o.OID, len(parts))
		}
		parts[i].Offset = int64(i) * chunk
		parts[i].Size = min(chunk, o.Size-parts[i].Offset)
	}
	return parts, true, nil
}

// LFSBatch asks the LFS server of repo which objects it needs, offering
// basic and multipart transfers (never xet).
func (c *Client) LFSBatch(ctx context.Context, repo, branch string, objs []LFSObject) ([]LFSObject, error) {
	var out []LFSObject
	for i := 0; i < len(objs); i += 100 {
		batch := objs[i:min(i+100, len(objs))]
		type o struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		}
		req := map[string]any{
			"operation": "upload",
			"transfers": []string{"basic", "multipart"},
			"hash_algo": "sha256",
			"ref":       map[string]string{"name": branch},
		}
		list := make([]o, 0, len(batch))
		for _, b := range batch {
			list = append(list, o{b.OID, b.Size})
		}
		req["objects"] = list
		body, size, err := jsonBody(req)
		if err != nil {
			return nil, err
		}
		resp, err := c.do(ctx, call{method: http.MethodPost, url: c.endpoint + "/" + repoPath(repo) + ".git/info/lfs/objects/batch",
			auth: true, retry: true, body: body, size: size,
			header: http.Header{"Accept": {"application/vnd.git-lfs+json"}, "Content-Type": {"application/vnd.git-lfs+json"}}})
		if err != nil {
			return nil, err
		}
		var got struct {
			Objects []LFSObject `json:"objects"`
		}
		if err := decode(resp, &got); err != nil {
			return nil, err
		}
		for _, g := range got.Objects {
			if g.Error != nil {
				return nil, &Error{Method: "POST", Path: "/" + repo + ".git/info/lfs/objects/batch", Status: g.Error.Code,
					Message: fmt.Sprintf("object %s: %s", g.OID, g.Error.Message)}
			}
		}
		out = append(out, got.Objects...)
	}
	return out, nil
}

// BodyFunc opens the bytes of one transfer afresh; it is called once per
// attempt, so a retried transfer re-reads its source instead of keeping a
// copy in memory.
type BodyFunc func(ctx context.Context) (io.ReadCloser, error)

// UploadBasic PUTs size bytes to a basic-transfer href (no token: it is a
// storage URL). Failed attempts are retried with a fresh body.
func (c *Client) UploadBasic(ctx context.Context, action *LFSAction, size int64, body BodyFunc) error {
	resp, err := c.do(ctx, call{method: http.MethodPut, url: action.Href, size: size, retry: true, slow: true,
		body: func() (io.ReadCloser, error) { return body(ctx) }})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return nil
}

// UploadPart PUTs one multipart part and returns its ETag (quotes kept).
func (c *Client) UploadPart(ctx context.Context, p Part, body BodyFunc) (string, error) {
	resp, err := c.do(ctx, call{method: http.MethodPut, url: p.URL, size: p.Size, retry: true, slow: true,
		body: func() (io.ReadCloser, error) { return body(ctx) }})
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("PUT %s: part %d answered no ETag", redactURL(p.URL), p.Number)
	}
	return etag, nil
}

// CompleteMultipart tells storage to assemble the parts (no token).
func (c *Client) CompleteMultipart(ctx context.Context, action *LFSAction, oid string, etags []string) error {
	type part struct {
		PartNumber int    `json:"partNumber"`
		ETag       string `json:"etag"`
	}
	req := struct {
		OID   string `json:"oid"`
		Parts []part `json:"parts"`
	}{OID: oid}
	for i, e := range etags {
		req.Parts = append(req.Parts, part{i + 1, e})
	}
	body, size, err := jsonBody(req)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, url: action.Href, retry: true, slow: true, body: body, size: size,
		header: http.Header{"Content-Type": {"application/vnd.git-lfs+json"}, "Accept": {"application/vnd.git-lfs+json"}}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// VerifyLFS posts the optional verify action (with the token, as
// huggingface_hub does, but only if it is on the endpoint's host).
func (c *Client) VerifyLFS(ctx context.Context, action *LFSAction, oid string, size int64) error {
	body, n, err := jsonBody(map[string]any{"oid": oid, "size": size})
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, url: action.Href, retry: true, auth: true, body: body, size: n,
		header: http.Header{"Content-Type": {"application/vnd.git-lfs+json"}}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// DuplicateFile names one LFS object to copy server-side.
type DuplicateFile struct {
	XetHash  string `json:"xetHash"`
	SHA256   string `json:"sha256"`
	Filename string `json:"filename"`
}

// DuplicateFailure is one object the Hub could not duplicate.
type DuplicateFailure struct {
	SHA256 string `json:"sha256"`
	Error  string `json:"error"`
}

// DuplicateLFS asks the Hub to make src's LFS objects available to dst
// without moving bytes (POST /api/models/{src}/lfs-files/duplicate). Files
// listed in the returned failures must be copied some other way.
//
// Each sha256 is sent once (two paths holding the same bytes are one
// object), in batches of at most 500, the Hub's limit per request.
func (c *Client) DuplicateLFS(ctx context.Context, src, dst string, files []DuplicateFile) ([]DuplicateFailure, error) {
	seen := make(map[string]bool, len(files))
	unique := make([]DuplicateFile, 0, len(files))
	for _, f := range files {
		if !seen[f.SHA256] {
			seen[f.SHA256] = true
			unique = append(unique, f)
		}
	}
	files = unique
	var failed []DuplicateFailure
	for i := 0; i < len(files); i += 500 {
		batch := files[i:min(i+500, len(files))]
		var resp struct {
			Failed []DuplicateFailure `json:"failed"`
		}
		req := map[string]any{"target": map[string]string{"type": "model", "name": dst}, "files": batch}
		body, size, err := jsonBody(req)
		if err != nil {
			return nil, err
		}
		// Duplication copies objects server-side before answering.
		r, err := c.do(ctx, call{method: http.MethodPost, url: c.api("/api/models/%s/lfs-files/duplicate", repoPath(src)), auth: true, retry: true, slow: true,
			body: body, size: size, header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
		if err != nil {
			return nil, err
		}
		if err := decode(r, &resp); err != nil {
			return nil, err
		}
		failed = append(failed, resp.Failed...)
	}
	return failed, nil
}
