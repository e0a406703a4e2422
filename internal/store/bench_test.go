package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// BenchmarkPasscodeCycle measures one passcode's life on each dialect:
// CreatePasscode, one wrong attempt (IncrementPasscodeTries) and
// ConsumePasscode.
func BenchmarkPasscodeCycle(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(d, func(b *testing.B) {
			s := dbtest.Open(b, d)
			u, e := newUser(b, s)
			ctx := context.Background()
			hash := randBytes(b, 32)
			for b.Loop() {
				now := time.Now()
				p := inkan.Passcode{ID: uuid.New(), UserID: u.ID, EmailID: e.ID, CodeHash: hash, TTL: 300 * time.Second, CreatedAt: now, ExpiresAt: now.Add(300 * time.Second)}
				if err := s.CreatePasscode(ctx, p); err != nil {
					b.Fatal(err)
				}
				if _, err := s.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts); err != nil {
					b.Fatal(err)
				}
				if err := s.ConsumePasscode(ctx, p.ID, inkan.MaxPasscodeAttempts, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
