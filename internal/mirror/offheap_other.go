//go:build !unix

package mirror

// offHeap falls back to the Go heap where anonymous mmap is not available.
func offHeap(n int) []byte { return make([]byte, n) }
