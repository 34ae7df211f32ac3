package devhub

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCommitErrors(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	e.createRepo("n", nil)
	first := e.head("alice/m")
	e.wantStatus(e.commit("alice/m", tokWrite, header("one", first[:7]), fileOp("a.txt", []byte("a"))), 200, "")

	// Stale parent: 412 with the Hub's message, nothing committed.
	r := e.commit("alice/m", tokWrite, header("stale", first), fileOp("b.txt", []byte("b")))
	e.wantStatus(r, 412, "PreconditionFailed")
	if !strings.Contains(string(r.body), "The branch was updated since you opened this page. Please refresh and try again.") {
		t.Errorf("412 body %s", r.body)
	}
	if e.hub.Stats().Commits["alice/m"] != 2 {
		t.Errorf("a refused commit was recorded")
	}

	// An LFS object nobody uploaded, or one uploaded to another repo.
	data := randBytes(3000, 9)
	r = e.commit("alice/m", tokWrite, header("lfs", ""), lfsOp("w.bin", data))
	e.wantStatus(r, 400, "BadRequest")
	if !strings.Contains(r.Header.Get("X-Error-Message"), "LFS pointer pointed to a file that does not exist") {
		t.Errorf("message %q", r.Header.Get("X-Error-Message"))
	}
	e.upload("alice/n", data)
	e.wantStatus(e.commit("alice/m", tokWrite, header("lfs", ""), lfsOp("w.bin", data)), 400, "BadRequest")
	e.wantStatus(e.commit("alice/n", tokWrite, header("lfs", ""), lfsOp("w.bin", data)), 200, "")
	// A wrong size for a known object is refused too; size may be omitted.
	wrong := lfsOp("x.bin", data)
	wrong["value"].(map[string]any)["size"] = 1
	e.wantStatus(e.commit("alice/n", tokWrite, header("lfs", ""), wrong), 400, "BadRequest")
	nosize := lfsOp("y.bin", data)
	delete(nosize["value"].(map[string]any), "size")
	e.wantStatus(e.commit("alice/n", tokWrite, header("lfs", ""), nosize), 200, "")

	del := func(key, p string) map[string]any {
		return map[string]any{"key": key, "value": map[string]any{"path": p}}
	}
	e.wantStatus(e.commit("alice/m", tokWrite, header("del", ""), del("deletedFile", "nope.txt")), 404, "EntryNotFound")
	r = e.do("POST", "/api/models/alice/m/commit/nobranch", tokWrite, []byte(ndjson(header("x", ""), fileOp("a", []byte("a")))))
	e.wantStatus(r, 404, "RevisionNotFound")

	// Folders: deletedFolder, and deletedFile on a folder path.
	e.wantStatus(e.commit("alice/m", tokWrite, header("dirs", ""), fileOp("d/1", []byte("1")), fileOp("d/2", []byte("2")),
		fileOp("f/1", []byte("1")), fileOp("keep", []byte("k"))), 200, "")
	e.wantStatus(e.commit("alice/m", tokWrite, header("rm", ""), del("deletedFolder", "d/"), del("deletedFile", "f")), 200, "")
	var tree []treeEntry
	e.do("GET", "/api/models/alice/m/tree/main", "", nil).json(&tree)
	var names []string
	for _, en := range tree {
		names = append(names, en.Path)
	}
	if strings.Join(names, ",") != ".gitattributes,a.txt,keep" {
		t.Errorf("after folder deletes: %v", names)
	}
	e.wantStatus(e.commit("alice/m", tokWrite, header("rm", ""), del("deletedFolder", "d")), 404, "EntryNotFound")

	// Body shape: header required, trailing newline tolerated, utf-8 content.
	e.wantStatus(e.commit("alice/m", tokWrite, fileOp("z", []byte("z"))), 400, "BadRequest")
	e.wantStatus(e.commit("alice/m", tokWrite, header("x", ""), map[string]any{"key": "weird", "value": map[string]any{}}), 400, "BadRequest")
	r = e.do("POST", "/api/models/alice/m/commit/main", tokWrite, []byte(ndjson(header("nl", ""),
		map[string]any{"key": "file", "value": map[string]any{"path": "u.txt", "content": "héllo", "encoding": "utf-8"}})+"\n"))
	e.wantStatus(r, 200, "")
	if got := e.download("alice/m", "main", "u.txt"); string(got) != "héllo" {
		t.Errorf("utf-8 file %q", got)
	}
	e.wantStatus(e.do("POST", "/api/models/alice/m/commit/main", tokWrite, []byte("{not json")), 400, "BadRequest")
	e.wantStatus(e.do("POST", "/api/models/alice/m/commit/main?create_pr=1", tokWrite, []byte(ndjson(header("pr", "")))), 400, "BadRequest")

	// Auth: anonymous 401, read-only and foreign tokens 403.
	e.wantStatus(e.commit("alice/m", "", header("x", "")), 401, "Unauthorized")
	r = e.commit("alice/m", tokRead, header("x", ""))
	e.wantStatus(r, 403, "Forbidden")
	if !strings.Contains(r.Header.Get("X-Error-Message"), "You don't have the rights to write to alice/m") {
		t.Errorf("403 message %q", r.Header.Get("X-Error-Message"))
	}
	e.wantStatus(e.commit("alice/m", tokOther, header("x", "")), 403, "Forbidden")
	e.wantStatus(e.commit("alice/m", tokOne, header("x", "")), 403, "Forbidden")
	e.wantStatus(e.commit("alice/nope", tokWrite, header("x", "")), 404, "RepoNotFound")
}

func TestPreupload(t *testing.T) {
	e := setup(t)
	e.seed("alice/m", RepoOptions{}, seedFiles)
	files := []map[string]any{
		{"path": "config.json", "size": 7, "sample": b64([]byte(`{"a":1}`))},
		{"path": "vision/model.safetensors", "size": 2000, "sample": ""},
		{"path": "notes.md", "size": 10, "sample": b64([]byte("0123456789"))},
	}
	var pre struct {
		Files []struct {
			Path, UploadMode, OID string
			ShouldIgnore          *bool
		}
		CommitOid string
	}
	r := e.do("POST", "/api/models/alice/m/preupload/main", tokWrite, map[string]any{"files": files})
	e.wantStatus(r, 200, "")
	r.json(&pre)
	if pre.Files[0].OID != gitBlobSHA1(seedFiles["config.json"]) || pre.Files[0].UploadMode != "regular" ||
		pre.Files[1].OID != sum(seedFiles["vision/model.safetensors"]) || pre.Files[1].UploadMode != "lfs" ||
		pre.Files[2].OID != "" || pre.Files[2].ShouldIgnore == nil || *pre.Files[2].ShouldIgnore {
		t.Errorf("preupload %s", r.body)
	}
	// A .gitattributes sent along decides instead of the branch's.
	r = e.do("POST", "/api/models/alice/m/preupload/main", tokWrite, map[string]any{"files": files, "gitAttributes": "*.md filter=lfs diff=lfs merge=lfs -text\n"})
	r.json(&pre)
	if pre.Files[1].UploadMode != "lfs" || pre.Files[2].UploadMode != "lfs" {
		// size 2000 >= threshold keeps the weights in LFS.
		t.Errorf("with gitAttributes %s", r.body)
	}
	e.wantStatus(e.do("POST", "/api/models/alice/m/preupload/dev", tokWrite, map[string]any{"files": files}), 404, "RevisionNotFound")
	e.wantStatus(e.do("POST", "/api/models/alice/m/preupload/main", tokRead, map[string]any{"files": files}), 403, "Forbidden")
	e.wantStatus(e.do("POST", "/api/models/alice/m/preupload/main", "", map[string]any{"files": files}), 401, "Unauthorized")
	e.wantStatus(e.do("POST", "/api/models/alice/m/preupload/main", tokWrite, map[string]any{"files": []map[string]any{{"path": "a", "size": 1, "sample": "!!"}}}), 400, "BadRequest")
}

func TestLFSBatchErrors(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	batch := func(token string, body map[string]any) *resp {
		return e.do("POST", "/alice/m.git/info/lfs/objects/batch", token, body)
	}
	r := batch(tokWrite, map[string]any{"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{
		{"oid": "NOTHEX", "size": 1}, {"oid": sum([]byte("x")), "size": -1}, {"oid": sum([]byte("y")), "size": maxLFSObjectSize + 1},
		{"oid": sum(randBytes(5000, 1)), "size": 5000},
	}})
	e.wantStatus(r, 200, "")
	var out struct {
		Transfer string
		Objects  []batchObj
	}
	r.json(&out)
	for i := 0; i < 3; i++ {
		if out.Objects[i].Error == nil || out.Objects[i].Error.Code != 422 || out.Objects[i].Actions != nil {
			t.Errorf("object %d: %+v", i, out.Objects[i])
		}
	}
	// Multipart is only offered to clients that ask for it.
	if o := out.Objects[3]; o.Error != nil || o.Actions.Upload.Header != nil || out.Transfer != "basic" || o.Actions.Verify == nil {
		t.Errorf("basic-only client got %+v (transfer %s)", o, out.Transfer)
	}
	e.wantStatus(batch(tokWrite, map[string]any{"operation": "upload", "hash_algo": "md5", "objects": []any{}}), 409, "Conflict")
	e.wantStatus(batch(tokWrite, map[string]any{"operation": "delete", "objects": []any{}}), 400, "BadRequest")
	e.wantStatus(batch(tokRead, map[string]any{"operation": "upload", "objects": []any{}}), 403, "Forbidden")
	e.wantStatus(batch("", map[string]any{"operation": "upload", "objects": []any{}}), 401, "Unauthorized")
	e.wantStatus(e.do("POST", "/alice/zz.git/info/lfs/objects/batch", "", map[string]any{"operation": "upload"}), 401, noCode)

	// Download operation hands out blob URLs for present objects.
	data := randBytes(3000, 4)
	e.upload("alice/m", data)
	r = batch("", map[string]any{"operation": "download", "objects": []map[string]any{{"oid": sum(data), "size": 3000}, {"oid": sum([]byte("q")), "size": 1}}})
	var dl struct {
		Objects []struct {
			Actions struct{ Download struct{ Href string } }
			Error   *struct{ Code int }
		}
	}
	r.json(&dl)
	if got := e.do("GET", dl.Objects[0].Actions.Download.Href, "", nil); !bytes.Equal(got.body, data) {
		t.Errorf("download action served %d bytes", len(got.body))
	}
	if dl.Objects[1].Error == nil || dl.Objects[1].Error.Code != 404 {
		t.Errorf("missing object %+v", dl.Objects[1])
	}
}

func TestStorageVerifiesBytes(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	data := randBytes(2000, 5)
	obj := e.batch("alice/m", data)[0]
	href := obj.Actions.Upload.Href
	bad := append([]byte(nil), data...)
	bad[7] ^= 1
	e.wantStatus(e.do("PUT", href, "", bad), 400, "BadDigest")
	e.wantStatus(e.do("PUT", href, "", data[:1999]), 400, "BadDigest")
	e.wantStatus(e.do("PUT", href, "", append(data, 0)), 400, "BadDigest")
	if _, ok := e.hub.store.has(sum(data)); ok {
		t.Fatal("bad bytes were stored")
	}
	e.wantStatus(e.do("POST", obj.Actions.Verify.Href, "", map[string]any{"oid": sum(data), "size": 2000}), 404, "EntryNotFound")
	e.wantStatus(e.do("PUT", href, "", data), 200, "")
	e.wantStatus(e.do("POST", obj.Actions.Verify.Href, "", map[string]any{"oid": sum(data), "size": 2000}), 200, "")
	e.wantStatus(e.do("PUT", href, "", data), 404, "NoSuchUpload") // completed uploads are gone

	// Multipart: wrong part size, unknown part, bad etag, missing part, wrong oid.
	big := randBytes(5000, 6) // 4 parts: 1500, 1500, 1500, 500
	up := e.batch("alice/m", big)[0].Actions.Upload
	part := func(n int) string { return up.Header["0000"+string(rune('0'+n))] }
	e.wantStatus(e.do("PUT", part(1), "", big[:1000]), 400, "IncompleteBody")
	// A part URL the batch did not hand out carries no valid signature.
	e.wantStatus(e.do("PUT", strings.Replace(part(1), "/1?", "/9?", 1), "", big[:1500]), 403, "SignatureDoesNotMatch")
	e.wantStatus(e.do("PUT", up.Href, "", big), 400, "BadRequest") // basic PUT on a multipart upload
	var etags []string
	for i := 0; i < 4; i++ {
		end := min((i+1)*1500, len(big))
		r := e.do("PUT", part(i+1), "", big[i*1500:end])
		e.wantStatus(r, 200, "")
		etags = append(etags, r.Header.Get("ETag"))
	}
	parts := func(tags ...string) []map[string]any {
		var out []map[string]any
		for i, t := range tags {
			out = append(out, map[string]any{"partNumber": i + 1, "etag": t})
		}
		return out
	}
	e.wantStatus(e.do("POST", up.Href, "", map[string]any{"oid": sum(big), "parts": parts(etags[0], etags[1], etags[2])}), 400, "BadRequest")
	e.wantStatus(e.do("POST", up.Href, "", map[string]any{"oid": sum(big), "parts": parts(etags[0], etags[1], etags[2], `"deadbeef"`)}), 400, "InvalidPart")
	e.wantStatus(e.do("POST", up.Href, "", map[string]any{"oid": sum(data), "parts": parts(etags...)}), 400, "BadRequest")
	e.wantStatus(e.do("POST", up.Href, "", map[string]any{"oid": sum(big), "parts": parts(etags...)}), 200, "")
	if _, ok := e.hub.store.has(sum(big)); !ok {
		t.Fatal("multipart object not stored")
	}
	entries, _ := os.ReadDir(e.hub.store.dir + "/parts")
	if len(entries) != 0 {
		t.Errorf("%d part files left behind", len(entries))
	}
	e.wantStatus(e.do("POST", e.srv.URL+"/_devhub/upload/nope", "", map[string]any{}), 403, "SignatureDoesNotMatch")
	e.wantStatus(e.do("POST", e.srv.URL+e.hub.signPath("/_devhub/upload/nope", "", time.Minute), "", map[string]any{}), 404, "NoSuchUpload")
}

func TestGoAPI(t *testing.T) {
	h, err := New(WithLFSThreshold(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := h.ownDir
	if err := h.CreateRepo("alice/m", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := h.CreateRepo("alice/m", RepoOptions{}); !errors.Is(err, ErrRepoExists) {
		t.Errorf("second create: %v", err)
	}
	if err := h.CreateRepo("not a repo", RepoOptions{}); err == nil {
		t.Error("bad id accepted")
	}
	sha, err := h.CommitFiles("alice/m", "main", "seed", []SeedFile{
		{Path: ".gitattributes", Content: strings.NewReader("*.txt filter=lfs diff=lfs merge=lfs -text\n")},
		{Path: "a.txt", Content: strings.NewReader("tracked by the new .gitattributes")},
		{Path: "b.md", Content: strings.NewReader(strings.Repeat("x", 100))},
		{Path: "c.md", Content: strings.NewReader("small")},
		{Path: "d.bin", Content: strings.NewReader("")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head, _ := h.Head("alice/m", "main"); head != sha {
		t.Errorf("head %s, commit %s", head, sha)
	}
	files := h.repos["model/alice/m"].Commits[sha].Files
	for p, lfs := range map[string]bool{"a.txt": true, "b.md": true, "c.md": false, "d.bin": false, ".gitattributes": false} {
		if files[p].LFS != lfs {
			t.Errorf("%s: LFS %v, want %v", p, files[p].LFS, lfs)
		}
	}
	if _, err := h.CommitFiles("alice/m", "main", "rm", nil, []string{"c.md"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CommitFiles("alice/m", "main", "rm", nil, []string{"c.md"}); err == nil {
		t.Error("deleting a missing file succeeded")
	}
	if _, err := h.Head("alice/x", "main"); !errors.Is(err, ErrRepoNotFound) {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := h.Head("alice/m", "dev"); !errors.Is(err, ErrRevisionNotFound) {
		t.Errorf("missing branch: %v", err)
	}
	if _, err := h.CommitFiles("alice/m", "dev", "x", nil, nil); !errors.Is(err, ErrRevisionNotFound) {
		t.Errorf("commit to missing branch: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind", dir)
	}
	for _, o := range []Option{WithDir(""), WithPageSize(0), WithLFSThreshold(0), WithMultipart(0, 1), WithToken("abc", "write:*"), WithToken("hf_x", "write:a b/*"), WithToken("hf_x", "own:x/*")} {
		if _, err := New(o); err == nil {
			t.Errorf("bad option accepted")
		}
	}
}

// Parts land in one file at their offsets: a rewritten part counts as not
// uploaded until its PUT succeeds, a body longer than the part never
// reaches the next part's bytes, and parts may arrive in any order.
func TestMultipartPartsInPlace(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	big := randBytes(5000, 9) // 4 parts: 1500, 1500, 1500, 500
	up := e.batch("alice/m", big)[0].Actions.Upload
	part := func(n int) string { return up.Header["0000"+string(rune('0'+n))] }
	etags := make([]string, 4)
	for _, i := range []int{3, 1, 0, 2} { // out of order
		end := min((i+1)*1500, len(big))
		r := e.do("PUT", part(i+1), "", big[i*1500:end])
		e.wantStatus(r, 200, "")
		etags[i] = r.Header.Get("ETag")
	}
	complete := func(tags ...string) *resp {
		var ps []map[string]any
		for i, t := range tags {
			ps = append(ps, map[string]any{"partNumber": i + 1, "etag": t})
		}
		return e.do("POST", up.Href, "", map[string]any{"oid": sum(big), "parts": ps})
	}
	// Part 2 again, one byte too long: refused, and part 3's bytes stay.
	long := append(append([]byte(nil), big[1500:3000]...), 'x')
	e.wantStatus(e.do("PUT", part(2), "", long), 400, "IncompleteBody")
	// The failed PUT took part 2's earlier upload with it.
	e.wantStatus(complete(etags...), 400, "InvalidPart")
	r := e.do("PUT", part(2), "", big[1500:3000])
	e.wantStatus(r, 200, "")
	if r.Header.Get("ETag") == etags[1] {
		t.Error("a new PUT of a part answered the old ETag")
	}
	etags[1] = r.Header.Get("ETag")
	e.wantStatus(complete(etags...), 200, "")
	f, err := e.hub.store.open(sum(big))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stored, _ := io.ReadAll(f)
	if !bytes.Equal(stored, big) {
		t.Error("stored object differs from the uploaded parts")
	}
}

// TestCommitFileAndDirectoryOfOneName: a tree cannot hold a file and a
// directory of the same name, whether both come in one commit or one is
// already in the tree; the commit is refused whole. Replacing the file by
// the directory in one commit (delete, then add) is fine.
func TestCommitFileAndDirectoryOfOneName(t *testing.T) {
	e := setup(t)
	e.createRepo("m", nil)
	e.wantStatus(e.commit("alice/m", tokWrite, header("base", ""), fileOp("a/b.json", []byte("1")), fileOp("x", []byte("x"))), 200, "")
	before := e.hub.Stats().Commits["alice/m"]
	for name, ops := range map[string][]map[string]any{
		"file over an existing directory": {fileOp("a", []byte("f"))},
		"directory over an existing file": {fileOp("x/y.json", []byte("d"))},
		"both in one commit":              {fileOp("n/o", []byte("1")), fileOp("n", []byte("2"))},
		"deep":                            {fileOp("a/b.json/c/d", []byte("1"))},
	} {
		r := e.commit("alice/m", tokWrite, append([]map[string]any{header(name, "")}, ops...)...)
		e.wantStatus(r, 400, "BadRequest")
		if !strings.Contains(r.Header.Get("X-Error-Message"), "would be both a file and a directory") {
			t.Errorf("%s: message %q", name, r.Header.Get("X-Error-Message"))
		}
	}
	if n := e.hub.Stats().Commits["alice/m"] - before; n != 0 {
		t.Errorf("%d refused commits recorded", n)
	}
	del := map[string]any{"key": "deletedFile", "value": map[string]any{"path": "x"}}
	e.wantStatus(e.commit("alice/m", tokWrite, header("replace", ""), del, fileOp("x/y.json", []byte("d"))), 200, "")
}
