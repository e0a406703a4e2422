package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/clocktest"
)

func newClock() *clocktest.Clock { return clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

func mustTake(t *testing.T, l Limiter, key string, lim Limit) Result {
	t.Helper()
	res, err := l.Take(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Take(%q): %v", key, err)
	}
	return res
}

func TestMemoryAllowsTokensThenDenies(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	lim := Limit{Tokens: 3, Interval: time.Minute}
	for i := range 3 {
		res := mustTake(t, m, "k", lim)
		want := Result{Allowed: true, Limit: 3, Remaining: 2 - i, Reset: time.Duration(i+1) * 20 * time.Second}
		if res != want {
			t.Fatalf("take %d = %+v, want %+v", i+1, res, want)
		}
	}
	res := mustTake(t, m, "k", lim)
	want := Result{Allowed: false, Limit: 3, Remaining: 0, Reset: time.Minute, RetryAfter: 20 * time.Second}
	if res != want {
		t.Fatalf("take 4 = %+v, want %+v", res, want)
	}
}

func TestMemoryRefillsOverTime(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	lim := Limit{Tokens: 3, Interval: time.Minute}
	for range 3 {
		mustTake(t, m, "k", lim)
	}
	c.Advance(19 * time.Second)
	if res := mustTake(t, m, "k", lim); res.Allowed || res.RetryAfter != time.Second {
		t.Fatalf("after 19s = %+v, want denied with RetryAfter 1s", res)
	}
	c.Advance(time.Second) // one token back after Interval/Tokens
	if res := mustTake(t, m, "k", lim); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 20s = %+v, want allowed with 0 remaining", res)
	}
	if res := mustTake(t, m, "k", lim); res.Allowed {
		t.Fatalf("second take after 20s allowed: %+v", res)
	}
	c.Advance(time.Minute) // full again
	for i := range 3 {
		if res := mustTake(t, m, "k", lim); !res.Allowed {
			t.Fatalf("take %d after full refill denied: %+v", i+1, res)
		}
	}
}

func TestMemorySeparateKeys(t *testing.T) {
	m := NewMemory(newClock().Now)
	lim := Limit{Tokens: 1, Interval: time.Hour}
	if !mustTake(t, m, Key("/token", "u1", "10.0.0.1"), lim).Allowed {
		t.Fatal("first key denied")
	}
	if mustTake(t, m, Key("/token", "u1", "10.0.0.1"), lim).Allowed {
		t.Fatal("first key allowed twice")
	}
	if !mustTake(t, m, Key("/token", "u1", "10.0.0.2"), lim).Allowed {
		t.Fatal("second key denied: keys not independent")
	}
}

func TestMemoryConcurrentNeverExceedsTokens(t *testing.T) {
	m := NewMemory(newClock().Now) // frozen clock: no refill
	lim := Limit{Tokens: 10, Interval: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			res, err := m.Take(context.Background(), "shared", lim)
			if err != nil {
				t.Error(err)
				return
			}
			if res.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 10 {
		t.Fatalf("allowed %d of 100, want exactly 10", got)
	}
}

func TestMemorySweepsFullBuckets(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	lim := Limit{Tokens: 2, Interval: time.Second}
	for _, k := range []string{"a", "b", "c"} {
		mustTake(t, m, k, lim)
	}
	long := Limit{Tokens: 1, Interval: time.Hour}
	mustTake(t, m, "long", long)
	if n := m.size(); n != 4 {
		t.Fatalf("size = %d, want 4", n)
	}
	c.Advance(sweepEvery)
	mustTake(t, m, "long", long) // triggers the sweep; "long" is still in use
	if n := m.size(); n != 1 {
		t.Fatalf("size after sweep = %d, want 1", n)
	}
}

func TestInvalidLimit(t *testing.T) {
	m := NewMemory(nil)
	for _, lim := range []Limit{{0, time.Minute}, {-1, time.Minute}, {3, 0}, {3, time.Microsecond}, {1 << 30, time.Millisecond}} {
		if _, err := m.Take(context.Background(), "k", lim); !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("Take(%+v) err = %v, want ErrInvalidLimit", lim, err)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"token", "00000000-0000-0000-0000-000000000000", "192.0.2.1"}, "token/00000000-0000-0000-0000-000000000000/192.0.2.1"},
		{[]string{"/passcode/login/initialize", "u", "::1"}, "%2Fpasscode%2Flogin%2Finitialize/u/::1"},
		{[]string{"a%2Fb"}, "a%252Fb"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Key(tt.parts...); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
	// Parts containing "/" cannot collide with a different split.
	if Key("a/b", "c") == Key("a", "b/c") || Key("a/b", "c") == Key("a", "b", "c") {
		t.Error("Key is ambiguous")
	}
}
