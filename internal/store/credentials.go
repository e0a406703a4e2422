package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// RenameCredential sets the name of the credential id owned by userID
// (docs/compatibility.md "Passkeys" PATCH /webauthn/credentials/{id}); an empty name clears
// it (NULL). inkan.ErrNotFound when the credential is missing or another
// user's.
func (s *Store) RenameCredential(ctx context.Context, userID uuid.UUID, id []byte, name string, at time.Time) error {
	t := utc(at)
	if t.IsZero() {
		t = now()
	}
	var nameArg any = name
	if name == "" {
		nameArg = nil
	}
	res, err := s.idb(ctx).NewUpdate().Model((*credentialRow)(nil)).
		Set("name = ?", nameArg).Set("updated_at = ?", t).
		Where("id = ? AND user_id = ?", id, userID).Exec(ctx)
	return oneRow(res, err, "credential")
}

// DeleteCredential removes the credential id owned by userID (see
// docs/compatibility.md "Passkeys"). inkan.ErrNotFound when it is missing or another user's.
func (s *Store) DeleteCredential(ctx context.Context, userID uuid.UUID, id []byte) error {
	res, err := s.idb(ctx).NewDelete().Model((*credentialRow)(nil)).Where("id = ? AND user_id = ?", id, userID).Exec(ctx)
	return oneRow(res, err, "credential")
}
