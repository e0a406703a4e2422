package session

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence of server-side sessions; internal/store
// satisfies it.
type Store interface {
	// Journal writes a change and its event in one transaction.
	inkan.Journal
	// CreateSession inserts s and then, in the same transaction, deletes the
	// user's oldest unexpired sessions so that at most limit remain (see
	// docs/compatibility.md "Issuing a session" step 2; limit ≥ 1).
	CreateSession(ctx context.Context, s inkan.Session, limit int) error
	// GetSession returns the session row (ErrNotFound when missing).
	GetSession(ctx context.Context, id uuid.UUID) (inkan.Session, error)
	// TouchSession sets last_used = now (ErrNotFound when missing).
	TouchSession(ctx context.Context, id uuid.UUID, now time.Time) error
	// DeleteSession removes the session and lists it as revoked for why
	// (ErrNotFound when missing).
	DeleteSession(ctx context.Context, id uuid.UUID, why inkan.SessionEnd) error
	// ListSessions returns the user's sessions unexpired at now, newest
	// first.
	ListSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]inkan.Session, error)
	// DeleteUserSession removes the session of userID and lists it as
	// revoked for why (ErrNotFound when missing or another user's).
	DeleteUserSession(ctx context.Context, userID, sessionID uuid.UUID, why inkan.SessionEnd) error
	// DeleteOtherSessions removes every session of userID but keep, lists
	// them as revoked for why and returns their ids.
	DeleteOtherSessions(ctx context.Context, userID, keep uuid.UUID, why inkan.SessionEnd) ([]uuid.UUID, error)
	// RotateRefresh replaces the refresh token of session id when its
	// generation is still fromGeneration, in one conditional UPDATE: it
	// sets the refresh state to next, expires_at, ends_at and last_used.
	// ErrConflict when the generation moved (another request rotated
	// first), ErrNotFound when the session is gone.
	RotateRefresh(ctx context.Context, id uuid.UUID, fromGeneration int64, next inkan.RefreshState, expiresAt, endsAt time.Time) error
	// RevokedSessions lists the sessions removed before their last token
	// expired whose expires_at is after now.
	RevokedSessions(ctx context.Context, now time.Time) ([]inkan.RevokedSession, error)
}
