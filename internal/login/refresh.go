package login

import (
	"context"
)

// Refresh exchanges a refresh token for a new session token and the
// token's successor (POST /sessions/refresh of api/openapi.yaml): the
// rotation, reuse detection and their writes are session.Manager.Refresh's;
// here the new JWT gets the user's current primary address as its email
// claim and the session's amr. The session keeps its id, so it is not a new
// sign-in and records no *_succeeded event; a revocation for reuse records
// session_revoked in the transaction that revokes. Errors:
// KindUnauthorized (unknown, expired, idle, reused or revoked token),
// KindNotFound when refresh tokens are off, KindInternal.
func (s *Service) Refresh(ctx context.Context, token string) (Result, error) {
	r, err := s.sessions.Refresh(ctx, token)
	if err != nil {
		return Result{}, err
	}
	res := Result{UserID: r.Session.UserID, RefreshToken: r.RefreshToken, RefreshExpiresAt: r.RefreshExpiresAt}
	if e, ok, err := s.accounts.PrimaryEmail(ctx, r.Session.UserID); err != nil {
		return Result{}, err
	} else if ok {
		res.Email = &e
	}
	res.Token, res.Claims, err = s.sessions.Sign(ctx, r.Session, res.Email)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}
