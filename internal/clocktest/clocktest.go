// Package clocktest provides a settable clock for tests of code that takes
// its time source as a func() time.Time (pass Clock.Now). It has one job:
// letting a test move time forward without sleeping.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a settable time source, safe for concurrent use. The zero value
// reads as the zero time.Time; use New.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads t until it is advanced or set.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's current time. Its method value (c.Now) is the
// func() time.Time that inkan's services take.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set makes the clock read t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
