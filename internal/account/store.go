package account

import (
	"context"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence the account service needs. internal/store
// satisfies it. Every method returns inkan.ErrNotFound for a missing row and
// inkan.ErrConflict for a violated uniqueness rule; never (zero, nil).
type Store interface {
	EmailStore
	AdminStore
	IdentityStore
	// Journal writes a change and its event in one transaction.
	inkan.Journal
	// GetUser returns the user with the given id.
	GetUser(ctx context.Context, id uuid.UUID) (inkan.User, error)
	// Profile returns the user, their assigned addresses (oldest first,
	// Primary filled in) and their WebAuthn credentials (oldest first) in
	// one round trip; ErrNotFound when the user is missing.
	Profile(ctx context.Context, id uuid.UUID) (inkan.Profile, error)
	// ProfileWithIdentities is Profile with the third-party identities,
	// oldest first, in the same one round trip.
	ProfileWithIdentities(ctx context.Context, id uuid.UUID) (inkan.Profile, error)
	// RevokeUserAccess deletes every session, passkey and password of the
	// user and counts them.
	RevokeUserAccess(ctx context.Context, userID uuid.UUID) (inkan.AccessRevoked, error)
	// FindEmailByAddress returns the e-mail row with the normalised address,
	// assigned or not, with Primary filled in.
	FindEmailByAddress(ctx context.Context, address string) (inkan.Email, error)
	// GetEmail returns one e-mail row by id, with Primary filled in.
	GetEmail(ctx context.Context, id uuid.UUID) (inkan.Email, error)
	// ListEmails returns the rows assigned to userID, oldest first, with
	// Primary filled in. An unknown user yields an empty list.
	ListEmails(ctx context.Context, userID uuid.UUID) ([]inkan.Email, error)
	// PrimaryEmail returns the user's primary address (ErrNotFound if none).
	PrimaryEmail(ctx context.Context, userID uuid.UUID) (inkan.Email, error)
	// CreateUser inserts u and, in the same transaction, the address e:
	//   - if a row with e.Address exists and is assigned: ErrConflict, nothing written;
	//   - if it exists unassigned: that row is reused (its ID is returned);
	//   - otherwise e is inserted.
	// When e.UserID == u.ID the row is assigned to the user, marked
	// e.Verified, and made primary; when e.UserID is uuid.Nil it stays
	// unassigned (sign-up awaiting verification). Returns the stored row.
	CreateUser(ctx context.Context, u inkan.User, e inkan.Email) (inkan.Email, error)
	// ClaimEmail assigns the e-mail row emailID to userID and marks it
	// verified, and makes it the user's primary address when the user has
	// none — all in one transaction. ErrNotFound when the row or user is
	// missing; ErrConflict when the row belongs to another user.
	// ErrStale when limit > 0 and the user already owns limit other
	// addresses (checked in the same transaction, under a lock).
	ClaimEmail(ctx context.Context, emailID, userID uuid.UUID, limit int) (inkan.Email, error)
	// FindOwner returns what FindEmailByAddress does and whether the row's
	// user has a WebAuthn credential, in one round trip.
	FindOwner(ctx context.Context, address string) (inkan.Email, bool, error)
}
