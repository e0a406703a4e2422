package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// likeEscape escapes s for a LIKE pattern whose ESCAPE character is '!'.
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// ListUsers returns one page of the users that own at least one e-mail
// address, filtered by f, ordered by created_at then id (descending unless
// f.Ascending), and the number of users matching f on all pages.
func (s *Store) ListUsers(ctx context.Context, f inkan.UserFilter) ([]inkan.User, int, error) {
	filter := func(q *bun.SelectQuery) *bun.SelectQuery {
		sub := s.idb(ctx).NewSelect().Model((*emailRow)(nil)).ColumnExpr("1").Where("e.user_id = u.id")
		if f.Email != "" {
			sub = sub.Where("e.address LIKE ? ESCAPE '!'", "%"+likeEscape(f.Email)+"%")
		}
		q = q.Where("EXISTS (?)", sub)
		if len(f.IDs) > 0 {
			q = q.Where("u.id IN (?)", bun.List(f.IDs))
		}
		return q
	}
	total, err := filter(s.idb(ctx).NewSelect().Model((*userRow)(nil))).Count(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	dir := "DESC"
	if f.Ascending {
		dir = "ASC"
	}
	var rows []userRow
	err = filter(s.idb(ctx).NewSelect().Model(&rows)).
		OrderExpr("u.created_at " + dir + ", u.id " + dir).
		Offset(int64(f.Offset)).Limit(int64(f.Limit)).Scan(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	out := make([]inkan.User, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.user())
	}
	return out, int(total), nil
}

// CreateUserWithEmails inserts u with the addresses emails in one
// transaction (admin POST /users). Each address is assigned to u with its
// Verified flag; the one with Primary set becomes u's primary address. An
// unassigned row with the same address (an unfinished sign-up) is taken
// over; an assigned one is inkan.ErrConflict, as is a taken user id.
// Nothing is written on error. Returns the stored addresses in the given
// order.
func (s *Store) CreateUserWithEmails(ctx context.Context, u inkan.User, emails []inkan.Email) ([]inkan.Email, error) {
	var out []inkan.Email
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out = out[:0]
		ids, err := s.insertUserWithEmails(ctx, tx, u, emails)
		if err != nil {
			return err
		}
		for _, id := range ids {
			stored, err := getEmail(ctx, tx, "e.id = ?", id)
			if err != nil {
				return err
			}
			out = append(out, stored)
		}
		return nil
	})
	return out, err
}

// insertUserWithEmails inserts u and assigns it the addresses emails (see
// assignAddress), the one with Primary set primary; it returns the
// addresses' row ids in order.
func (s *Store) insertUserWithEmails(ctx context.Context, tx bun.IDB, u inkan.User, emails []inkan.Email) ([]uuid.UUID, error) {
	ur, err := s.insertUser(ctx, u)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(emails))
	for _, e := range emails {
		id, err := assignAddress(ctx, tx, u.ID, e, ur.CreatedAt)
		if err != nil {
			return nil, err
		}
		if e.Primary {
			pr := primaryEmailRow{ID: uuid.New(), EmailID: id, UserID: u.ID, CreatedAt: ur.CreatedAt, UpdatedAt: ur.CreatedAt}
			if _, err := tx.NewInsert().Model(&pr).Exec(ctx); err != nil {
				return nil, mapErr(err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// assignAddress inserts e assigned to userID, or takes over an unassigned
// row with its address; an assigned row is inkan.ErrConflict. It returns
// the row's id.
func assignAddress(ctx context.Context, tx bun.IDB, userID uuid.UUID, e inkan.Email, at time.Time) (uuid.UUID, error) {
	existing, err := getEmail(ctx, tx, "e.address = ?", e.Address)
	switch {
	case err == nil && existing.UserID != uuid.Nil:
		return uuid.Nil, fmt.Errorf("%w: e-mail address is assigned", inkan.ErrConflict)
	case err == nil:
		res, err := tx.NewUpdate().Model((*emailRow)(nil)).
			Set("user_id = ?", userID).Set("verified = ?", e.Verified).Set("updated_at = ?", at).
			Where("id = ? AND user_id IS NULL", existing.ID).Exec(ctx)
		if err != nil {
			return uuid.Nil, mapErr(err)
		}
		if n, err := affected(res); err != nil {
			return uuid.Nil, err
		} else if n != 1 {
			return uuid.Nil, fmt.Errorf("%w: e-mail address was claimed concurrently", inkan.ErrConflict)
		}
		return existing.ID, nil
	case errors.Is(err, inkan.ErrNotFound):
		r := emailRow{ID: e.ID, UserID: userID, Address: e.Address, Verified: e.Verified, CreatedAt: utc(e.CreatedAt), UpdatedAt: utc(e.UpdatedAt)}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = at
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = r.CreatedAt
		}
		if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
			return uuid.Nil, mapErr(err)
		}
		return e.ID, nil
	default:
		return uuid.Nil, err
	}
}

// UpdateUser writes u's profile (name, given_name, family_name, picture)
// and updated_at. inkan.ErrNotFound when the user is missing.
func (s *Store) UpdateUser(ctx context.Context, u inkan.User) error {
	r := toUserRow(u)
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now()
	}
	res, err := s.idb(ctx).NewUpdate().Model(&r).
		Column("name", "given_name", "family_name", "picture", "updated_at").
		WherePK().Exec(ctx)
	return oneRow(res, err, "user")
}

type metadataRow struct {
	bun.BaseModel `bun:"table:user_metadata,alias:md"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	Public        *string   `bun:"public_metadata"`
	Private       *string   `bun:"private_metadata"`
	Unsafe        *string   `bun:"unsafe_metadata"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

func rawOf(p *string) json.RawMessage {
	if p == nil {
		return nil
	}
	return json.RawMessage(*p)
}

func textOf(m json.RawMessage) *string {
	if m == nil {
		return nil
	}
	s := string(m)
	return &s
}

// GetUserMetadata returns the user's metadata (all sections nil when none
// was set). inkan.ErrNotFound when the user is missing.
func (s *Store) GetUserMetadata(ctx context.Context, userID uuid.UUID) (inkan.UserMetadata, error) {
	return userMetadata(ctx, s.idb(ctx), userID)
}

func userMetadata(ctx context.Context, db bun.IDB, userID uuid.UUID) (inkan.UserMetadata, error) {
	if ok, err := db.NewSelect().Model((*userRow)(nil)).Where("u.id = ?", userID).Exists(ctx); err != nil {
		return inkan.UserMetadata{}, mapErr(err)
	} else if !ok {
		return inkan.UserMetadata{}, fmt.Errorf("%w: user", inkan.ErrNotFound)
	}
	var r metadataRow
	err := db.NewSelect().Model(&r).Where("md.user_id = ?", userID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return inkan.UserMetadata{}, nil
	}
	if err != nil {
		return inkan.UserMetadata{}, mapErr(err)
	}
	return inkan.UserMetadata{Public: rawOf(r.Public), Private: rawOf(r.Private), Unsafe: rawOf(r.Unsafe)}, nil
}

// UpdateUserMetadata replaces the user's metadata with update(current) in
// one transaction under a lock on the user row, so that concurrent patches
// apply one after the other; it returns what was stored. An error from
// update is returned as is and nothing is written. inkan.ErrNotFound when
// the user is missing.
func (s *Store) UpdateUserMetadata(ctx context.Context, userID uuid.UUID, at time.Time, update func(inkan.UserMetadata) (inkan.UserMetadata, error)) (inkan.UserMetadata, error) {
	var out inkan.UserMetadata
	t := utc(at)
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		cur, err := userMetadata(ctx, tx, userID)
		if err != nil {
			return err
		}
		if out, err = update(cur); err != nil {
			return err
		}
		r := metadataRow{ID: uuid.New(), UserID: userID, Public: textOf(out.Public), Private: textOf(out.Private), Unsafe: textOf(out.Unsafe), CreatedAt: t, UpdatedAt: t}
		res, err := tx.NewUpdate().Model(&r).Column("public_metadata", "private_metadata", "unsafe_metadata", "updated_at").
			Where("user_id = ?", userID).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n, err := affected(res); err != nil || n > 0 {
			return err
		}
		_, err = tx.NewInsert().Model(&r).Exec(ctx)
		return mapErr(err)
	})
	return out, err
}

// lockUser locks the user row for the rest of the transaction (SQLite's
// BEGIN IMMEDIATE already serialises writers); inkan.ErrNotFound when the
// user is missing.
func (s *Store) lockUser(ctx context.Context, tx bun.Tx, userID uuid.UUID) error {
	q := tx.NewSelect().Model((*userRow)(nil)).Column("u.id").Where("u.id = ?", userID)
	if s.dialect != DialectSQLite {
		q = q.For("UPDATE")
	}
	var locked []uuid.UUID
	if err := q.Scan(ctx, &locked); err != nil {
		return mapErr(err)
	}
	if len(locked) == 0 {
		return fmt.Errorf("%w: user", inkan.ErrNotFound)
	}
	return nil
}

// ListSessions returns the user's sessions that are live at now (ends_at
// after now: the token has not expired, or a refresh token keeps the
// session), newest first (created_at, then id).
func (s *Store) ListSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]inkan.Session, error) {
	var rows []sessionRow
	err := s.idb(ctx).NewSelect().Model(&rows).Where("s.user_id = ? AND s.ends_at > ?", userID, utc(now)).
		OrderExpr("s.created_at DESC, s.id DESC").Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.session())
	}
	return out, nil
}

// DeleteUserSession removes the session sessionID of userID and lists it
// as revoked for why; inkan.ErrNotFound when it is missing or belongs to
// another user.
func (s *Store) DeleteUserSession(ctx context.Context, userID, sessionID uuid.UUID, why inkan.SessionEnd) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := s.endSessions(ctx, tx, why, "id = ? AND user_id = ?", sessionID, userID)
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: session", inkan.ErrNotFound)
		}
		return err
	})
}

// DeleteOtherSessions removes every session of userID but keep and lists
// them as revoked for why; it returns their ids.
func (s *Store) DeleteOtherSessions(ctx context.Context, userID, keep uuid.UUID, why inkan.SessionEnd) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		ids = nil
		if err := tx.NewSelect().Model((*sessionRow)(nil)).Column("id").
			Where("s.user_id = ? AND s.id <> ?", userID, keep).Scan(ctx, &ids); err != nil {
			return mapErr(err)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := s.endSessions(ctx, tx, why, "id IN (?)", bun.List(ids))
		return err
	})
	return ids, err
}

// CreatePasswordCredential inserts the user's password credential with
// hash. inkan.ErrConflict when the user has one; inkan.ErrNotFound when the
// user is missing.
func (s *Store) CreatePasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (inkan.PasswordCredential, error) {
	t := utc(now)
	r := passwordRow{ID: uuid.New(), UserID: userID, Password: hash, CreatedAt: t, UpdatedAt: t}
	if _, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx); err != nil {
		return inkan.PasswordCredential{}, mapErr(err)
	}
	return r.credential(), nil
}

// UpdatePasswordCredential replaces the hash of the user's credential.
// inkan.ErrNotFound when the user has none.
func (s *Store) UpdatePasswordCredential(ctx context.Context, userID uuid.UUID, hash string, now time.Time) (inkan.PasswordCredential, error) {
	res, err := s.idb(ctx).NewUpdate().Model((*passwordRow)(nil)).
		Set("password = ?", hash).Set("updated_at = ?", utc(now)).Where("user_id = ?", userID).Exec(ctx)
	if err := oneRow(res, err, "password"); err != nil {
		return inkan.PasswordCredential{}, err
	}
	return s.GetPasswordCredential(ctx, userID)
}

// DeletePasswordCredential removes the user's password credential;
// inkan.ErrNotFound when the user has none.
func (s *Store) DeletePasswordCredential(ctx context.Context, userID uuid.UUID) error {
	res, err := s.idb(ctx).NewDelete().Model((*passwordRow)(nil)).Where("user_id = ?", userID).Exec(ctx)
	return oneRow(res, err, "password")
}
