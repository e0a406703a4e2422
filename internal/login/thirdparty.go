package login

import (
	"context"
	"strings"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// ThirdPartyResult is a completed third-party sign-in.
type ThirdPartyResult struct {
	Result
	// Identity is the identity that signed in (new or known).
	Identity inkan.Identity
	// Outcome says whether it signed in, was linked or signed up.
	Outcome account.IdentityOutcome
}

// IDTokenRequest is a native sign-in: the body of POST /thirdparty/id_token.
type IDTokenRequest struct {
	Provider string // "apple", "google" or "custom_<key>"
	Token    string // the ID token (JWS compact serialization)
	Nonce    string // the nonce the app generated for it
	// GivenName and FamilyName are the name the app got from the provider
	// outside the token (Apple gives it to the app once, on the first
	// authorization); they fill only what the token leaves empty.
	GivenName, FamilyName string
}

// IDToken signs a user in with a provider's ID token obtained natively on
// the device (POST /thirdparty/id_token of api/openapi.yaml; checks in
// docs/thirdparty.md "Native sign-in"): the verifier checks the token and
// its nonce, then ThirdParty resolves the user and completes. A refused
// token records thirdparty_signin_signup_failed and writes nothing else.
// Errors: the verifier's (KindNotFound, KindUnauthorized), ThirdParty's.
func (s *Service) IDToken(ctx context.Context, r IDTokenRequest) (ThirdPartyResult, error) {
	if s.third == nil {
		return ThirdPartyResult{}, inkan.E(inkan.KindNotFound, "provider not enabled")
	}
	pu, err := s.third.VerifyIDToken(ctx, r.Provider, r.Token, r.Nonce)
	if err != nil {
		if inkan.KindOf(err) == inkan.KindNotFound {
			return ThirdPartyResult{}, err
		}
		return ThirdPartyResult{}, s.failed(ctx, inkan.EventThirdPartySignInSignUpFailed, inkan.Actor{}, err, map[string]any{"provider": r.Provider, "flow": "id_token"})
	}
	if pu.GivenName == "" && pu.FamilyName == "" && pu.Name == "" {
		pu.GivenName, pu.FamilyName = strings.TrimSpace(r.GivenName), strings.TrimSpace(r.FamilyName)
		pu.Name = strings.TrimSpace(pu.GivenName + " " + pu.FamilyName)
	}
	return s.ThirdParty(ctx, pu, s.third.AllowLinking(pu.Provider), "id_token")
}

// ThirdParty signs in the user whom the provider's identity pu belongs to,
// as one unit: resolve the identity with the linking rules
// (account.Service.ResolveIdentity: sign-in, linking or sign-up), then
// complete with thirdparty_signin_succeeded, thirdparty_linking_succeeded
// or thirdparty_signup_succeeded. flow ("id_token" or "redirect") goes into
// the event's details. A refusal records thirdparty_signin_signup_failed.
// Errors: account.ErrUserConflict (KindConflict), ErrSignupDisabled and
// ErrUnverifiedEmail (KindForbidden), KindInvalid, KindInternal.
func (s *Service) ThirdParty(ctx context.Context, pu inkan.ProviderUser, allowLinking bool, flow string) (ThirdPartyResult, error) {
	var out ThirdPartyResult
	details := map[string]any{"provider": pu.Provider, "flow": flow}
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		id, outcome, err := s.accounts.ResolveIdentity(ctx, pu, allowLinking)
		if err != nil {
			return err
		}
		event := outcomeEvents[outcome]
		out = ThirdPartyResult{Identity: id, Outcome: outcome}
		out.Result, err = s.complete(ctx, completion{
			userID:  id.UserID,
			event:   event,
			details: map[string]any{"provider": pu.Provider, "flow": flow, "identity_id": id.ID.String()},
		})
		return err
	})
	if err != nil {
		return ThirdPartyResult{}, s.failed(ctx, inkan.EventThirdPartySignInSignUpFailed, inkan.Actor{}, err, details)
	}
	if err := s.sign(ctx, &out.Result); err != nil {
		return ThirdPartyResult{}, err
	}
	return out, nil
}

// outcomeEvents are the *_succeeded events of the identity outcomes.
var outcomeEvents = map[account.IdentityOutcome]inkan.EventType{
	account.IdentitySignIn: inkan.EventThirdPartySignInSucceeded,
	account.IdentityLinked: inkan.EventThirdPartyLinkingSucceeded,
	account.IdentitySignUp: inkan.EventThirdPartySignUpSucceeded,
}

// ThirdPartyRefused records thirdparty_signin_signup_failed for a redirect
// flow refused before an identity was known (a bad state, a provider
// error, a failed code exchange) and returns cause.
func (s *Service) ThirdPartyRefused(ctx context.Context, provider string, cause error) error {
	return s.failed(ctx, inkan.EventThirdPartySignInSignUpFailed, inkan.Actor{}, cause, map[string]any{"provider": provider, "flow": "redirect"})
}
