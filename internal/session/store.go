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
	// DeleteSession removes the session (ErrNotFound when missing).
	DeleteSession(ctx context.Context, id uuid.UUID) error
	// ListSessions returns the user's sessions unexpired at now, newest
	// first.
	ListSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]inkan.Session, error)
	// DeleteUserSession removes the session of userID (ErrNotFound when
	// missing or another user's).
	DeleteUserSession(ctx context.Context, userID, sessionID uuid.UUID) error
}
