package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	AMR           string    `bun:"amr,notnull"`
	EndsAt        time.Time `bun:"ends_at,notnull"`
	RefreshHash   []byte    `bun:"refresh_hash,nullzero"`
	RefreshGen    int64     `bun:"refresh_generation,notnull"`
	RefreshAt     time.Time `bun:"refresh_rotated_at,nullzero"`
	RefreshEnd    time.Time `bun:"refresh_expires_at,nullzero"`
}

// revocationRow is an entry of the revocation list (GET /sessions/revoked).
type revocationRow struct {
	bun.BaseModel `bun:"table:session_revocations,alias:sr"`
	SessionID     uuid.UUID `bun:"session_id,pk"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
	RevokedAt     time.Time `bun:"revoked_at,notnull"`
	Reason        string    `bun:"reason,notnull"`
}

func newSessionRow(ses inkan.Session) sessionRow {
	r := sessionRow{
		ID: ses.ID, UserID: ses.UserID, UserAgent: ses.UserAgent, IPAddress: ses.IPAddress,
		CreatedAt: utc(ses.CreatedAt), UpdatedAt: utc(ses.UpdatedAt), LastUsed: utc(ses.LastUsed), ExpiresAt: utc(ses.ExpiresAt),
		AMR: strings.Join(ses.AMR, ","), EndsAt: utc(ses.EndsAt),
	}
	if r.EndsAt.IsZero() || r.EndsAt.Before(r.ExpiresAt) {
		r.EndsAt = r.ExpiresAt
	}
	if f := ses.Refresh; f != nil {
		r.RefreshHash, r.RefreshGen, r.RefreshAt, r.RefreshEnd = f.Hash, f.Generation, utc(f.RotatedAt), utc(f.ExpiresAt)
	}
	return r
}

// CreateSession inserts s and then, in the same transaction, ends the
// user's oldest live sessions (ends_at > s.CreatedAt; ordered by
// created_at, then id) so that at most limit remain (docs/compatibility.md "Issuing a session" step 2),
// listing them as revoked with reason inkan.SessionEndLimit and recording
// each as session_evicted in the transaction.
// limit must be ≥ 1. inkan.ErrNotFound when the user is missing;
// inkan.ErrConflict when s.ID exists. Expired sessions are left to cleanup.
func (s *Store) CreateSession(ctx context.Context, ses inkan.Session, limit int) error {
	if limit < 1 {
		return errors.New("store: CreateSession: limit must be at least 1")
	}
	r := newSessionRow(ses)
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
		evict, err := s.insertSession(ctx, r, limit)
		if err != nil {
			return err
		}
		if len(evict) == 0 {
			return nil
		}
		if _, err = s.endSessions(ctx, tx, inkan.SessionEndLimit, "id IN (?)", bun.List(evict)); err != nil {
			return err
		}
		// Each eviction is a change of its own kind, recorded with it.
		for _, id := range evict {
			ev := inkan.NewEvent(ctx, inkan.EventSessionEvicted, inkan.Actor{UserID: r.UserID}, r.CreatedAt).With("session_id", id.String())
			if err := s.RecordEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// The statements of a new session (execParam and queryParam: prepared on
// PostgreSQL). On PostgreSQL the insert and the read of the user's other
// live sessions are one statement: the WITH's insert is not visible to the
// outer SELECT (one snapshot for the whole statement), so the sessions
// beyond the limit are those after the first limit-1 others.
const (
	insertSessionRow = `INSERT INTO sessions (id, user_id, user_agent, ip_address, created_at, updated_at, last_used, expires_at, amr, ends_at, refresh_hash, refresh_generation, refresh_rotated_at, refresh_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	liveSessions     = `SELECT id FROM sessions WHERE user_id = ? AND ends_at > ? ORDER BY created_at DESC, id DESC`
	pgInsertSession  = `WITH ins AS (` + insertSessionRow + `) ` + liveSessions + ` OFFSET ?`
)

// insertSession inserts r in ctx's transaction and returns the ids of the
// user's live sessions (ends_at after r's creation) beyond the newest
// limit, r counted as the newest: the ones the limit evicts, oldest last.
// inkan.ErrNotFound when the user is missing, inkan.ErrConflict when r.ID
// exists.
func (s *Store) insertSession(ctx context.Context, r sessionRow, limit int) ([]uuid.UUID, error) {
	var hash any // NULL without a refresh token
	if len(r.RefreshHash) > 0 {
		hash = r.RefreshHash
	}
	args := []any{r.ID, r.UserID, r.UserAgent, r.IPAddress, r.CreatedAt, r.UpdatedAt, r.LastUsed, r.ExpiresAt, r.AMR, r.EndsAt,
		hash, r.RefreshGen, orNull(r.RefreshAt), orNull(r.RefreshEnd)}
	var rows []struct {
		ID uuid.UUID `bun:"id"`
	}
	if s.dialect == DialectPostgres {
		if err := s.queryParam(ctx, &rows, pgInsertSession, append(args, r.UserID, r.CreatedAt, limit-1)...); err != nil {
			return nil, mapErr(err)
		}
	} else {
		if _, err := s.execParam(ctx, insertSessionRow, args...); err != nil {
			return nil, mapErr(err)
		}
		if err := s.queryParam(ctx, &rows, liveSessions, r.UserID, r.CreatedAt); err != nil {
			return nil, mapErr(err)
		}
		rows = rows[min(limit, len(rows)):]
	}
	ids := make([]uuid.UUID, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	return ids, nil
}

// selectSession reads one session row (queryParam: prepared on
// PostgreSQL, it is the read of every authenticated request).
const selectSession = `SELECT id, user_id, user_agent, ip_address, created_at, updated_at, last_used, expires_at, amr, ends_at, refresh_hash, refresh_generation, refresh_rotated_at, refresh_expires_at FROM sessions WHERE id = ?`

// GetSession returns the session row (inkan.ErrNotFound when missing).
func (s *Store) GetSession(ctx context.Context, id uuid.UUID) (inkan.Session, error) {
	var rows []sessionRow
	if err := s.queryParam(ctx, &rows, selectSession, id); err != nil {
		return inkan.Session{}, mapErr(err)
	}
	if len(rows) == 0 {
		return inkan.Session{}, fmt.Errorf("%w: session", inkan.ErrNotFound)
	}
	return rows[0].session(), nil
}

func (r sessionRow) session() inkan.Session {
	out := inkan.Session{
		ID: r.ID, UserID: r.UserID, UserAgent: r.UserAgent, IPAddress: r.IPAddress,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), LastUsed: r.LastUsed.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		EndsAt: r.EndsAt.UTC(),
	}
	if r.AMR != "" {
		out.AMR = strings.Split(r.AMR, ",")
	}
	if len(r.RefreshHash) > 0 {
		out.Refresh = &inkan.RefreshState{Hash: r.RefreshHash, Generation: r.RefreshGen, RotatedAt: r.RefreshAt.UTC(), ExpiresAt: r.RefreshEnd.UTC()}
	}
	return out
}

// TouchSession sets last_used and updated_at to now (inkan.ErrNotFound when
// missing).
func (s *Store) TouchSession(ctx context.Context, id uuid.UUID, now time.Time) error {
	t := utc(now)
	res, err := s.idb(ctx).NewUpdate().Model((*sessionRow)(nil)).
		Set("last_used = ?", t).Set("updated_at = ?", t).Where("id = ?", id).Exec(ctx)
	return oneRow(res, err, "session")
}

// DeleteSession removes the session and lists it as revoked for why
// (inkan.ErrNotFound when missing).
func (s *Store) DeleteSession(ctx context.Context, id uuid.UUID, why inkan.SessionEnd) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := s.endSessions(ctx, tx, why, "id = ?", id)
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: session", inkan.ErrNotFound)
		}
		return err
	})
}

// endSessions removes the sessions matching where (a condition on the
// sessions table's own columns that names sessions by id, so that the two
// statements see the same rows) and first lists them in
// session_revocations with reason why and their expires_at, so that
// offline verifiers learn of it (GET /sessions/revoked). It returns how
// many rows it removed. Call it inside a transaction.
//
// On PostgreSQL both are one statement: the DELETE … RETURNING feeds the
// revocation insert, and the statement returns the rows deleted.
func (s *Store) endSessions(ctx context.Context, tx bun.IDB, why inkan.SessionEnd, where string, args ...any) (int64, error) {
	if s.dialect == DialectPostgres {
		q := "WITH d AS (DELETE FROM sessions WHERE " + where + " RETURNING id, user_id, expires_at)," +
			" r AS (INSERT INTO session_revocations (session_id, user_id, expires_at, revoked_at, reason)" +
			" SELECT id, user_id, expires_at, ?, ? FROM d ON CONFLICT DO NOTHING)" +
			" SELECT count(*) FROM d"
		var n int64
		if err := tx.NewRaw(q, append(append([]any{}, args...), now(), string(why))...).Scan(ctx, &n); err != nil {
			return 0, mapErr(err)
		}
		return n, nil
	}
	insert, conflict := "INSERT INTO", " ON CONFLICT DO NOTHING"
	if s.dialect == DialectMySQL {
		insert, conflict = "INSERT IGNORE INTO", ""
	}
	q := insert + " session_revocations (session_id, user_id, expires_at, revoked_at, reason)" +
		" SELECT id, user_id, expires_at, ?, ? FROM sessions WHERE " + where + conflict
	if _, err := tx.NewRaw(q, append([]any{now(), string(why)}, args...)...).Exec(ctx); err != nil {
		return 0, mapErr(err)
	}
	res, err := tx.NewDelete().Model((*sessionRow)(nil)).Where(where, args...).Exec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	return affected(res)
}

// RevokedSessions returns the revocation list: the sessions removed before
// the last token issued for them expired, whose expires_at is after now,
// soonest expiry first (GET /sessions/revoked of api/openapi.yaml).
func (s *Store) RevokedSessions(ctx context.Context, now time.Time) ([]inkan.RevokedSession, error) {
	var rows []revocationRow
	err := s.idb(ctx).NewSelect().Model(&rows).Column("session_id", "expires_at", "reason").
		Where("sr.expires_at > ?", utc(now)).OrderExpr("sr.expires_at ASC, sr.session_id ASC").Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.RevokedSession, len(rows))
	for i, r := range rows {
		out[i] = inkan.RevokedSession{SessionID: r.SessionID, ExpiresAt: r.ExpiresAt.UTC(), Reason: inkan.SessionEnd(r.Reason)}
	}
	return out, nil
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

// RotateRefresh replaces the refresh token of session id when its
// generation is still fromGeneration: one conditional UPDATE (the use-once
// rule of docs/compatibility.md "Refresh tokens and signed-in devices"), so
// of two nodes rotating the same token only one changes the row. It sets
// the refresh state to next, expires_at, ends_at, last_used and updated_at
// (next.RotatedAt). inkan.ErrConflict when the row exists but its
// generation moved; inkan.ErrNotFound when the session is gone.
func (s *Store) RotateRefresh(ctx context.Context, id uuid.UUID, fromGeneration int64, next inkan.RefreshState, expiresAt, endsAt time.Time) error {
	t := utc(next.RotatedAt)
	res, err := s.idb(ctx).NewUpdate().Model((*sessionRow)(nil)).
		Set("refresh_hash = ?", next.Hash).
		Set("refresh_generation = ?", next.Generation).
		Set("refresh_rotated_at = ?", t).
		Set("refresh_expires_at = ?", utc(next.ExpiresAt)).
		Set("expires_at = ?", utc(expiresAt)).
		Set("ends_at = ?", utc(endsAt)).
		Set("last_used = ?", t).
		Set("updated_at = ?", t).
		Where("id = ? AND refresh_generation = ?", id, fromGeneration).Exec(ctx)
	if err := oneRow(res, err, "session"); !errors.Is(err, inkan.ErrNotFound) {
		return err
	}
	exists, err := s.idb(ctx).NewSelect().Model((*sessionRow)(nil)).Where("s.id = ?", id).Exists(ctx)
	if err != nil {
		return mapErr(err)
	}
	if exists {
		return fmt.Errorf("%w: refresh token already rotated", inkan.ErrConflict)
	}
	return fmt.Errorf("%w: session", inkan.ErrNotFound)
}
