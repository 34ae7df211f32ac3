package devhub

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestCreateRepoInitialCommit(t *testing.T) {
	e := setup(t)
	r := e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "m", "organization": "alice", "type": "model"})
	e.wantStatus(r, 200, "")
	var got struct{ URL, Name, ID string }
	r.json(&got)
	if got.URL != e.srv.URL+"/alice/m" || got.Name != "alice/m" || len(got.ID) != 24 {
		t.Errorf("create answer %+v", got)
	}
	r = e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "m", "organization": "alice"})
	e.wantStatus(r, 409, "Conflict")
	var conflict struct{ Error, URL string }
	r.json(&conflict)
	if conflict.URL != e.srv.URL+"/alice/m" {
		t.Errorf("409 body lacks url: %s", r.body)
	}
	var tree []treeEntry
	e.do("GET", "/api/models/alice/m/tree/main", "", nil).json(&tree)
	if len(tree) != 1 || tree[0].Path != ".gitattributes" || tree[0].OID != gitBlobSHA1([]byte(defaultGitattributes)) {
		t.Fatalf("initial tree %+v", tree)
	}
	if sha := e.head("alice/m"); !hex40.MatchString(sha) {
		t.Errorf("head %q is not a 40-hex id", sha)
	}
	if e.hub.Stats().Commits["alice/m"] != 1 {
		t.Errorf("commits = %v", e.hub.Stats().Commits)
	}
}

func TestCreateRepoAuth(t *testing.T) {
	e := setup(t)
	body := map[string]any{"name": "m", "organization": "alice"}
	e.wantStatus(e.do("POST", "/api/repos/create", "", body), 401, "Unauthorized")
	r := e.do("POST", "/api/repos/create", "hf_unknown", body)
	e.wantStatus(r, 401, "Unauthorized")
	if r.Header.Get("X-Error-Message") != "Invalid credentials in Authorization header" {
		t.Errorf("message %q", r.Header.Get("X-Error-Message"))
	}
	r = e.do("POST", "/api/repos/create", tokOther, body)
	e.wantStatus(r, 403, "Forbidden")
	if !strings.Contains(r.Header.Get("X-Error-Message"), `You don't have the rights to create a model under the namespace "alice"`) {
		t.Errorf("message %q", r.Header.Get("X-Error-Message"))
	}
	e.wantStatus(e.do("POST", "/api/repos/create", tokRead, body), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "bad name", "organization": "alice"}), 400, "BadRequest")
	e.wantStatus(e.do("POST", "/api/repos/create", tokOne, map[string]any{"name": "one", "organization": "alice"}), 200, "")
	e.wantStatus(e.do("POST", "/api/repos/create", tokOne, map[string]any{"name": "two", "organization": "alice"}), 403, "Forbidden")
}

// TestUploadRoundTrip walks the whole upload flow the official clients use:
// preupload, LFS batch (basic and multipart), storage PUTs, NDJSON commit,
// then reads every byte back.
func TestUploadRoundTrip(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	small := []byte("hello\n")
	big := bytes.Repeat([]byte("text line\n"), 200) // 2000 B >= LFS threshold
	weights := randBytes(10000, 1)                  // multipart: 7 parts of 1500
	bin := randBytes(300, 2)                        // NUL bytes -> lfs by content

	// Preupload decides modes.
	var pre struct {
		Files []struct {
			Path, UploadMode string
			ShouldIgnore     bool
		}
		CommitOid string
	}
	r := e.do("POST", "/api/models/alice/m/preupload/main", tokWrite, map[string]any{"files": []map[string]any{
		{"path": "small.txt", "size": len(small), "sample": b64(small)},
		{"path": "big.txt", "size": len(big), "sample": b64(big[:512])},
		{"path": "w/model.safetensors", "size": len(weights), "sample": b64(weights[:512])},
		{"path": "blob.dat", "size": len(bin), "sample": b64(bin)},
		{"path": "empty.bin", "size": 0, "sample": ""},
	}})
	e.wantStatus(r, 200, "")
	r.json(&pre)
	want := []string{"regular", "lfs", "lfs", "lfs", "regular"}
	for i, f := range pre.Files {
		if f.UploadMode != want[i] || f.ShouldIgnore {
			t.Errorf("%s: mode %s, want %s", f.Path, f.UploadMode, want[i])
		}
	}
	if pre.CommitOid != e.head("alice/m") {
		t.Errorf("commitOid %s", pre.CommitOid)
	}

	objs := e.batch("alice/m", big, weights)
	if objs[0].Actions.Upload.Header != nil {
		t.Errorf("small object got multipart headers")
	}
	hdr := objs[1].Actions.Upload.Header
	if hdr["chunk_size"] != "1500" || hdr["00007"] == "" || hdr["00008"] != "" {
		t.Errorf("multipart header %v", hdr)
	}
	for _, d := range [][]byte{big, weights, bin} {
		e.upload("alice/m", d)
	}
	// Present objects come back without actions.
	for _, o := range e.batch("alice/m", big, weights, bin) {
		if o.Actions != nil {
			t.Errorf("object %s already stored but got actions", o.OID)
		}
	}
	parent := e.head("alice/m")
	r = e.commit("alice/m", tokWrite, header("Add files", parent), fileOp("small.txt", small),
		lfsOp("big.txt", big), lfsOp("w/model.safetensors", weights), lfsOp("blob.dat", bin))
	e.wantStatus(r, 200, "")
	var cr struct {
		Success              bool
		CommitOid, CommitURL string
		HookOutput           *string
	}
	r.json(&cr)
	if !cr.Success || cr.CommitOid != e.head("alice/m") || cr.CommitURL != e.srv.URL+"/alice/m/commit/"+cr.CommitOid || cr.HookOutput == nil {
		t.Errorf("commit answer %s", r.body)
	}

	// Every byte comes back, through resolve (302 for LFS) and the blob route.
	for path, data := range map[string][]byte{"small.txt": small, "big.txt": big, "w/model.safetensors": weights, "blob.dat": bin} {
		if got := e.download("alice/m", "main", path); !bytes.Equal(got, data) {
			t.Errorf("%s: downloaded %d bytes differ from the %d uploaded", path, len(got), len(data))
		}
	}
	// big.txt was not tracked by .gitattributes: the Hub adds a rule for it.
	ga := e.download("alice/m", "main", ".gitattributes")
	if !strings.HasSuffix(string(ga), "\nbig.txt filter=lfs diff=lfs merge=lfs -text\nblob.dat filter=lfs diff=lfs merge=lfs -text\n") {
		t.Errorf(".gitattributes not extended:\n%s", ga[len(ga)-120:])
	}
}

func b64(b []byte) string { return encodeB64(b) }

// download reads a file like a client: resolve, follow one redirect.
func (e *env) download(repo, rev, path string) []byte {
	e.t.Helper()
	r := e.do("GET", "/"+repo+"/resolve/"+rev+"/"+path, "", nil)
	if r.StatusCode == http.StatusFound {
		r = e.do("GET", r.Header.Get("Location"), "", nil)
	}
	e.wantStatus(r, 200, "")
	return r.body
}
