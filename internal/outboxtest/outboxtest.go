// Package outboxtest reads what inkan writes in tests: a goroutine-safe
// buffer for captured logs and for the development mailer's outbox
// (internal/mail.DevMailer), with look-ups of the passcodes mailed to an
// address.
package outboxtest

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Buffer is an io.Writer that keeps everything written to it, safe for a
// server writing while a test reads. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Len returns the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// mailBlock matches one development-outbox mail: the "To:" line and, a few
// header lines later, the six-digit "Passcode:" line (the block layout is
// documented on internal/mail.DevMailer.SendPasscode).
var mailBlock = regexp.MustCompile(`To:\s+(\S+)\n(?:.*\n){0,3}?Passcode: (\d{6})`)

// codes returns the passcodes mailed to address, oldest first; address ""
// matches every recipient.
func (b *Buffer) codes(address string) []string {
	var out []string
	for _, m := range mailBlock.FindAllStringSubmatch(b.String(), -1) {
		if address == "" || m[1] == address {
			out = append(out, m[2])
		}
	}
	return out
}

// Code returns the newest passcode written to the development outbox for
// address (compared exactly, as the mailer wrote it; "" matches every
// recipient) and whether there is one.
func (b *Buffer) Code(address string) (string, bool) {
	c := b.codes(address)
	if len(c) == 0 {
		return "", false
	}
	return c[len(c)-1], true
}

// Count returns how many passcode mails the outbox holds for address (""
// counts every recipient).
func (b *Buffer) Count(address string) int { return len(b.codes(address)) }

// WaitCode polls the outbox until it holds more than seen passcode mails
// for address ("" matches every recipient) and returns the newest code.
// Pass seen = b.Count(address) taken before the action that sends the
// mail. It gives up after timeout, so a flow that never mails fails the
// test instead of hanging it: it then reports the failure with t.Errorf
// and returns "", which makes it safe to call from a goroutine other than
// the test's (the caller stops on "").
func (b *Buffer) WaitCode(t testing.TB, address string, seen int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if c := b.codes(address); len(c) > seen {
			return c[len(c)-1]
		}
		if time.Now().After(deadline) {
			t.Errorf("no passcode mail for %q in the outbox after %v (want more than %d)", address, timeout, seen)
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}
