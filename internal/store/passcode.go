package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type passcodeRow struct {
	bun.BaseModel `bun:"table:passcodes,alias:p"`
	ID            uuid.UUID `bun:"id,pk"`
	UserID        uuid.UUID `bun:"user_id,nullzero"`
	EmailID       uuid.UUID `bun:"email_id,nullzero"`
	CodeHash      []byte    `bun:"code_hash,notnull"`
	TTL           int64     `bun:"ttl,notnull"` // seconds
	TryCount      int       `bun:"try_count,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

// CreatePasscode inserts p (docs/compatibility.md "Passcodes"). TTL is stored in whole seconds.
// inkan.ErrNotFound when its user or e-mail row is missing; inkan.ErrConflict
// when p.ID exists.
func (s *Store) CreatePasscode(ctx context.Context, p inkan.Passcode) error {
	r := passcodeRow{
		ID: p.ID, UserID: p.UserID, EmailID: p.EmailID, CodeHash: p.CodeHash,
		TTL: int64(p.TTL / time.Second), TryCount: p.TryCount,
		CreatedAt: utc(p.CreatedAt), ExpiresAt: utc(p.ExpiresAt),
	}
	_, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx)
	return mapErr(err)
}

// selectPasscode reads a passcode with its address row and whether that
// is its user's primary (queryParam: prepared on PostgreSQL).
const selectPasscode = `SELECT p.id, p.user_id, p.email_id, p.code_hash, p.ttl, p.try_count, p.created_at, p.expires_at,
 e.id AS e_id, e.user_id AS e_user_id, e.address AS e_address, e.verified AS e_verified,
 CASE WHEN pe.id IS NULL THEN 0 ELSE 1 END AS e_primary, e.created_at AS e_created_at, e.updated_at AS e_updated_at
FROM passcodes AS p
LEFT JOIN emails AS e ON e.id = p.email_id
LEFT JOIN primary_emails AS pe ON pe.email_id = e.id
WHERE p.id = ?`

// passcodeEmailRow is one row of selectPasscode.
type passcodeEmailRow struct {
	passcodeRow
	Email joinedEmail `bun:"embed:e_"`
}

// joinedEmail is an address read through a join, its columns named with
// the prefix e_ (profileQuery, selectPasscode), with whether it is its
// user's primary address.
type joinedEmail struct {
	ID        uuid.UUID `bun:"id"`
	UserID    uuid.UUID `bun:"user_id"`
	Address   string    `bun:"address"`
	Verified  bool      `bun:"verified"`
	Primary   bool      `bun:"primary"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (j joinedEmail) email() inkan.Email {
	return emailRow{
		ID: j.ID, UserID: j.UserID, Address: j.Address, Verified: j.Verified, IsPrimary: j.Primary,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}.email()
}

// GetPasscode returns the passcode row (inkan.ErrNotFound when missing)
// with its address row as Email (Primary filled in; nil when the row is
// gone), read in the same statement: a passcode login needs both.
func (s *Store) GetPasscode(ctx context.Context, id uuid.UUID) (inkan.Passcode, error) {
	var rows []passcodeEmailRow
	if err := s.queryParam(ctx, &rows, selectPasscode, id); err != nil {
		return inkan.Passcode{}, mapErr(err)
	}
	if len(rows) == 0 {
		return inkan.Passcode{}, fmt.Errorf("%w: passcode", inkan.ErrNotFound)
	}
	r := rows[0]
	p := inkan.Passcode{
		ID: r.ID, UserID: r.UserID, EmailID: r.EmailID, CodeHash: r.CodeHash,
		TTL: time.Duration(r.TTL) * time.Second, TryCount: r.TryCount,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.Email.ID != uuid.Nil {
		e := r.Email.email()
		p.Email = &e
	}
	return p, nil
}

// IncrementPasscodeTries records one wrong attempt if fewer than max were
// recorded (UPDATE … SET try_count = try_count+1 WHERE id = ? AND try_count
// < max) and returns the count this call wrote. inkan.ErrStale when no row
// matched (dead, consumed or missing).
func (s *Store) IncrementPasscodeTries(ctx context.Context, id uuid.UUID, max int) (int, error) {
	var count int
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*passcodeRow)(nil)).
			Set("try_count = try_count + 1").
			Where("id = ? AND try_count < ?", id, max).Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("%w: passcode is dead or consumed", inkan.ErrStale)
		}
		// The row stays locked by this transaction, so this reads our value.
		return tx.NewSelect().Model((*passcodeRow)(nil)).Column("try_count").Where("p.id = ?", id).Scan(ctx, &count)
	})
	return count, err
}

// ConsumePasscode deletes the passcode if it is still usable (DELETE …
// WHERE id = ? AND try_count < max AND expires_at > now). inkan.ErrStale
// when no row matched: consumed by a concurrent request, dead, expired or
// missing. now is the caller's clock, compared in UTC.
func (s *Store) ConsumePasscode(ctx context.Context, id uuid.UUID, max int, now time.Time) error {
	res, err := s.idb(ctx).NewDelete().Model((*passcodeRow)(nil)).
		Where("id = ? AND try_count < ? AND expires_at > ?", id, max, utc(now)).Exec(ctx)
	if err != nil {
		return mapErr(err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: passcode is consumed, dead or expired", inkan.ErrStale)
	}
	return nil
}

// DeletePasscode removes a passcode unconditionally; a missing row is not
// an error.
func (s *Store) DeletePasscode(ctx context.Context, id uuid.UUID) error {
	_, err := s.idb(ctx).NewDelete().Model((*passcodeRow)(nil)).Where("id = ?", id).Exec(ctx)
	return mapErr(err)
}
