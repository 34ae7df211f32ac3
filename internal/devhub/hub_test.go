package devhub

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	tokWrite = "hf_write"   // write:alice/*
	tokRead  = "hf_read"    // read:alice/*
	tokOther = "hf_other"   // write:bob/*
	tokOne   = "hf_onerepo" // write:alice/one
)

// env is a Hub served by an httptest server, with helpers that speak HTTP.
type env struct {
	t   testing.TB
	hub *Hub
	srv *httptest.Server
	cli *http.Client
}

func setup(t testing.TB, opts ...Option) *env {
	t.Helper()
	base := []Option{
		WithDir(t.TempDir()), WithPageSize(3), WithLFSThreshold(1024), WithMultipart(4096, 1500),
		WithToken(tokWrite, "write:alice/*"), WithToken(tokRead, "read:alice/*"),
		WithToken(tokOther, "write:bob/*"), WithToken(tokOne, "write:alice/one"),
	}
	h, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	cli := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{t: t, hub: h, srv: srv, cli: cli}
}

type resp struct {
	*http.Response
	body []byte
}

func (r *resp) json(v any) {
	if err := json.Unmarshal(r.body, v); err != nil {
		panic(fmt.Sprintf("decode %s: %v", r.body, err))
	}
}

// do sends a request; body may be nil, []byte, string or any JSON value.
func (e *env) do(method, path, token string, body any, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if _, ok := body.([]byte); !ok && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.cli.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if res.Header.Get("X-Request-Id") == "" {
		e.t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return &resp{res, b}
}

// wantStatus checks status and, for errors, the Hub's error form.
// noCode asks wantStatus for an error without X-Error-Code: the Hub's 401
// for a private or missing repo asked for without a token.
const noCode = "(none)"

// wantStatus checks the status and, for an error, the X-Error-Code (any
// when code is "", absent when it is noCode), the message and the JSON body.
func (e *env) wantStatus(r *resp, status int, code string) {
	e.t.Helper()
	if r.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	if status < 400 {
		return
	}
	got, has := r.Header.Get("X-Error-Code"), len(r.Header.Values("X-Error-Code")) > 0
	switch {
	case code == noCode && has:
		e.t.Errorf("%s %s: X-Error-Code = %q, want none", r.Request.Method, r.Request.URL.Path, got)
	case code != "" && code != noCode && got != code:
		e.t.Errorf("%s %s: X-Error-Code = %q, want %q", r.Request.Method, r.Request.URL.Path, got, code)
	}
	if r.Header.Get("X-Error-Message") == "" {
		e.t.Errorf("no X-Error-Message")
	}
	if r.Request.Method != http.MethodHead {
		var body struct{ Error string }
		if err := json.Unmarshal(r.body, &body); err != nil || body.Error == "" {
			e.t.Errorf("error body %q lacks a JSON error", r.body)
		}
	}
}

func (e *env) createRepo(name string, extra map[string]any) {
	e.t.Helper()
	body := map[string]any{"name": name, "organization": "alice", "type": "model"}
	for k, v := range extra {
		body[k] = v
	}
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, body), 200, "")
}

func ndjson(lines ...map[string]any) string {
	var parts []string
	for _, l := range lines {
		b, _ := json.Marshal(l)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}

func header(summary, parent string) map[string]any {
	v := map[string]any{"summary": summary}
	if parent != "" {
		v["parentCommit"] = parent
	}
	return map[string]any{"key": "header", "value": v}
}

func fileOp(path string, data []byte) map[string]any {
	return map[string]any{"key": "file", "value": map[string]any{"path": path, "content": base64.StdEncoding.EncodeToString(data), "encoding": "base64"}}
}

func lfsOp(path string, data []byte) map[string]any {
	return map[string]any{"key": "lfsFile", "value": map[string]any{"path": path, "algo": "sha256", "oid": sum(data), "size": len(data)}}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func (e *env) commit(repo string, token string, lines ...map[string]any) *resp {
	e.t.Helper()
	return e.do("POST", "/api/models/"+repo+"/commit/main", token, []byte(ndjson(lines...)), "Content-Type", "application/x-ndjson")
}

type batchObj struct {
	OID     string `json:"oid"`
	Size    int64  `json:"size"`
	Actions *struct {
		Upload *struct {
			Href   string            `json:"href"`
			Header map[string]string `json:"header"`
		} `json:"upload"`
		Verify *struct{ Href string } `json:"verify"`
	} `json:"actions"`
	Error *struct {
		Code    int
		Message string
	} `json:"error"`
}

func (e *env) batch(repo string, data ...[]byte) []batchObj {
	e.t.Helper()
	var objs []map[string]any
	for _, d := range data {
		objs = append(objs, map[string]any{"oid": sum(d), "size": len(d)})
	}
	r := e.do("POST", "/"+repo+".git/info/lfs/objects/batch", tokWrite, map[string]any{
		"operation": "upload", "transfers": []string{"basic", "multipart"}, "hash_algo": "sha_256",
		"ref": map[string]any{"name": "main"}, "objects": objs,
	}, "Accept", "application/vnd.git-lfs+json")
	e.wantStatus(r, 200, "")
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.git-lfs+json" {
		e.t.Errorf("batch Content-Type = %q", ct)
	}
	var out struct{ Objects []batchObj }
	r.json(&out)
	return out.Objects
}

// upload batches and uploads data (basic or multipart) as a client would.
func (e *env) upload(repo string, data []byte) {
	e.t.Helper()
	obj := e.batch(repo, data)[0]
	if obj.Error != nil {
		e.t.Fatalf("batch error %+v", obj.Error)
	}
	if obj.Actions == nil {
		return
	}
	up := obj.Actions.Upload
	cs, ok := up.Header["chunk_size"]
	if !ok {
		e.wantStatus(e.do("PUT", up.Href, "", data), 200, "")
		return
	}
	var chunk int
	fmt.Sscan(cs, &chunk)
	var parts []map[string]any
	for i := 0; i*chunk < len(data); i++ {
		end := min((i+1)*chunk, len(data))
		r := e.do("PUT", up.Header[fmt.Sprintf("%05d", i+1)], "", data[i*chunk:end])
		e.wantStatus(r, 200, "")
		parts = append(parts, map[string]any{"partNumber": i + 1, "etag": r.Header.Get("ETag")})
	}
	e.wantStatus(e.do("POST", up.Href, "", map[string]any{"oid": sum(data), "parts": parts}), 200, "")
}

func (e *env) head(repo string) string {
	e.t.Helper()
	sha, err := e.hub.Head(repo, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	return sha
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
