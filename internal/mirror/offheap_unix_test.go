//go:build unix

package mirror

import (
	"bytes"
	"runtime"
	"testing"
)

// The look-ahead blocks do not count as heap: a full pool held live leaves
// the garbage collector's accounting (and so its target) where it was. The
// blocks are disjoint and filling one to its capacity never spills into the
// next.
func TestBlockPoolLivesOffHeap(t *testing.T) {
	const size, n = 1 << 20, 32
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := newBlockPool(size, n)
	var blocks [][]byte
	for i := range n {
		b := p.get(nil)
		if len(b) != 0 || cap(b) != size {
			t.Fatalf("block %d: len %d cap %d, want 0 and %d", i, len(b), cap(b), size)
		}
		blocks = append(blocks, append(b, bytes.Repeat([]byte{byte(i + 1)}, size)...))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > n*size/8 {
		t.Errorf("live heap grew by %d bytes holding %d bytes of blocks", grew, n*size)
	}
	for i, b := range blocks {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i + 1)}, size)) {
			t.Fatalf("block %d was overwritten by another", i)
		}
		p.put(b)
	}
	if len(p.free) != n {
		t.Errorf("%d of %d blocks back in the pool", len(p.free), n)
	}
	runtime.KeepAlive(blocks)
}
