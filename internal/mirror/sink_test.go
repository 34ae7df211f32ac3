package mirror

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// Parts written concurrently, in random-sized pieces and with a pool far
// smaller than the file, still reach the hash in file order; a part that
// starts over re-sends bytes the sink skips; every block comes back.
func TestOrderedSinkOrdersParts(t *testing.T) {
	data := make([]byte, 1<<20+123)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	const chunk = 100_000
	var parts []hub.Part
	for off := int64(0); off < int64(len(data)); off += chunk {
		parts = append(parts, hub.Part{Number: len(parts) + 1, Offset: off, Size: min(chunk, int64(len(data))-off)})
	}
	pool := newBlockPool(4096, 3)
	var got bytes.Buffer
	s := newOrderedSink(&got, parts, pool)
	slots := make(chan struct{}, 4)
	var wg sync.WaitGroup
	errs := make(chan error, len(parts))
	for i, p := range parts {
		slots <- struct{}{} // in order, like the copier's slots
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			b := data[p.Offset : p.Offset+p.Size]
			write := func(upto int64) error {
				for off := int64(0); off < upto; {
					k := min(int64(1+rand.IntN(9000)), upto-off)
					if err := s.write(i, off, b[off:off+k]); err != nil {
						return err
					}
					off += k
				}
				return nil
			}
			if i%3 == 1 { // a first attempt cut short, then a retry from 0
				if err := write(p.Size / 2); err != nil {
					errs <- err
					return
				}
			}
			errs <- write(p.Size)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !s.complete() {
		t.Fatal("sink not complete")
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("hash input differs from the file")
	}
	if n := len(pool.free) + len(pool.quota); n != 3 {
		t.Errorf("%d of 3 blocks back in the pool", n)
	}
}

// An abort wakes a part waiting for a block and fails later writes.
func TestOrderedSinkAbortWakesWaiters(t *testing.T) {
	parts := []hub.Part{{Number: 1, Size: 10}, {Number: 2, Offset: 10, Size: 10_000}}
	pool := newBlockPool(100, 1)
	s := newOrderedSink(&bytes.Buffer{}, parts, pool)
	done := make(chan error)
	go func() { done <- s.write(1, 0, make([]byte, 10_000)) }() // needs 100 blocks, has 1
	for len(pool.quota) > 0 {
		runtime.Gosched() // until the writer holds the only block and waits
	}
	boom := errors.New("boom")
	s.abort(boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("waiting writer got %v", err)
	}
	if err := s.write(0, 0, make([]byte, 10)); !errors.Is(err, boom) {
		t.Fatalf("write after abort got %v", err)
	}
	if n := len(pool.free) + len(pool.quota); n != 1 {
		t.Errorf("%d of 1 blocks back in the pool", n)
	}
}
