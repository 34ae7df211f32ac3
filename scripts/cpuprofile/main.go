// Command cpuprofile runs one skulk-weights command with a CPU profile, so
// that both sides of a benchmark (`publish` and `devhub`) can be profiled
// without a debug switch in the product binary:
//
//	go build -o /tmp/prof ./scripts/cpuprofile
//	/tmp/prof -o devhub.pprof devhub --token ...   # stops and writes on SIGINT/SIGTERM
//	/tmp/prof -o publish.pprof publish --model ... --artifact vision
//	go tool pprof -top devhub.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
)

func main() {
	out := flag.String("o", "cpu.pprof", "write the CPU profile to `FILE`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cpuprofile [-o FILE] COMMAND [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, flag.Args(), cli.OSEnv())
	stop()
	pprof.StopCPUProfile()
	f.Close()
	os.Exit(code)
}
