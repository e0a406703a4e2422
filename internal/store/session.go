package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	UserAgent     string    `bun:"user_agent,notnull"`
	IPAddress     string    `bun:"ip_address,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	LastUsed      time.Time `bun:"last_used,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

// CreateSession inserts s and then, in the same transaction, deletes the
// user's oldest unexpired sessions (expires_at > s.CreatedAt; ordered by
// created_at, then id) so that at most limit remain (docs/compatibility.md "Issuing a session" step 2).
// limit must be ≥ 1. Each evicted session is recorded as session_evicted
// in the transaction. inkan.ErrNotFound when the user is missing;
// inkan.ErrConflict when s.ID exists. Expired sessions are left to cleanup.
func (s *Store) CreateSession(ctx context.Context, ses inkan.Session, limit int) error {
	if limit < 1 {
		return errors.New("store: CreateSession: limit must be at least 1")
	}
	r := sessionRow{
		ID: ses.ID, UserID: ses.UserID, UserAgent: ses.UserAgent, IPAddress: ses.IPAddress,
		CreatedAt: utc(ses.CreatedAt), UpdatedAt: utc(ses.UpdatedAt), LastUsed: utc(ses.LastUsed), ExpiresAt: utc(ses.ExpiresAt),
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	if r.LastUsed.IsZero() {
		r.LastUsed = r.CreatedAt
	}
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
			return mapErr(err)
		}
		var ids []uuid.UUID
		err := tx.NewSelect().Model((*sessionRow)(nil)).Column("id").
			Where("s.user_id = ? AND s.expires_at > ?", r.UserID, r.CreatedAt).
			OrderExpr("s.created_at DESC, s.id DESC").Scan(ctx, &ids)
		if err != nil {
			return err
		}
		if len(ids) <= limit {
			return nil
		}
		if _, err = tx.NewDelete().Model((*sessionRow)(nil)).Where("id IN (?)", bun.List(ids[limit:])).Exec(ctx); err != nil {
			return err
		}
		// Each eviction is a change of its own kind, recorded with it.
		for _, id := range ids[limit:] {
			ev := inkan.NewEvent(ctx, inkan.EventSessionEvicted, inkan.Actor{UserID: r.UserID}, r.CreatedAt).With("session_id", id.String())
			if err := s.RecordEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSession returns the session row (inkan.ErrNotFound when missing).
func (s *Store) GetSession(ctx context.Context, id uuid.UUID) (inkan.Session, error) {
	var r sessionRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("s.id = ?", id).Scan(ctx); err != nil {
		return inkan.Session{}, mapErr(err)
	}
	return r.session(), nil
}

func (r sessionRow) session() inkan.Session {
	return inkan.Session{
		ID: r.ID, UserID: r.UserID, UserAgent: r.UserAgent, IPAddress: r.IPAddress,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), LastUsed: r.LastUsed.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
}

// TouchSession sets last_used and updated_at to now (inkan.ErrNotFound when
// missing).
func (s *Store) TouchSession(ctx context.Context, id uuid.UUID, now time.Time) error {
	t := utc(now)
	res, err := s.idb(ctx).NewUpdate().Model((*sessionRow)(nil)).
		Set("last_used = ?", t).Set("updated_at = ?", t).Where("id = ?", id).Exec(ctx)
	return oneRow(res, err, "session")
}

// DeleteSession removes the session (inkan.ErrNotFound when missing).
func (s *Store) DeleteSession(ctx context.Context, id uuid.UUID) error {
	res, err := s.idb(ctx).NewDelete().Model((*sessionRow)(nil)).Where("id = ?", id).Exec(ctx)
	return oneRow(res, err, "session")
}

// oneRow maps an UPDATE/DELETE result that must touch one row: no row is
// inkan.ErrNotFound.
func oneRow(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: rows affected: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", inkan.ErrNotFound, what)
	}
	return nil
}
