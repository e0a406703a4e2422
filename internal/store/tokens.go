package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type tokenRow struct {
	bun.BaseModel `bun:"table:tokens,alias:tk"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	ValueHash     string    `bun:"value_hash,notnull"`
	Provider      string    `bun:"provider,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

// CreateOneTimeToken inserts t (inkan.ErrNotFound when the user is missing,
// inkan.ErrConflict for a taken hash).
func (s *Store) CreateOneTimeToken(ctx context.Context, t inkan.OneTimeToken) error {
	r := tokenRow{ID: t.ID, UserID: t.UserID, ValueHash: t.ValueHash, Provider: t.Provider, CreatedAt: utc(t.CreatedAt), ExpiresAt: utc(t.ExpiresAt)}
	_, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx)
	return mapErr(err)
}

// ConsumeOneTimeToken uses the token whose value hashes to valueHash: it is
// deleted with a conditional DELETE that only one caller can win, and
// returned. inkan.ErrNotFound when no such token exists (or another caller
// used it first); inkan.ErrStale when it expired at or before now (it is
// left in place: every later attempt is refused the same way, and the
// purge removes it).
func (s *Store) ConsumeOneTimeToken(ctx context.Context, valueHash string, now time.Time) (inkan.OneTimeToken, error) {
	var r tokenRow
	db := s.idb(ctx)
	if err := db.NewSelect().Model(&r).Where("tk.value_hash = ?", valueHash).Limit(1).Scan(ctx); err != nil {
		return inkan.OneTimeToken{}, mapErr(err)
	}
	t := inkan.OneTimeToken{ID: r.ID, UserID: r.UserID, ValueHash: r.ValueHash, Provider: r.Provider, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
	if !now.Before(t.ExpiresAt) {
		return t, fmt.Errorf("%w: one-time token expired", inkan.ErrStale)
	}
	res, err := db.NewDelete().Model((*tokenRow)(nil)).Where("id = ? AND expires_at > ?", r.ID, utc(now)).Exec(ctx)
	return t, oneRow(res, err, "one-time token")
}
