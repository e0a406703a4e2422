// Package ratelimit enforces token-bucket request limits (docs/compatibility.md "Rate limits",
// rate_limiter.*) with an in-memory store, a Redis store shared by several
// nodes, and a Fallback that serves from memory while Redis is unreachable.
//
// Every store implements the same bucket, expressed as GCRA (generic cell rate
// algorithm): a bucket holds at most Limit.Tokens tokens and regains them at a
// steady rate of Tokens per Interval, so an empty bucket is full again after
// Interval. A bucket that is full is the same as no bucket, so state for idle
// keys can be dropped.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidLimit is returned (wrapped) by Take when Limit.Tokens < 1 or
// Limit.Interval < 1ms (the Redis store counts in microseconds; 1ms keeps
// the per-token interval representable for realistic token counts).
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit is one bucket configuration, Hanko's rate_limiter.*_limits
// {tokens, interval}: a bucket of Tokens tokens that refills completely,
// token by token, over Interval (e.g. 3 tokens per 1m: one token every 20s).
type Limit struct {
	Tokens   int           // bucket size, ≥ 1; X-RateLimit-Limit
	Interval time.Duration // time to refill an empty bucket, ≥ 1ms
}

func (l Limit) validate() error {
	if l.Tokens < 1 || l.Interval < time.Millisecond {
		return fmt.Errorf("%w: tokens=%d interval=%s", ErrInvalidLimit, l.Tokens, l.Interval)
	}
	if l.Interval/time.Duration(l.Tokens) < time.Microsecond {
		return fmt.Errorf("%w: interval %s too short for %d tokens", ErrInvalidLimit, l.Interval, l.Tokens)
	}
	return nil
}

// emission is the time in which the bucket regains one token.
func (l Limit) emission() time.Duration { return l.Interval / time.Duration(l.Tokens) }

// Result is the outcome of one Take, enough for the X-RateLimit-* and
// Retry-After headers (docs/compatibility.md "Rate limits").
type Result struct {
	// Allowed reports whether a token was taken; false → answer 429.
	Allowed bool
	// Limit is the bucket size (Limit.Tokens); X-RateLimit-Limit.
	Limit int
	// Remaining is the number of whole tokens left after this Take, 0..Limit-1;
	// X-RateLimit-Remaining.
	Remaining int
	// Reset is the time until the bucket is full again (no pending use at
	// all), at most Limit.Interval; X-RateLimit-Reset (in whole seconds,
	// rounded up, is up to the caller).
	Reset time.Duration
	// RetryAfter is the time until the next token is available; > 0 exactly
	// when !Allowed, 0 otherwise; Retry-After (seconds, rounded up).
	RetryAfter time.Duration
}

// Limiter takes one token from the bucket named key. Implementations are safe
// for concurrent use. Errors: ErrInvalidLimit (wrapped) for a bad Limit, or a
// store error (Redis unreachable, ctx done); on error the Result is zero.
type Limiter interface {
	Take(ctx context.Context, key string, l Limit) (Result, error)
}

// gcra applies one Take to a bucket whose theoretical arrival time is tat
// (zero or past: bucket full) at time now. It returns the result and the new
// tat to store (unchanged when denied). Shared by Memory; the Redis Lua script
// is the same algorithm in microseconds.
func gcra(tat, now time.Time, l Limit) (Result, time.Time) {
	t := l.emission()
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(t)
	if d := next.Sub(now); d > l.Interval {
		// Denied: the token becomes available when next-Interval is reached.
		return Result{
			Limit:      l.Tokens,
			Reset:      tat.Sub(now),
			RetryAfter: d - l.Interval,
		}, tat
	}
	used := next.Sub(now)
	return Result{
		Allowed:   true,
		Limit:     l.Tokens,
		Remaining: int((l.Interval - used) / t),
		Reset:     used,
	}, next
}

// Key joins parts with "/" into a bucket key in Hanko's
// "<route path>/<user_id>/<client IP>" style (docs/compatibility.md "Rate limits"). Any "%" or "/"
// inside a part is percent-encoded ("%25", "%2F"), so different part lists
// never yield the same key (a route "/token" becomes "%2Ftoken"). Parts are
// used as given: callers normalise e-mail addresses (lower case) first.
func Key(parts ...string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		if strings.ContainsAny(p, "%/") {
			p = strings.ReplaceAll(p, "%", "%25")
			p = strings.ReplaceAll(p, "/", "%2F")
		}
		esc[i] = p
	}
	return strings.Join(esc, "/")
}
