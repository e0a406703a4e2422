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

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`
	ID            uuid.UUID `bun:"id,pk"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	Name          string    `bun:"name,nullzero"`
	GivenName     string    `bun:"given_name,nullzero"`
	FamilyName    string    `bun:"family_name,nullzero"`
	Picture       string    `bun:"picture,nullzero"`
}

func (r userRow) user() inkan.User {
	return inkan.User{
		ID: r.ID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Name: r.Name, GivenName: r.GivenName, FamilyName: r.FamilyName, Picture: r.Picture,
	}
}

// toUserRow is the row of u, its times in UTC.
func toUserRow(u inkan.User) userRow {
	return userRow{
		ID: u.ID, CreatedAt: utc(u.CreatedAt), UpdatedAt: utc(u.UpdatedAt),
		Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture,
	}
}

type emailRow struct {
	bun.BaseModel `bun:"table:emails,alias:e"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,nullzero"` // NULL while unassigned
	Address       string    `bun:"address,notnull"`
	Verified      bool      `bun:"verified,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	IsPrimary     bool      `bun:"is_primary,scanonly"`
}

func (r emailRow) email() inkan.Email {
	return inkan.Email{
		ID: r.ID, UserID: r.UserID, Address: r.Address, Verified: r.Verified, Primary: r.IsPrimary,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type primaryEmailRow struct {
	bun.BaseModel `bun:"table:primary_emails,alias:pe"`
	ID            uuid.UUID `bun:"id,pk"`
	EmailID       uuid.UUID `bun:"email_id,notnull"`
	UserID        uuid.UUID `bun:"user_id,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// selectEmails is the e-mail query with Primary derived from primary_emails.
func selectEmails(db bun.IDB, rows any) *bun.SelectQuery {
	return db.NewSelect().Model(rows).
		ColumnExpr("e.*").
		ColumnExpr("CASE WHEN pe.id IS NULL THEN 0 ELSE 1 END AS is_primary").
		Join("LEFT JOIN primary_emails AS pe ON pe.email_id = e.id")
}

func getEmail(ctx context.Context, db bun.IDB, where string, arg any) (inkan.Email, error) {
	var r emailRow
	if err := selectEmails(db, &r).Where(where, arg).Limit(1).Scan(ctx); err != nil {
		return inkan.Email{}, mapErr(err)
	}
	return r.email(), nil
}

// GetUser returns the user with the given id (inkan.ErrNotFound when
// missing).
func (s *Store) GetUser(ctx context.Context, id uuid.UUID) (inkan.User, error) {
	var r userRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("u.id = ?", id).Scan(ctx); err != nil {
		return inkan.User{}, mapErr(err)
	}
	return r.user(), nil
}

// FindEmailByAddress returns the e-mail row with the (already normalised)
// address, assigned or not, with Primary filled in; inkan.ErrNotFound when
// none.
func (s *Store) FindEmailByAddress(ctx context.Context, address string) (inkan.Email, error) {
	return getEmail(ctx, s.idb(ctx), "e.address = ?", address)
}

// GetEmail returns one e-mail row by id with Primary filled in
// (inkan.ErrNotFound when missing).
func (s *Store) GetEmail(ctx context.Context, id uuid.UUID) (inkan.Email, error) {
	return getEmail(ctx, s.idb(ctx), "e.id = ?", id)
}

// ListEmails returns the rows assigned to userID, oldest first, with Primary
// filled in; an unknown user yields an empty list.
func (s *Store) ListEmails(ctx context.Context, userID uuid.UUID) ([]inkan.Email, error) {
	var rows []emailRow
	if err := selectEmails(s.idb(ctx), &rows).Where("e.user_id = ?", userID).OrderExpr("e.created_at ASC, e.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Email, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.email())
	}
	return out, nil
}

// PrimaryEmail returns the user's primary address (inkan.ErrNotFound if
// none).
func (s *Store) PrimaryEmail(ctx context.Context, userID uuid.UUID) (inkan.Email, error) {
	return getEmail(ctx, s.idb(ctx), "pe.user_id = ?", userID)
}

// CreateUser inserts u and, in the same transaction, the address e (see
// docs/compatibility.md "Users" POST /users):
//   - an existing assigned row with e.Address: inkan.ErrConflict, nothing written;
//   - an existing unassigned row: reused (its ID is returned);
//   - otherwise e is inserted with its ID.
//
// When e.UserID == u.ID the row is assigned to u, its verified flag set to
// e.Verified and it becomes u's primary address; when e.UserID is uuid.Nil it
// stays unassigned. Any other e.UserID is an error. A taken user id is
// inkan.ErrConflict. Returns the stored row.
//
// The common case, a new address, is one statement on PostgreSQL and two
// elsewhere (insertSignUp); the address is read only when its row exists.
func (s *Store) CreateUser(ctx context.Context, u inkan.User, e inkan.Email) (inkan.Email, error) {
	if e.UserID != uuid.Nil && e.UserID != u.ID {
		return inkan.Email{}, errors.New("store: CreateUser: e.UserID must be uuid.Nil or u.ID")
	}
	ur := newUserRow(u)
	er := emailRow{ID: e.ID, UserID: e.UserID, Address: e.Address, Verified: e.Verified,
		CreatedAt: utc(e.CreatedAt), UpdatedAt: utc(e.UpdatedAt), IsPrimary: e.UserID != uuid.Nil}
	if er.CreatedAt.IsZero() {
		er.CreatedAt = ur.CreatedAt
	}
	if er.UpdatedAt.IsZero() {
		er.UpdatedAt = er.CreatedAt
	}
	var out inkan.Email
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		inserted, err := s.insertSignUp(ctx, ur, er)
		if err != nil {
			return err
		}
		emailID := er.ID
		if !inserted {
			existing, err := getEmail(ctx, tx, "e.address = ?", e.Address)
			switch {
			case errors.Is(err, inkan.ErrNotFound):
				// Deleted between the insert and this read.
				return fmt.Errorf("%w: e-mail address changed concurrently", inkan.ErrConflict)
			case err != nil:
				return err
			case existing.UserID != uuid.Nil:
				return fmt.Errorf("%w: e-mail address is assigned", inkan.ErrConflict)
			}
			emailID = existing.ID
			if e.UserID == uuid.Nil {
				out = existing
				return nil
			}
			res, err := tx.NewUpdate().Model((*emailRow)(nil)).
				Set("user_id = ?", u.ID).Set("verified = ?", e.Verified).Set("updated_at = ?", ur.CreatedAt).
				Where("id = ? AND user_id IS NULL", existing.ID).Exec(ctx)
			if err != nil {
				return mapErr(err)
			}
			if n, err := affected(res); err != nil {
				return err
			} else if n != 1 {
				return fmt.Errorf("%w: e-mail address was claimed concurrently", inkan.ErrConflict)
			}
		}
		if e.UserID != uuid.Nil {
			pr := primaryEmailRow{ID: uuid.New(), EmailID: emailID, UserID: u.ID, CreatedAt: ur.CreatedAt, UpdatedAt: ur.CreatedAt}
			if _, err := tx.NewInsert().Model(&pr).Exec(ctx); err != nil {
				return mapErr(err)
			}
		}
		if inserted {
			// The row as written (times are already in the stored
			// precision): no read back.
			out = er.email()
			return nil
		}
		out, err = getEmail(ctx, tx, "e.id = ?", emailID)
		return err
	})
	return out, err
}

// The sign-up's statements (execParam: prepared on PostgreSQL). On
// PostgreSQL the user and the address go in one statement (a
// data-modifying WITH: both rows or, on an error, neither), and an existing
// address makes the address insert a no-op (ON CONFLICT DO NOTHING), so
// the transaction stays usable for the existing-row rules. SQLite has the
// same ON CONFLICT clause but no INSERT inside WITH. MySQL has neither: its
// address insert fails with a duplicate key, which there ends only the
// statement, not the transaction.
const (
	insertUserRow     = `INSERT INTO users (id, created_at, updated_at, name, given_name, family_name, picture) VALUES (?, ?, ?, ?, ?, ?, ?)`
	insertEmailRow    = `INSERT INTO emails (id, user_id, address, verified, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`
	onAddressConflict = ` ON CONFLICT (address) DO NOTHING`
	pgInsertSignUp    = `WITH u AS (` + insertUserRow + `) ` + insertEmailRow + onAddressConflict
)

// insertSignUp inserts the user row ur and the address row er (unassigned
// when er.UserID is uuid.Nil) in ctx's transaction, and reports whether the
// address row was written: false when a row with er.Address already
// exists (then only the user row is written). A taken user id is
// inkan.ErrConflict.
func (s *Store) insertSignUp(ctx context.Context, ur userRow, er emailRow) (bool, error) {
	userArgs := []any{ur.ID, ur.CreatedAt, ur.UpdatedAt, orNull(ur.Name), orNull(ur.GivenName), orNull(ur.FamilyName), orNull(ur.Picture)}
	emailArgs := []any{er.ID, orNull(er.UserID), er.Address, er.Verified, er.CreatedAt, er.UpdatedAt}
	if s.dialect == DialectPostgres {
		res, err := s.execParam(ctx, pgInsertSignUp, append(userArgs, emailArgs...)...)
		if err != nil {
			return false, mapErr(err)
		}
		n, err := affected(res)
		return n == 1, err
	}
	if _, err := s.execParam(ctx, insertUserRow, userArgs...); err != nil {
		return false, mapErr(err)
	}
	q := insertEmailRow
	if s.dialect == DialectSQLite {
		q += onAddressConflict
	}
	res, err := s.execParam(ctx, q, emailArgs...)
	if err != nil {
		if err = mapErr(err); errors.Is(err, inkan.ErrConflict) && s.dialect == DialectMySQL {
			return false, nil
		}
		return false, err
	}
	n, err := affected(res)
	return n == 1, err
}

// newUserRow is u's row with created_at now when zero and updated_at
// created_at when zero.
func newUserRow(u inkan.User) userRow {
	ur := toUserRow(u)
	if ur.CreatedAt.IsZero() {
		ur.CreatedAt = now()
	}
	if ur.UpdatedAt.IsZero() {
		ur.UpdatedAt = ur.CreatedAt
	}
	return ur
}

// insertUser inserts u (created_at now when zero, updated_at created_at
// when zero), in ctx's transaction, and returns the row written. A taken
// id is inkan.ErrConflict.
func (s *Store) insertUser(ctx context.Context, u inkan.User) (userRow, error) {
	ur := newUserRow(u)
	_, err := s.execParam(ctx, insertUserRow, ur.ID, ur.CreatedAt, ur.UpdatedAt,
		orNull(ur.Name), orNull(ur.GivenName), orNull(ur.FamilyName), orNull(ur.Picture))
	return ur, mapErr(err)
}

// ClaimEmail assigns the e-mail row emailID to userID, marks it verified
// and, when the user has no primary address yet, makes it primary — in one
// transaction. inkan.ErrNotFound when the row or the user is missing;
// inkan.ErrConflict when the row belongs to another user; inkan.ErrStale
// when limit > 0 and the user already owns limit other addresses
// (email.limit, counted under a lock on the user row so concurrent claims
// cannot pass it). Claiming a row the user already owns only marks it
// verified.
func (s *Store) ClaimEmail(ctx context.Context, emailID, userID uuid.UUID, limit int) (inkan.Email, error) {
	var out inkan.Email
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Lock the user row, so that concurrent claims for one user count
		// their addresses one after the other.
		if err := s.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if limit > 0 {
			owned, err := tx.NewSelect().Model((*emailRow)(nil)).
				Where("e.user_id = ? AND e.id <> ?", userID, emailID).Count(ctx)
			if err != nil {
				return mapErr(err)
			}
			if owned >= int64(limit) {
				return fmt.Errorf("%w: the user owns %d addresses (email.limit %d)", inkan.ErrStale, owned, limit)
			}
		}
		t := now()
		res, err := tx.NewUpdate().Model((*emailRow)(nil)).
			Set("user_id = ?", userID).Set("verified = ?", true).Set("updated_at = ?", t).
			Where("id = ? AND (user_id IS NULL OR user_id = ?)", emailID, userID).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n != 1 {
			if _, err := getEmail(ctx, tx, "e.id = ?", emailID); err != nil {
				return err // ErrNotFound
			}
			return fmt.Errorf("%w: e-mail address belongs to another user", inkan.ErrConflict)
		}
		if err := s.primaryIfNone(ctx, tx, userID, emailID, t); err != nil {
			return err
		}
		out, err = getEmail(ctx, tx, "e.id = ?", emailID)
		return err
	})
	return out, err
}

// FindOwner returns the e-mail row with the (already normalised) address,
// assigned or not, with Primary filled in, and whether its user has a
// WebAuthn credential (false for an unassigned row); inkan.ErrNotFound
// when none. One statement: POST /user's whole database work
// (docs/performance.md "Budgets").
func (s *Store) FindOwner(ctx context.Context, address string) (inkan.Email, bool, error) {
	var rows []struct {
		emailRow      `bun:",extend"`
		HasCredential bool `bun:"has_credential,scanonly"`
	}
	if err := s.queryParam(ctx, &rows, findOwner, address); err != nil {
		return inkan.Email{}, false, mapErr(err)
	}
	if len(rows) == 0 {
		return inkan.Email{}, false, fmt.Errorf("%w: e-mail address", inkan.ErrNotFound)
	}
	return rows[0].email(), rows[0].HasCredential, nil
}

// findOwner is POST /user's one statement (queryParam: prepared on
// PostgreSQL, so a look-up is not planned again).
const findOwner = `SELECT e.id, e.user_id, e.address, e.verified, e.created_at, e.updated_at,
 CASE WHEN pe.id IS NULL THEN 0 ELSE 1 END AS is_primary,
 CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials AS c WHERE c.user_id = e.user_id) THEN 1 ELSE 0 END AS has_credential
FROM emails AS e LEFT JOIN primary_emails AS pe ON pe.email_id = e.id
WHERE e.address = ? LIMIT 1`
