package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
	"github.com/Foxlight-Foundation/skulk-weights/internal/syncbuf"
)

const (
	token   = "hf_mirrortest_s3cr3t_token_value"
	srcRepo = "third-party/kimi-vision"
	dstRepo = "FoxlightAI/kimi-vision"
)

type env struct {
	t    *testing.T
	h    *devhub.Hub
	url  string
	log  *syncbuf.Buffer
	opts mirror.Options
}

var fast = hub.RetryPolicy{MaxRetries: 4, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond, MaxServerWait: 5 * time.Second}

// setup starts a devhub with a FoxlightAI write token and seeds the source
// with three shards, a config and a card declaring a license.
func setup(t *testing.T, tokScope string, opts ...devhub.Option) *env {
	t.Helper()
	if tokScope == "" {
		tokScope = "write:FoxlightAI/*"
	}
	h, err := devhub.New(append([]devhub.Option{devhub.WithToken(token, tokScope)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	if err := h.CreateRepo(srcRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	seed(t, h, "initial", map[string]int64{"a.safetensors": 3 << 20, "b.safetensors": 1 << 20, "sub/c.safetensors": 512 << 10},
		map[string]string{"config.json": `{"model_type":"moonvit"}`, "README.md": "---\nlicense: apache-2.0\n---\n# vision\n", "notes.md": "not mirrored"}, nil)
	e := &env{t: t, h: h, url: srv.URL, log: &syncbuf.Buffer{}}
	cl := hub.New(srv.URL, token, hub.WithRetryPolicy(fast), hub.WithLogf(func(f string, a ...any) { fmt.Fprintf(e.log, f+"\n", a...) }))
	e.opts = mirror.Options{
		Entry: &catalog.Entry{Key: "kimi", SourceModel: "moonshotai/Kimi-K2.5", VisionSourceRepo: srcRepo, VisionSidecarRepo: dstRepo,
			Source: &catalog.Source{Namespace: "foxlight"}},
		Source: cl, Dest: cl, Jobs: 3, Progress: e.log, ToolVersion: "test",
	}
	return e
}

// seed commits generated safetensors files of the given sizes (seeded by
// size and path) and small text files.
func seed(t *testing.T, h *devhub.Hub, msg string, weights map[string]int64, small map[string]string, deletes []string) string {
	t.Helper()
	var files []devhub.SeedFile
	for p, n := range weights {
		files = append(files, devhub.SeedFile{Path: p, Content: gen(t, p, n, 0)})
	}
	for p, s := range small {
		files = append(files, devhub.SeedFile{Path: p, Content: strings.NewReader(s)})
	}
	sha, err := h.CommitFiles(srcRepo, "main", msg, files, deletes)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func gen(t *testing.T, p string, n int64, salt uint64) io.Reader {
	var s uint64 = salt
	for _, c := range p {
		s = s*31 + uint64(c)
	}
	g, err := safetensors.NewSizedGenerator(s, n, "BF16")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (e *env) publish() (*mirror.Result, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return mirror.Publish(ctx, e.opts)
}

func (e *env) mustPublish() *mirror.Result {
	e.t.Helper()
	r, err := e.publish()
	if err != nil {
		e.t.Fatalf("publish: %v\nlog:\n%s", err, e.log)
	}
	return r
}

// tree lists the sidecar at its head.
func (e *env) tree() map[string]hub.TreeEntry {
	e.t.Helper()
	cl := hub.New(e.url, token)
	head, err := e.h.Head(dstRepo, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	list, err := cl.ListTree(context.Background(), dstRepo, head)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]hub.TreeEntry{}
	for _, x := range list {
		if x.Type == "file" {
			m[x.Path] = x
		}
	}
	return m
}

func (e *env) sourceTree(rev string) map[string]hub.TreeEntry {
	e.t.Helper()
	list, err := hub.New(e.url, "").ListTree(context.Background(), srcRepo, rev)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]hub.TreeEntry{}
	for _, x := range list {
		m[x.Path] = x
	}
	return m
}

// blobPath is the devhub storage path serving a source file's LFS object.
func (e *env) blobPath(p string) string {
	head, _ := e.h.Head(srcRepo, "main")
	return "/_devhub/blob/" + e.sourceTree(head)[p].LFS.OID
}

func (e *env) readme() string {
	e.t.Helper()
	f, err := hub.New(e.url, token).Open(context.Background(), dstRepo, "main", "README.md", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

func methods(r *mirror.Result) map[string]string {
	m := map[string]string{}
	for _, a := range r.Plan.Copy {
		m[a.Path] = a.Method
	}
	return m
}

// assertMirrored checks that every managed source file is in the sidecar with
// the same content id, and unmanaged source files are not.
func (e *env) assertMirrored(srcSHA string) {
	e.t.Helper()
	src, dst := e.sourceTree(srcSHA), e.tree()
	for p, s := range src {
		if s.Type != "file" {
			continue
		}
		d, ok := dst[p]
		if !mirror.Managed(p) {
			if p != "README.md" && p != ".gitattributes" && ok {
				e.t.Errorf("%s is not managed but was mirrored", p)
			}
			continue
		}
		if !ok {
			e.t.Errorf("%s missing from the sidecar", p)
			continue
		}
		if s.OID != d.OID || s.Size != d.Size || (s.LFS == nil) != (d.LFS == nil) || (s.LFS != nil && s.LFS.OID != d.LFS.OID) {
			e.t.Errorf("%s: sidecar %+v differs from source %+v", p, d, s)
		}
	}
}

func TestFirstMirrorThenNoop(t *testing.T) {
	e := setup(t, "")
	srcSHA, _ := e.h.Head(srcRepo, "main")
	r := e.mustPublish()
	if r.UpToDate || r.Commit == "" || r.Copied != 4 || r.Skipped != 0 || r.Pruned != 0 {
		t.Fatalf("first publish: %+v", r)
	}
	if r.Plan.SourceSHA != srcSHA {
		t.Errorf("pinned %s, source head is %s", r.Plan.SourceSHA, srcSHA)
	}
	e.assertMirrored(srcSHA)
	readme := e.readme()
	fm, err := card.FrontMatter([]byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	if fm["license"] != "apache-2.0" || fm["base_model"] != srcRepo {
		t.Errorf("card front matter: %v", fm)
	}
	if !strings.Contains(readme, "source_revision: "+srcSHA) {
		t.Errorf("card does not record the pinned sha %s:\n%s", srcSHA, readme)
	}
	// The safetensors header summary of each streamed shard is in the card.
	if !strings.Contains(readme, "BF16") {
		t.Errorf("card lacks the shards' dtypes:\n%s", readme)
	}
	if r.Collection == "" {
		t.Errorf("not filed into a collection")
	}
	col, err := e.opts.Dest.GetCollection(context.Background(), r.Collection)
	if err != nil || col.Title != mirror.CollectionTitle || len(col.Items) != 1 || col.Items[0].ID != dstRepo {
		t.Errorf("collection %s: %+v, %v", r.Collection, col, err)
	}

	before := e.h.Stats()
	head, _ := e.h.Head(dstRepo, "main")
	r2 := e.mustPublish()
	after := e.h.Stats()
	if !r2.UpToDate || r2.Commit != "" || r2.BytesMoved != 0 {
		t.Fatalf("no-op republish: %+v", r2)
	}
	if h2, _ := e.h.Head(dstRepo, "main"); h2 != head {
		t.Errorf("no-op republish moved the head %s -> %s", head, h2)
	}
	if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 0 {
		t.Errorf("no-op republish made %d commits", n)
	}
	if n := after.BytesReceived - before.BytesReceived; n > 4096 {
		t.Errorf("no-op republish sent %d bytes to the hub", n)
	}
	// Served bytes are the listings and the card, whose files list stands
	// in for the small files and the shards' headers: no weight data.
	if n := after.BytesServed - before.BytesServed; n > 64<<10 {
		t.Errorf("no-op republish downloaded %d bytes", n)
	}
	for _, route := range []string{"storage-put", "storage-part", "lfs-batch", "commit"} {
		if after.Requests[route] != before.Requests[route] {
			t.Errorf("no-op republish hit %s", route)
		}
	}
	if r2.Collection != r.Collection {
		t.Errorf("republish filed into %s, first into %s", r2.Collection, r.Collection)
	}
	if strings.Contains(e.log.String(), token) {
		t.Errorf("token in progress output")
	}
}

// TestPruneKeepsReadmeAndUnmanaged: a prune deletes only managed files the
// source no longer has. The card, .gitattributes (here edited by hand) and
// files someone added to the sidecar survive it unchanged.
func TestPruneKeepsReadmeAndUnmanaged(t *testing.T) {
	e := setup(t, "")
	e.mustPublish()
	// Someone adds unmanaged files and a stale managed one to the sidecar
	// and edits .gitattributes; upstream drops a shard and replaces another.
	attrs := "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n# kept by hand\n"
	if _, err := e.h.CommitFiles(dstRepo, "main", "add notes", []devhub.SeedFile{
		{Path: "NOTES.md", Content: strings.NewReader("hand-written")},
		{Path: "docs/extra.yaml", Content: strings.NewReader("hand: written\n")},
		{Path: ".gitattributes", Content: strings.NewReader(attrs)},
		{Path: "sub/stale.json", Content: strings.NewReader(`{"stale": true}`)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	before := e.tree()
	sha, err := e.h.CommitFiles(srcRepo, "main", "change", []devhub.SeedFile{{Path: "a.safetensors", Content: gen(t, "a.safetensors", 3<<20, 7)}}, []string{"b.safetensors"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.mustPublish()
	if r.Copied != 1 || r.Pruned != 2 || r.Skipped != 2 {
		t.Fatalf("republish: copied %d pruned %d skipped %d", r.Copied, r.Pruned, r.Skipped)
	}
	if len(r.Plan.Prune) != 2 || r.Plan.Prune[0].Path != "b.safetensors" || r.Plan.Prune[1].Path != "sub/stale.json" {
		t.Errorf("pruned %v, want b.safetensors and sub/stale.json", r.Plan.Prune)
	}
	tree := e.tree()
	for _, p := range []string{"NOTES.md", "docs/extra.yaml", ".gitattributes", "README.md"} {
		d, ok := tree[p]
		if !ok {
			t.Errorf("%s was removed", p)
			continue
		}
		if p != "README.md" && d.OID != before[p].OID {
			t.Errorf("%s was rewritten", p)
		}
	}
	if !strings.Contains(e.readme(), "license: apache-2.0") {
		t.Errorf("README.md is no longer the card:\n%s", e.readme())
	}
	for _, p := range []string{"README.md", ".gitattributes", "NOTES.md", "sub/README.md", "docs/extra.yaml"} {
		if mirror.Managed(p) {
			t.Errorf("Managed(%q): a file the mirror does not own would be pruned", p)
		}
	}
	if _, ok := tree["b.safetensors"]; ok {
		t.Errorf("b.safetensors not pruned")
	}
	e.assertMirrored(sha)
}

func TestPinnedSHAWhenSourceMovesMidRun(t *testing.T) {
	e := setup(t, "")
	pinned, _ := e.h.Head(srcRepo, "main")
	var moved string
	// Right after the pin, while the run lists the tree, upstream commits a
	// new shard and replaces another.
	e.h.AddFault(devhub.Fault{Route: "tree", Path: "/api/models/" + srcRepo + "/", Kind: devhub.FaultNone, Times: 1, Before: func() {
		s, err := e.h.CommitFiles(srcRepo, "main", "moved", []devhub.SeedFile{
			{Path: "late.safetensors", Content: gen(t, "late", 1<<20, 0)},
			{Path: "a.safetensors", Content: gen(t, "a.safetensors", 3<<20, 99)},
		}, nil)
		if err != nil {
			t.Error(err)
		}
		moved = s
	}})
	r := e.mustPublish()
	if moved == "" || moved == pinned {
		t.Fatal("the source did not move mid-run")
	}
	if r.Plan.SourceSHA != pinned {
		t.Errorf("copied %s, want the pinned %s", r.Plan.SourceSHA, pinned)
	}
	readme := e.readme()
	if !strings.Contains(readme, "source_revision: "+pinned) || strings.Contains(readme, moved) {
		t.Errorf("card does not record the pinned sha %s:\n%s", pinned, readme)
	}
	if _, ok := e.tree()["late.safetensors"]; ok {
		t.Errorf("a file of the later commit was mirrored")
	}
	e.assertMirrored(pinned)
}

func TestCopyPaths(t *testing.T) {
	t.Run("duplicate", func(t *testing.T) {
		e := setup(t, "", devhub.WithDuplication(true))
		before := e.h.Stats()
		r := e.mustPublish()
		after := e.h.Stats()
		for p, m := range methods(r) {
			if strings.HasSuffix(p, ".safetensors") && m != "duplicate" {
				t.Errorf("%s copied by %s, want duplicate", p, m)
			}
		}
		if n := after.Requests["storage-put"] + after.Requests["storage-part"] - before.Requests["storage-put"] - before.Requests["storage-part"]; n != 0 {
			t.Errorf("%d storage uploads despite duplication", n)
		}
		if n := after.BytesReceived - before.BytesReceived; n > 64<<10 {
			t.Errorf("hub received %d bytes despite duplication", n)
		}
		e.assertMirrored(r.Plan.SourceSHA)
	})
	t.Run("stored", func(t *testing.T) {
		e := setup(t, "")
		// The sidecar already holds a.safetensors's bytes under another name.
		if err := e.h.CreateRepo(dstRepo, devhub.RepoOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.h.CommitFiles(dstRepo, "main", "old", []devhub.SeedFile{{Path: "old/a.bin", Content: gen(t, "a.safetensors", 3<<20, 0)}}, nil); err != nil {
			t.Fatal(err)
		}
		r := e.mustPublish()
		if m := methods(r)["a.safetensors"]; m != "stored" {
			t.Errorf("a.safetensors copied by %q, want stored", m)
		}
		if m := methods(r)["b.safetensors"]; m != "stream" {
			t.Errorf("b.safetensors copied by %q, want stream", m)
		}
		if r.BytesMoved >= 3<<20 {
			t.Errorf("moved %d bytes: the stored file was uploaded", r.BytesMoved)
		}
		e.assertMirrored(r.Plan.SourceSHA)
	})
	t.Run("basic+multipart", func(t *testing.T) {
		e := setup(t, "", devhub.WithMultipart(2<<20, 1<<20))
		e.opts.Jobs = 2
		before := e.h.Stats()
		r := e.mustPublish()
		after := e.h.Stats()
		m := methods(r)
		if m["a.safetensors"] != "multipart" || m["b.safetensors"] != "stream" || m["config.json"] != "inline" {
			t.Errorf("methods %v", m)
		}
		if n := after.Requests["storage-part"] - before.Requests["storage-part"]; n != 3 {
			t.Errorf("%d part uploads, want 3", n)
		}
		if r.BytesMoved < 3<<20+1<<20+512<<10 {
			t.Errorf("moved only %d bytes", r.BytesMoved)
		}
		if !strings.Contains(e.readme(), "a.safetensors") {
			t.Errorf("card lacks the multipart file")
		}
		e.assertMirrored(r.Plan.SourceSHA)
	})
}

func TestCorruptedByteAbortsWithNothingCommitted(t *testing.T) {
	for _, multipart := range []bool{false, true} {
		t.Run(fmt.Sprintf("multipart=%v", multipart), func(t *testing.T) {
			var opts []devhub.Option
			if multipart {
				opts = append(opts, devhub.WithMultipart(2<<20, 1<<20))
			}
			e := setup(t, "", opts...)
			// Create the sidecar first so "nothing committed" means its head
			// did not move.
			if err := e.h.CreateRepo(dstRepo, devhub.RepoOptions{}); err != nil {
				t.Fatal(err)
			}
			head, _ := e.h.Head(dstRepo, "main")
			e.h.AddFault(devhub.Fault{Route: "blob", Path: e.blobPath("a.safetensors"), Kind: devhub.FaultFlipByte, AfterBytes: 100_000})
			_, err := e.publish()
			var me *mirror.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("publish: %v, want a MismatchError\n%s", err, e.log)
			}
			if me.Path != "a.safetensors" || me.What != "sha256" || me.Expected == me.Actual || len(me.Actual) != 64 {
				t.Errorf("mismatch %+v", me)
			}
			if !strings.Contains(err.Error(), "nothing was committed") || !strings.Contains(err.Error(), me.Expected) {
				t.Errorf("message %q", err)
			}
			if h2, _ := e.h.Head(dstRepo, "main"); h2 != head {
				t.Errorf("sidecar head moved %s -> %s", head, h2)
			}
			// A rerun without the fault converges.
			e.h.ClearFaults()
			r := e.mustPublish()
			e.assertMirrored(r.Plan.SourceSHA)
		})
	}
}

func TestConcurrentWriterReplans(t *testing.T) {
	e := setup(t, "")
	e.mustPublish()
	e.h.CommitFiles(srcRepo, "main", "change", []devhub.SeedFile{{Path: "b.safetensors", Content: gen(t, "b.safetensors", 1<<20, 5)}}, nil)
	// Between plan and commit, another writer commits to the sidecar.
	e.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultNone, Times: 1, Before: func() {
		if _, err := e.h.CommitFiles(dstRepo, "main", "concurrent", []devhub.SeedFile{{Path: "NOTES.md", Content: strings.NewReader("x")}}, nil); err != nil {
			t.Error(err)
		}
	}})
	before := e.h.Stats()
	r := e.mustPublish()
	after := e.h.Stats()
	if n := after.Requests["commit"] - before.Requests["commit"]; n != 2 {
		t.Errorf("%d commit requests, want 2 (412, then the re-planned one)", n)
	}
	if !strings.Contains(e.log.String(), "planning again") {
		t.Errorf("no re-plan logged:\n%s", e.log)
	}
	if _, ok := e.tree()["NOTES.md"]; !ok {
		t.Errorf("the concurrent writer's file was lost")
	}
	// The re-plan reuses the upload: storage saw b.safetensors once.
	if n := after.Requests["storage-put"] - before.Requests["storage-put"]; n != 1 {
		t.Errorf("%d storage PUTs, want 1", n)
	}
	e.assertMirrored(r.Plan.SourceSHA)
}

func TestLostCommitResponseDoesNotCommitTwice(t *testing.T) {
	e := setup(t, "")
	e.h.AddFault(devhub.Fault{Route: "commit", Kind: devhub.FaultDropResponse, Times: 1})
	before := e.h.Stats()
	r := e.mustPublish()
	after := e.h.Stats()
	head, _ := e.h.Head(dstRepo, "main")
	if r.Commit != head {
		t.Errorf("result commit %s, head %s", r.Commit, head)
	}
	// The initial commit plus exactly one mirror commit.
	if n := after.Commits[dstRepo] - before.Commits[dstRepo]; n != 2 {
		t.Errorf("%d commits, want 2 (create + mirror)", n)
	}
	e.assertMirrored(r.Plan.SourceSHA)
}

func TestTokenScopedElsewhereFailsBeforeWriting(t *testing.T) {
	for _, exists := range []bool{false, true} {
		t.Run(fmt.Sprintf("sidecar exists=%v", exists), func(t *testing.T) {
			e := setup(t, "write:FoxlightAI/another-repo")
			if exists {
				e.h.CreateRepo(dstRepo, devhub.RepoOptions{})
			}
			before := e.h.Stats()
			_, err := e.publish()
			after := e.h.Stats()
			if err == nil {
				t.Fatal("publish succeeded with a token scoped to another repo")
			}
			if !strings.Contains(err.Error(), dstRepo) || !strings.Contains(err.Error(), "write access") {
				t.Errorf("message %q should name the repo and say the token needs write access", err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(e.log.String(), token) {
				t.Errorf("token leaked")
			}
			for _, route := range []string{"lfs-batch", "storage-put", "storage-part", "commit", "lfs-duplicate"} {
				if after.Requests[route] != before.Requests[route] {
					t.Errorf("%s was called before the permission failure", route)
				}
			}
			if after.BytesReceived-before.BytesReceived > 8<<10 {
				t.Errorf("hub received %d bytes", after.BytesReceived-before.BytesReceived)
			}
			if !exists {
				if _, err := e.h.Head(dstRepo, "main"); err == nil {
					t.Errorf("sidecar was created")
				}
			}
		})
	}
}

func TestFaultsRetried(t *testing.T) {
	e := setup(t, "", devhub.WithMultipart(2<<20, 1<<20))
	// The source connection drops mid-file, a storage PUT and a part PUT
	// answer 500, the tree answers 503 once.
	// The first two GETs of a.safetensors are the header check's small
	// ranges, which end before the cut; the next two are the copy's.
	e.h.AddFault(devhub.Fault{Route: "blob", Path: e.blobPath("a.safetensors"), Kind: devhub.FaultCutBody, AfterBytes: 200_000, Times: 4})
	e.h.AddFault(devhub.Fault{Route: "storage-put", Kind: devhub.FaultStatus, Status: 500, Times: 1})
	e.h.AddFault(devhub.Fault{Route: "storage-part", Kind: devhub.FaultStatus, Status: 500, Times: 1})
	e.h.AddFault(devhub.Fault{Route: "tree", Kind: devhub.FaultStatus, Status: 503, Times: 1})
	r := e.mustPublish()
	e.assertMirrored(r.Plan.SourceSHA)
	if !strings.Contains(e.log.String(), "resuming GET") {
		t.Errorf("no Range resume logged:\n%s", e.log)
	}
}

func TestRefusals(t *testing.T) {
	t.Run("no weights", func(t *testing.T) {
		e := setup(t, "")
		e.h.CommitFiles(srcRepo, "main", "rm", nil, []string{"a.safetensors", "b.safetensors", "sub/c.safetensors"})
		_, err := e.publish()
		want := "no .safetensors weights found in " + srcRepo + "; confirm this repo holds the vision encoder weights"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
		if _, err := e.h.Head(dstRepo, "main"); err == nil {
			t.Errorf("sidecar created for a source without weights")
		}
	})
	t.Run("limits", func(t *testing.T) {
		e := setup(t, "")
		e.opts.MaxBytes = 1 << 20
		if _, err := e.publish(); err == nil || !strings.Contains(err.Error(), "exceed the limit") {
			t.Errorf("max bytes: %v", err)
		}
		e.opts.MaxBytes, e.opts.MaxFiles = 0, 2
		if _, err := e.publish(); err == nil || !strings.Contains(err.Error(), "files exceed the limit of 2") {
			t.Errorf("max files: %v", err)
		}
		if _, err := e.h.Head(dstRepo, "main"); err == nil {
			t.Errorf("sidecar created despite the refusal")
		}
	})
	t.Run("collection value", func(t *testing.T) {
		e := setup(t, "")
		e.opts.Collection = "not a slug"
		_, err := e.publish()
		if err == nil || err.Error() != "SKULK_WEIGHTS_COLLECTION must look like owner/slug or be 'none'" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no token", func(t *testing.T) {
		e := setup(t, "")
		e.opts.Dest = hub.New(e.url, "")
		if _, err := e.publish(); !errors.Is(err, mirror.ErrNoToken) {
			t.Errorf("got %v", err)
		}
	})
}

func TestCollectionSettings(t *testing.T) {
	e := setup(t, "")
	e.opts.Collection = "Off"
	r := e.mustPublish()
	if r.Collection != "" || e.h.Stats().Requests["collection-add-item"] != 0 {
		t.Errorf("filed despite SKULK_WEIGHTS_COLLECTION=Off: %q", r.Collection)
	}
	col, err := e.opts.Dest.CreateCollection(context.Background(), "FoxlightAI", "Hand picked")
	if err != nil {
		t.Fatal(err)
	}
	e.opts.Collection = col.Slug
	r = e.mustPublish()
	if r.Collection != col.Slug {
		t.Errorf("filed into %q, want override %q", r.Collection, col.Slug)
	}
}

func TestLicenseFallsBackToSourceModel(t *testing.T) {
	e := setup(t, "")
	e.h.CommitFiles(srcRepo, "main", "drop card", nil, []string{"README.md"})
	e.h.CreateRepo("moonshotai/Kimi-K2.5", devhub.RepoOptions{})
	e.h.CommitFiles("moonshotai/Kimi-K2.5", "main", "card", []devhub.SeedFile{{Path: "README.md",
		Content: strings.NewReader("---\nlicense: other\nlicense_name: modified-mit\nlicense_link: LICENSE\n---\n")}}, nil)
	e.mustPublish()
	fm, err := card.FrontMatter([]byte(e.readme()))
	if err != nil {
		t.Fatal(err)
	}
	link, _ := fm["license_link"].(string)
	if fm["license"] != "other" || fm["license_name"] != "modified-mit" || !strings.Contains(link, "moonshotai/Kimi-K2.5") {
		t.Errorf("front matter %v", fm)
	}
}

func TestMakePlanIsReadOnly(t *testing.T) {
	e := setup(t, "")
	e.opts.Dest = hub.New(e.url, "") // the PR plan runs without a token
	e.opts.Source = e.opts.Dest
	before := e.h.Stats()
	p, err := mirror.MakePlan(context.Background(), e.opts)
	if err != nil {
		t.Fatal(err)
	}
	after := e.h.Stats()
	if len(p.Copy) != 4 || p.SidecarHead != "" || p.CopyBytes < 4<<20 {
		t.Errorf("plan %+v", p)
	}
	if after.BytesReceived != before.BytesReceived && after.Requests["repo-create"] != before.Requests["repo-create"] {
		t.Errorf("plan wrote to the hub")
	}
}
