package login

import (
	"context"
	"encoding/base64"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// PasskeyResult is a completed passkey sign-in.
type PasskeyResult struct {
	Result
	// Credential is the passkey used, as updated (sign count, backup
	// flags, last use).
	Credential inkan.Credential
}

// Passkey signs a user in with a WebAuthn assertion (body: the
// PublicKeyCredential JSON of navigator.credentials.get(); POST
// /webauthn/login/finalize of api/openapi.yaml), as one unit: verify the
// assertion, use up its ceremony and update the credential
// (passkey.Service.FinishLoginPrimary, which also reads the primary
// address the completion needs), then complete (session, event
// webauthn_authentication_final_succeeded). If any step fails nothing is
// written: the ceremony can be finished again and the sign count is
// unchanged. A failure records webauthn_authentication_final_failed on its
// own. Errors are passkey.Service.FinishLogin's and KindInternal.
func (s *Service) Passkey(ctx context.Context, body []byte) (PasskeyResult, error) {
	var out PasskeyResult
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		c, primary, err := s.passkeys.FinishLoginPrimary(ctx, body)
		if err != nil {
			return err
		}
		out.Credential = c
		out.Result, err = s.complete(ctx, completion{
			userID:  c.UserID,
			known:   primary,
			event:   inkan.EventWebAuthnAuthenticationFinalSucceeded,
			amr:     AMRPasskey,
			details: map[string]any{"credential_id": base64.RawURLEncoding.EncodeToString(c.ID)},
		})
		return err
	})
	if err != nil {
		return PasskeyResult{}, s.failed(ctx, inkan.EventWebAuthnAuthenticationFinalFailed, inkan.Actor{UserID: out.Credential.UserID}, err, nil)
	}
	if err := s.sign(ctx, &out.Result); err != nil {
		return PasskeyResult{}, err
	}
	return out, nil
}
