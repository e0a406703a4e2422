package password

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// AdminStore is the persistence of the admin API's password routes, part
// of Store.
type AdminStore interface {
	// CreatePasswordCredential inserts the user's credential; ErrConflict
	// when there is one, ErrNotFound when the user is missing.
	CreatePasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (inkan.PasswordCredential, error)
	// UpdatePasswordCredential replaces the hash; ErrNotFound when the user
	// has no credential.
	UpdatePasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (inkan.PasswordCredential, error)
	// DeletePasswordCredential removes it; ErrNotFound when there is none.
	DeletePasswordCredential(ctx context.Context, userID uuid.UUID) error
}

// Credential returns the user's password credential (admin GET
// /users/{id}/password). KindNotFound "user not found" or "password not
// found".
func (s *Service) Credential(ctx context.Context, userID uuid.UUID) (inkan.PasswordCredential, error) {
	if err := s.userExists(ctx, userID); err != nil {
		return inkan.PasswordCredential{}, err
	}
	c, err := s.store.GetPasswordCredential(ctx, userID)
	return c, notFound(err, "password not found")
}

// Create gives the user a first password (admin POST
// /users/{id}/password). The admin sets passwords without password.
// min_length; a password must be non-empty and at most MaxBytes bytes.
// Errors: KindInvalid, KindNotFound "user not found", KindConflict
// "password already exists".
func (s *Service) Create(ctx context.Context, userID uuid.UUID, pw string) (inkan.PasswordCredential, error) {
	hash, err := s.adminHash(ctx, userID, pw)
	if err != nil {
		return inkan.PasswordCredential{}, err
	}
	var c inkan.PasswordCredential
	err = inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		c, err = s.store.CreatePasswordCredential(ctx, userID, hash, s.now().UTC())
		return err
	}, s.event(inkan.EventPasswordSetSucceeded, userID))
	switch {
	case errors.Is(err, inkan.ErrConflict):
		return c, inkan.Wrap(inkan.KindConflict, "password already exists", err)
	case errors.Is(err, inkan.ErrNotFound):
		return c, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return c, err
}

// Replace replaces the user's password (admin PUT /users/{id}/password).
// Errors: KindInvalid, KindNotFound "user not found" or "password not
// found".
func (s *Service) Replace(ctx context.Context, userID uuid.UUID, pw string) (inkan.PasswordCredential, error) {
	hash, err := s.adminHash(ctx, userID, pw)
	if err != nil {
		return inkan.PasswordCredential{}, err
	}
	var c inkan.PasswordCredential
	err = inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		c, err = s.store.UpdatePasswordCredential(ctx, userID, hash, s.now().UTC())
		return err
	}, s.event(inkan.EventPasswordSetSucceeded, userID))
	return c, notFound(err, "password not found")
}

// Remove deletes the user's password (admin DELETE /users/{id}/password).
// KindNotFound "user not found" or "password not found".
func (s *Service) Remove(ctx context.Context, userID uuid.UUID) error {
	if err := s.userExists(ctx, userID); err != nil {
		return err
	}
	err := inkan.Change(ctx, s.store, func(ctx context.Context) error {
		return s.store.DeletePasswordCredential(ctx, userID)
	}, s.event(inkan.EventPasswordDeleted, userID))
	return notFound(err, "password not found")
}

// adminHash checks pw (non-empty, at most MaxBytes bytes) and the user and
// returns the hash of pw.
func (s *Service) adminHash(ctx context.Context, userID uuid.UUID, pw string) (string, error) {
	if pw == "" {
		return "", inkan.E(inkan.KindInvalid, "password is a required field")
	}
	if len(pw) > MaxBytes {
		return "", inkan.E(inkan.KindInvalid, "password must not be longer than 72 bytes")
	}
	if err := s.userExists(ctx, userID); err != nil {
		return "", err
	}
	return s.hasher.Hash(pw)
}

func (s *Service) userExists(ctx context.Context, userID uuid.UUID) error {
	_, err := s.store.GetUser(ctx, userID)
	return notFound(err, "user not found")
}

// notFound classifies inkan.ErrNotFound as KindNotFound with msg.
func notFound(err error, msg string) error {
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, msg, err)
	}
	return err
}

// event returns the maker of the event t about userID, for inkan.Change.
func (s *Service) event(t inkan.EventType, userID uuid.UUID) func(ctx context.Context) inkan.Event {
	return func(ctx context.Context) inkan.Event {
		return inkan.NewEvent(ctx, t, inkan.Actor{UserID: userID}, s.now())
	}
}
