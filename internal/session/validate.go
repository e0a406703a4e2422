package session

import (
	"context"
	"time"
)

// Validation is the answer to a session check (docs/compatibility.md "Session validation").
type Validation struct {
	Claims Claims
	// IdleExpiresAt is last_used + session.idle_timeout, capped at the
	// token's exp; zero when no idle timeout is configured. UTC.
	IdleExpiresAt time.Time
}

// Validate checks token as Verify (touch = true: POST /sessions/validate
// sets last_used) or Peek (touch = false: GET /sessions/validate leaves it)
// and adds the idle expiry. Errors as Verify: KindUnauthorized for any
// invalid, unknown, revoked, expired or idle-expired token (the idle one is
// deleted), KindInternal for store or key failures.
func (m *Manager) Validate(ctx context.Context, token string, touch bool) (Validation, error) {
	c, s, err := m.verify(ctx, token, touch)
	if err != nil {
		return Validation{}, err
	}
	v := Validation{Claims: c}
	if m.opts.IdleTimeout <= 0 {
		return v, nil
	}
	v.IdleExpiresAt = s.LastUsed.Add(m.opts.IdleTimeout).UTC()
	if v.IdleExpiresAt.After(c.Expiration) {
		v.IdleExpiresAt = c.Expiration
	}
	return v, nil
}
