package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentWritesAndReads: every line written from many goroutines
// arrives whole and once while another goroutine reads (run it with -race
// to check the locking itself).
func TestConcurrentWritesAndReads(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			_ = b.String()
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		}()
	}
	wg.Wait()
	<-done
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 8*50 {
		t.Fatalf("%d lines, want %d", len(lines), 8*50)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d", &w, &i); err != nil || seen[l] {
			t.Errorf("torn or repeated line %q", l)
		}
		seen[l] = true
	}
}
