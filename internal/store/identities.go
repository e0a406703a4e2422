package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type identityRow struct {
	bun.BaseModel `bun:"table:identities,alias:i"`
	ID            uuid.UUID `bun:"id,pk"`
	Provider      string    `bun:"provider,notnull"`
	Subject       string    `bun:"subject,notnull"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	EmailID       uuid.UUID `bun:"email_id,nullzero"`
	Data          *string   `bun:"data"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

func (r identityRow) identity() inkan.Identity {
	out := inkan.Identity{
		ID: r.ID, Provider: r.Provider, Subject: r.Subject, UserID: r.UserID, EmailID: r.EmailID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.Data != nil {
		out.Data = []byte(*r.Data)
	}
	return out
}

func toIdentityRow(i inkan.Identity) identityRow {
	r := identityRow{
		ID: i.ID, Provider: i.Provider, Subject: i.Subject, UserID: i.UserID, EmailID: i.EmailID,
		CreatedAt: utc(i.CreatedAt), UpdatedAt: utc(i.UpdatedAt),
	}
	if i.Data != nil {
		s := string(i.Data)
		r.Data = &s
	}
	return r
}

// FindIdentity returns the identity (provider, subject); inkan.ErrNotFound
// when none.
func (s *Store) FindIdentity(ctx context.Context, provider, subject string) (inkan.Identity, error) {
	var r identityRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("i.provider = ? AND i.subject = ?", provider, subject).Limit(1).Scan(ctx); err != nil {
		return inkan.Identity{}, mapErr(err)
	}
	return r.identity(), nil
}

// CreateIdentity inserts i. inkan.ErrConflict when (provider, subject) or
// the id is taken; inkan.ErrNotFound when the user or address is missing.
func (s *Store) CreateIdentity(ctx context.Context, i inkan.Identity) error {
	r := toIdentityRow(i)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	_, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx)
	return mapErr(err)
}

// UpdateIdentity writes i's email_id, data and updated_at (inkan.ErrNotFound
// when the row is gone).
func (s *Store) UpdateIdentity(ctx context.Context, i inkan.Identity) error {
	r := toIdentityRow(i)
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now()
	}
	res, err := s.idb(ctx).NewUpdate().Model(&r).Column("email_id", "data", "updated_at").WherePK().Exec(ctx)
	return oneRow(res, err, "identity")
}

// ListIdentities returns the user's identities, oldest first; an unknown
// user yields an empty list.
func (s *Store) ListIdentities(ctx context.Context, userID uuid.UUID) ([]inkan.Identity, error) {
	var rows []identityRow
	if err := s.idb(ctx).NewSelect().Model(&rows).Where("i.user_id = ?", userID).OrderExpr("i.created_at ASC, i.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Identity, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.identity())
	}
	return out, nil
}
