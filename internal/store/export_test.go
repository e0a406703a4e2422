package store

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// HoldConns takes n connections from s's pool at once and returns them.
func HoldConns(ctx context.Context, s *Store, n int) error {
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := s.db.DB.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// GetSessionParam reads a session as GetSession does, but through
// parameterized SQL (placeholders, no bun query building), which pgx
// prepares once per connection and caches; the comparison of
// BenchmarkSessionRead.
func GetSessionParam(ctx context.Context, s *Store, id uuid.UUID) (inkan.Session, error) {
	q := "SELECT id, user_id, user_agent, ip_address, created_at, updated_at, last_used, expires_at FROM sessions WHERE id = ?"
	var arg any = id.String()
	if s.dialect == DialectPostgres {
		q = strings.Replace(q, "?", "$1", 1)
		arg = id
	}
	var r sessionRow
	var sid, uid string
	err := s.db.DB.QueryRowContext(ctx, q, arg).Scan(&sid, &uid, &r.UserAgent, &r.IPAddress, &r.CreatedAt, &r.UpdatedAt, &r.LastUsed, &r.ExpiresAt)
	if err != nil {
		return inkan.Session{}, err
	}
	r.ID, r.UserID = uuid.MustParse(sid), uuid.MustParse(uid)
	return r.session(), nil
}

// ExecRaw runs one statement on s's database (bun's ? placeholders), for
// tests that must write what the store's methods no longer write.
func ExecRaw(ctx context.Context, s *Store, q string, args ...any) error {
	_, err := s.db.ExecContext(ctx, q, args...)
	return err
}

// CountRaw runs a SELECT COUNT(*)-shaped query and returns its number.
func CountRaw(ctx context.Context, s *Store, q string, args ...any) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}
