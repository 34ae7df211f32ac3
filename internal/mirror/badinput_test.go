package mirror_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// hubWrites counts the local hub's requests on routes that change state.
func hubWrites(h *devhub.Hub) int {
	n := 0
	st := h.Stats()
	for _, r := range []string{"repo-create", "preupload", "commit", "lfs-batch", "storage-put", "storage-part", "storage-complete", "lfs-duplicate", "collection-create", "collection-add-item"} {
		n += st.Requests[r]
	}
	return n
}

// assertNothingWritten fails unless the publish wrote nothing at all: no
// sidecar, no write request, no byte received since before (taken after
// the test seeded the source).
func (e *env) assertNothingWritten(before devhub.Stats) {
	e.t.Helper()
	if _, err := e.h.Head(dstRepo, "main"); err == nil {
		e.t.Errorf("the sidecar was created")
	}
	if n, b := hubWrites(e.h), e.h.Stats().BytesReceived-before.BytesReceived; n != 0 || b != 0 {
		e.t.Errorf("%d write requests, %d bytes received", n, b)
	}
}

// standIn serves the source's tree listing from entries, and everything else
// from the local hub: the Hub refuses such paths and sizes on upload, so
// only a hostile or broken Hub would list them.
func (e *env) standIn(entries []hub.TreeEntry) {
	e.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/models/"+srcRepo+"/tree/") {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(entries)
			return
		}
		e.h.ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	cl := hub.New(srv.URL, token, hub.WithRetryPolicy(fast))
	e.opts.Source, e.opts.Dest = cl, cl
}

func TestUnsafeSourcePathsAreRefusedBeforeAnyWrite(t *testing.T) {
	// The local hub stores these as given, like a hostile Hub would.
	e := setup(t, "")
	for _, p := range []string{"../evil.json", `sub\win.json`, "ctl\x07.json", "a//b.txt", "./dot.model", "sub/../up.safetensors"} {
		if _, err := e.h.CommitFiles(srcRepo, "main", "hostile", []devhub.SeedFile{{Path: p, Content: strings.NewReader("{}")}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := e.h.Stats()
	_, err := e.publish()
	if err == nil {
		t.Fatal("publish accepted unsafe paths")
	}
	want := `: unsafe paths in the source tree: "../evil.json" (".." path segment), "./dot.model" ("." path segment), ` +
		`"a//b.txt" (empty path segment), "ctl\a.json" (control character in path), ` +
		`"sub/../up.safetensors" (".." path segment), "sub\\win.json" (backslash in path)`
	if !strings.HasPrefix(err.Error(), "refusing to mirror "+srcRepo+"@") || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v\nwant suffix %s", err, want)
	}
	e.assertNothingWritten(before)
}

func TestHostileTreeListingsAreRefusedBeforeAnyWrite(t *testing.T) {
	lfs := func(p string, size int64) hub.TreeEntry {
		return hub.TreeEntry{Type: "file", Path: p, Size: size, OID: strings.Repeat("1", 40),
			LFS: &hub.LFSInfo{OID: strings.Repeat("a", 64), Size: size, PointerSize: 130}}
	}
	for _, c := range []struct {
		name    string
		entries []hub.TreeEntry
		want    string
	}{
		{"absolute", []hub.TreeEntry{lfs("/etc/model.safetensors", 10)},
			`unsafe paths in the source tree: "/etc/model.safetensors" (absolute path)`},
		{"newline", []hub.TreeEntry{lfs("model.safetensors", 10), lfs("x\n::error::.json", 1)},
			`unsafe paths in the source tree: "x\n::error::.json" (control character in path)`},
		{"negative size", []hub.TreeEntry{lfs("model.safetensors", -1)},
			`unsafe paths in the source tree: "model.safetensors" (inconsistent size)`},
		{"lfs size differs", []hub.TreeEntry{{Type: "file", Path: "model.safetensors", Size: 10, LFS: &hub.LFSInfo{OID: strings.Repeat("a", 64), Size: 11}}},
			`unsafe paths in the source tree: "model.safetensors" (inconsistent size)`},
		// Three files of 2^62 bytes each overflow an int64 total.
		{"sizes overflow", []hub.TreeEntry{lfs("a.safetensors", 1<<62), lfs("b.safetensors", 1<<62), lfs("c.safetensors", 1<<62)},
			`: more than 8.0 EiB exceed the limit of 46.6 GiB (raise --max-bytes if this is intended)`},
		{"one huge file", []hub.TreeEntry{lfs("a.safetensors", 1<<62)},
			`: 4.0 EiB exceed the limit of 46.6 GiB (raise --max-bytes if this is intended)`},
		// The Hub cannot hold these trees; a hostile listing can name them.
		{"file and directory", []hub.TreeEntry{lfs("model.safetensors", 10), lfs("model.safetensors/x.json", 1), lfs("cfg.json", 1), lfs("cfg.json/a/b.txt", 1)},
			`: the source tree lists "cfg.json", "model.safetensors" as both a file and a directory; no git tree, so no sidecar, can hold that`},
		{"file and directory entry", []hub.TreeEntry{lfs("model.safetensors", 10), {Type: "directory", Path: "model.safetensors"}},
			`: the source tree lists "model.safetensors" as both a file and a directory`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, "")
			e.standIn(c.entries)
			before := e.h.Stats()
			_, err := e.publish()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %s", err, c.want)
			}
			var pe *mirror.PlanError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a refusal (*mirror.PlanError)", err)
			}
			e.assertNothingWritten(before)
		})
	}
}

// lyingSafetensors builds a file whose 8-byte length prefix says claimed
// while the JSON header that follows is header, then data bytes of zeros.
func lyingSafetensors(claimed uint64, header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, claimed)
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func TestLyingSafetensorsHeaderIsRefusedBeforeAnyWrite(t *testing.T) {
	const hdr = `{"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,32]}}`
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"length past the end", lyingSafetensors(1<<40, hdr, 32), "header length 1099511627776 exceeds the 100000000-byte limit"},
		{"length past the file", lyingSafetensors(4096, hdr, 32), "header length 4096 exceeds the 90 bytes that follow it"},
		{"length cuts the JSON", lyingSafetensors(20, hdr, 32), `invalid safetensors file: tensor "w": unexpected EOF`},
		{"offsets past the data", lyingSafetensors(uint64(len(hdr)), hdr, 8), `invalid safetensors file: tensor "w": data_offsets [0, 32] outside the 8-byte data region`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, "")
			file := c.file
			if _, err := e.h.CommitFiles(srcRepo, "main", "liar", []devhub.SeedFile{{Path: "sub/liar.safetensors", Content: bytes.NewReader(file)}}, nil); err != nil {
				t.Fatal(err)
			}
			// The read-only plan (a pull request's) refuses it too.
			_, err := mirror.MakePlan(context.Background(), e.opts)
			var pe *mirror.PlanError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("MakePlan: %v", err)
			}
			before := e.h.Stats()
			_, err = e.publish()
			if err == nil || !strings.Contains(err.Error(), "sub/liar.safetensors") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to name sub/liar.safetensors and say %q\nlog:\n%s", err, c.want, e.log)
			}
			e.assertNothingWritten(before)
		})
	}
}

// TestHostileSourceCardFallsBackCleanly: whatever the vision source's card
// holds, the publish succeeds and the license comes from the entry's
// source_model card, saying so.
func TestHostileSourceCardFallsBackCleanly(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("---\na0: &a0 [x, x]\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	bomb.WriteString("license: *a39\n---\n")
	for _, c := range []struct{ name, card string }{
		{"alias bomb", bomb.String()},
		{"deep nesting", "---\nlicense: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n---\n"},
		{"license a map", "---\nlicense: {id: mit}\nlicense_name: [1, 2]\nlicense_link: {x: y}\n---\n"},
		{"license a number", "---\nlicense: 42\n---\n"},
		{"license a list of maps", "---\nlicense: [{a: b}, 7]\n---\n"},
		{"enormous", "---\nlicense_name: " + strings.Repeat("x", 8<<20) + "\n---\n"},
		{"unterminated", "---\nlicense: mit\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, "")
			seed(t, e.h, "hostile card", nil, map[string]string{"README.md": c.card}, nil)
			e.h.CreateRepo("moonshotai/Kimi-K2.5", devhub.RepoOptions{})
			e.h.CommitFiles("moonshotai/Kimi-K2.5", "main", "card", []devhub.SeedFile{{Path: "README.md",
				Content: strings.NewReader("---\nlicense: other\nlicense_name: modified-mit\nlicense_link: LICENSE\n---\n")}}, nil)
			r := e.mustPublish()
			if r.Commit == "" {
				t.Fatalf("no commit")
			}
			if !strings.Contains(e.log.String(), srcRepo+" declares no license; using moonshotai/Kimi-K2.5's license other") {
				t.Errorf("no fallback logged:\n%s", e.log)
			}
			fm, err := card.FrontMatter([]byte(e.readme()))
			if err != nil {
				t.Fatal(err)
			}
			if fm["license"] != "other" || fm["license_name"] != "modified-mit" {
				t.Errorf("front matter license %v / %v", fm["license"], fm["license_name"])
			}
			if len(e.readme()) > 64<<10 {
				t.Errorf("the sidecar card is %d bytes", len(e.readme()))
			}
		})
	}
}
