package store

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	args := []any{id.String()}
	if s.dialect == DialectPostgres {
		q = strings.Replace(q, "?", "$1", 1)
		args = []any{pgx.QueryExecModeCacheStatement, id}
	}
	var r sessionRow
	var sid, uid string
	err := s.db.DB.QueryRowContext(ctx, q, args...).Scan(&sid, &uid, &r.UserAgent, &r.IPAddress, &r.CreatedAt, &r.UpdatedAt, &r.LastUsed, &r.ExpiresAt)
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

// SignUpParam writes what CreateUser (an unassigned address) and
// RecordEvent write for one sign-up, in one transaction of the same
// statements, but as parameterized SQL (placeholders, no bun query
// building), which pgx prepares once per connection; the comparison of
// BenchmarkSignUpSQL.
func SignUpParam(ctx context.Context, s *Store, u inkan.User, e inkan.Email, ev inkan.Event) error {
	ph := func(q string) string {
		if s.dialect != DialectPostgres {
			return q
		}
		return dollarPlaceholders(q)
	}
	id := func(v uuid.UUID) any {
		if s.dialect == DialectPostgres {
			return v
		}
		return v.String()
	}
	// On PostgreSQL each statement names the mode that prepares it once
	// per connection (the store's default sends bun's texts unprepared).
	var mode []any
	if s.dialect == DialectPostgres {
		mode = []any{pgx.QueryExecModeCacheStatement}
	}
	with := func(args ...any) []any { return append(append([]any{}, mode...), args...) }
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := utc(u.CreatedAt)
	if _, err := tx.ExecContext(ctx, ph("INSERT INTO users (id, created_at, updated_at, name, given_name, family_name, picture) VALUES (?, ?, ?, NULL, NULL, NULL, NULL)"), with(id(u.ID), t, t)...); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, ph("SELECT COUNT(*) FROM emails AS e LEFT JOIN primary_emails AS pe ON pe.email_id = e.id WHERE e.address = ?"), with(e.Address)...).Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, ph("INSERT INTO emails (id, user_id, address, verified, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?)"), with(id(e.ID), e.Address, false, t, t)...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, ph("INSERT INTO events (id, type, error, actor_user_id, actor_email, audit_actor_email, request_id, client_ip, user_agent, details, created_at) VALUES (?, ?, NULL, ?, ?, NULL, ?, ?, ?, NULL, ?)"),
		with(id(ev.ID), string(ev.Type), id(u.ID), ev.Actor.Email, ev.Request.ID, ev.Request.ClientIP, ev.Request.UserAgent, t)...); err != nil {
		return err
	}
	return tx.Commit()
}

// BackendPID returns the PostgreSQL backend process id of one of s's
// connections (with MaxOpenConns 1, the only one).
func BackendPID(ctx context.Context, s *Store) (int, error) {
	var pid int
	err := s.db.DB.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	return pid, err
}

// WaitingWriters is how many writers wait for s's SQLite write gate.
func WaitingWriters(s *Store) int {
	if s.gate == nil {
		return 0
	}
	return int(s.gate.waiting.Load())
}

// TxIsolation returns the isolation level InnoDB records for the
// transaction ctx carries on MySQL/MariaDB, e.g. "READ COMMITTED" (from
// information_schema.innodb_trx, after a read has started the transaction
// in InnoDB; @@tx_isolation shows only the session's default).
func TxIsolation(ctx context.Context, s *Store) (string, error) {
	var n int
	if err := s.idb(ctx).NewRaw("SELECT COUNT(*) FROM users").Scan(ctx, &n); err != nil {
		return "", err
	}
	// InnoDB refreshes the information_schema copy of its transactions at
	// most every 0.1 s: wait past that, or the row may be this
	// connection's previous transaction.
	time.Sleep(250 * time.Millisecond)
	var level string
	err := s.idb(ctx).NewRaw("SELECT trx_isolation_level FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()").Scan(ctx, &level)
	return level, err
}
