package devhub

import (
	"bytes"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// seed creates repo (if needed) and commits files through the Go API.
func (e *env) seed(repo string, o RepoOptions, files map[string][]byte) string {
	e.t.Helper()
	if _, err := e.hub.Head(repo, "main"); err != nil {
		if err := e.hub.CreateRepo(repo, o); err != nil {
			e.t.Fatal(err)
		}
	}
	var sf []SeedFile
	for p, b := range files {
		sf = append(sf, SeedFile{Path: p, Content: bytes.NewReader(b)})
	}
	sha, err := e.hub.CommitFiles(repo, "main", "seed", sf, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return sha
}

var seedFiles = map[string][]byte{
	"README.md":                []byte("---\nlicense: apache-2.0\nbase_model: google/siglip\ntags:\n- vision\nlibrary_name: mlx\n---\n# card\n"),
	"config.json":              []byte(`{"a":1}`),
	"vision/model.safetensors": randBytes(2000, 3),
	"vision/sub/x.txt":         []byte("x"),
	"vision/sub/y.txt":         []byte("y"),
	"tok/a b.txt":              []byte("spaced"),
}

func TestTreePagination(t *testing.T) {
	e := setup(t)
	head := e.seed("alice/m", RepoOptions{}, seedFiles)
	var all []treeEntry
	next := "/api/models/alice/m/tree/main?recursive=true&expand=false"
	pages := 0
	for next != "" {
		r := e.do("GET", next, "", nil)
		e.wantStatus(r, 200, "")
		var page []treeEntry
		r.json(&page)
		if len(page) > 3 {
			t.Fatalf("page of %d entries, page size is 3", len(page))
		}
		all = append(all, page...)
		pages++
		next = ""
		if l := r.Header.Get("Link"); l != "" {
			u, rel, ok := strings.Cut(l, ">; ")
			if !ok || rel != `rel="next"` || !strings.HasPrefix(u, "<"+e.srv.URL+"/api/models/alice/m/tree/main?") {
				t.Fatalf("Link %q is not an absolute next link", l)
			}
			next = strings.TrimPrefix(u, "<")
			if q, _ := url.ParseQuery(next[strings.Index(next, "?")+1:]); q.Get("recursive") != "true" {
				t.Errorf("next link lost the query: %s", next)
			}
		}
	}
	var paths []string
	for _, en := range all {
		paths = append(paths, en.Type[:1]+":"+en.Path)
	}
	sort.Strings(paths)
	want := "d:tok d:vision d:vision/sub f:.gitattributes f:README.md f:config.json f:tok/a b.txt f:vision/model.safetensors f:vision/sub/x.txt f:vision/sub/y.txt"
	if strings.Join(paths, " ") != want || pages != 4 {
		t.Errorf("%d pages: %s", pages, strings.Join(paths, " "))
	}
	for _, en := range all {
		switch en.Path {
		case "vision/model.safetensors":
			d := seedFiles[en.Path]
			if en.LFS == nil || en.LFS.OID != sum(d) || en.Size != 2000 || en.LFS.PointerSize != len(lfsPointer(sum(d), 2000)) ||
				en.OID != gitBlobSHA1([]byte(lfsPointer(sum(d), 2000))) || en.XetHash != "" {
				t.Errorf("LFS entry %+v", en)
			}
		case "config.json":
			if en.LFS != nil || en.OID != gitBlobSHA1(seedFiles["config.json"]) {
				t.Errorf("regular entry %+v", en)
			}
		case "vision":
			if en.OID != e.hub.repos["model/alice/m"].Commits[head].Trees["vision"] || en.Size != 0 {
				t.Errorf("directory entry %+v", en)
			}
		}
	}

	// Non-recursive listing of a sub-path, by commit id, with expand.
	var sub []treeEntry
	e.do("GET", "/api/models/alice/m/tree/"+head+"/vision?expand=true", "", nil).json(&sub)
	if len(sub) != 2 || sub[0].Path != "vision/model.safetensors" || sub[1].Path != "vision/sub" || sub[1].Type != "directory" {
		t.Fatalf("sub tree %+v", sub)
	}
	if sub[0].LastCommit == nil || sub[0].LastCommit.ID != head || sub[0].LastCommit.Title != "seed" {
		t.Errorf("lastCommit %+v", sub[0].LastCommit)
	}
	// A later commit that leaves vision/ alone keeps its lastCommit.
	e.seed("alice/m", RepoOptions{}, map[string][]byte{"other.txt": []byte("o")})
	e.do("GET", "/api/models/alice/m/tree/main/vision?expand=true", "", nil).json(&sub)
	if sub[1].LastCommit.ID != head {
		t.Errorf("directory lastCommit %s, want %s", sub[1].LastCommit.ID, head)
	}
	e.wantStatus(e.do("GET", "/api/models/alice/m/tree/main/nope", "", nil), 404, "EntryNotFound")
	e.wantStatus(e.do("GET", "/api/models/alice/m/tree/nobranch", "", nil), 404, "RevisionNotFound")
	e.wantStatus(e.do("GET", "/api/models/alice/m/tree/main?cursor=zz", "", nil), 400, "BadRequest")
	e.wantStatus(e.do("GET", "/api/models/alice/nope/tree/main", "", nil), 401, noCode)
}

func TestTreeWithDuplicationCarriesXetHash(t *testing.T) {
	e := setup(t, WithDuplication(true))
	e.seed("alice/m", RepoOptions{}, seedFiles)
	var tree []treeEntry
	e.do("GET", "/api/models/alice/m/tree/main/vision", "", nil).json(&tree)
	if tree[0].XetHash != xetHashFor(sum(seedFiles["vision/model.safetensors"])) || len(tree[0].XetHash) != 64 {
		t.Errorf("xetHash %q", tree[0].XetHash)
	}
}

func TestResolveAndRaw(t *testing.T) {
	e := setup(t)
	head := e.seed("alice/m", RepoOptions{}, seedFiles)
	weights := seedFiles["vision/model.safetensors"]

	// Regular file: 200, git sha1 ETag, commit, length; ranges answer 206.
	r := e.do("GET", "/alice/m/resolve/main/config.json", "", nil)
	e.wantStatus(r, 200, "")
	if string(r.body) != `{"a":1}` || r.Header.Get("ETag") != `"`+gitBlobSHA1(r.body)+`"` ||
		r.Header.Get("X-Repo-Commit") != head || r.Header.Get("Content-Length") != "7" || r.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("regular: %v %s", r.Header, r.body)
	}
	r = e.do("GET", "/alice/m/resolve/main/config.json", "", nil, "Range", "bytes=1-3")
	e.wantStatus(r, 206, "")
	if string(r.body) != `"a"` || r.Header.Get("Content-Range") != "bytes 1-3/7" {
		t.Errorf("range: %v %q", r.Header, r.body)
	}
	r = e.do("HEAD", "/alice/m/resolve/"+head+"/config.json", "", nil)
	e.wantStatus(r, 200, "")
	if r.Header.Get("Content-Length") != "7" || len(r.body) != 0 {
		t.Errorf("HEAD regular: %v", r.Header)
	}
	// Percent-encoded path segments.
	if r = e.do("GET", "/alice/m/resolve/main/tok/a%20b.txt", "", nil); string(r.body) != "spaced" {
		t.Errorf("encoded path: %d %q", r.StatusCode, r.body)
	}

	// LFS file: 302 to the blob route with linked etag and size.
	for _, m := range []string{"GET", "HEAD"} {
		r = e.do(m, "/alice/m/resolve/HEAD/vision/model.safetensors", "", nil)
		e.wantStatus(r, 302, "")
		if r.Header.Get("X-Linked-Etag") != `"`+sum(weights)+`"` || r.Header.Get("X-Linked-Size") != "2000" ||
			r.Header.Get("X-Repo-Commit") != head || !strings.HasPrefix(r.Header.Get("Location"), e.srv.URL+"/_devhub/blob/") ||
			r.Header.Get("ETag") == "" {
			t.Errorf("%s LFS: %v", m, r.Header)
		}
	}
	loc := r.Header.Get("Location")
	r = e.do("GET", loc, "", nil, "Range", "bytes=0-0")
	e.wantStatus(r, 206, "")
	if r.Header.Get("Content-Range") != "bytes 0-0/2000" || !bytes.Equal(r.body, weights[:1]) {
		t.Errorf("blob range: %v", r.Header)
	}
	r = e.do("GET", loc, "", nil, "Range", "bytes=1500-")
	if r.StatusCode != 206 || !bytes.Equal(r.body, weights[1500:]) {
		t.Errorf("blob open range: %d", r.StatusCode)
	}
	r = e.do("GET", loc, "", nil)
	if !bytes.Equal(r.body, weights) || r.Header.Get("ETag") != `"`+sum(weights)+`"` {
		t.Errorf("blob whole: %v", r.Header)
	}
	e.wantStatus(e.do("GET", loc, "", nil, "Range", "bytes=5000-6000"), 416, "")
	e.wantStatus(e.do("GET", strings.Replace(loc, "X-Signature=", "X-Signature=0", 1), "", nil), 403, "SignatureDoesNotMatch")

	// raw serves the pointer of an LFS file.
	r = e.do("GET", "/alice/m/raw/main/vision/model.safetensors", "", nil)
	e.wantStatus(r, 200, "")
	if string(r.body) != lfsPointer(sum(weights), 2000) || r.Header.Get("ETag") != `"`+gitBlobSHA1(r.body)+`"` {
		t.Errorf("raw pointer %q", r.body)
	}
	r = e.do("HEAD", "/alice/m/raw/main/config.json", "", nil)
	e.wantStatus(r, 200, "")

	r = e.do("GET", "/alice/m/resolve/main/missing.txt", "", nil)
	e.wantStatus(r, 404, "EntryNotFound")
	if r.Header.Get("X-Repo-Commit") != head {
		t.Errorf("404 lacks X-Repo-Commit")
	}
	e.wantStatus(e.do("HEAD", "/alice/m/raw/main/missing.txt", "", nil), 404, "EntryNotFound")
	e.wantStatus(e.do("GET", "/alice/m/resolve/nobranch/config.json", "", nil), 404, "RevisionNotFound")
	e.wantStatus(e.do("GET", "/alice/none/resolve/main/config.json", "", nil), 401, noCode)
	e.wantStatus(e.do("GET", "/alice/none/resolve/main/config.json", tokWrite, nil), 404, "RepoNotFound")
}

func TestRepoInfo(t *testing.T) {
	e := setup(t)
	first := e.seed("alice/m", RepoOptions{}, seedFiles)
	second := e.seed("alice/m", RepoOptions{}, map[string][]byte{"README.md": []byte("no card")})
	var info struct {
		ID, ModelID, Author, Sha string
		OID                      string `json:"_id"`
		Private                  bool
		Gated                    any
		Tags                     []string
		CardData                 map[string]any
		Siblings                 []struct {
			Rfilename string
			Size      int64
			BlobID    string
			LFS       *struct {
				SHA256      string
				Size        int64
				PointerSize int
			}
		}
		LastModified, CreatedAt string
	}
	e.do("GET", "/api/models/alice/m", "", nil).json(&info)
	if info.Sha != second || info.ID != "alice/m" || info.ModelID != "alice/m" || info.Author != "alice" || len(info.OID) != 24 ||
		info.Private || info.Gated != false || info.CardData != nil || len(info.Siblings) != 7 || info.LastModified == "" {
		t.Errorf("info %+v", info)
	}
	info.CardData = nil
	e.do("GET", "/api/models/alice/m/revision/"+first+"?blobs=true", "", nil).json(&info)
	if info.Sha != first || info.CardData["license"] != "apache-2.0" || info.CardData["base_model"] != "google/siglip" {
		t.Errorf("card %+v", info.CardData)
	}
	if strings.Join(info.Tags, ",") != "mlx,vision,safetensors,base_model:google/siglip,license:apache-2.0,region:us" {
		t.Errorf("tags %v", info.Tags)
	}
	for _, s := range info.Siblings {
		if s.Rfilename == "vision/model.safetensors" && (s.LFS == nil || s.LFS.SHA256 != sum(seedFiles[s.Rfilename]) || s.Size != 2000 || s.BlobID == "") {
			t.Errorf("sibling %+v", s)
		}
	}
	// HEAD means the default branch; expand selects fields like the Hub.
	r := e.do("GET", "/api/models/alice/m/revision/HEAD?expand=sha&expand=private&expand[]=likes", "", nil)
	var sel map[string]any
	r.json(&sel)
	if len(sel) != 5 || sel["sha"] != second || sel["private"] != false || sel["likes"] != float64(0) {
		t.Errorf("expanded %v", sel)
	}
	e.wantStatus(e.do("GET", "/api/models/alice/m/revision/nope", "", nil), 404, "RevisionNotFound")
	e.wantStatus(e.do("GET", "/api/datasets/alice/m", "", nil), 401, noCode)
	r = e.do("GET", "/api/models/alice/m", "hf_bogus", nil)
	e.wantStatus(r, 401, "Unauthorized")
	if r.Header.Get("X-Error-Message") != "Invalid credentials in Authorization header" {
		t.Errorf("message %q", r.Header.Get("X-Error-Message"))
	}
}

func TestPrivateAndGatedRepos(t *testing.T) {
	e := setup(t)
	e.seed("alice/priv", RepoOptions{Private: true}, seedFiles)
	e.seed("alice/gated", RepoOptions{Gated: "auto", GatedAllow: []string{tokOther}}, seedFiles)
	// Private: 401 without a code to anonymous, 404 to outsiders, 200 to readers.
	for _, p := range []string{"/api/models/alice/priv", "/api/models/alice/priv/tree/main", "/alice/priv/resolve/main/config.json"} {
		e.wantStatus(e.do("GET", p, "", nil), 401, noCode)
		e.wantStatus(e.do("GET", p, tokOther, nil), 404, "RepoNotFound")
		e.wantStatus(e.do("GET", p, tokRead, nil), 200, "")
	}
	// Gated: metadata is public, files need access.
	e.wantStatus(e.do("GET", "/api/models/alice/gated", "", nil), 200, "")
	var info map[string]any
	e.do("GET", "/api/models/alice/gated", "", nil).json(&info)
	if info["gated"] != "auto" {
		t.Errorf("gated = %v", info["gated"])
	}
	e.wantStatus(e.do("GET", "/alice/gated/resolve/main/config.json", "", nil), 401, "GatedRepo")
	e.wantStatus(e.do("GET", "/alice/gated/resolve/main/config.json", tokOne, nil), 403, "GatedRepo")
	e.wantStatus(e.do("GET", "/alice/gated/resolve/main/config.json", tokOther, nil), 200, "")
	e.wantStatus(e.do("GET", "/alice/gated/resolve/main/config.json", tokRead, nil), 200, "")
}

func TestPathsInfo(t *testing.T) {
	e := setup(t, WithDuplication(true))
	head := e.seed("alice/m", RepoOptions{}, seedFiles)
	var got []treeEntry
	r := e.do("POST", "/api/models/alice/m/paths-info/main", "", map[string]any{"paths": []string{"config.json", "vision", "nope", "vision/model.safetensors"}, "expand": true})
	e.wantStatus(r, 200, "")
	r.json(&got)
	if len(got) != 3 || got[0].Path != "config.json" || got[1].Type != "directory" || got[2].LFS == nil || got[2].XetHash == "" || got[0].LastCommit.ID != head {
		t.Errorf("json paths-info %+v", got)
	}
	r = e.do("POST", "/api/models/alice/m/paths-info/"+head, "", []byte("paths=config.json&paths=tok%2Fa+b.txt&paths=gone&expand=false"),
		"Content-Type", "application/x-www-form-urlencoded")
	e.wantStatus(r, 200, "")
	got = nil
	r.json(&got)
	if len(got) != 2 || got[1].Path != "tok/a b.txt" || got[0].LastCommit != nil {
		t.Errorf("form paths-info %+v", got)
	}
	e.wantStatus(e.do("POST", "/api/models/alice/m/paths-info/nope", "", map[string]any{"paths": []string{"a"}}), 404, "RevisionNotFound")
}

func TestRefsAndWhoami(t *testing.T) {
	e := setup(t)
	head := e.seed("alice/m", RepoOptions{}, nil)
	var refs struct {
		Branches []struct{ Name, Ref, TargetCommit string }
	}
	e.do("GET", "/api/models/alice/m/refs", "", nil).json(&refs)
	if len(refs.Branches) != 1 || refs.Branches[0].TargetCommit != head || refs.Branches[0].Ref != "refs/heads/main" {
		t.Errorf("refs %+v", refs)
	}
	e.wantStatus(e.do("GET", "/api/whoami-v2", "", nil), 401, "Unauthorized")
	var who struct {
		Name, Type string
		Auth       struct {
			AccessToken struct{ Role string }
		}
	}
	r := e.do("GET", "/api/whoami-v2", tokWrite, nil)
	e.wantStatus(r, 200, "")
	r.json(&who)
	if who.Name != "alice" || who.Type != "user" || who.Auth.AccessToken.Role != "fineGrained" {
		t.Errorf("whoami %s", r.body)
	}
	e.wantStatus(e.do("GET", "/api/nothing/here", "", nil), 404, "NotFound")
}

func TestDeleteRepo(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	body := map[string]any{"name": "m", "organization": "alice", "type": "model"}
	e.wantStatus(e.do("DELETE", "/api/repos/delete", "", body), 401, "")
	e.wantStatus(e.do("DELETE", "/api/repos/delete", tokRead, body), 403, "Forbidden")
	r := e.do("DELETE", "/api/repos/delete", tokWrite, body)
	e.wantStatus(r, 200, "")
	if string(r.body) != "OK" {
		t.Errorf("delete body %q", r.body)
	}
	e.wantStatus(e.do("DELETE", "/api/repos/delete", tokWrite, body), 404, "RepoNotFound")
	e.wantStatus(e.do("GET", "/api/models/alice/m", tokWrite, nil), 404, "RepoNotFound")
	// Datasets live apart from models.
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "m", "organization": "alice", "type": "dataset", "private": true}), 200, "")
	e.wantStatus(e.do("GET", "/api/datasets/alice/m", tokRead, nil), 200, "")
	e.wantStatus(e.do("GET", "/api/datasets/alice/m", "", nil), 401, noCode)
}
