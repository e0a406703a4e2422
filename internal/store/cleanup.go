package store

import (
	"context"
	"time"
)

// Purged counts the rows DeleteExpired removed.
type Purged struct {
	Ceremonies int64 // webauthn_session_data
	Passcodes  int64
	Sessions   int64
}

// DeleteExpired removes the WebAuthn ceremonies, passcodes and sessions
// whose expires_at lies before before (UTC). Nothing else refers to these
// rows once they have expired: a ceremony or passcode past its expiry can
// no longer be finished and a session past it no longer verifies. The
// deletes are independent statements, safe to run on several nodes at
// once.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (Purged, error) {
	var p Purged
	t := utc(before)
	for _, d := range []struct {
		table string
		n     *int64
	}{
		{"webauthn_session_data", &p.Ceremonies},
		{"passcodes", &p.Passcodes},
		{"sessions", &p.Sessions},
	} {
		res, err := s.idb(ctx).NewDelete().TableExpr(d.table).Where("expires_at < ?", t).Exec(ctx)
		if err != nil {
			return p, mapErr(err)
		}
		if *d.n, err = affected(res); err != nil {
			return p, err
		}
	}
	return p, nil
}
