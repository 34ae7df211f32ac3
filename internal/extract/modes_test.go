package extract_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tree lists repo at main by path.
func (e *env) tree(repo string) map[string]hub.TreeEntry {
	e.t.Helper()
	list, err := e.cl.ListTree(t0(), repo, "main")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]hub.TreeEntry{}
	for _, f := range list {
		out[f.Path] = f
	}
	return out
}

// TestUploadModesFollowPreupload copies configs the source stores one way
// into a sidecar that must store them the way the Hub's preupload asks: a
// 1.5 MB binary tokenizer (the Hub refuses binary files over 1 MB as plain
// git files) goes to LFS, a JSON config the source keeps in LFS goes to
// git, and a config the sidecar's .gitignore names is left out of the
// commit and the card. The republish commits nothing.
func TestUploadModesFollowPreupload(t *testing.T) {
	e := setup(t)
	c := kimi("v1")
	tok := bytes.Repeat([]byte("\x00\x01tok"), 300_000) // 1.5 MB, binary
	c.small[".gitattributes"] = "*.safetensors filter=lfs diff=lfs merge=lfs -text\npreprocessor_config.json filter=lfs diff=lfs merge=lfs -text\n"
	c.small["tokenizer.model"] = string(tok)
	c.small["chat_template.json"] = `{"chat_template":"{{ messages }}"}`
	e.seed(srcRepo, c, "upload Kimi")
	src := e.tree(srcRepo)
	if src["tokenizer.model"].LFS == nil || src["preprocessor_config.json"].LFS == nil {
		t.Fatalf("source modes: tokenizer.model %+v, preprocessor_config.json %+v", src["tokenizer.model"], src["preprocessor_config.json"])
	}
	// The sidecar exists with a .gitignore that names one config.
	if err := e.h.CreateRepo(dstRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.CommitFiles(dstRepo, "main", "ignore templates", []devhub.SeedFile{{Path: ".gitignore", Content: strings.NewReader("chat_template.json\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	o := e.visionOpts()
	o.Configs = []string{"config.json", "preprocessor_config.json", "tokenizer.model", "chat_template.json"}
	before := e.h.Stats()
	res := e.publish(o)
	after := e.h.Stats()
	if res.Commit == "" {
		t.Fatalf("publish: %+v\n%s", res, e.log)
	}
	dst := e.tree(dstRepo)
	if d := dst["tokenizer.model"]; d.LFS == nil || d.LFS.OID != sha(tok) {
		t.Errorf("tokenizer.model in the sidecar: %+v, want LFS (binary, over 1 MB)", d)
	}
	if d := dst["preprocessor_config.json"]; d.LFS != nil || d.OID != extract.GitBlobID([]byte(c.small["preprocessor_config.json"])) {
		t.Errorf("preprocessor_config.json in the sidecar: %+v, want a plain file (small text)", d)
	}
	if _, ok := dst["chat_template.json"]; ok {
		t.Error("the ignored config reached the sidecar")
	}
	if !bytes.Equal(e.download(dstRepo, "tokenizer.model"), tok) {
		t.Error("tokenizer.model differs from the source")
	}
	readme := string(e.download(dstRepo, "README.md"))
	rec, err := card.Recorded([]byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["chat_template.json"]; ok || strings.Contains(readme, "| chat_template.json |") {
		t.Error("the card lists the ignored config")
	}
	if !strings.Contains(e.log.String(), "chat_template.json: the Hub ignores this path") {
		t.Errorf("the log does not say the config was ignored:\n%s", e.log)
	}
	// The card records each file with the git id the Hub gave it.
	for _, p := range []string{extract.VisionFile, "config.json", "preprocessor_config.json", "tokenizer.model"} {
		if _, ok := rec[p]; !ok {
			t.Errorf("the card does not list %s", p)
		}
	}
	for p, f := range rec {
		if d, ok := dst[p]; !ok || d.OID != f.OID {
			t.Errorf("card records %s as %s, the sidecar holds %+v", p, f.OID, d)
		}
	}
	d := func(route string) int { return after.Requests[route] - before.Requests[route] }
	report(t, "first publish: %d preupload, %d validate-yaml, %d storage-put, %d commit", d("preupload"), d("validate-yaml"), d("storage-put"), d("commit"))
	if d("preupload") != 1 || d("validate-yaml") < 1 {
		t.Errorf("%d preupload and %d validate-yaml requests", d("preupload"), d("validate-yaml"))
	}

	commits := e.h.Stats().Commits[dstRepo]
	if r := e.publish(o); !r.UpToDate || e.h.Stats().Commits[dstRepo] != commits {
		t.Errorf("republish: up to date %v, commits %d -> %d\n%s", r.UpToDate, commits, e.h.Stats().Commits[dstRepo], e.log)
	}
}

// TestIgnoredWeightsRefused: a sidecar whose .gitignore names its weight
// files could not hold them; the run says so before any byte is uploaded.
func TestIgnoredWeightsRefused(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	if err := e.h.CreateRepo(dstRepo, devhub.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.CommitFiles(dstRepo, "main", "ignore weights", []devhub.SeedFile{{Path: ".gitignore", Content: strings.NewReader("*.safetensors\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	before := e.h.Stats()
	_, err := extract.Publish(t0(), e.visionOpts())
	if !errors.Is(err, extract.ErrHubRefusesLayout) || !strings.Contains(err.Error(), "ignores "+extract.VisionFile) || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("got %v", err)
	}
	after := e.h.Stats()
	for _, route := range []string{"lfs-batch", "storage-put", "storage-part", "commit"} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			t.Errorf("%d %s requests", n, route)
		}
	}
}

// TestCardRefusedBeforeAnyByteMoves: a Hub whose validate-yaml refuses the
// card stops the run after the index and headers: no tensor byte read, no
// repo created, nothing uploaded or committed, and the error says why.
func TestCardRefusedBeforeAnyByteMoves(t *testing.T) {
	for _, kind := range []string{extract.KindVision, extract.KindMTP} {
		t.Run(kind, func(t *testing.T) {
			e := setup(t)
			o := e.visionOpts()
			if kind == extract.KindMTP {
				e.seed("deepseek-ai/DeepSeek-V3", deepseek(), "upload")
				o = e.mtpOpts("deepseek-ai/DeepSeek-V3")
			} else {
				e.seed(srcRepo, kimi("v1"), "upload")
			}
			e.h.AddFault(devhub.Fault{Route: "validate-yaml", Kind: devhub.FaultStatus, Status: 400, Message: `"license" must be one of [...]`})
			before := e.h.Stats()
			_, err := extract.Publish(t0(), o)
			if !errors.Is(err, hub.ErrInvalidCard) || !strings.Contains(err.Error(), "the Hub refuses the model card of "+o.SidecarRepo) || !strings.Contains(err.Error(), "nothing was committed") {
				t.Fatalf("got %v", err)
			}
			after := e.h.Stats()
			for _, route := range []string{"repo-create", "preupload", "lfs-batch", "storage-put", "storage-part", "commit"} {
				if n := after.Requests[route] - before.Requests[route]; n != 0 {
					t.Errorf("%d %s requests after the card was refused", n, route)
				}
			}
			read := after.FileBytesServed[o.SourceRepo] - before.FileBytesServed[o.SourceRepo]
			report(t, "card refused: %d bytes of the source read (index, configs, headers), %d storage PUTs", read, after.Requests["storage-put"]-before.Requests["storage-put"])
			if read > 40_000 {
				t.Errorf("read %d bytes of the source before the card was checked", read)
			}
		})
	}
}

// TestHostileSourceCardStillValid: the source's card declares a license
// list with unknown and malformed ids, a license_name that tries to end
// the front matter and a javascript: link. The sidecar's card is one the
// Hub accepts (every publish asks it), with only the keys a card writes.
func TestHostileSourceCardStillValid(t *testing.T) {
	e := setup(t)
	c := deepseek()
	c.small["README.md"] = "---\nlicense: [mit, \"Acme 1.0\", 7]\nlicense_name: \"x: y\\n---\\n# injected\\nlicense: nope\"\nlicense_link: \"javascript:alert(1)\"\ntags: {a: b}\nbase_model: ../../etc\n---\n# DeepSeek\n"
	const src = "deepseek-ai/DeepSeek-V3"
	e.seed(src, c, "upload")
	before := e.h.Stats()
	e.publish(e.mtpOpts(src))
	if n := e.h.Stats().Requests["validate-yaml"] - before.Requests["validate-yaml"]; n == 0 {
		t.Error("the card was not validated")
	}
	readme := e.download(mtpRepo, "README.md")
	if problems, _ := devhub.ValidateCard(readme); len(problems) > 0 {
		t.Errorf("the Hub would refuse the card: %q", problems)
	}
	fm, err := card.FrontMatter(readme)
	if err != nil {
		t.Fatal(err)
	}
	for k := range fm {
		switch k {
		case "base_model", "tags", "license", "license_name", "license_link", "foxlight":
		default:
			t.Errorf("key %q slipped into the front matter", k)
		}
	}
	if fm["base_model"] != src || strings.Contains(string(readme), "\n# injected") {
		t.Errorf("base_model %v; injected heading %v", fm["base_model"], strings.Contains(string(readme), "\n# injected"))
	}
}

// TestPlanWithoutToken: a token-less plan (a pull request's) reads a public
// source and says truthfully what it saw of the sidecar: a new one and a
// private one look alike to an anonymous caller (the 401 without an error
// code the Hub gives both), so both are reported hidden, never as "would be
// created"; a public one is seen at its head. A gated source is reported
// gated and a private one missing or private, never as a refused token.
func TestPlanWithoutToken(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	anon := e.visionOpts()
	cl := hub.New(e.url, "", hub.WithRetryPolicy(fast))
	anon.Source, anon.Dest = cl, cl
	plan := func(what string) *extract.Plan {
		t.Helper()
		before := e.h.Stats()
		p, err := extract.MakePlan(context.Background(), anon)
		if err != nil {
			t.Fatalf("plan of a %s sidecar without a token: %v", what, err)
		}
		if p.Tensors != 20 || p.SourceAccess != (hub.Access{Gate: hub.GateOff}) {
			t.Errorf("%s sidecar: %d tensors, source access %s", what, p.Tensors, p.SourceAccess)
		}
		if w := writes(before, e.h.Stats()); len(w) > 0 {
			t.Errorf("a plan wrote: %v", w)
		}
		return p
	}

	p := plan("new")
	if p.SidecarHead != "" || !p.SidecarHidden || p.SidecarAccess != nil || p.UpToDate {
		t.Fatalf("new sidecar: head %q hidden %v access %v up to date %v, want hidden", p.SidecarHead, p.SidecarHidden, p.SidecarAccess, p.UpToDate)
	}
	res := e.publish(e.visionOpts())
	if res.Plan.SidecarHead != "" || res.Plan.SidecarHidden {
		t.Errorf("a publish's plan of a new sidecar: head %q hidden %v", res.Plan.SidecarHead, res.Plan.SidecarHidden)
	}
	head, err := e.h.Head(dstRepo, "main")
	if err != nil {
		t.Fatal(err)
	}

	p = plan("public")
	if p.SidecarHead != head || p.SidecarHidden || p.SidecarAccess == nil || *p.SidecarAccess != (hub.Access{Gate: hub.GateOff}) || !p.UpToDate {
		t.Fatalf("public sidecar: head %q (want %q) hidden %v access %v up to date %v", p.SidecarHead, head, p.SidecarHidden, p.SidecarAccess, p.UpToDate)
	}

	if err := e.h.SetRepoAccess(dstRepo, true, ""); err != nil {
		t.Fatal(err)
	}
	p = plan("private")
	if p.SidecarHead != "" || !p.SidecarHidden || p.SidecarAccess != nil || p.UpToDate {
		t.Fatalf("private sidecar: head %q hidden %v access %v up to date %v, want hidden", p.SidecarHead, p.SidecarHidden, p.SidecarAccess, p.UpToDate)
	}
	// With a token the private sidecar is seen, and is not hidden.
	if p, err = extract.MakePlan(context.Background(), e.visionOpts()); err != nil || p.SidecarHidden || p.SidecarHead != head || p.SidecarAccess == nil || !p.SidecarAccess.Private || !p.UpToDate {
		t.Fatalf("private sidecar with a token: %+v, %v", p, err)
	}

	// A gated sidecar: its head is public, its card is not, so the plan
	// sees it but cannot call it up to date.
	if err := e.h.SetRepoAccess(dstRepo, false, "manual"); err != nil {
		t.Fatal(err)
	}
	p = plan("gated")
	if p.SidecarHead != head || p.SidecarHidden || p.SidecarAccess == nil || p.SidecarAccess.Gate != hub.GateManual || p.UpToDate {
		t.Fatalf("gated sidecar: head %q hidden %v access %v up to date %v", p.SidecarHead, p.SidecarHidden, p.SidecarAccess, p.UpToDate)
	}
	report(t, "new and private sidecars without a token: hidden; public: seen at its head, up to date; gated: seen, up to date unknown")

	// A gated source: its metadata is public, its files are not.
	if err := e.h.SetRepoAccess(srcRepo, false, "manual"); err != nil {
		t.Fatal(err)
	}
	if _, err = extract.MakePlan(context.Background(), anon); !errors.Is(err, hub.ErrGated) || errors.Is(err, hub.ErrUnauthorized) {
		t.Fatalf("plan of a gated source without a token: %v", err)
	}
	report(t, "gated source without a token: %v", err)
	if err := e.h.SetRepoAccess(srcRepo, true, ""); err != nil {
		t.Fatal(err)
	}
	_, err = extract.MakePlan(context.Background(), anon)
	if !errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrUnauthorized) {
		t.Fatalf("plan of a private source without a token: %v", err)
	}
	report(t, "private source without a token: %v", err)
}

// TestFilesKeptAcrossModes: the sidecar's .gitattributes changes to put
// JSON and Markdown in LFS after a first publish. A later publish (a
// selected tensor changed upstream) keeps the configs the sidecar holds in
// git with the same bytes, sends the new card to LFS as preupload asks,
// and the republish after it reads that card back: up to date, no source
// byte read, no commit.
func TestFilesKeptAcrossModes(t *testing.T) {
	e := setup(t)
	c := kimi("v1")
	e.seed(srcRepo, c, "upload")
	e.publish(e.visionOpts())
	held := e.tree(dstRepo)["preprocessor_config.json"]
	if held.LFS != nil {
		t.Fatalf("preprocessor_config.json first stored %+v, want git", held)
	}
	if _, err := e.h.CommitFiles(dstRepo, "main", "json and md in LFS", []devhub.SeedFile{{Path: ".gitattributes",
		Content: strings.NewReader("*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.json filter=lfs diff=lfs merge=lfs -text\n*.md filter=lfs diff=lfs merge=lfs -text\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	s64 := "model-00064-of-00064.safetensors"
	c.shards[s64][0].data = noise("new vision", len(c.shards[s64][0].data))
	e.seed(srcRepo, c, "fix vision tower")
	res := e.publish(e.visionOpts())
	if res.UpToDate || res.Commit == "" {
		t.Fatalf("publish after a selected change: %+v", res)
	}
	dst := e.tree(dstRepo)
	if d := dst["preprocessor_config.json"]; d.LFS != nil || d.OID != held.OID {
		t.Errorf("preprocessor_config.json: %+v, want kept in git as %s", d, held.OID)
	}
	if d := dst["README.md"]; d.LFS == nil {
		t.Errorf("README.md: %+v, want LFS as preupload asked", d)
	}
	commits := e.h.Stats().Commits[dstRepo]
	if r := e.publish(e.visionOpts()); !r.UpToDate || r.BytesRead != 0 || e.h.Stats().Commits[dstRepo] != commits {
		t.Errorf("republish with the card in LFS: up to date %v, read %d, commits %d -> %d\n%s", r.UpToDate, r.BytesRead, commits, e.h.Stats().Commits[dstRepo], e.log)
	}
}

// TestWeightsAskedAsPlainFileRefused: a Hub whose preupload asks for a
// safetensors file as a plain git file leaves no way to store it; the run
// refuses before any upload.
func TestWeightsAskedAsPlainFileRefused(t *testing.T) {
	e := setup(t)
	e.seed(srcRepo, kimi("v1"), "upload")
	// Every preupload answer says "regular", as no Hub following its own
	// rules would for a binary file.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/preupload/") {
			e.h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"uploadMode":"lfs"`), []byte(`"uploadMode":"regular"`)))
	}))
	defer srv.Close()
	o := e.visionOpts()
	cl := hub.New(srv.URL, token, hub.WithRetryPolicy(fast))
	o.Source, o.Dest = cl, cl
	before := e.h.Stats()
	_, err := extract.Publish(t0(), o)
	if !errors.Is(err, extract.ErrHubRefusesLayout) || !strings.Contains(err.Error(), "asks for "+extract.VisionFile) || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("got %v", err)
	}
	after := e.h.Stats()
	if after.Requests["preupload"] == before.Requests["preupload"] {
		t.Error("no preupload was asked")
	}
	for _, route := range []string{"lfs-batch", "storage-put", "storage-part", "commit"} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			t.Errorf("%d %s requests", n, route)
		}
	}
}

// writes lists the routes that change the Hub and were asked between two
// snapshots of its statistics.
func writes(before, after devhub.Stats) []string {
	var out []string
	for _, route := range []string{"repo-create", "repo-settings", "preupload", "lfs-batch", "storage-put", "storage-part", "storage-complete", "lfs-duplicate", "commit", "collection-create", "collection-add-item"} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			out = append(out, fmt.Sprintf("%s ×%d", route, n))
		}
	}
	return out
}
