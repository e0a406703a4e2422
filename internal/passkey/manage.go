package passkey

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// MaxCredentialNameLength is the longest credential name, in Unicode code
// points (the column is VARCHAR(255); Hanko answered 500 beyond it).
const MaxCredentialNameLength = 255

// ManageStore is the persistence of credential management (docs/compatibility.md "Passkeys"
// PATCH and DELETE /webauthn/credentials/{id}), part of Store. Both return
// inkan.ErrNotFound when the credential is missing or belongs to another
// user.
type ManageStore interface {
	// RenameCredential sets the name ("" clears it) and updated_at.
	RenameCredential(ctx context.Context, userID uuid.UUID, id []byte, name string, at time.Time) error
	// DeleteCredential removes the credential.
	DeleteCredential(ctx context.Context, userID uuid.UUID, id []byte) error
}

// Rename sets the name of the user's credential id (raw bytes) to name
// (docs/compatibility.md "Passkeys" PATCH; "" clears it). Errors: KindInvalid "name must not
// be longer than 255 characters" (inkan fixes Hanko's 500) or "name must be
// valid UTF-8"; KindNotFound "webauthn credential not found" for an unknown
// or foreign id.
func (s *Service) Rename(ctx context.Context, userID uuid.UUID, id []byte, name string) error {
	if !utf8.ValidString(name) {
		return inkan.E(inkan.KindInvalid, "name must be valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxCredentialNameLength {
		return inkan.E(inkan.KindInvalid, fmt.Sprintf("name must not be longer than %d characters", MaxCredentialNameLength))
	}
	err := s.withEvents(ctx, userID, inkan.EventWebAuthnCredentialUpdated, "", func(ctx context.Context) (map[string]any, error) {
		return credentialDetail(id), s.store.RenameCredential(ctx, userID, id, name, s.now().UTC())
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "webauthn credential not found", err)
	}
	return err
}

// Delete removes the user's credential id (docs/compatibility.md "Passkeys" DELETE; no
// "last credential" protection). KindNotFound "webauthn credential not
// found" for an unknown or foreign id.
func (s *Service) Delete(ctx context.Context, userID uuid.UUID, id []byte) error {
	err := s.withEvents(ctx, userID, inkan.EventWebAuthnCredentialDeleted, "", func(ctx context.Context) (map[string]any, error) {
		return credentialDetail(id), s.store.DeleteCredential(ctx, userID, id)
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "webauthn credential not found", err)
	}
	return err
}

// Credential returns the user's credential id (raw bytes) (admin GET
// /users/{id}/webauthn_credentials/{credential_id}). KindNotFound "webauthn
// credential not found" for an unknown or foreign id.
func (s *Service) Credential(ctx context.Context, userID uuid.UUID, id []byte) (inkan.Credential, error) {
	c, err := s.store.GetCredential(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) || (err == nil && c.UserID != userID) {
		return inkan.Credential{}, inkan.E(inkan.KindNotFound, "webauthn credential not found")
	}
	return c, err
}

// credentialDetail names a credential in an event: its id in base64url.
func credentialDetail(id []byte) map[string]any {
	return map[string]any{"credential_id": base64.RawURLEncoding.EncodeToString(id)}
}
