package store

import (
	"context"
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
	RetiredAt     time.Time `bun:"retired_at,nullzero"`
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
		if !r.RetiredAt.IsZero() {
			k.RetiredAt = r.RetiredAt.UTC()
		}
		out = append(out, k)
	}
	return out, nil
}

// InsertSigningKey stores k with a database-assigned ID (k.ID is ignored)
// and returns it with ID set. inkan.ErrConflict when k.KID exists.
func (s *Store) InsertSigningKey(ctx context.Context, k inkan.SigningKey) (inkan.SigningKey, error) {
	r := signingKeyRow{KID: k.KID, Algorithm: k.Algorithm, KeyData: k.KeyData, CreatedAt: utc(k.CreatedAt), RetiredAt: utc(k.RetiredAt)}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if _, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx); err != nil {
		return inkan.SigningKey{}, mapErr(err)
	}
	k.ID, k.CreatedAt, k.RetiredAt = r.ID, r.CreatedAt, r.RetiredAt
	return k, nil
}
