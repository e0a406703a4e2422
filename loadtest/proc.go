package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// procCPU returns the CPU seconds (user + system) of pid and of its
// children, living (their own counters) and reaped (cutime, cstime): for
// PostgreSQL's postmaster that includes every backend. Linux only.
func procCPU(pid int) (float64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	// Fields after the command: state is [0]; utime [11], stime [12],
	// cutime [13], cstime [14] (proc(5), counting from field 3).
	ticks := f[11] + f[12] + f[13] + f[14]
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		cf, err := statFields(child)
		if err != nil || cf[1] != int64(pid) { // [1] is ppid
			continue
		}
		ticks += cf[11] + cf[12]
	}
	return float64(ticks) / clockTicks, nil
}

// statFields parses /proc/<pid>/stat after the parenthesised command
// name; non-numeric fields are 0.
func statFields(pid int) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fs := strings.Fields(s[i+1:])
	out := make([]int64, len(fs))
	for k, v := range fs {
		out[k], _ = strconv.ParseInt(v, 10, 64)
	}
	if len(out) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return out, nil
}

// procRSS returns the resident set of pid in bytes (VmRSS).
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// watch measures one process over a run: CPU seconds used and the largest
// resident set seen (sampled every 200 ms).
type watch struct {
	pid    int
	cpu0   float64
	maxRSS int64
	stop   chan struct{}
	done   sync.WaitGroup
	err    error
}

func startWatch(pid int) *watch {
	if pid <= 0 {
		return nil
	}
	w := &watch{pid: pid, stop: make(chan struct{})}
	w.cpu0, w.err = procCPU(pid)
	w.sample()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *watch) sample() {
	if r, err := procRSS(w.pid); err == nil && r > w.maxRSS {
		w.maxRSS = r
	}
}

// ProcResult is one process's use during a run: CPU as a percentage of one
// core, peak resident set in MiB.
type ProcResult struct {
	PID        int     `json:"pid"`
	CPUPercent float64 `json:"cpu_percent"`
	MaxRSSMiB  float64 `json:"max_rss_mib"`
	Error      string  `json:"error,omitempty"`
}

func (w *watch) finish(elapsed time.Duration) *ProcResult {
	if w == nil {
		return nil
	}
	close(w.stop)
	w.done.Wait()
	w.sample()
	cpu1, err := procCPU(w.pid)
	if err == nil {
		err = w.err
	}
	r := &ProcResult{PID: w.pid, CPUPercent: 100 * (cpu1 - w.cpu0) / elapsed.Seconds(), MaxRSSMiB: float64(w.maxRSS) / (1 << 20)}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}
