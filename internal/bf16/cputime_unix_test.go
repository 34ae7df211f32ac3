//go:build unix

package bf16

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used so far (user + system), which
// a benchmark on a shared machine measures more steadily than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
