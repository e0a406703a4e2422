package store

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// ImportUser inserts u with its addresses, WebAuthn credentials and
// password in one transaction (user import). Each address is assigned to
// u with its Verified flag (an unassigned row with the address is taken
// over) and the one with Primary set becomes primary. It returns false and
// writes nothing when a user with u.ID exists; inkan.ErrConflict (nothing
// written) when an address belongs to another user or a credential id is
// registered.
func (s *Store) ImportUser(ctx context.Context, u inkan.User, emails []inkan.Email, creds []inkan.Credential, pw *inkan.PasswordCredential) (bool, error) {
	created := false
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		created = false
		if ok, err := tx.NewSelect().Model((*userRow)(nil)).Where("u.id = ?", u.ID).Exists(ctx); err != nil || ok {
			return mapErr(err)
		}
		if _, err := s.insertUserWithEmails(ctx, tx, u, emails); err != nil {
			return err
		}
		for _, c := range creds {
			r, err := toCredentialRow(c)
			if err != nil {
				return err
			}
			if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
				return mapErr(err)
			}
		}
		if pw != nil {
			r := passwordRow{ID: pw.ID, UserID: u.ID, Password: pw.Hash, CreatedAt: utc(pw.CreatedAt), UpdatedAt: utc(pw.UpdatedAt)}
			if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
				return mapErr(err)
			}
		}
		created = true
		return nil
	})
	return created, err
}

// AllUsers returns every user, oldest first (created_at, then id).
func (s *Store) AllUsers(ctx context.Context) ([]inkan.User, error) {
	var rows []userRow
	if err := s.idb(ctx).NewSelect().Model(&rows).OrderExpr("u.created_at ASC, u.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.User, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.user())
	}
	return out, nil
}
