// Package password sets and checks user passwords (docs/compatibility.md "Passwords"): length
// rules in Unicode code points and bytes, new hashes with argon2id (RFC 9106,
// PHC string format) or bcrypt, and verification of both, so that bcrypt
// hashes imported from Hanko keep working and are re-hashed with the
// configured algorithm on the next successful login.
package password

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// MaxBytes is the longest password accepted, in bytes: bcrypt reads no
// more (docs/compatibility.md "Passwords" "password must not be longer than 72 bytes"). It is
// applied whatever the hash algorithm, so that a password can always be
// re-hashed either way.
const MaxBytes = 72

// Store is the persistence the password service needs; internal/store
// satisfies it.
type Store interface {
	// Journal writes a change and its event in one transaction.
	inkan.Journal
	AdminStore
	// GetUser returns the user (inkan.ErrNotFound when missing).
	GetUser(ctx context.Context, id uuid.UUID) (inkan.User, error)
	// GetPasswordCredential returns the user's password credential
	// (inkan.ErrNotFound when the user has none).
	GetPasswordCredential(ctx context.Context, userID uuid.UUID) (inkan.PasswordCredential, error)
	// SetPasswordCredential inserts the user's credential with hash, or
	// replaces the hash of the existing one; created reports an insert.
	// inkan.ErrNotFound when the user is missing.
	SetPasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (created bool, err error)
	// ReplacePasswordHash sets the hash to newHash only while it is still
	// oldHash (a conditional update); inkan.ErrStale otherwise.
	ReplacePasswordHash(ctx context.Context, userID uuid.UUID, oldHash, newHash string, now time.Time) error
}

// Options configure a Service.
type Options struct {
	// MinLength is password.min_length in Unicode code points (default 8).
	MinLength int
	// Hash is password.hash: "argon2id" (default) or "bcrypt".
	Hash string
	// Argon2 and BcryptCost override the cost parameters (zero = defaults).
	Argon2     Argon2Params
	BcryptCost int
}

// Service is the password use cases.
type Service struct {
	store  Store
	hasher *Hasher
	min    int
	now    func() time.Time
}

// New returns a Service; now may be nil (time.Now). It fails on an unknown
// hash algorithm.
func New(store Store, o Options, now func() time.Time) (*Service, error) {
	h, err := NewHasher(o.Hash, o.Argon2, o.BcryptCost)
	if err != nil {
		return nil, err
	}
	if o.MinLength < 1 {
		o.MinLength = 8
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, hasher: h, min: o.MinLength, now: now}, nil
}

// CheckLength applies the length rules of docs/compatibility.md "Passwords": at least
// MinLength Unicode code points ("password must be at least <n> characters
// long") and at most MaxBytes bytes ("password must not be longer than 72
// bytes"); both KindInvalid.
func (s *Service) CheckLength(pw string) error {
	if utf8.RuneCountInString(pw) < s.min {
		return inkan.E(inkan.KindInvalid, fmt.Sprintf("password must be at least %d characters long", s.min))
	}
	if len(pw) > MaxBytes {
		return inkan.E(inkan.KindInvalid, "password must not be longer than 72 bytes")
	}
	return nil
}

// Set sets or replaces the password of userID on behalf of the session's
// user subject (PUT /password, docs/compatibility.md "Passwords"). Checks in Hanko's order:
// length (KindInvalid), unknown user (KindUnauthorized), userID ≠ subject
// (KindForbidden). created reports a first password (201) versus a
// replaced one (200). The password and its password_set_succeeded event
// are written in one transaction; a refusal records password_set_failed.
func (s *Service) Set(ctx context.Context, subject, userID uuid.UUID, pw string) (created bool, err error) {
	created, err = s.set(ctx, subject, userID, pw)
	if err != nil {
		return false, inkan.Refused(ctx, s.store, inkan.FailedEvent(ctx, inkan.EventPasswordSetFailed, inkan.Actor{UserID: subject}, err, s.now()), err)
	}
	return created, nil
}

// set is Set without the failure's event; the success's is written with
// the password.
func (s *Service) set(ctx context.Context, subject, userID uuid.UUID, pw string) (created bool, err error) {
	if err := s.CheckLength(pw); err != nil {
		return false, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		if errors.Is(err, inkan.ErrNotFound) {
			return false, inkan.Wrap(inkan.KindUnauthorized, "", err)
		}
		return false, err
	}
	if userID != subject {
		return false, inkan.E(inkan.KindForbidden, "")
	}
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return false, err
	}
	err = inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		created, err = s.store.SetPasswordCredential(ctx, userID, hash, s.now().UTC())
		return err
	}, func(ctx context.Context) inkan.Event {
		return inkan.NewEvent(ctx, inkan.EventPasswordSetSucceeded, inkan.Actor{UserID: userID}, s.now()).With("created", created)
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return false, inkan.Wrap(inkan.KindUnauthorized, "", err)
	}
	return created, err
}

// Login checks pw for userID (POST /password/login, docs/compatibility.md "Passwords").
// Errors: KindUnauthorized for an unknown user, a user without password or
// a wrong password (indistinguishable to the client); KindInvalid
// "password must not be longer than 72 bytes". When the stored hash is a
// bcrypt hash (e.g. imported from Hanko) or was made with other
// parameters, it is replaced by a hash with the configured algorithm
// (skipped when a concurrent password change won the race).
func (s *Service) Login(ctx context.Context, userID uuid.UUID, pw string) error {
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		if errors.Is(err, inkan.ErrNotFound) {
			return inkan.Wrap(inkan.KindUnauthorized, "", err)
		}
		return err
	}
	if len(pw) > MaxBytes {
		return inkan.E(inkan.KindInvalid, "password must not be longer than 72 bytes")
	}
	cred, err := s.store.GetPasswordCredential(ctx, userID)
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindUnauthorized, "", err)
	}
	if err != nil {
		return err
	}
	ok, rehash, err := s.hasher.Verify(cred.Hash, pw)
	if err != nil {
		return fmt.Errorf("password: stored hash of user %s: %w", userID, err)
	}
	if !ok {
		return inkan.E(inkan.KindUnauthorized, "")
	}
	if rehash {
		if h, err := s.hasher.Hash(pw); err == nil {
			// ErrStale: the password changed meanwhile; keep the new one.
			if err := s.store.ReplacePasswordHash(ctx, userID, cred.Hash, h, s.now().UTC()); err != nil && !errors.Is(err, inkan.ErrStale) {
				return err
			}
		}
	}
	return nil
}
