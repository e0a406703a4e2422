package passkey

import (
	"context"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Credentials returns the user's registered credentials, oldest first
// (Hanko API §2.4 GET /webauthn/credentials ordering). An unknown user has
// none.
func (s *Service) Credentials(ctx context.Context, userID uuid.UUID) ([]inkan.Credential, error) {
	return s.store.ListCredentials(ctx, userID)
}
