package passkey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// SignUp is a verified passkey-first sign-up that is not stored yet: the
// ceremony to use up, the new user's credential (its UserID is the new
// user's id, the user handle the authenticator stored) and the address
// the user signs up with.
type SignUp struct {
	CeremonyID uuid.UUID
	Credential inkan.Credential
	// Email is the normalised address given to BeginSignUp.
	Email string
}

// BeginSignUp starts the registration ceremony of a passkey-first sign-up
// (POST /webauthn/registration/initialize without a session, see
// api/openapi.yaml) for a user that does not exist yet: it draws the new
// user's id (16 random bytes, user.id and later the user handle), and
// returns creation options as for a signed-in user (beginRegistration)
// with user.name and displayName the address and no excludeCredentials.
// The ceremony (operation inkan.OperationSignUp, holding the address)
// and its webauthn_registration_init_succeeded event are one transaction;
// nothing else is written until FinishSignUp. address must already be
// normalised and allowed (account.Service.CheckSignUp). Errors:
// KindInternal.
func (s *Service) BeginSignUp(ctx context.Context, address string) (options []byte, err error) {
	userID, err := uuid.NewRandom()
	if err != nil {
		return nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	err = s.withEvents(ctx, userID, inkan.EventWebAuthnRegistrationInitSucceeded, inkan.EventWebAuthnRegistrationInitFailed,
		func(ctx context.Context) (map[string]any, error) {
			creation, session, err := s.wa.BeginRegistration(&user{id: userID, name: address})
			if err != nil {
				return nil, inkan.Wrap(inkan.KindInternal, "", err)
			}
			d := ceremonyData{SessionData: *session, SignUpEmail: address}
			if err := s.saveCeremonyData(ctx, inkan.OperationSignUp, userID, nil, d, s.opts.RegistrationTimeout); err != nil {
				return nil, err
			}
			options, err = marshal(creation)
			return map[string]any{"sign_up": true}, err
		})
	return options, err
}

// VerifySignUp verifies the registration response of a passkey-first
// sign-up (WebAuthn L3 §7.1; body: the PublicKeyCredential JSON of
// navigator.credentials.create()) against its unexpired sign-up ceremony
// and returns what FinishSignUp stores. It writes nothing. Errors are
// finishRegistration's, except that a challenge of a ceremony begun by a
// signed-in user is "Stored challenge and received challenge do not
// match" too.
func (s *Service) VerifySignUp(ctx context.Context, body []byte) (SignUp, error) {
	cer, cred, err := s.attest(ctx, body, inkan.OperationSignUp, func(inkan.Ceremony) error { return nil })
	if err != nil {
		return SignUp{}, err
	}
	var d ceremonyData
	if err := json.Unmarshal(cer.SessionData, &d); err != nil || d.SignUpEmail == "" {
		return SignUp{}, inkan.Wrap(inkan.KindInternal, "", fmt.Errorf("passkey: sign-up ceremony %s without an address (%v)", cer.ID, err))
	}
	return SignUp{CeremonyID: cer.ID, Credential: cred, Email: d.SignUpEmail}, nil
}

// FinishSignUp uses up the sign-up's ceremony and stores its credential,
// in ctx's transaction; the user must have been created (with
// su.Credential.UserID as id) in the same transaction. Errors are
// finishRegistration's: a ceremony used meanwhile is "Stored challenge and
// received challenge do not match", a registered credential id
// KindConflict.
func (s *Service) FinishSignUp(ctx context.Context, su SignUp) (inkan.Credential, error) {
	if err := s.storeCredential(ctx, su.CeremonyID, su.Credential); err != nil {
		return inkan.Credential{}, err
	}
	return su.Credential, nil
}
