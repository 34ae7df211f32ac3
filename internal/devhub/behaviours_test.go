package devhub

import (
	"bytes"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestStorageOnAnotherOrigin(t *testing.T) {
	e := setup(t)
	storage, stop, err := e.hub.ServeStorage("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if storage == e.srv.URL || e.hub.StorageURL() != storage {
		t.Fatalf("storage origin %q, hub %q", storage, e.srv.URL)
	}
	w := seedFiles["vision/model.safetensors"]
	e.seed("alice/src", RepoOptions{}, seedFiles)
	r := e.do("GET", "/alice/src/resolve/main/vision/model.safetensors", tokRead, nil)
	e.wantStatus(r, 302, "")
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, storage+"/_devhub/blob/") || !strings.Contains(loc, "X-Expires=") || !strings.Contains(loc, "X-Signature=") {
		t.Fatalf("Location %q is not a signed URL on the storage origin", loc)
	}
	// The Hub's own origin no longer serves storage; storage serves nothing else.
	e.wantStatus(e.do("GET", strings.Replace(loc, storage, e.srv.URL, 1), "", nil), 404, "NotFound")
	e.wantStatus(e.do("GET", storage+"/api/models/alice/src", "", nil), 404, "NotFound")

	r = e.do("GET", loc, "", nil, "Range", "bytes=100-199")
	e.wantStatus(r, 206, "")
	if !bytes.Equal(r.body, w[100:200]) {
		t.Error("Range through the storage origin returned other bytes")
	}
	if st := e.hub.Stats(); st.StorageAuthorization != 0 || st.StorageBytes["alice/src"] != 100 {
		t.Errorf("stats after an anonymous Range read: %+v", st)
	}
	e.wantStatus(e.do("GET", loc, tokRead, nil), 200, "")
	if st := e.hub.Stats(); st.StorageAuthorization != 1 || st.StorageBytes["alice/src"] != 2100 {
		t.Errorf("a storage request with a token was not counted: %d, bytes %d", st.StorageAuthorization, st.StorageBytes["alice/src"])
	}
	// Another repo named in the URL, or an altered expiry, breaks the signature.
	e.wantStatus(e.do("GET", strings.Replace(loc, "repo=alice%2Fsrc", "repo=bob%2Fsrc", 1), "", nil), 403, "SignatureDoesNotMatch")
	e.wantStatus(e.do("GET", strings.Replace(loc, "X-Expires=", "X-Expires=9", 1), "", nil), 403, "SignatureDoesNotMatch")
	expired := storage + e.hub.signPath("/_devhub/blob/"+sum(w), "alice/src", -time.Minute)
	r = e.do("GET", expired, "", nil)
	e.wantStatus(r, 403, "AccessDenied")
	if !strings.Contains(string(r.body), "expired") {
		t.Errorf("expired URL: %s", r.body)
	}
	// Uploads go to the storage origin too; verify stays on the Hub.
	data := randBytes(5000, 9) // multipart: 4 parts
	obj := e.batch("alice/src", data)[0]
	if !strings.HasPrefix(obj.Actions.Upload.Href, storage) || !strings.HasPrefix(obj.Actions.Verify.Href, e.srv.URL) {
		t.Errorf("upload %q, verify %q", obj.Actions.Upload.Href, obj.Actions.Verify.Href)
	}
	for k, v := range obj.Actions.Upload.Header {
		if k != "chunk_size" && !strings.HasPrefix(v, storage) {
			t.Errorf("part %s at %q", k, v)
		}
	}
	e.upload("alice/src", data)
	e.wantStatus(e.commit("alice/src", tokWrite, header("add", ""), lfsOp("big.bin", data)), 200, "")
}

func TestResolveCacheRedirect(t *testing.T) {
	e := setup(t, WithResolveCache(true))
	sha := e.seed("alice/src", RepoOptions{Private: true}, seedFiles)
	r := e.do("GET", "/alice/src/resolve/main/tok/a%20b.txt", tokRead, nil)
	e.wantStatus(r, 307, "")
	want := "/api/resolve-cache/models/alice/src/" + sha + "/tok/a%20b.txt"
	if loc := r.Header.Get("Location"); loc != want || r.Header.Get("X-Repo-Commit") != sha {
		t.Fatalf("Location %q, want the relative %q", loc, want)
	}
	before := e.hub.Stats().FileBytesServed["alice/src"]
	r = e.do("GET", want, tokRead, nil)
	e.wantStatus(r, 200, "")
	if string(r.body) != "spaced" {
		t.Errorf("resolve-cache body %q", r.body)
	}
	// The file's bytes are served here, so they count as the repo's.
	if n := e.hub.Stats().FileBytesServed["alice/src"] - before; n != int64(len("spaced")) {
		t.Errorf("the resolve-cache answer counts %d file bytes, want %d", n, len("spaced"))
	}
	// Without the token the redirect target hides the private repo.
	e.wantStatus(e.do("GET", want, "", nil), 401, noCode)
	// LFS files still go to storage.
	e.wantStatus(e.do("GET", "/alice/src/resolve/main/vision/model.safetensors", tokRead, nil), 302, "")
	// Switched off, small files are served in place.
	off := setup(t)
	off.seed("alice/src", RepoOptions{}, seedFiles)
	off.wantStatus(off.do("GET", "/alice/src/resolve/main/config.json", "", nil), 200, "")
}

func TestMoveRepoRedirects(t *testing.T) {
	e := setup(t)
	e.seed("alice/old", RepoOptions{}, seedFiles)
	e.wantStatus(e.do("POST", "/api/repos/move", tokOther, map[string]any{"fromRepo": "alice/old", "toRepo": "bob/new", "type": "model"}), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/repos/move", tokWrite, map[string]any{"fromRepo": "alice/old", "toRepo": "alice/new", "type": "model"}), 200, "")
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/models/alice/old", "/api/models/alice/new"},
		{"GET", "/api/models/alice/old/tree/main?recursive=true", "/api/models/alice/new/tree/main?recursive=true"},
		{"POST", "/api/models/alice/old/preupload/main", "/api/models/alice/new/preupload/main"},
		{"GET", "/alice/old/resolve/main/config.json", "/alice/new/resolve/main/config.json"},
		{"POST", "/alice/old.git/info/lfs/objects/batch", "/alice/new.git/info/lfs/objects/batch"},
	} {
		r := e.do(c.method, c.path, tokRead, map[string]any{})
		e.wantStatus(r, 307, "")
		if loc := r.Header.Get("Location"); loc != c.want {
			t.Errorf("%s %s: Location %q, want %q", c.method, c.path, loc, c.want)
		}
	}
	e.wantStatus(e.do("GET", "/api/models/alice/new", tokRead, nil), 200, "")
	// A private repo's old name tells nothing to a caller who cannot read it.
	if err := e.hub.SetRepoAccess("alice/new", true, ""); err != nil {
		t.Fatal(err)
	}
	e.wantStatus(e.do("GET", "/api/models/alice/old", "", nil), 401, noCode)
	e.wantStatus(e.do("GET", "/api/models/alice/old", tokOther, nil), 404, "RepoNotFound")
	// A repo created under the old name takes it back.
	e.createRepo("old", nil)
	e.wantStatus(e.do("GET", "/api/models/alice/old", tokRead, nil), 200, "")
}

func TestValidateYAMLEndpoint(t *testing.T) {
	e := setup(t)
	for _, c := range []struct {
		card    string
		ok      bool
		problem string
	}{
		{"---\nlicense: apache-2.0\ntags: [a]\nbase_model: org/m\nlicense_link: https://x/y\n---\n# x\n", true, ""},
		{"---\nlicense: [mit, llama3.1]\n---\n", true, ""},
		{"# no metadata\n", true, ""},
		{"---\n- a\n- b\n---\n", false, "mapping"},
		{"---\nlicense: Apache 2.0\n---\n", false, `"license"`},
		{"---\nlicense: 2\n---\n", false, `"license"`},
		{"---\ntags: {a: 1}\n---\n", false, `"tags"`},
		{"---\ntags: [a, [b]]\n---\n", false, `"tags"`},
		{"---\nbase_model: /workspace/ckpt\n---\n", false, `"base_model"`},
		{"---\nbase_model: {a: b}\n---\n", false, `"base_model"`},
		{"---\nlicense_link: [a]\n---\n", false, `"license_link"`},
		{"---\nlicense: mit\n", false, "not closed"},
		{"---\nkey: [unclosed\n---\n", false, "parsing"},
	} {
		r := e.do("POST", "/api/validate-yaml", "", map[string]any{"content": c.card, "repoType": "model"})
		if c.ok {
			e.wantStatus(r, 200, "")
			continue
		}
		e.wantStatus(r, 400, "BadRequest")
		var out struct{ Errors []struct{ Message string } }
		r.json(&out)
		if len(out.Errors) == 0 || !strings.Contains(out.Errors[0].Message, c.problem) {
			t.Errorf("%q: errors %s, want one mentioning %s", c.card, r.body, c.problem)
		}
	}
}

func TestBinaryPlainFileRefused(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	bin := randBytes(DefaultBinaryFileLimit+1, 4)
	bin[10] = 0
	r := e.commit("alice/m", tokWrite, header("bin", ""), fileOp("w.bin", bin))
	e.wantStatus(r, 400, "BadRequest")
	if !strings.Contains(string(r.body), "Your push was rejected because it contains binary files") || !strings.Contains(string(r.body), "w.bin") {
		t.Errorf("refusal %s", r.body)
	}
	text := bytes.Repeat([]byte("text\n"), DefaultBinaryFileLimit/4)
	e.wantStatus(e.commit("alice/m", tokWrite, header("text", ""), fileOp("big.txt", text)), 200, "")
	e.wantStatus(e.commit("alice/m", tokWrite, header("small", ""), fileOp("small.bin", bin[:1000])), 200, "")
	off := setup(t, WithBinaryFileLimit(0))
	off.createRepo("m", nil)
	off.wantStatus(off.commit("alice/m", tokWrite, header("bin", ""), fileOp("w.bin", bin)), 200, "")
}

func TestXetMigration(t *testing.T) {
	e := setup(t, WithDuplication(true), WithXetMigration(true), WithToken("hf_both", "read:alice/*,write:bob/*"))
	e.seed("alice/src", RepoOptions{}, seedFiles)
	if err := e.hub.CreateRepo("bob/dst", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	w := seedFiles["vision/model.safetensors"]
	xet := func() string {
		var entries []treeEntry
		e.do("GET", "/api/models/alice/src/tree/main/vision", "", nil).json(&entries)
		for _, en := range entries {
			if en.Path == "vision/model.safetensors" {
				return en.XetHash
			}
		}
		t.Fatal("no vision/model.safetensors in the tree")
		return ""
	}
	if got := xet(); got != "" {
		t.Errorf("xetHash %q on an object not migrated", got)
	}
	body := map[string]any{"target": map[string]any{"name": "bob/dst"},
		"files": []map[string]any{{"xetHash": xetHashFor(sum(w)), "sha256": sum(w), "filename": "w"}}}
	var out struct {
		Failed []struct{ SHA256, Error string }
	}
	e.do("POST", "/api/models/alice/src/lfs-files/duplicate", "hf_both", body).json(&out)
	if len(out.Failed) != 1 || !strings.Contains(out.Failed[0].Error, "Xet") {
		t.Errorf("duplicate of an object not migrated: %+v", out)
	}
	e.hub.MarkMigrated(sum(w))
	if got := xet(); got != xetHashFor(sum(w)) {
		t.Errorf("migrated object's xetHash %q", got)
	}
	out.Failed = nil
	e.do("POST", "/api/models/alice/src/lfs-files/duplicate", "hf_both", body).json(&out)
	if len(out.Failed) != 0 {
		t.Errorf("duplicate of a migrated object: %+v", out)
	}
}

func TestCreateConflictFault(t *testing.T) {
	e := setup(t)
	e.hub.AddFault(CreateConflictFault(1))
	r := e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "x", "organization": "alice", "visibility": "private"})
	e.wantStatus(r, 409, "")
	if !strings.Contains(string(r.body), ConflictingOperation) {
		t.Errorf("409 body %s", r.body)
	}
	e.wantStatus(e.do("POST", "/api/repos/create", tokWrite, map[string]any{"name": "x", "organization": "alice", "visibility": "private"}), 200, "")
	if private, _, _ := e.hub.RepoAccess("alice/x"); !private {
		t.Error("visibility private was not applied")
	}
}

func TestPreuploadShouldIgnore(t *testing.T) {
	e := setup(t)
	e.seed("alice/m", RepoOptions{}, map[string][]byte{".gitignore": []byte("*.log\nbuild/\n!keep.log\n")})
	ask := func(body map[string]any) map[string]bool {
		var out struct {
			Files []struct {
				Path         string
				ShouldIgnore bool
			}
		}
		r := e.do("POST", "/api/models/alice/m/preupload/main", tokWrite, body)
		e.wantStatus(r, 200, "")
		r.json(&out)
		got := map[string]bool{}
		for _, f := range out.Files {
			got[f.Path] = f.ShouldIgnore
		}
		return got
	}
	files := []map[string]any{}
	for _, p := range []string{"a.log", "keep.log", "build/x.bin", "src/build.txt", "w.safetensors"} {
		files = append(files, map[string]any{"path": p, "size": 1, "sample": ""})
	}
	want := map[string]bool{"a.log": true, "keep.log": false, "build/x.bin": true, "src/build.txt": false, "w.safetensors": false}
	if got := ask(map[string]any{"files": files}); !maps.Equal(got, want) {
		t.Errorf("shouldIgnore from the branch's .gitignore: %v, want %v", got, want)
	}
	// A .gitignore in the commit (gitIgnore) replaces the branch's.
	if got := ask(map[string]any{"files": files, "gitIgnore": "*.safetensors\n"}); !got["w.safetensors"] || got["a.log"] {
		t.Errorf("shouldIgnore from gitIgnore: %v", got)
	}
}
