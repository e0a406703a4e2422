package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// probeEvery is how often a degraded Fallback retries the primary.
const probeEvery = 5 * time.Second

// Fallback is a Limiter that asks primary (Redis) and, while primary fails,
// answers from secondary (Memory) instead of failing requests, so a Redis
// outage never stops sign-ins. On the first failure it logs one warning
// (the error only, never the bucket key, which may hold an e-mail address)
// and becomes Degraded; while
// degraded, one Take at most every 5s probes primary, and the first success
// switches back (logged once at info). Budgets counted in secondary are not
// carried over to primary. Safe for concurrent use.
type Fallback struct {
	primary, secondary Limiter
	log                *slog.Logger
	now                func() time.Time
	probeEvery         time.Duration

	degraded  atomic.Bool
	mu        sync.Mutex // guards nextProbe, probing
	nextProbe time.Time
	probing   bool
}

// NewFallback returns a Fallback over primary and secondary. log nil means
// slog.Default().
func NewFallback(primary, secondary Limiter, log *slog.Logger) *Fallback {
	if log == nil {
		log = slog.Default()
	}
	return &Fallback{primary: primary, secondary: secondary, log: log, now: time.Now, probeEvery: probeEvery}
}

// Degraded reports whether Takes are currently served by the secondary
// because the primary failed (for /health/ready).
func (f *Fallback) Degraded() bool { return f.degraded.Load() }

// Take takes a token from primary, or from secondary while primary is
// failing. Errors: ErrInvalidLimit (wrapped) and ctx's error when ctx is
// done; primary errors are never returned.
func (f *Fallback) Take(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	probe := false
	if f.degraded.Load() {
		if !f.startProbe() {
			return f.secondary.Take(ctx, key, l)
		}
		probe = true
	}
	res, err := f.primary.Take(ctx, key, l)
	if probe {
		f.endProbe(err == nil)
	}
	if err == nil {
		if f.degraded.CompareAndSwap(true, false) {
			f.log.Info("rate limiter store reachable again; using it")
		}
		return res, nil
	}
	if ctx.Err() != nil {
		// The caller gave up; that says nothing about the store.
		return Result{}, ctx.Err()
	}
	if errors.Is(err, ErrInvalidLimit) {
		return Result{}, err
	}
	if f.degraded.CompareAndSwap(false, true) {
		f.mu.Lock()
		f.nextProbe = f.now().Add(f.probeEvery)
		f.mu.Unlock()
		f.log.Warn("rate limiter store unreachable; using in-memory limits on this node", "err", err)
	}
	return f.secondary.Take(ctx, key, l)
}

// startProbe reports whether this Take should try the primary while degraded.
func (f *Fallback) startProbe() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.probing || f.now().Before(f.nextProbe) {
		return false
	}
	f.probing = true
	return true
}

func (f *Fallback) endProbe(ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probing = false
	if !ok {
		f.nextProbe = f.now().Add(f.probeEvery)
	}
}
