package passcode

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence the passcode service needs; internal/store
// satisfies it. Attempt counting and consumption are conditional UPDATE /
// DELETE statements whose rows-affected count decides the outcome, so two
// nodes can never both accept one code nor count past the limit.
type Store interface {
	// Journal writes a change and its event in one transaction.
	inkan.Journal
	// CreatePasscode inserts p (ErrNotFound if its user or email is missing).
	CreatePasscode(ctx context.Context, p inkan.Passcode) error
	// GetPasscode returns the passcode row (ErrNotFound when missing).
	GetPasscode(ctx context.Context, id uuid.UUID) (inkan.Passcode, error)
	// IncrementPasscodeTries adds one wrong attempt if fewer than max were
	// recorded: UPDATE … SET try_count = try_count+1 WHERE id=? AND
	// try_count < max. It returns the new count, or ErrStale when no row
	// matched (already dead or consumed).
	IncrementPasscodeTries(ctx context.Context, id uuid.UUID, max int) (int, error)
	// ConsumePasscode deletes the passcode if it is still usable: DELETE …
	// WHERE id=? AND try_count < max AND expires_at > now. ErrStale when no
	// row matched (consumed by a concurrent request, dead, or expired).
	ConsumePasscode(ctx context.Context, id uuid.UUID, max int, now time.Time) error
	// TakePasscodeAttempt takes one token from the user's bucket of
	// passcode attempts (tokens per interval), atomically across nodes;
	// ok=false with the time until the next token when it is empty. With
	// keep (the right code) the bucket is checked the same way but keeps
	// its token.
	TakePasscodeAttempt(ctx context.Context, userID uuid.UUID, now time.Time, tokens int, interval time.Duration, keep bool) (ok bool, retryAfter time.Duration, err error)
	// DeletePasscode removes a passcode unconditionally (used when its mail
	// could not be delivered). Deleting a missing row is not an error.
	DeletePasscode(ctx context.Context, id uuid.UUID) error
}
