package devhub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCollections(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	r := e.do("POST", "/api/collections", tokWrite, map[string]any{"title": "Vision Sidecars!", "namespace": "alice", "description": "d"})
	e.wantStatus(r, 200, "")
	var col struct {
		Slug, Title, LastUpdated string
		Owner                    struct{ Name string }
		Items                    []struct {
			OID      string `json:"_id"`
			ID, Type string
			Position int
		}
		Private bool
		Theme   string
	}
	r.json(&col)
	slug := col.Slug
	if !strings.HasPrefix(slug, "alice/vision-sidecars-") || len(slug) != len("alice/vision-sidecars-")+24 || col.Owner.Name != "alice" || col.Theme == "" {
		t.Errorf("created %s", r.body)
	}
	r = e.do("POST", "/api/collections", tokWrite, map[string]any{"title": "Vision Sidecars!", "namespace": "alice"})
	e.wantStatus(r, 409, "Conflict")
	var conflict struct{ Slug string }
	r.json(&conflict)
	if conflict.Slug != slug {
		t.Errorf("409 slug %q", conflict.Slug)
	}
	e.wantStatus(e.do("POST", "/api/collections", "", map[string]any{"title": "x", "namespace": "alice"}), 401, "Unauthorized")
	e.wantStatus(e.do("POST", "/api/collections", tokOther, map[string]any{"title": "x", "namespace": "alice"}), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/collections", tokOne, map[string]any{"title": "x", "namespace": "alice"}), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/collections", tokWrite, map[string]any{"title": "  ", "namespace": "alice"}), 400, "BadRequest")

	items := "/api/collections/" + slug + "/items"
	e.wantStatus(e.do("POST", items, tokWrite, map[string]any{"item": map[string]any{"type": "model", "id": "alice/m"}}), 200, "")
	e.wantStatus(e.do("POST", items, tokWrite, map[string]any{"item": map[string]any{"type": "model", "id": "alice/m"}}), 409, "Conflict")
	e.wantStatus(e.do("POST", items, tokWrite, map[string]any{"item": map[string]any{"type": "model", "id": "alice/none"}}), 404, "RepoNotFound")
	e.wantStatus(e.do("POST", items, tokWrite, map[string]any{"item": map[string]any{"type": "car", "id": "x"}}), 400, "BadRequest")
	e.wantStatus(e.do("POST", items, tokOther, map[string]any{"item": map[string]any{"type": "paper", "id": "1"}}), 403, "Forbidden")
	for i := 1; i <= 5; i++ {
		e.wantStatus(e.do("POST", items, tokWrite, map[string]any{"item": map[string]any{"type": "paper", "id": fmt.Sprint(i)}, "note": "n"}), 200, "")
	}
	r = e.do("GET", "/api/collections/"+slug, "", nil)
	e.wantStatus(r, 200, "")
	r.json(&col)
	if len(col.Items) != 6 || col.Items[0].ID != "alice/m" || col.Items[0].Type != "model" || col.Items[5].Position != 5 {
		t.Errorf("get %s", r.body)
	}
	e.wantStatus(e.do("DELETE", items+"/"+col.Items[1].OID, tokWrite, nil), 200, "")
	e.wantStatus(e.do("DELETE", items+"/"+col.Items[1].OID, tokWrite, nil), 404, "NotFound")
	e.wantStatus(e.do("GET", "/api/collections/alice/nope-0123", "", nil), 404, "NotFound")

	// Listing: owner filter, items truncated to 4, absolute Link pagination.
	for _, title := range []string{"b", "c", "d"} {
		e.wantStatus(e.do("POST", "/api/collections", tokWrite, map[string]any{"title": title, "namespace": "alice"}), 200, "")
	}
	e.wantStatus(e.do("POST", "/api/collections", tokWrite, map[string]any{"title": "hidden", "namespace": "alice", "private": true}), 200, "")
	e.wantStatus(e.do("POST", "/api/collections", tokOther, map[string]any{"title": "bobs", "namespace": "bob"}), 200, "")
	list := func(token, first string) (titles []string, pages int) {
		next := first
		for next != "" {
			r := e.do("GET", next, token, nil)
			e.wantStatus(r, 200, "")
			var page []struct {
				Title string
				Items []any
			}
			r.json(&page)
			for _, c := range page {
				titles = append(titles, c.Title)
				if len(c.Items) > 4 {
					t.Errorf("listing has %d items", len(c.Items))
				}
			}
			pages++
			next = ""
			if l := r.Header.Get("Link"); l != "" {
				next = strings.TrimPrefix(strings.TrimSuffix(l, `>; rel="next"`), "<")
				if !strings.HasPrefix(next, e.srv.URL+"/api/collections?") {
					t.Fatalf("Link %q", l)
				}
			}
		}
		return titles, pages
	}
	titles, pages := list("", "/api/collections?owner=alice&limit=100")
	if strings.Join(titles, ",") != "Vision Sidecars!,b,c,d" || pages != 2 {
		t.Errorf("anonymous listing %v in %d pages", titles, pages)
	}
	titles, _ = list(tokRead, "/api/collections?owner=alice")
	if len(titles) != 5 {
		t.Errorf("reader sees %v", titles)
	}
	titles, _ = list("", "/api/collections?item=models/alice/m")
	if strings.Join(titles, ",") != "Vision Sidecars!" {
		t.Errorf("item filter %v", titles)
	}
	e.wantStatus(e.do("DELETE", "/api/collections/"+slug, tokOther, nil), 403, "Forbidden")
	e.wantStatus(e.do("DELETE", "/api/collections/"+slug, tokWrite, nil), 200, "")
	e.wantStatus(e.do("GET", "/api/collections/"+slug, "", nil), 404, "NotFound")
}

func TestDuplicateLFS(t *testing.T) {
	e := setup(t, WithDuplication(true), WithToken("hf_both", "read:alice/*,write:bob/*"))
	e.seed("alice/src", RepoOptions{}, seedFiles)
	if err := e.hub.CreateRepo("bob/dst", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	w := seedFiles["vision/model.safetensors"]
	files := []map[string]any{{"xetHash": xetHashFor(sum(w)), "sha256": sum(w), "filename": "vision/model.safetensors"}}
	body := map[string]any{"target": map[string]any{"type": "model", "name": "bob/dst"}, "files": files}
	before := e.hub.Stats().BytesReceived
	r := e.do("POST", "/api/models/alice/src/lfs-files/duplicate", "hf_both", body)
	e.wantStatus(r, 200, "")
	var out struct {
		Success              bool
		Processed, Succeeded int
		Failed               []struct{ SHA256, Error string }
	}
	r.json(&out)
	if !out.Success || out.Processed != 1 || out.Succeeded != 1 || len(out.Failed) != 0 {
		t.Errorf("duplicate %s", r.body)
	}
	// The target can now commit the object without uploading it.
	r = e.do("POST", "/bob/dst.git/info/lfs/objects/batch", "hf_both", map[string]any{"operation": "upload",
		"objects": []map[string]any{{"oid": sum(w), "size": len(w)}}})
	e.wantStatus(r, 200, "")
	var b struct{ Objects []batchObj }
	r.json(&b)
	if b.Objects[0].Actions != nil {
		t.Errorf("duplicated object still asks for an upload")
	}
	e.wantStatus(e.commit("bob/dst", "hf_both", header("copy", ""), lfsOp("w.safetensors", w)), 200, "")
	if got := e.download("bob/dst", "main", "w.safetensors"); !bytes.Equal(got, w) {
		t.Error("duplicated file differs")
	}
	if moved := e.hub.Stats().BytesReceived - before; moved > 10000 {
		t.Errorf("%d bytes received for a server-side copy", moved)
	}
	// Failures are reported per file.
	bad := []map[string]any{{"xetHash": strings.Repeat("0", 64), "sha256": sum(w), "filename": "a"}, {"xetHash": xetHashFor(sum([]byte("n"))), "sha256": sum([]byte("n")), "filename": "b"}}
	r = e.do("POST", "/api/models/alice/src/lfs-files/duplicate", "hf_both", map[string]any{"target": map[string]any{"name": "bob/dst"}, "files": bad})
	r.json(&out)
	if out.Success || len(out.Failed) != 2 || out.Failed[1].SHA256 != sum([]byte("n")) {
		t.Errorf("failures %s", r.body)
	}
	e.wantStatus(e.do("POST", "/api/models/alice/src/lfs-files/duplicate", tokRead, body), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/models/alice/src/lfs-files/duplicate", "", body), 401, "Unauthorized")

	// Switched off, the route does not exist and tree entries lack xetHash.
	off := setup(t)
	off.seed("alice/src", RepoOptions{}, seedFiles)
	off.wantStatus(off.do("POST", "/api/models/alice/src/lfs-files/duplicate", tokWrite, body), 404, "NotFound")
}

// rawGet reads a response body and reports the read error, if any.
func rawGet(t *testing.T, url string, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func TestFaults(t *testing.T) {
	e := setup(t)
	head := e.seed("alice/m", RepoOptions{}, seedFiles)
	w := seedFiles["vision/model.safetensors"]
	cfg := "/alice/m/resolve/main/config.json"

	t.Run("status", func(t *testing.T) {
		e.hub.AddFault(Fault{Path: "/api/models/alice/m", Kind: FaultStatus, Status: 503, Times: 2})
		e.wantStatus(e.do("GET", "/api/models/alice/m", "", nil), 503, "InjectedFault")
		e.wantStatus(e.do("GET", "/api/models/alice/m/tree/main", "", nil), 503, "InjectedFault")
		e.wantStatus(e.do("GET", "/api/models/alice/m", "", nil), 200, "")
	})
	t.Run("rate limit", func(t *testing.T) {
		e.hub.AddFault(Fault{Route: "tree", Kind: FaultRateLimit, RetryAfter: 1500 * time.Millisecond, Times: 1})
		e.wantStatus(e.do("GET", "/api/models/alice/m", "", nil), 200, "") // other routes untouched
		r := e.do("GET", "/api/models/alice/m/tree/main", "", nil)
		e.wantStatus(r, 429, "RateLimited")
		if r.Header.Get("Retry-After") != "2" || r.Header.Get("RateLimit") != `"api";r=0;t=2` || r.Header.Get("RateLimit-Policy") == "" {
			t.Errorf("429 headers %v", r.Header)
		}
		e.wantStatus(e.do("GET", "/api/models/alice/m/tree/main", "", nil), 200, "")
	})
	t.Run("method and glob", func(t *testing.T) {
		e.hub.AddFault(Fault{Method: "HEAD", Path: "/alice/*/resolve/main/config.json", Kind: FaultStatus, Status: 502, Times: 1})
		e.wantStatus(e.do("GET", cfg, "", nil), 200, "")
		e.wantStatus(e.do("HEAD", cfg, "", nil), 502, "InjectedFault")
		e.wantStatus(e.do("HEAD", cfg, "", nil), 200, "")
	})
	t.Run("cut response body", func(t *testing.T) {
		loc := e.do("GET", "/alice/m/resolve/main/vision/model.safetensors", "", nil).Header.Get("Location")
		e.hub.AddFault(Fault{Route: "blob", Kind: FaultCutBody, AfterBytes: 700, Times: 1})
		res, got, err := rawGet(t, loc)
		if err == nil || res.StatusCode != 200 || len(got) != 700 || !bytes.Equal(got, w[:700]) {
			t.Errorf("cut: err %v, %d bytes", err, len(got))
		}
		// Resuming with a Range gets the rest.
		res, rest, err := rawGet(t, loc, "Range", "bytes=700-")
		if err != nil || res.StatusCode != 206 || !bytes.Equal(append(got, rest...), w) {
			t.Errorf("resume: %v %d", err, len(rest))
		}
	})
	t.Run("cut request body", func(t *testing.T) {
		e.createRepo("up", nil)
		data := randBytes(3000, 11)
		href := e.batch("alice/up", data)[0].Actions.Upload.Href
		e.hub.AddFault(Fault{Route: "storage-put", Kind: FaultCutBody, AfterBytes: 1000, Times: 1})
		req, _ := http.NewRequest("PUT", href, bytes.NewReader(data))
		if res, err := http.DefaultTransport.RoundTrip(req); err == nil {
			res.Body.Close()
			t.Errorf("cut upload answered %d", res.StatusCode)
		}
		if _, ok := e.hub.store.has(sum(data)); ok {
			t.Error("a cut upload was stored")
		}
		e.wantStatus(e.do("PUT", href, "", data), 200, "")
	})
	t.Run("flip byte", func(t *testing.T) {
		e.hub.AddFault(Fault{Path: cfg, Kind: FaultFlipByte, AfterBytes: 2, Times: 1})
		r := e.do("GET", cfg, "", nil)
		want := seedFiles["config.json"]
		if len(r.body) != len(want) || r.body[2] != want[2]^0xff || !bytes.Equal(r.body[:2], want[:2]) || !bytes.Equal(r.body[3:], want[3:]) {
			t.Errorf("flip: %q", r.body)
		}
		if r = e.do("GET", cfg, "", nil); !bytes.Equal(r.body, want) {
			t.Errorf("fault fired twice")
		}
	})
	t.Run("delay", func(t *testing.T) {
		e.hub.AddFault(Fault{Path: cfg, Kind: FaultDelay, Delay: 150 * time.Millisecond, Times: 1})
		start := time.Now()
		e.wantStatus(e.do("GET", cfg, "", nil), 200, "")
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("answered after %v", d)
		}
	})
	t.Run("drop response", func(t *testing.T) {
		e.hub.AddFault(Fault{Route: "commit", Kind: FaultDropResponse, Times: 1})
		body := ndjson(header("lost reply", ""), fileOp("lost.txt", []byte("l")))
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/models/alice/m/commit/main", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokWrite)
		if res, err := http.DefaultTransport.RoundTrip(req); err == nil {
			res.Body.Close()
			t.Fatalf("dropped commit answered %d", res.StatusCode)
		}
		if e.head("alice/m") == head {
			t.Error("the commit was not applied")
		}
		if got := e.download("alice/m", "main", "lost.txt"); string(got) != "l" {
			t.Errorf("lost.txt = %q", got)
		}
	})
	t.Run("before hook", func(t *testing.T) {
		parent := e.head("alice/m")
		var ran atomic.Int32
		e.hub.AddFault(Fault{Route: "commit", Times: 1, Before: func() {
			ran.Add(1)
			e.hub.CommitFiles("alice/m", "main", "concurrent", []SeedFile{{Path: "c.txt", Content: strings.NewReader("c")}}, nil)
		}})
		e.wantStatus(e.commit("alice/m", tokWrite, header("mine", parent), fileOp("m.txt", []byte("m"))), 412, "PreconditionFailed")
		if ran.Load() != 1 {
			t.Errorf("Before ran %d times", ran.Load())
		}
	})
	t.Run("admin route", func(t *testing.T) {
		r := e.do("POST", "/_devhub/faults", "", []map[string]any{
			{"route": "repo-info", "kind": "rate_limit", "retryAfter": 3, "times": 1},
			{"path": "/api/whoami", "kind": "delay", "delay": "10ms"},
		})
		e.wantStatus(r, 200, "")
		var listed []Fault
		e.do("GET", "/_devhub/faults", "", nil).json(&listed)
		if len(listed) != 2 || listed[0].Kind != FaultRateLimit || listed[0].RetryAfter != 3*time.Second || listed[1].Delay != 10*time.Millisecond {
			t.Errorf("listed %+v", listed)
		}
		r = e.do("GET", "/api/models/alice/m", "", nil)
		e.wantStatus(r, 429, "RateLimited")
		if r.Header.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		e.wantStatus(e.do("DELETE", "/_devhub/faults", "", nil), 200, "")
		e.do("GET", "/_devhub/faults", "", nil).json(&listed)
		if len(listed) != 0 {
			t.Errorf("faults left after DELETE: %+v", listed)
		}
		e.wantStatus(e.do("POST", "/_devhub/faults", "", map[string]any{"kind": "explode"}), 400, "BadRequest")
		e.wantStatus(e.do("POST", "/_devhub/faults", "", map[string]any{"kind": "delay", "delay": "soon"}), 400, "BadRequest")
		e.wantStatus(e.do("PUT", "/_devhub/faults", "", nil), 405, "MethodNotAllowed")
	})
	t.Run("clear", func(t *testing.T) {
		e.hub.AddFault(Fault{Kind: FaultStatus})
		e.hub.ClearFaults()
		e.wantStatus(e.do("GET", cfg, "", nil), 200, "")
	})
}

func TestFaultKindText(t *testing.T) {
	for k := FaultNone; k <= FaultDropResponse; k++ {
		b, _ := json.Marshal(k)
		var back FaultKind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("%v round-trips to %v (%v)", k, back, err)
		}
	}
	if FaultKind(99).String() != "FaultKind(99)" {
		t.Error(FaultKind(99).String())
	}
}

func TestStats(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	data := randBytes(2500, 12)
	e.upload("alice/m", data)
	e.wantStatus(e.commit("alice/m", tokWrite, header("w", ""), lfsOp("w.bin", data)), 200, "")
	before := e.hub.Stats()
	got := e.download("alice/m", "main", "w.bin")
	var s Stats
	r := e.do("GET", "/_devhub/stats", "", nil)
	e.wantStatus(r, 200, "")
	r.json(&s)
	if s.Requests["repo-create"] != 1 || s.Requests["lfs-batch"] != 1 || s.Requests["storage-put"] != 1 || s.Requests["commit"] != 1 ||
		s.Requests["resolve"] != 1 || s.Requests["blob"] != 1 || s.Commits["alice/m"] != 2 {
		t.Errorf("stats %+v", s)
	}
	if served := s.BytesServed - before.BytesServed; served < int64(len(got)) || served > int64(len(got))+2000 {
		t.Errorf("served %d bytes for a %d-byte download", served, len(got))
	}
	if before.BytesReceived < 2500 {
		t.Errorf("received %d bytes after a 2500-byte upload", before.BytesReceived)
	}
}

// TestRangeThroughRedirectCountedPerRepo: a ranged read of an LFS file
// follows the resolve redirect to storage and gets exactly its bytes (206);
// the file bytes served are counted for that repo, not for others, and a
// storage URL whose repo was tampered with is refused.
func TestRangeThroughRedirectCountedPerRepo(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	data := randBytes(5000, 7)
	e.upload("alice/m", data)
	e.wantStatus(e.commit("alice/m", tokWrite, header("w", ""), lfsOp("w.bin", data)), 200, "")
	before := e.hub.Stats()
	r := e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, "Range", "bytes=1000-1999")
	e.wantStatus(r, http.StatusFound, "")
	loc := r.Header.Get("Location")
	r = e.do("GET", loc, "", nil, "Range", "bytes=1000-1999")
	e.wantStatus(r, http.StatusPartialContent, "")
	if !bytes.Equal(r.body, data[1000:2000]) || r.Header.Get("Content-Range") != "bytes 1000-1999/5000" {
		t.Fatalf("ranged read: %d bytes, Content-Range %q", len(r.body), r.Header.Get("Content-Range"))
	}
	after := e.hub.Stats()
	if n := after.FileBytesServed["alice/m"] - before.FileBytesServed["alice/m"]; n != 1000 {
		t.Errorf("file bytes served for alice/m: %d, want 1000", n)
	}
	if len(after.FileBytesServed) != 1 {
		t.Errorf("counted for other repos: %v", after.FileBytesServed)
	}
	forged := strings.Replace(loc, "repo=alice%2Fm", "repo=bob%2Fm", 1)
	if forged == loc {
		t.Fatalf("storage URL %q names no repo", loc)
	}
	e.wantStatus(e.do("GET", forged, "", nil), http.StatusForbidden, "")
}
