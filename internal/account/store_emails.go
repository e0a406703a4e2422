package account

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// EmailStore is the persistence of address management and account deletion
// (docs/compatibility.md "Users" DELETE /user, §2.5), part of Store. Errors as Store.
type EmailStore interface {
	// AddEmail adds e.Address for userID in one transaction: ErrStale when
	// the user already owns limit addresses; ErrConflict when any user owns
	// the address; an unassigned row is assigned when e.UserID == userID,
	// else returned unchanged; otherwise e is inserted (assigned when
	// e.UserID == userID, else unassigned). Never primary. ErrNotFound for
	// an unknown user.
	AddEmail(ctx context.Context, userID uuid.UUID, e inkan.Email, limit int) (inkan.Email, error)
	// SetPrimaryEmail makes emailID the user's primary address;
	// ErrNotFound unless the row is assigned to the user.
	SetPrimaryEmail(ctx context.Context, userID, emailID uuid.UUID, at time.Time) error
	// DeleteEmail removes emailID of userID; ErrNotFound unless assigned to
	// the user; ErrConflict when it is the primary address.
	DeleteEmail(ctx context.Context, userID, emailID uuid.UUID) error
	// DeleteUser removes the user and, by cascade, everything of theirs
	// (addresses, passcodes, credentials, password, sessions, ceremonies).
	DeleteUser(ctx context.Context, id uuid.UUID) error
}
