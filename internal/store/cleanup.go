package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Purged counts the rows Purge removed.
type Purged struct {
	Ceremonies int64 // webauthn_session_data
	Passcodes  int64
	Sessions   int64
	// Revocations: entries of the revocation list whose token expired.
	Revocations int64
	Signups     int64 // users of unfinished sign-ups
	Emails      int64 // unassigned addresses nobody finished verifying
}

// Cutoffs name, per kind of row, the instant before which Purge deletes it
// (compared in UTC). A zero cutoff deletes nothing of that kind.
type Cutoffs struct {
	// Ceremonies, Passcodes: rows whose expires_at lies before. Sessions:
	// rows whose ends_at lies before (the last token expired and no
	// refresh token keeps them), and revocation-list entries whose
	// expires_at does (their token no longer verifies anywhere).
	Ceremonies, Passcodes, Sessions time.Time
	// Signups: users created before it who never finished signing up —
	// no assigned e-mail address, no passkey, no password, no session, no
	// metadata, and no passcode left (one not yet purged means the sign-up
	// may be finishing right now) — and unassigned e-mail rows created
	// before it that no passcode refers to any more.
	Signups time.Time
}

// Purge deletes what c names. Nothing else refers to these rows: a ceremony
// or passcode past its expiry can no longer be finished, a session past it
// no longer verifies, and an unfinished sign-up has nothing but its
// (expired) passcodes. Every delete is one independent statement, safe to
// run on several nodes at once; the sessions' delete records a
// session_expired event for each session in its transaction (a session
// another node removed meanwhile is recorded once, by that node).
func (s *Store) Purge(ctx context.Context, c Cutoffs) (Purged, error) {
	var p Purged
	for _, d := range []struct {
		table  string
		column string
		before time.Time
		n      *int64
	}{
		{"webauthn_session_data", "expires_at", c.Ceremonies, &p.Ceremonies},
		{"passcodes", "expires_at", c.Passcodes, &p.Passcodes},
		{"session_revocations", "expires_at", c.Sessions, &p.Revocations},
	} {
		if d.before.IsZero() {
			continue
		}
		res, err := s.idb(ctx).NewDelete().TableExpr(d.table).Where("? < ?", bun.Ident(d.column), utc(d.before)).Exec(ctx)
		if err != nil {
			return p, mapErr(err)
		}
		if *d.n, err = affected(res); err != nil {
			return p, err
		}
	}
	if !c.Sessions.IsZero() {
		n, err := s.purgeSessions(ctx, utc(c.Sessions))
		if err != nil {
			return p, err
		}
		p.Sessions = n
	}
	if c.Signups.IsZero() {
		return p, nil
	}
	res, err := s.idb(ctx).NewDelete().TableExpr("users").
		Where("users.created_at < ?", utc(c.Signups)).
		Where("NOT EXISTS (SELECT 1 FROM emails WHERE emails.user_id = users.id)").
		Where("NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE webauthn_credentials.user_id = users.id)").
		Where("NOT EXISTS (SELECT 1 FROM password_credentials WHERE password_credentials.user_id = users.id)").
		Where("NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)").
		Where("NOT EXISTS (SELECT 1 FROM user_metadata WHERE user_metadata.user_id = users.id)").
		Where("NOT EXISTS (SELECT 1 FROM passcodes WHERE passcodes.user_id = users.id)").
		Exec(ctx)
	if err != nil {
		return p, mapErr(err)
	}
	if p.Signups, err = affected(res); err != nil {
		return p, err
	}
	res, err = s.idb(ctx).NewDelete().TableExpr("emails").
		Where("emails.user_id IS NULL AND emails.created_at < ?", utc(c.Signups)).
		Where("NOT EXISTS (SELECT 1 FROM passcodes WHERE passcodes.email_id = emails.id)").
		Exec(ctx)
	if err != nil {
		return p, mapErr(err)
	}
	p.Emails, err = affected(res)
	return p, err
}

// purgeSessions deletes the sessions that expired before cutoff, in
// batches, each batch in one transaction with a session_expired event per
// session it removed; it returns how many.
func (s *Store) purgeSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			n = 0
			var rows []sessionRow
			// ends_at, not expires_at: a refresh token keeps its session
			// alive past the last access token's expiry.
			q := tx.NewSelect().Model(&rows).Column("id", "user_id", "expires_at").
				Where("s.ends_at < ?", cutoff).OrderExpr("s.ends_at ASC").Limit(500)
			if s.dialect != DialectSQLite {
				q = q.For("UPDATE SKIP LOCKED")
			}
			if err := q.Scan(ctx); err != nil || len(rows) == 0 {
				return err
			}
			ids := make([]uuid.UUID, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
				return err
			}
			for _, r := range rows {
				ev := inkan.NewEvent(ctx, inkan.EventSessionExpired, inkan.Actor{UserID: r.UserID}, now()).With("session_id", r.ID.String())
				if err := s.RecordEvent(ctx, ev); err != nil {
					return err
				}
			}
			n = int64(len(rows))
			return nil
		})
		if err != nil {
			return total, mapErr(err)
		}
		total += n
		if n < 500 {
			return total, nil
		}
	}
}
