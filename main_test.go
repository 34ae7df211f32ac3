package main

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain lets the test binary act as skulk-weights inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"skulk-weights": func() { os.Exit(cli.Run(context.Background(), os.Args[1:], cli.OSEnv())) },
	})
}

// TestScripts runs the end-to-end command scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", UpdateScripts: *update})
}
