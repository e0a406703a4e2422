//go:build unix

package app

import "syscall"

// openFileLimit returns the soft RLIMIT_NOFILE (which the Go runtime
// raises to the hard limit at start on Linux and macOS).
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 0, false
	}
	return uint64(r.Cur), true
}
