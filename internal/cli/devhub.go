package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/upload"
)

// tokenFlags collects repeated --token TOKEN=SCOPES values.
type tokenFlags []string

func (t *tokenFlags) String() string     { return strings.Join(*t, " ") }
func (t *tokenFlags) Set(v string) error { *t = append(*t, v); return nil }
func (t *tokenFlags) repeatable()        {}

// seedFlags collects repeated --seed REPO=DIR values.
type seedFlags []seed

type seed struct{ repo, dir string }

func (s *seedFlags) String() string { return "" }
func (s *seedFlags) Set(v string) error {
	repo, dir, ok := strings.Cut(v, "=")
	if !ok || repo == "" || dir == "" {
		return errors.New("want REPO=DIR, e.g. third-party/kimi-k2-5-vision=./vision")
	}
	if why := catalog.RepoIDProblem(repo); why != "" {
		return fmt.Errorf("REPO %q is not a Hugging Face repo id: %s", repo, why)
	}
	*s = append(*s, seed{repo, dir})
	return nil
}
func (s *seedFlags) repeatable() {}

var devhubCmd = &command{
	name:    "devhub",
	summary: "serve a local Hugging Face Hub for tests and offline use",
	about: `
Serve a local Hugging Face Hub until interrupted. The first line on stdout is
'devhub listening on http://HOST:PORT', printed once every --seed repo is
uploaded; point clients at that URL (HF_ENDPOINT). Without --token every
write is refused; anonymous reads of public repos work.
--seed REPO=DIR uploads DIR as the public model repo REPO at startup, through
the Hub protocol as 'skulk-weights upload' does (LFS for large or binary
files). Admin routes: GET /_devhub/stats, POST|GET|DELETE /_devhub/faults.
Exit status: 0 after a clean stop (SIGINT, SIGTERM), 1 if it cannot listen,
serve or seed, 2 for a bad command line.
`,
	setup: func(fs *flag.FlagSet) runner {
		o := devhubOptions{}
		fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen on `HOST:PORT` (port 0 picks a free port)")
		fs.Var(&o.tokens, "token", "accept `TOKEN=SCOPES`, e.g. hf_dev=write:FoxlightAI/*,read:google/*,gated:meta-llama/* (repeatable; gated: opens gated repos' files only)")
		fs.Var(&o.seeds, "seed", "upload directory DIR as repo REPO at startup (`REPO=DIR`, repeatable)")
		fs.IntVar(&o.pageSize, "page-size", devhub.DefaultPageSize, "entries per page of tree and collection listings")
		fs.StringVar(&o.dir, "dir", "", "keep blobs in `DIR` (default: a temporary directory removed on exit)")
		fs.Int64Var(&o.lfsThreshold, "lfs-threshold", devhub.DefaultLFSThreshold, "size in bytes from which files go to LFS")
		fs.Int64Var(&o.mpThreshold, "multipart-threshold", devhub.DefaultMultipartThreshold, "LFS object size in bytes from which uploads are multipart")
		fs.Int64Var(&o.chunkSize, "chunk-size", devhub.DefaultChunkSize, "multipart part size in bytes")
		fs.BoolVar(&o.duplication, "duplication", false, "offer server-side LFS duplication (xetHash and lfs-files/duplicate)")
		fs.StringVar(&o.storageAddr, "storage-addr", "", "serve LFS storage from a second listener on `HOST:PORT`, another origin, as the Hub's CDN is")
		fs.BoolVar(&o.resolveCache, "resolve-cache", false, "answer small files under /resolve/ with a relative redirect to /api/resolve-cache/...")
		fs.Int64Var(&o.binaryLimit, "binary-file-limit", devhub.DefaultBinaryFileLimit, "refuse binary files above `N` bytes committed as plain files (0: accept any)")
		return func(ctx context.Context, pos []string, env Env) int {
			if len(pos) > 0 {
				return unexpectedArg(env, "devhub", pos[0])
			}
			return runDevhub(ctx, &o, env)
		}
	},
}

type devhubOptions struct {
	addr, dir                            string
	tokens                               tokenFlags
	seeds                                seedFlags
	pageSize                             int
	lfsThreshold, mpThreshold, chunkSize int64
	duplication                          bool
	storageAddr                          string
	resolveCache                         bool
	binaryLimit                          int64
}

func runDevhub(ctx context.Context, o *devhubOptions, env Env) int {
	opts := []devhub.Option{
		devhub.WithPageSize(o.pageSize), devhub.WithLFSThreshold(o.lfsThreshold),
		devhub.WithMultipart(o.mpThreshold, o.chunkSize), devhub.WithDuplication(o.duplication),
		devhub.WithResolveCache(o.resolveCache), devhub.WithBinaryFileLimit(o.binaryLimit),
	}
	if o.dir != "" {
		opts = append(opts, devhub.WithDir(o.dir))
	}
	for _, spec := range o.tokens {
		tok, scopes, ok := strings.Cut(spec, "=")
		if !ok {
			return usageErr(env, "devhub", "", "--token wants TOKEN=SCOPES, e.g. hf_dev=write:FoxlightAI/*")
		}
		opts = append(opts, devhub.WithToken(tok, scopes))
	}
	seedToken := ""
	if len(o.seeds) > 0 {
		// Seeds are uploaded with a token of their own that can write only
		// the seeded repos; it is never printed and dies with the process.
		seedToken = randomToken("hf_seed_")
		var scopes []string
		for _, s := range o.seeds {
			scopes = append(scopes, "write:"+s.repo)
		}
		opts = append(opts, devhub.WithToken(seedToken, strings.Join(scopes, ",")))
	}
	h, err := devhub.New(opts...)
	if err != nil {
		return usageErr(env, "devhub", "", err.Error())
	}
	defer h.Close()
	srv, url, errc, err := serveHub(h, o.addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: %v\n", err)
		return ExitFailure
	}
	defer srv.Close()
	if o.storageAddr != "" {
		storage, stop, err := h.ServeStorage(o.storageAddr)
		if err != nil {
			fmt.Fprintf(env.Stderr, "skulk-weights devhub: storage: %v\n", err)
			return ExitFailure
		}
		defer stop()
		fmt.Fprintf(env.Stderr, "devhub: storage served from %s\n", storage)
	}
	fmt.Fprintf(env.Stderr, "devhub: %d token(s); page size %d; LFS from %d B; multipart from %d B in %d B parts; duplication %v\n",
		len(o.tokens), o.pageSize, o.lfsThreshold, o.mpThreshold, o.chunkSize, o.duplication)
	for _, s := range o.seeds {
		if err := seedRepo(ctx, url, seedToken, s, env); err != nil {
			fmt.Fprintf(env.Stderr, "skulk-weights devhub: seeding %s from %s: %v\n", s.repo, s.dir, err)
			return ExitFailure
		}
	}
	fmt.Fprintf(env.Stdout, "devhub listening on %s\n", url)
	return serveUntilDone(ctx, srv, errc, "devhub", env)
}

// serveHub starts serving h on addr and returns its server, its URL and
// the channel that receives the error that stops it serving.
func serveHub(h *devhub.Hub, addr string) (*http.Server, string, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), errc, nil
}

// serveUntilDone serves until ctx is done (SIGINT, SIGTERM), then stops srv
// cleanly.
func serveUntilDone(ctx context.Context, srv *http.Server, errc <-chan error, name string, env Env) int {
	select {
	case err := <-errc:
		fmt.Fprintf(env.Stderr, "skulk-weights %s: %v\n", name, err)
		return ExitFailure
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(env.Stderr, "skulk-weights %s: shutdown: %v\n", name, err)
		return ExitFailure
	}
	fmt.Fprintf(env.Stderr, "%s: stopped\n", name)
	return ExitOK
}

// seedRepo uploads a directory to the hub at url through the Hub protocol.
func seedRepo(ctx context.Context, url, token string, s seed, env Env) error {
	dir := s.dir
	if !filepath.IsAbs(dir) && env.Dir != "" {
		dir = filepath.Join(env.Dir, dir)
	}
	client := hub.New(url, token, hub.WithUserAgent("skulk-weights/"+version))
	res, err := upload.Upload(ctx, upload.Options{
		Client: client, Repo: s.repo, Dir: dir, Message: "Seed from " + filepath.Base(dir),
		Progress: &lockedWriter{w: env.Stderr},
	})
	if err != nil {
		return errors.New(client.Redact(err.Error()))
	}
	lfs := 0
	for _, f := range res.Files {
		if f.Mode == "lfs" {
			lfs++
		}
	}
	fmt.Fprintf(env.Stderr, "devhub: seeded %s from %s: %d files (%d in LFS) at %s\n", s.repo, s.dir, len(res.Files), lfs, res.Commit)
	return nil
}

// randomToken returns prefix followed by 24 random hex digits.
func randomToken(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
