package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
)

// tokenFlags collects repeated --token TOKEN=SCOPES values.
type tokenFlags []string

func (t *tokenFlags) String() string     { return strings.Join(*t, " ") }
func (t *tokenFlags) Set(v string) error { *t = append(*t, v); return nil }

func runDevhub(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("devhub", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "`address` to listen on (port 0 picks a free port)")
	var tokens tokenFlags
	fs.Var(&tokens, "token", "accept `TOKEN=SCOPES`, e.g. hf_dev=write:FoxlightAI/*,read:google/*,gated:meta-llama/* (repeatable; gated: opens gated repos' files only)")
	pageSize := fs.Int("page-size", devhub.DefaultPageSize, "entries per page of tree and collection listings")
	dir := fs.String("dir", "", "keep blobs in `DIR` (default: a temporary directory removed on exit)")
	lfsThreshold := fs.Int64("lfs-threshold", devhub.DefaultLFSThreshold, "size in bytes from which files go to LFS")
	mpThreshold := fs.Int64("multipart-threshold", devhub.DefaultMultipartThreshold, "LFS object size in bytes from which uploads are multipart")
	chunkSize := fs.Int64("chunk-size", devhub.DefaultChunkSize, "multipart part size in bytes")
	duplication := fs.Bool("duplication", false, "offer server-side LFS duplication (xetHash and lfs-files/duplicate)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: skulk-weights devhub [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Serve a local Hugging Face Hub until interrupted. The first line on stdout is")
		fmt.Fprintln(w, "'devhub listening on http://HOST:PORT'; point clients at that URL (HF_ENDPOINT).")
		fmt.Fprintln(w, "Without --token every write is refused; anonymous reads of public repos work.")
		fmt.Fprintln(w, "Admin routes: GET /_devhub/stats, POST|GET|DELETE /_devhub/faults.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "flags:")
		fs.PrintDefaults()
	}
	if done, code := parseFlags(fs, args, env); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	opts := []devhub.Option{
		devhub.WithPageSize(*pageSize), devhub.WithLFSThreshold(*lfsThreshold),
		devhub.WithMultipart(*mpThreshold, *chunkSize), devhub.WithDuplication(*duplication),
	}
	if *dir != "" {
		opts = append(opts, devhub.WithDir(*dir))
	}
	for _, spec := range tokens {
		tok, scopes, ok := strings.Cut(spec, "=")
		if !ok {
			fmt.Fprintf(env.Stderr, "skulk-weights devhub: --token wants TOKEN=SCOPES, e.g. hf_dev=write:FoxlightAI/*\n")
			return ExitUsage
		}
		opts = append(opts, devhub.WithToken(tok, scopes))
	}
	hub, err := devhub.New(opts...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: %v\n", err)
		return ExitUsage
	}
	defer hub.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: %v\n", err)
		return ExitFailure
	}
	srv := &http.Server{Handler: hub, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(env.Stdout, "devhub listening on http://%s\n", ln.Addr())
	fmt.Fprintf(env.Stderr, "devhub: %d token(s); page size %d; LFS from %d B; multipart from %d B in %d B parts; duplication %v\n",
		len(tokens), *pageSize, *lfsThreshold, *mpThreshold, *chunkSize, *duplication)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: %v\n", err)
		return ExitFailure
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(env.Stderr, "skulk-weights devhub: shutdown: %v\n", err)
		return ExitFailure
	}
	fmt.Fprintln(env.Stderr, "devhub: stopped")
	return ExitOK
}
