package webhook

import (
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many times a delivery is attempted before it fails
// for good: the first attempt and len(retryDelays) retries.
const MaxAttempts = 1 + 11

// baseDelay, growth and maxDelay shape the retry schedule: the n-th retry
// (n ≥ 1) waits baseDelay·growth^(n−1), at most maxDelay, before jitter.
const (
	baseDelay = 5 * time.Second
	growth    = 3
	maxDelay  = 6 * time.Hour
	// jitter spreads each delay uniformly over ±20 %, so that the retries
	// of a burst do not hit a recovering receiver at the same instant.
	jitter = 0.2
)

// RetryDelay returns the nominal wait before retry n (1 = the first retry),
// without jitter: 5 s, 15 s, 45 s, 2m15s, 6m45s, 20m15s, 1h0m45s, 3h2m15s,
// then 6 h for the rest — about 22.6 hours from the first attempt to the
// last (README "Webhooks").
func RetryDelay(n int) time.Duration {
	d := baseDelay
	for i := 1; i < n && d < maxDelay; i++ {
		d *= growth
	}
	return min(d, maxDelay)
}

// MaxRetryDelay is RetryDelay(n) with the largest jitter: the longest a
// due retry can wait.
func MaxRetryDelay(n int) time.Duration {
	return time.Duration(float64(RetryDelay(n)) * (1 + jitter))
}

// retryDelay is RetryDelay(n) with jitter.
func retryDelay(n int) time.Duration {
	f := 1 + jitter*(2*rand.Float64()-1)
	return time.Duration(float64(RetryDelay(n)) * f)
}
