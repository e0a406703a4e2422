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

// AddEmail adds the (normalised) address e.Address for userID (see
// docs/compatibility.md "E-mail addresses" POST /emails), in one transaction:
//   - the user has limit or more assigned addresses: inkan.ErrStale;
//   - a row with the address is assigned to any user: inkan.ErrConflict;
//   - an unassigned row exists: with e.UserID == userID it is assigned to
//     the user (verified = e.Verified), else it is returned unchanged;
//   - otherwise e is inserted, assigned when e.UserID == userID, else
//     unassigned (awaiting verification).
//
// An address assigned here becomes the user's primary address when the user
// has none (their first address). inkan.ErrNotFound when the user is
// missing. Returns the stored row.
func (s *Store) AddEmail(ctx context.Context, userID uuid.UUID, e inkan.Email, limit int) (inkan.Email, error) {
	if e.UserID != uuid.Nil && e.UserID != userID {
		return inkan.Email{}, errors.New("store: AddEmail: e.UserID must be uuid.Nil or userID")
	}
	assign := e.UserID == userID
	var out inkan.Email
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if exists, err := tx.NewSelect().Model((*userRow)(nil)).Where("u.id = ?", userID).Exists(ctx); err != nil {
			return mapErr(err)
		} else if !exists {
			return fmt.Errorf("%w: user", inkan.ErrNotFound)
		}
		n, err := tx.NewSelect().Model((*emailRow)(nil)).Where("e.user_id = ?", userID).Count(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n >= int64(limit) {
			return fmt.Errorf("%w: e-mail limit of %d reached", inkan.ErrStale, limit)
		}
		t := utc(e.CreatedAt)
		if t.IsZero() {
			t = now()
		}
		existing, err := getEmail(ctx, tx, "e.address = ?", e.Address)
		switch {
		case err == nil && existing.UserID != uuid.Nil:
			return fmt.Errorf("%w: e-mail address is assigned", inkan.ErrConflict)
		case err == nil && !assign:
			out = existing
			return nil
		case err == nil:
			res, err := tx.NewUpdate().Model((*emailRow)(nil)).
				Set("user_id = ?", userID).Set("verified = ?", e.Verified).Set("updated_at = ?", t).
				Where("id = ? AND user_id IS NULL", existing.ID).Exec(ctx)
			if err != nil {
				return mapErr(err)
			}
			if n, err := affected(res); err != nil {
				return err
			} else if n != 1 {
				return fmt.Errorf("%w: e-mail address was claimed concurrently", inkan.ErrConflict)
			}
			if err := s.primaryIfNone(ctx, tx, userID, existing.ID, t); err != nil {
				return err
			}
			out, err = getEmail(ctx, tx, "e.id = ?", existing.ID)
			return err
		case errors.Is(err, inkan.ErrNotFound):
			r := emailRow{ID: e.ID, UserID: e.UserID, Address: e.Address, Verified: e.Verified, CreatedAt: t, UpdatedAt: t}
			if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
				return mapErr(err)
			}
			if assign {
				if err := s.primaryIfNone(ctx, tx, userID, e.ID, t); err != nil {
					return err
				}
			}
			out, err = getEmail(ctx, tx, "e.id = ?", e.ID)
			return err
		default:
			return err
		}
	})
	return out, err
}

// primaryIfNone makes emailID the primary address of userID when the user
// has none. A concurrent transaction of the same user may insert the
// primary row first; that one stays primary and this insert does nothing
// (rather than abort the transaction).
func (s *Store) primaryIfNone(ctx context.Context, tx bun.IDB, userID, emailID uuid.UUID, at time.Time) error {
	has, err := tx.NewSelect().Model((*primaryEmailRow)(nil)).Where("pe.user_id = ?", userID).Exists(ctx)
	if err != nil || has {
		return mapErr(err)
	}
	pr := primaryEmailRow{ID: uuid.New(), EmailID: emailID, UserID: userID, CreatedAt: at, UpdatedAt: at}
	q := tx.NewInsert().Model(&pr)
	if s.dialect == DialectMySQL {
		q = q.Ignore()
	} else {
		q = q.On("CONFLICT (user_id) DO NOTHING")
	}
	_, err = q.Exec(ctx)
	return mapErr(err)
}

// ownEmail fails with inkan.ErrNotFound unless emailID is assigned to
// userID; it returns the row.
func ownEmail(ctx context.Context, tx bun.IDB, userID, emailID uuid.UUID) (inkan.Email, error) {
	e, err := getEmail(ctx, tx, "e.id = ?", emailID)
	if err != nil {
		return inkan.Email{}, err
	}
	if e.UserID != userID {
		return inkan.Email{}, fmt.Errorf("%w: e-mail of another user", inkan.ErrNotFound)
	}
	return e, nil
}

// SetPrimaryEmail makes emailID the primary address of userID (see
// docs/compatibility.md "E-mail addresses"), creating or moving the primary_emails row; setting the current
// primary again is a no-op. inkan.ErrNotFound when the row is missing or not
// assigned to the user.
func (s *Store) SetPrimaryEmail(ctx context.Context, userID, emailID uuid.UUID, at time.Time) error {
	t := utc(at)
	if t.IsZero() {
		t = now()
	}
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := ownEmail(ctx, tx, userID, emailID); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*primaryEmailRow)(nil)).
			Set("email_id = ?", emailID).Set("updated_at = ?", t).Where("user_id = ?", userID).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n, err := affected(res); err != nil || n > 0 {
			return err
		}
		pr := primaryEmailRow{ID: uuid.New(), EmailID: emailID, UserID: userID, CreatedAt: t, UpdatedAt: t}
		_, err = tx.NewInsert().Model(&pr).Exec(ctx)
		return mapErr(err)
	})
}

// DeleteEmail removes the address emailID of userID (docs/compatibility.md "E-mail addresses").
// inkan.ErrNotFound when the row is missing or not assigned to the user;
// inkan.ErrConflict when it is the user's primary address (nothing is
// deleted).
func (s *Store) DeleteEmail(ctx context.Context, userID, emailID uuid.UUID) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		e, err := ownEmail(ctx, tx, userID, emailID)
		if err != nil {
			return err
		}
		if e.Primary {
			return fmt.Errorf("%w: primary e-mail address", inkan.ErrConflict)
		}
		res, err := tx.NewDelete().Model((*emailRow)(nil)).Where("id = ? AND user_id = ?", emailID, userID).Exec(ctx)
		return oneRow(res, err, "email")
	})
}

// DeleteUser removes the user (docs/compatibility.md "Users" DELETE /user). The foreign
// keys cascade to the user's addresses, primary address, passcodes,
// WebAuthn credentials, password and sessions; the user's pending WebAuthn
// ceremonies (no foreign key) are deleted in the same transaction.
// inkan.ErrNotFound when the user is missing.
func (s *Store) DeleteUser(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*ceremonyRow)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
			return mapErr(err)
		}
		if _, err := s.endSessions(ctx, tx, inkan.SessionEndUserDeleted, "user_id = ?", id); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*userRow)(nil)).Where("id = ?", id).Exec(ctx)
		return oneRow(res, err, "user")
	})
}

// RevokeUserAccess deletes every session, passkey and password of the
// user, in one transaction (or the caller's), and reports how many of each
// it removed. Used when an address the account held unverified is verified
// for the first time: whoever signed up or logged in before that proof may
// not own the address.
func (s *Store) RevokeUserAccess(ctx context.Context, userID uuid.UUID) (inkan.AccessRevoked, error) {
	var out inkan.AccessRevoked
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if out.Sessions, err = s.endSessions(ctx, tx, inkan.SessionEndAccessRevoked, "user_id = ?", userID); err != nil {
			return err
		}
		for _, d := range []struct {
			model any
			n     *int64
		}{
			{(*credentialRow)(nil), &out.Passkeys},
			{(*passwordRow)(nil), &out.Passwords},
		} {
			res, err := tx.NewDelete().Model(d.model).Where("user_id = ?", userID).Exec(ctx)
			if err != nil {
				return mapErr(err)
			}
			if *d.n, err = affected(res); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
