package devhub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultStorageTTL is how long a storage URL handed out by the LFS batch
// or a resolve redirect stays valid, as long as the CDN's signed URLs the
// Hub hands out for downloads.
const DefaultStorageTTL = time.Hour

// WithStorageTTL sets how long storage URLs stay valid.
func WithStorageTTL(d time.Duration) Option {
	return func(h *Hub) error {
		if d <= 0 {
			return fmt.Errorf("storage URL lifetime must be positive, got %s", d)
		}
		h.storageTTL = d
		return nil
	}
}

// ServeStorage serves the Hub's storage (LFS uploads and downloads) from a
// second listener on addr ("127.0.0.1:0" picks a port), as the Hub hands
// out storage URLs on another origin (its CDN and S3): from then on the
// LFS batch and resolve redirects point there, and the Hub's own origin no
// longer serves storage routes. It returns the storage origin's URL and a
// function that stops it.
//
// Storage URLs carry an expiry and an HMAC over path, repo and expiry in
// their query, like presigned URLs; an expired or altered one is refused
// with 403. Requests reaching storage with an Authorization header are
// counted in Stats.StorageAuthorization: no official client sends one to
// another origin, and neither may ours.
func (h *Hub) ServeStorage(addr string) (string, func() error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(h.serveStorage), ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	h.storageBase.Store(&base)
	return base, srv.Close, nil
}

// StorageURL returns the storage origin ServeStorage started, or "" when
// storage is served on the Hub's own origin.
func (h *Hub) StorageURL() string {
	if p := h.storageBase.Load(); p != nil {
		return *p
	}
	return ""
}

// serveStorage is the storage origin: only storage routes answer there.
func (h *Hub) serveStorage(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(withStorageOrigin(r.Context()))
	h.ServeHTTP(w, r)
}

// isStorageRoute reports the routes a storage origin serves.
func isStorageRoute(route string) bool {
	switch route {
	case "blob", "storage-put", "storage-part", "storage-complete":
		return true
	}
	return false
}

// storageURL returns an absolute, signed URL for a storage path: on the
// storage origin when there is one, else on the origin c reached. repo
// names the repo whose bytes a download serves ("" for uploads).
func (h *Hub) storageURL(c *call, path, repo string, ttl time.Duration) string {
	base := h.StorageURL()
	if base == "" {
		base = c.baseURL()
	}
	return base + h.signPath(path, repo, ttl)
}

// signPath appends the expiry and signature query to path.
func (h *Hub) signPath(path, repo string, ttl time.Duration) string {
	exp := strconv.FormatInt(h.now().Add(ttl).Unix(), 10)
	q := url.Values{}
	if repo != "" {
		q.Set("repo", repo)
	}
	q.Set("X-Expires", exp)
	q.Set("X-Signature", h.signature(path, repo, exp))
	return path + "?" + q.Encode()
}

func (h *Hub) signature(path, repo, exp string) string {
	m := hmac.New(sha256.New, h.secret)
	fmt.Fprintf(m, "%s\n%s\n%s", path, repo, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// checkSignature refuses a storage request whose URL the Hub did not hand
// out or that has expired, as S3 and CloudFront refuse such URLs.
func (h *Hub) checkSignature(r *http.Request) *hubError {
	q := r.URL.Query()
	exp, repo, sig := q.Get("X-Expires"), q.Get("repo"), q.Get("X-Signature")
	want := h.signature(r.URL.EscapedPath(), repo, exp)
	if sig == "" || !hmac.Equal([]byte(sig), []byte(want)) {
		return &hubError{Status: 403, Code: "SignatureDoesNotMatch", Msg: "The request signature we calculated does not match the signature you provided."}
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || h.now().Unix() > n {
		return &hubError{Status: 403, Code: "AccessDenied", Msg: "Request has expired"}
	}
	return nil
}

// storageRepo is the repo a signed download names.
func storageRepo(r *http.Request) string {
	return strings.TrimSpace(r.URL.Query().Get("repo"))
}
