package main

import (
	"slices"
	"sort"
	"time"
)

// recorder keeps one worker's latencies per step (no locking: one
// goroutine each; merged after the run).
type recorder struct {
	order  []string
	lat    map[string][]time.Duration
	errs   map[string]int
	sample map[string]string // first error message per step
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, errs: map[string]int{}, sample: map[string]string{}}
}

func (r *recorder) add(step string, d time.Duration, err error) {
	if _, ok := r.lat[step]; !ok {
		r.order = append(r.order, step)
		r.lat[step] = nil
	}
	if err != nil {
		r.errs[step]++
		if _, ok := r.sample[step]; !ok {
			r.sample[step] = err.Error()
		}
		return
	}
	r.lat[step] = append(r.lat[step], d)
}

func (r *recorder) merge(o *recorder) {
	for _, s := range o.order {
		if _, ok := r.lat[s]; !ok {
			r.order = append(r.order, s)
		}
		r.lat[s] = append(r.lat[s], o.lat[s]...)
		r.errs[s] += o.errs[s]
		if _, ok := r.sample[s]; !ok && o.sample[s] != "" {
			r.sample[s] = o.sample[s]
		}
	}
}

// StepResult is one step's numbers in one run. Latencies in milliseconds.
type StepResult struct {
	Step       string  `json:"step"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	PerSecond  float64 `json:"requests_per_second"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
}

func (r *recorder) results(elapsed time.Duration) []StepResult {
	var out []StepResult
	for _, s := range r.order {
		l := slices.Clone(r.lat[s])
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		out = append(out, StepResult{
			Step: s, Requests: len(l), Errors: r.errs[s], FirstError: r.sample[s],
			PerSecond: float64(len(l)) / elapsed.Seconds(),
			P50ms:     ms(quantile(l, 0.50)), P90ms: ms(quantile(l, 0.90)), P99ms: ms(quantile(l, 0.99)),
		})
	}
	return out
}

// quantile is the nearest-rank q-quantile of sorted l (0 when empty).
func quantile(l []time.Duration, q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(q*float64(len(l))+0.999999) - 1
	return l[max(0, min(i, len(l)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median returns the median of v and its spread (min, max).
func median(v []float64) (med, lo, hi float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}
