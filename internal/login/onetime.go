package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// RedirectResult is the end of a third-party callback: the one-time token
// for the app and the identity's outcome.
type RedirectResult struct {
	// Token is the one-time token's value: 32 random bytes, base64url with
	// padding (44 characters, Hanko's form).
	Token    string
	UserID   uuid.UUID
	Identity inkan.Identity
	Outcome  account.IdentityOutcome
}

// ThirdPartyRedirect ends a third-party callback (docs/thirdparty.md "Web
// redirect flow") as one unit: resolve the identity with the linking rules
// (account.Service.ResolveIdentity), record thirdparty_signin_succeeded,
// thirdparty_linking_succeeded or thirdparty_signup_succeeded, and store a
// one-time token that expires after inkan.OneTimeTokenTTL. No session is
// created here: the app exchanges the token (ExchangeToken), which ends in
// the completion step. A refusal records thirdparty_signin_signup_failed.
// Errors as ThirdParty.
func (s *Service) ThirdPartyRedirect(ctx context.Context, pu inkan.ProviderUser, allowLinking bool) (RedirectResult, error) {
	var out RedirectResult
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		id, outcome, err := s.accounts.ResolveIdentity(ctx, pu, allowLinking)
		if err != nil {
			return err
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		value := base64.URLEncoding.EncodeToString(raw)
		now := s.now().UTC()
		t := inkan.OneTimeToken{ID: uuid.New(), UserID: id.UserID, ValueHash: hashToken(value), Provider: pu.Provider, CreatedAt: now, ExpiresAt: now.Add(inkan.OneTimeTokenTTL)}
		if err := s.tokens.CreateOneTimeToken(ctx, t); err != nil {
			return err
		}
		ev := inkan.NewEvent(ctx, outcomeEvents[outcome], inkan.Actor{UserID: id.UserID}, s.now()).
			With("provider", pu.Provider).With("flow", "redirect").With("identity_id", id.ID.String())
		if err := s.journal.RecordEvent(ctx, ev); err != nil {
			return err
		}
		out = RedirectResult{Token: value, UserID: id.UserID, Identity: id, Outcome: outcome}
		return nil
	})
	if err != nil {
		return RedirectResult{}, s.ThirdPartyRefused(ctx, pu.Provider, err)
	}
	return out, nil
}

// ExchangeToken signs in with a one-time token of the redirect flow (POST
// /token of api/openapi.yaml): consume it (one use: a conditional delete),
// then complete with token_exchange_succeeded — one unit, so a failed
// session leaves the token usable. Errors: KindNotFound "token not found"
// (unknown or already used), KindUnprocessable "token has expired", each
// recorded as token_exchange_failed; KindInternal.
func (s *Service) ExchangeToken(ctx context.Context, value string) (Result, error) {
	var out Result
	var t inkan.OneTimeToken
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		var err error
		t, err = s.tokens.ConsumeOneTimeToken(ctx, hashToken(value), s.now())
		switch {
		case errors.Is(err, inkan.ErrNotFound):
			return inkan.Wrap(inkan.KindNotFound, "token not found", err)
		case errors.Is(err, inkan.ErrStale):
			return inkan.Wrap(inkan.KindUnprocessable, "token has expired", err)
		case err != nil:
			return err
		}
		out, err = s.complete(ctx, completion{
			userID:  t.UserID,
			event:   inkan.EventTokenExchangeSucceeded,
			details: map[string]any{"provider": t.Provider, "token_id": t.ID.String()},
		})
		return err
	})
	if err != nil {
		return Result{}, s.failed(ctx, inkan.EventTokenExchangeFailed, inkan.Actor{UserID: t.UserID}, err, nil)
	}
	if err := s.sign(ctx, &out); err != nil {
		return Result{}, err
	}
	return out, nil
}

// hashToken is the stored form of a one-time token's value.
func hashToken(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}
