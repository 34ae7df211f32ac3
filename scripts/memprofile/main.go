// Command memprofile runs one skulk-weights command while watching its
// memory, so the publisher's footprint can be explained without a debug
// switch in the product binary:
//
//	go build -o /tmp/memprof ./scripts/memprofile
//	/tmp/memprof -o DIR publish --model ... --artifact vision
//	go tool pprof -sample_index=inuse_space -top DIR/heap-peak.pprof
//
// It samples runtime/metrics every -every and writes to DIR: memstats.tsv
// (one line per sample), heap-peak.pprof (a heap profile taken when the
// live heap after a GC was highest), heap-end.pprof (after the command
// returned and one more GC, so its alloc_space covers the whole run) and a
// summary line on stderr with the maxima. The heap profile rate is raised to every 64 KiB so that the
// 1 MiB buffers and anything smaller that adds up are all attributed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
)

var names = []string{
	"/gc/heap/live:bytes",                // live heap marked by the last GC
	"/gc/heap/goal:bytes",                // heap size the next GC aims for
	"/memory/classes/heap/objects:bytes", // live + not yet swept garbage
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",     // free, not returned to the OS
	"/memory/classes/heap/released:bytes", // returned to the OS
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes", // everything mapped by the runtime
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
}

func main() {
	dir := flag.String("o", ".", "write profiles and memstats.tsv to `DIR`")
	every := flag.Duration("every", 50*time.Millisecond, "sampling interval")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: memprofile [-o DIR] [-every D] COMMAND [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	runtime.MemProfileRate = 64 << 10
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tsv, err := os.Create(filepath.Join(*dir, "memstats.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprint(tsv, "t_s")
	for _, n := range names {
		fmt.Fprint(tsv, "\t", n)
	}
	fmt.Fprintln(tsv)

	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	peak := make([]uint64, len(names))
	var peakLive uint64
	var lastGC uint64
	start := time.Now()
	sample := func() {
		metrics.Read(samples)
		fmt.Fprintf(tsv, "%.2f", time.Since(start).Seconds())
		for i, s := range samples {
			v := s.Value.Uint64()
			peak[i] = max(peak[i], v)
			fmt.Fprintf(tsv, "\t%d", v)
		}
		fmt.Fprintln(tsv)
		// A new GC cycle with a higher live heap than seen so far: record
		// where that live heap is.
		if gc, live := samples[len(samples)-1].Value.Uint64(), samples[0].Value.Uint64(); gc != lastGC {
			lastGC = gc
			if live > peakLive {
				peakLive = live
				writeHeap(filepath.Join(*dir, "heap-peak.pprof"))
			}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(*every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, flag.Args(), cli.OSEnv())
	cancel()
	close(stop)
	wg.Wait()
	sample()
	runtime.GC()
	writeHeap(filepath.Join(*dir, "heap-end.pprof"))
	tsv.Close()
	fmt.Fprint(os.Stderr, "memprofile maxima (MiB):")
	for i, n := range names[:len(names)-2] {
		fmt.Fprintf(os.Stderr, " %s=%.1f", filepath.Base(filepath.Dir(n))+"/"+filepath.Base(n)[:len(filepath.Base(n))-len(":bytes")], float64(peak[i])/(1<<20))
	}
	fmt.Fprintf(os.Stderr, " goroutines=%d gcs=%d\n", peak[len(names)-2], peak[len(names)-1])
	os.Exit(code)
}

func writeHeap(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer f.Close()
	// debug=0: the protobuf form pprof reads; the heap profile reflects
	// the last completed GC.
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
