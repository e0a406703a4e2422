package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type signingKeyRow struct {
	bun.BaseModel `bun:"table:jwks,alias:k"`
	ID            int64     `bun:"id,pk,autoincrement"`
	KID           string    `bun:"kid,notnull"`
	Algorithm     string    `bun:"algorithm,notnull"`
	KeyData       []byte    `bun:"key_data,notnull"` // sealed private JWK
	CreatedAt     time.Time `bun:"created_at,notnull"`
	RevokedAt     time.Time `bun:"retired_at,nullzero"` // set by RevokeSigningKey
}

// ListSigningKeys returns every stored signing key, oldest (lowest ID)
// first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]inkan.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.idb(ctx).NewSelect().Model(&rows).OrderExpr("k.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.SigningKey, 0, len(rows))
	for _, r := range rows {
		k := inkan.SigningKey{ID: r.ID, KID: r.KID, Algorithm: r.Algorithm, KeyData: r.KeyData, CreatedAt: r.CreatedAt.UTC()}
		if !r.RevokedAt.IsZero() {
			k.RevokedAt = r.RevokedAt.UTC()
		}
		out = append(out, k)
	}
	return out, nil
}

// InsertSigningKey stores k with a database-assigned ID (k.ID is ignored)
// and returns it with ID set. inkan.ErrConflict when k.KID exists.
func (s *Store) InsertSigningKey(ctx context.Context, k inkan.SigningKey) (inkan.SigningKey, error) {
	r := signingKeyRow{KID: k.KID, Algorithm: k.Algorithm, KeyData: k.KeyData, CreatedAt: utc(k.CreatedAt), RevokedAt: utc(k.RevokedAt)}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if _, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx); err != nil {
		return inkan.SigningKey{}, mapErr(err)
	}
	k.ID, k.CreatedAt, k.RevokedAt = r.ID, r.CreatedAt, r.RevokedAt
	return k, nil
}

// ResealSigningKey replaces the sealed key material of key id with
// sealed, if it still is old (UPDATE … WHERE id = ? AND key_data = ?), so
// that two nodes re-sealing at once cannot overwrite a newer value with an
// older one. inkan.ErrStale when no row matched (another node re-sealed it
// first, or the key is gone).
func (s *Store) ResealSigningKey(ctx context.Context, id int64, old, sealed []byte) error {
	res, err := s.idb(ctx).NewUpdate().Model((*signingKeyRow)(nil)).
		Set("key_data = ?", sealed).
		Where("id = ? AND key_data = ?", id, old).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: signing key %d was re-sealed or removed meanwhile", inkan.ErrStale, id)
	}
	return nil
}

// RevokeSigningKey marks the key kid revoked at at (the retired_at
// column), unless it already is. inkan.ErrNotFound when no key has that
// kid; revoking a revoked key again is not an error and keeps the first
// time.
func (s *Store) RevokeSigningKey(ctx context.Context, kid string, at time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*signingKeyRow)(nil)).
		Set("retired_at = ?", utc(at)).
		Where("kid = ? AND retired_at IS NULL", kid).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	n, err := affected(res)
	if err != nil || n == 1 {
		return err
	}
	var count int
	if err := s.idb(ctx).NewSelect().Model((*signingKeyRow)(nil)).ColumnExpr("count(*)").Where("kid = ?", kid).Scan(ctx, &count); err != nil {
		return mapErr(err)
	}
	if count == 0 {
		return fmt.Errorf("%w: no signing key %q", inkan.ErrNotFound, kid)
	}
	return nil
}
