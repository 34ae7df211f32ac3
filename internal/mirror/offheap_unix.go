//go:build unix

package mirror

import "syscall"

// offHeap returns n zeroed bytes of anonymous memory mapped outside the Go
// heap, which the garbage collector neither scans nor counts toward its
// target (nor toward GOMEMLIMIT). The mapping is never unmapped, so the
// slices stay valid for the life of the process. If the map fails, the
// bytes come from the heap instead.
func offHeap(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}
