// Command skulk-weights publishes Foxlight's model artifacts, vision sidecars
// first, from a YAML catalog to the Hugging Face Hub.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"

	// CA roots compiled in, used when the system has none: the action's
	// image is an empty scratch image holding only the binary.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() { os.Exit(run()) }

// run is the program: a context cancelled by SIGINT or SIGTERM (a command
// it stops exits 130), one call, the exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, os.Args[1:], cli.OSEnv())
}
