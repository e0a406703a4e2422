package login

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// PasscodeRequest is a passcode sign-in: POST /passcode/login/finalize of
// api/openapi.yaml.
type PasscodeRequest struct {
	ID   uuid.UUID // the passcode id initialize returned
	Code string    // the code from the mail
	// SessionUser is the subject of a valid session sent with the request
	// (uuid.Nil when none): a signed-in user may claim a new address.
	SessionUser uuid.UUID
}

// PasscodeResult is a completed passcode sign-in.
type PasscodeResult struct {
	Result
	// Passcode is the consumed passcode (its id, TTL and creation time are
	// the response body).
	Passcode inkan.Passcode
}

// Passcode signs a user in with an e-mail passcode, as one unit: check and
// consume the code, decide and make the claim of its address (the rules of
// account.Service.CheckClaim), then complete (session, event
// passcode_login_final_succeeded). If any step after the code matched fails
// — the address was claimed by someone else, the database went away, the
// session could not be stored — nothing is written and the same code can be
// finalized again.
//
// A wrong code counts an attempt, committed together with its
// passcode_login_final_failed event; every other failure records
// passcode_login_final_failed on its own. Errors are passcode.Service's
// Finalize errors (404, 408, 401, 410 kinds), account.Service's claim
// errors (KindForbidden, KindConflict) and KindInternal.
func (s *Service) Passcode(ctx context.Context, r PasscodeRequest) (PasscodeResult, error) {
	var out PasscodeResult
	var refused error // a refusal whose counted attempt is committed
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		refused = nil
		p, err := s.passcodes.Finalize(ctx, r.ID, r.Code, nil)
		out.Passcode = p
		if err != nil {
			// Wrong code (attempt counted), dead, expired or unknown
			// passcode: commit the attempt with its event.
			refused = err
			return s.journal.RecordEvent(ctx, s.passcodeFailure(ctx, p, err))
		}
		email, err := s.accounts.CheckClaim(ctx, p.UserID, p.EmailID, r.SessionUser, p.Email)
		if err != nil {
			return err
		}
		if account.NeedsClaim(email, p.UserID) {
			if email, err = s.accounts.Claim(ctx, email, p.UserID); err != nil {
				return err
			}
		}
		out.Result, err = s.complete(ctx, completion{
			userID:  p.UserID,
			known:   &email,
			event:   inkan.EventPasscodeLoginFinalSucceeded,
			amr:     AMRPasscode,
			details: map[string]any{"passcode_id": p.ID.String(), "email_id": p.EmailID.String()},
		})
		return err
	})
	switch {
	case err != nil:
		// Rolled back: the passcode is as it was.
		ev := s.passcodeFailure(ctx, out.Passcode, err)
		return PasscodeResult{}, s.failed(ctx, ev.Type, ev.Actor, err, ev.Details)
	case refused != nil:
		return PasscodeResult{}, refused
	}
	if err := s.sign(ctx, &out.Result); err != nil {
		return PasscodeResult{}, err
	}
	return out, nil
}

// passcodeFailure is the passcode_login_final_failed event of an attempt on
// p (zero when the passcode was not found).
func (s *Service) passcodeFailure(ctx context.Context, p inkan.Passcode, err error) inkan.Event {
	ev := inkan.FailedEvent(ctx, inkan.EventPasscodeLoginFinalFailed, inkan.Actor{UserID: p.UserID}, err, s.now())
	if p.ID != uuid.Nil {
		ev = ev.With("passcode_id", p.ID.String())
	}
	var ra *inkan.RetryAfter
	if errors.As(err, &ra) {
		// The user's budget of wrong codes is spent: the code was
		// refused whatever it was.
		ev = ev.With("limit", ra.Limit).With("retry_after_seconds", int(ra.After.Round(time.Second)/time.Second))
	}
	return ev
}
