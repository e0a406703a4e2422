package login

import (
	"context"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/session"
)

// AdminSession mints a session for userID on behalf of the admin API (admin
// POST /sessions of api/admin.yaml): no proof, the operator vouches. The row
// stores userAgent and ipAddress as given (whatever the acquire options),
// and the completion step records login_success with details {"api":
// "admin"}, Hanko's event for it, in the same transaction. The caller
// checks that the user exists; an unknown user is KindInternal here.
func (s *Service) AdminSession(ctx context.Context, userID uuid.UUID, userAgent, ipAddress string) (Result, error) {
	var out Result
	err := s.journal.Atomically(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.complete(ctx, completion{
			userID:  userID,
			event:   inkan.EventLoginSuccess,
			details: map[string]any{"api": "admin"},
			meta:    &session.Meta{IPAddress: ipAddress, UserAgent: userAgent, AsGiven: true},
			// The operator vouches, no method ran: no amr, and no refresh
			// token (the admin API hands out only the JWT).
			noRefreshToken: true,
		})
		return err
	})
	if err == nil {
		err = s.sign(ctx, &out)
	}
	return out, err
}
