package mirror_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// TestPublishThroughRedirectsWithStorageElsewhere publishes from a private
// and from a gated source that was renamed (the catalog still names the
// old repo), on a hub that answers small files with a relative redirect to
// /api/resolve-cache and serves storage from another origin: the token
// follows the redirects on the hub's host and never reaches storage.
func TestPublishThroughRedirectsWithStorageElsewhere(t *testing.T) {
	for _, c := range []struct {
		name, scope, gated string
		private            bool
	}{
		{"private", "write:FoxlightAI/*,read:third-party/*", "", true},
		{"gated", "write:FoxlightAI/*,gated:third-party/*", "manual", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, c.scope, devhub.WithResolveCache(true))
			if _, stop, err := e.h.ServeStorage("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			} else {
				defer stop()
			}
			if err := e.h.SetRepoAccess(srcRepo, c.private, c.gated); err != nil {
				t.Fatal(err)
			}
			if err := e.h.MoveRepo(srcRepo, srcRepo+"-renamed"); err != nil {
				t.Fatal(err)
			}
			r := e.mustPublish()
			if r.Copied != 4 || r.Commit == "" {
				t.Fatalf("first publish: %+v", r)
			}
			st := e.h.Stats()
			if st.Requests["moved-redirect"] == 0 || st.Requests["resolve-cache"] == 0 || st.Requests["blob"] == 0 {
				t.Errorf("the publish did not go through the redirects and storage: %v", st.Requests)
			}
			if st.StorageAuthorization != 0 {
				t.Errorf("storage saw the token %d times", st.StorageAuthorization)
			}
			if st.StorageBytes[srcRepo+"-renamed"] < 4<<20 {
				t.Errorf("storage served %d bytes of the source", st.StorageBytes[srcRepo+"-renamed"])
			}
			private, gated, err := e.h.RepoAccess(dstRepo)
			if err != nil || private != c.private || gated != c.gated {
				t.Errorf("sidecar access private=%v gated=%q, %v", private, gated, err)
			}
			report(t, "first publish %d requests (%d moved-redirect, %d resolve-cache, %d blob), %d storage bytes of the source, %d with a token at storage",
				total(st.Requests), st.Requests["moved-redirect"], st.Requests["resolve-cache"], st.Requests["blob"], st.StorageBytes[srcRepo+"-renamed"], st.StorageAuthorization)
			r = e.mustPublish()
			if !r.UpToDate || e.h.Stats().Commits[dstRepo] != st.Commits[dstRepo] {
				t.Errorf("republish: %+v, commits %d -> %d", r, st.Commits[dstRepo], e.h.Stats().Commits[dstRepo])
			}
			if n := e.h.Stats().StorageAuthorization; n != 0 {
				t.Errorf("storage saw the token %d times after the republish", n)
			}
		})
	}
}

// TestUploadModesFollowPreupload mirrors a source that keeps a small JSON
// file in LFS (its own .gitattributes) and a small binary file in git: the
// sidecar stores each as the Hub's preupload asks, and the republish finds
// both unchanged by content and commits nothing.
func TestUploadModesFollowPreupload(t *testing.T) {
	e := setup(t, "write:FoxlightAI/*,write:third-party/*")
	ga := "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.json filter=lfs diff=lfs merge=lfs -text\n"
	seed(t, e.h, "json in LFS", nil, map[string]string{".gitattributes": ga, "config.json": `{"model_type":"moonvit","lfs":true}`}, nil)
	vocab := []byte(strings.Repeat("tok\x00", 700)) // binary, 2800 bytes, committed as a plain file
	cl := hub.New(e.url, token)
	head, _ := e.h.Head(srcRepo, "main")
	if _, err := cl.Commit(context.Background(), srcRepo, "main", hub.CommitRequest{Summary: "binary vocab in git", ParentCommit: head,
		Ops: []hub.CommitOp{{Kind: "file", Path: "vocab.txt", Content: vocab}}}); err != nil {
		t.Fatal(err)
	}
	src := e.sourceTree("main")
	if src["config.json"].LFS == nil || src["vocab.txt"].LFS != nil {
		t.Fatalf("source modes: config.json %+v, vocab.txt %+v", src["config.json"], src["vocab.txt"])
	}
	r := e.mustPublish()
	if r.Copied != 5 {
		t.Fatalf("first publish: %+v\n%s", r, e.log)
	}
	dst := e.tree()
	if dst["config.json"].LFS != nil || dst["config.json"].Size != src["config.json"].Size {
		t.Errorf("config.json in the sidecar: %+v, want a plain file (small text)", dst["config.json"])
	}
	if dst["vocab.txt"].LFS == nil || dst["vocab.txt"].LFS.OID != sha(vocab) {
		t.Errorf("vocab.txt in the sidecar: %+v, want LFS (binary)", dst["vocab.txt"])
	}
	commits := e.h.Stats().Commits[dstRepo]
	st := e.h.Stats()
	r = e.mustPublish()
	report(t, "republish with 2 files stored the other way: up to date %v, %d requests, %d commits", r.UpToDate, total(e.h.Stats().Requests)-total(st.Requests), e.h.Stats().Commits[dstRepo]-commits)
	if !r.UpToDate || r.Copied != 0 || e.h.Stats().Commits[dstRepo] != commits {
		t.Errorf("republish: %+v, commits %d -> %d\n%s", r, commits, e.h.Stats().Commits[dstRepo], e.log)
	}
	// A changed file is still found changed across modes.
	seed(t, e.h, "json changes", nil, map[string]string{"config.json": `{"model_type":"moonvit","lfs":2}`}, nil)
	r = e.mustPublish()
	if r.Copied != 1 || r.Plan.Copy[0].Path != "config.json" {
		t.Errorf("after a change: %+v", r.Plan.Copy)
	}
}

func TestPublishRefusesACardTheHubRefuses(t *testing.T) {
	e := setup(t, "")
	// A Hub whose validate-yaml refuses every card: nothing may be written.
	e.h.AddFault(devhub.Fault{Route: "validate-yaml", Kind: devhub.FaultStatus, Status: 400, Message: `"license" must be one of [...]`})
	before := e.h.Stats()
	_, err := e.publish()
	if err == nil || !strings.Contains(err.Error(), "refuses the model card") || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("publish with a refused card: %v", err)
	}
	after := e.h.Stats()
	for _, route := range []string{"preupload", "lfs-batch", "storage-put", "storage-part", "commit"} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			t.Errorf("%d %s requests after the card was refused", n, route)
		}
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestIgnoredPathsAreLeftOut: a path the sidecar's .gitignore names is
// one preupload says to ignore; it is neither copied nor listed in the
// card, and the publish stays a no-op.
func TestIgnoredPathsAreLeftOut(t *testing.T) {
	e := setup(t, "")
	e.mustPublish()
	if _, err := e.h.CommitFiles(dstRepo, "main", "ignore notes", []devhub.SeedFile{{Path: ".gitignore", Content: strings.NewReader("# local\nextra*.txt\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	seed(t, e.h, "extra", nil, map[string]string{"extra-notes.txt": "not for the sidecar"}, nil)
	// The source moved, so the card pins its new commit: one commit, of
	// the card alone.
	r := e.mustPublish()
	if r.Copied != 0 || r.Commit == "" {
		t.Errorf("publish with an ignored new file: %+v\n%s", r, e.log)
	}
	if _, ok := e.tree()["extra-notes.txt"]; ok {
		t.Error("the ignored file reached the sidecar")
	}
	if strings.Contains(e.readme(), "extra-notes.txt") {
		t.Error("the card lists a file the sidecar does not hold")
	}
	commits := e.h.Stats().Commits[dstRepo]
	if r = e.mustPublish(); !r.UpToDate || e.h.Stats().Commits[dstRepo] != commits {
		t.Errorf("republish: %+v, commits %d -> %d", r, commits, e.h.Stats().Commits[dstRepo])
	}
	if !strings.Contains(e.log.String(), "extra-notes.txt: the Hub ignores this path") {
		t.Errorf("the log does not say the path was ignored:\n%s", e.log)
	}
}
