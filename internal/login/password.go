package login

import (
	"context"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Password signs userID in with a password (POST /password/login of
// api/openapi.yaml): password.Service.Login checks it (outside the
// transaction: the hash takes tens of milliseconds and writes only a
// re-hash), then complete runs in one transaction (session, event
// password_login_succeeded). A failure records password_login_failed on
// its own. Errors: KindUnauthorized for an unknown user, a user without a
// password or a wrong one; KindNotFound without password.enabled;
// KindInternal.
func (s *Service) Password(ctx context.Context, userID uuid.UUID, password string) (Result, error) {
	if s.passwords == nil {
		return Result{}, inkan.E(inkan.KindNotFound, "")
	}
	var out Result
	err := s.passwords.Login(ctx, userID, password)
	if err == nil {
		err = s.journal.Atomically(ctx, func(ctx context.Context) error {
			var err error
			out, err = s.complete(ctx, completion{userID: userID, event: inkan.EventPasswordLoginSucceeded, amr: AMRPassword})
			return err
		})
	}
	if err != nil {
		return Result{}, s.failed(ctx, inkan.EventPasswordLoginFailed, inkan.Actor{UserID: userID}, err, nil)
	}
	if err := s.sign(ctx, &out); err != nil {
		return Result{}, err
	}
	return out, nil
}
