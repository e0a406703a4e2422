package passkey

import (
	"bytes"
	"context"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/aaguid"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// Credentials returns the user's registered credentials, oldest first
// (docs/compatibility.md "Passkeys" GET /webauthn/credentials ordering). An unknown user has
// none.
func (s *Service) Credentials(ctx context.Context, userID uuid.UUID) ([]inkan.Credential, error) {
	return s.store.ListCredentials(ctx, userID)
}

// RPID is the relying party id credentials are scoped to
// (webauthn.relying_party.id).
func (s *Service) RPID() string { return s.opts.RPID }

// Provider returns the passkey provider of aaguid (name, and icons when
// the metadata file has them), and false when it is unknown.
func (s *Service) Provider(id uuid.UUID) (aaguid.Provider, bool) {
	return s.opts.Providers.Lookup(id)
}

// UserHandle is the WebAuthn user handle of userID: its 16 raw bytes, the
// user.id of the creation options (WebAuthn L3 §5.4.3).
func UserHandle(userID uuid.UUID) []byte { return bytes.Clone(userID[:]) }

// SignalAllAcceptedCredentials is the argument of
// PublicKeyCredential.signalAllAcceptedCredentials (WebAuthn L3 §5.1.10)
// for userID whose credentials are creds: {"rpId", "userId" (base64url
// user handle), "allAcceptedCredentialIds" (base64url, [] for none)}. A
// platform hides the user's passkeys for this RP that are not listed.
func (s *Service) SignalAllAcceptedCredentials(userID uuid.UUID, creds []inkan.Credential) *protocol.SignalAllAcceptedCredentials {
	u := &user{id: userID}
	for _, c := range creds {
		u.creds = append(u.creds, webauthn.Credential{ID: c.ID})
	}
	return protocol.NewSignalAllAcceptedCredentials(s.opts.RPID, u)
}

// SignalCurrentUserDetails is the argument of
// PublicKeyCredential.signalCurrentUserDetails (WebAuthn L3 §5.1.10) for
// userID: {"rpId", "userId", "name", "displayName"}, both names being
// primaryAddress as at registration (BeginRegistration). Nil when the user
// has no primary address.
func (s *Service) SignalCurrentUserDetails(userID uuid.UUID, primaryAddress string) *protocol.SignalCurrentUserDetails {
	if primaryAddress == "" {
		return nil
	}
	return protocol.NewSignalCurrentUserDetails(s.opts.RPID, &user{id: userID, name: primaryAddress})
}
