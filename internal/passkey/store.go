package passkey

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence the WebAuthn ceremonies need; internal/store
// satisfies it.
type Store interface {
	// Journal writes a change and its event in one transaction.
	inkan.Journal
	ManageStore
	// GetUser returns the user (ErrNotFound when missing).
	GetUser(ctx context.Context, id uuid.UUID) (inkan.User, error)
	// Profile returns the user with their addresses and credentials in one
	// read (ErrNotFound when the user is missing).
	Profile(ctx context.Context, userID uuid.UUID) (inkan.Profile, error)
	// CreateCeremony stores the state of a begun ceremony.
	CreateCeremony(ctx context.Context, c inkan.Ceremony) error
	// GetCeremonyByChallenge returns the ceremony whose challenge matches
	// (ErrNotFound when none). Expiry is the caller's check.
	GetCeremonyByChallenge(ctx context.Context, challenge string) (inkan.Ceremony, error)
	// FinishRegistration deletes the ceremony and inserts the credential in
	// one transaction. ErrStale when the ceremony was already used;
	// ErrConflict when the credential id is already registered.
	FinishRegistration(ctx context.Context, ceremonyID uuid.UUID, c inkan.Credential) error
	// FinishLogin deletes the ceremony and records a verified assertion on
	// the credential in one transaction: sign_count, backup_eligible,
	// backup_state and last_used_at = now. The update is conditional on the
	// stored sign count: it applies when signCount > stored, or when both
	// are 0 (authenticators without a counter, WebAuthn §6.1.1); otherwise
	// nothing is written and ErrStale is returned. ErrStale also when the
	// ceremony was already used; ErrNotFound when the credential is missing.
	FinishLogin(ctx context.Context, ceremonyID uuid.UUID, credentialID []byte, signCount uint32, backupEligible, backupState bool, now time.Time) error
	// GetCredential returns the credential by raw id (ErrNotFound).
	GetCredential(ctx context.Context, id []byte) (inkan.Credential, error)
	// ListCredentials returns the user's credentials, oldest first.
	ListCredentials(ctx context.Context, userID uuid.UUID) ([]inkan.Credential, error)
}
