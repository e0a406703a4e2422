package login

import (
	"context"
	"encoding/base64"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// PasskeySignUpResult is a finished passkey-first sign-up: the new user
// and address, the passkey, and the session it signs the user in with.
type PasskeySignUpResult struct {
	Result
	// Address is the new user's address row: unassigned until a passcode
	// for it is finalized when email.require_verification is on.
	Address    inkan.Email
	Credential inkan.Credential
}

// PasskeySignUp finishes a passkey-first sign-up (body: the
// PublicKeyCredential JSON of navigator.credentials.create(); POST
// /webauthn/registration/finalize without a session, api/openapi.yaml) as
// one unit: verify the attestation (passkey.Service.VerifySignUp), create
// the user with the ceremony's user id and address under the rules of
// POST /users (account.Service.SignUpAs: with email.require_verification
// the address stays unassigned until its passcode is finalized; an address
// a user owns is refused), store the passkey and use up the ceremony, then
// complete (session, event webauthn_registration_final_succeeded naming
// the credential and session; user_created is account's). If any step
// fails nothing is written and the ceremony can be finished again; the
// failure records webauthn_registration_final_failed on its own. Errors
// are those of VerifySignUp, SignUpAs (KindForbidden sign-up disabled,
// KindConflict address taken) and FinishSignUp, and KindInternal.
func (s *Service) PasskeySignUp(ctx context.Context, body []byte) (PasskeySignUpResult, error) {
	var out PasskeySignUpResult
	userID := uuid.Nil
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		su, err := s.passkeys.VerifySignUp(ctx, body)
		if err != nil {
			return err
		}
		userID = su.Credential.UserID
		u, e, err := s.accounts.SignUpAs(ctx, userID, su.Email)
		if err != nil {
			return err
		}
		if out.Credential, err = s.passkeys.FinishSignUp(ctx, su); err != nil {
			return err
		}
		out.Address = e
		out.Result, err = s.complete(ctx, completion{
			userID:  u.ID,
			known:   &e,
			event:   inkan.EventWebAuthnRegistrationFinalSucceeded,
			details: map[string]any{"credential_id": base64.RawURLEncoding.EncodeToString(su.Credential.ID), "sign_up": true},
		})
		return err
	})
	if err != nil {
		return PasskeySignUpResult{}, s.failed(ctx, inkan.EventWebAuthnRegistrationFinalFailed, inkan.Actor{UserID: userID}, err, nil)
	}
	if err := s.sign(ctx, &out.Result); err != nil {
		return PasskeySignUpResult{}, err
	}
	return out, nil
}
