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

type passwordRow struct {
	bun.BaseModel `bun:"table:password_credentials,alias:pw"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	Password      string    `bun:"password,notnull"` // encoded hash
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// GetPasswordCredential returns the user's password credential
// (inkan.ErrNotFound when the user has none).
func (s *Store) GetPasswordCredential(ctx context.Context, userID uuid.UUID) (inkan.PasswordCredential, error) {
	var r passwordRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("pw.user_id = ?", userID).Scan(ctx); err != nil {
		return inkan.PasswordCredential{}, mapErr(err)
	}
	return r.credential(), nil
}

func (r passwordRow) credential() inkan.PasswordCredential {
	return inkan.PasswordCredential{ID: r.ID, UserID: r.UserID, Hash: r.Password, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// SetPasswordCredential replaces the hash of the user's credential or, when
// the user has none, inserts one; created reports the insert. One
// transaction; a concurrent first insert loses on the unique user_id and is
// retried as a replace. inkan.ErrNotFound when the user is missing.
func (s *Store) SetPasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (created bool, err error) {
	t := utc(now)
	for attempt := 0; attempt < 2; attempt++ {
		err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.NewUpdate().Model((*passwordRow)(nil)).
				Set("password = ?", hash).Set("updated_at = ?", t).Where("user_id = ?", userID).Exec(ctx)
			if err != nil {
				return mapErr(err)
			}
			if n, err := affected(res); err != nil {
				return err
			} else if n > 0 {
				created = false
				return nil
			}
			r := passwordRow{ID: uuid.New(), UserID: userID, Password: hash, CreatedAt: t, UpdatedAt: t}
			if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
				return mapErr(err)
			}
			created = true
			return nil
		})
		if !errors.Is(err, inkan.ErrConflict) {
			return created, err
		}
	}
	return false, err
}

// ReplacePasswordHash sets the user's hash to newHash only while it is
// still oldHash (conditional update): inkan.ErrStale when it changed or the
// credential is gone.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID uuid.UUID, oldHash, newHash string, now time.Time) error {
	t := utc(now)
	res, err := s.idb(ctx).NewUpdate().Model((*passwordRow)(nil)).
		Set("password = ?", newHash).Set("updated_at = ?", t).
		Where("user_id = ? AND password = ?", userID, oldHash).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	n, err := affected(res)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: password changed", inkan.ErrStale)
	}
	return nil
}
