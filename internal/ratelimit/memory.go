package ratelimit

import (
	"context"
	"sync"
	"time"
)

// sweepEvery is how often (in the injected clock) Take drops full buckets.
const sweepEvery = time.Minute

// Memory is a per-process Limiter (rate_limiter.store: in_memory). It is safe
// for concurrent use and needs no Close: idle buckets (already full again) are
// swept lazily, at most once per minute, during Take.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	tat       map[string]time.Time // theoretical arrival time per key
	lastSweep time.Time
}

// NewMemory returns an empty in-memory limiter reading the time from now
// (time.Now when nil; tests inject a fake clock).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: make(map[string]time.Time)}
}

// Take takes one token from key's bucket. It never fails except with
// ErrInvalidLimit (wrapped) or ctx's error when ctx is already done.
func (m *Memory) Take(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	res, tat := gcra(m.tat[key], now, l)
	if res.Allowed {
		m.tat[key] = tat
	}
	return res, nil
}

// sweep drops buckets that are full again; m.mu must be held.
func (m *Memory) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < sweepEvery {
		return
	}
	m.lastSweep = now
	for k, tat := range m.tat {
		if !tat.After(now) {
			delete(m.tat, k)
		}
	}
}

// size reports the number of tracked buckets (for tests).
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}
