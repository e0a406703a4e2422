package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.up.sql and .down.sql.
//
//go:embed migrations
var migrationFiles embed.FS

// Migration is one schema migration and whether it is applied.
type Migration struct {
	Name      string    // e.g. "0001_init": the file name without .up.sql
	Applied   bool      // recorded in schema_migrations
	AppliedAt time.Time // UTC; zero when not applied
}

// migrationRow is a row of schema_migrations, written only after the
// migration's statements succeeded.
type migrationRow struct {
	bun.BaseModel `bun:"table:schema_migrations"`
	Name          string    `bun:"name,pk"`
	AppliedAt     time.Time `bun:"applied_at,notnull"`
}

// migrationNames lists the embedded migrations of the store's dialect in
// order (file names sort by their numeric prefix).
func (s *Store) migrationNames() ([]string, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations/"+s.dialect)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".up.sql"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// statements reads one migration file and splits it into statements at
// semicolons that end a line. Migration files keep semicolons out of
// literals and comments, so no SQL is parsed or rewritten.
func (s *Store) statements(name, direction string) ([]string, error) {
	b, err := migrationFiles.ReadFile(path.Join("migrations", s.dialect, name+"."+direction+".sql"))
	if err != nil {
		return nil, fmt.Errorf("store: read migration %s: %w", name, err)
	}
	var out []string
	for _, chunk := range strings.Split(string(b), ";\n") {
		var keep []string
		for _, line := range strings.Split(chunk, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				keep = append(keep, line)
			}
		}
		if stmt := strings.TrimSuffix(strings.TrimSpace(strings.Join(keep, "\n")), ";"); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out, nil
}

// withMigrationLock runs fn on one dedicated connection while holding the
// dialect's migration lock: pg_advisory_lock on PostgreSQL, GET_LOCK on
// MySQL, an exclusive flock on "<dbfile>.lock" on SQLite. It also makes sure
// schema_migrations exists.
func (s *Store) withMigrationLock(ctx context.Context, fn func(conn bun.Conn) error) (err error) {
	if s.dialect == DialectSQLite {
		f, err := os.OpenFile(s.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("store: open migration lock: %w", err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migration connection: %w", err)
	}
	defer conn.Close()
	switch s.dialect {
	case DialectPostgres:
		// The key is an arbitrary constant naming inkan's migrations.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7213900401)"); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7213900401)"); uerr != nil && err == nil {
				err = fmt.Errorf("store: migration unlock: %w", uerr)
			}
		}()
	case DialectMySQL:
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('inkan_migrate', 600)").Scan(&got); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		if !got.Valid || got.Int64 != 1 {
			return errors.New("store: migration lock: GET_LOCK timed out")
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('inkan_migrate')"); uerr != nil && err == nil {
				err = fmt.Errorf("store: migration unlock: %w", uerr)
			}
		}()
	}
	if _, err := conn.NewCreateTable().Model((*migrationRow)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return fn(conn)
}

// applied returns the recorded migrations by name.
func applied(ctx context.Context, conn bun.IDB) (map[string]time.Time, error) {
	var rows []migrationRow
	if err := conn.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	m := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		m[r.Name] = r.AppliedAt.UTC()
	}
	return m, nil
}

// runMigration executes the statements of one migration file and records
// (up) or removes (down) its schema_migrations row. On PostgreSQL and SQLite
// it all happens in one transaction; MySQL commits DDL implicitly, so there
// the row is written after the last statement succeeded.
func (s *Store) runMigration(ctx context.Context, conn bun.Conn, name, direction string) error {
	stmts, err := s.statements(name, direction)
	if err != nil {
		return err
	}
	record := func(ctx context.Context, db bun.IDB) error {
		if direction == "up" {
			_, err := db.NewInsert().Model(&migrationRow{Name: name, AppliedAt: now()}).Exec(ctx)
			return err
		}
		_, err := db.NewDelete().Model((*migrationRow)(nil)).Where("name = ?", name).Exec(ctx)
		return err
	}
	if s.dialect == DialectMySQL {
		for _, st := range stmts {
			if _, err := conn.Conn.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("store: migration %s %s: %w", name, direction, err)
			}
		}
		if err := record(ctx, conn); err != nil {
			return fmt.Errorf("store: record migration %s: %w", name, err)
		}
		return nil
	}
	return conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, st := range stmts {
			if _, err := tx.Tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("store: migration %s %s: %w", name, direction, err)
			}
		}
		if err := record(ctx, tx); err != nil {
			return fmt.Errorf("store: record migration %s: %w", name, err)
		}
		return nil
	})
}

// withMigrations runs fn under the migration lock with the dialect's
// embedded migration names (oldest first) and the applied ones with their
// times, read after the lock was taken.
func (s *Store) withMigrations(ctx context.Context, fn func(conn bun.Conn, names []string, have map[string]time.Time) error) error {
	names, err := s.migrationNames()
	if err != nil {
		return err
	}
	return s.withMigrationLock(ctx, func(conn bun.Conn) error {
		have, err := applied(ctx, conn)
		if err != nil {
			return err
		}
		return fn(conn, names, have)
	})
}

// MigrateUp applies every pending migration in order, under the migration
// lock, and returns the names applied by this call (empty when the schema
// was current). A concurrent caller waits for the lock and then finds
// nothing left to do.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) {
	var done []string
	err := s.withMigrations(ctx, func(conn bun.Conn, names []string, have map[string]time.Time) error {
		for _, n := range names {
			if _, ok := have[n]; ok {
				continue
			}
			if err := s.runMigration(ctx, conn, n, "up"); err != nil {
				return err
			}
			done = append(done, n)
		}
		return nil
	})
	return done, err
}

// MigrateDown reverts the last steps applied migrations, newest first, and
// returns their names. steps < 1 reverts nothing.
func (s *Store) MigrateDown(ctx context.Context, steps int) ([]string, error) {
	var done []string
	err := s.withMigrations(ctx, func(conn bun.Conn, names []string, have map[string]time.Time) error {
		for i := len(names) - 1; i >= 0 && len(done) < steps; i-- {
			if _, ok := have[names[i]]; !ok {
				continue
			}
			if err := s.runMigration(ctx, conn, names[i], "down"); err != nil {
				return err
			}
			done = append(done, names[i])
		}
		return nil
	})
	return done, err
}

// MigrationStatus lists every embedded migration of the dialect, oldest
// first, with whether and when it was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]Migration, error) {
	var out []Migration
	err := s.withMigrations(ctx, func(_ bun.Conn, names []string, have map[string]time.Time) error {
		for _, n := range names {
			at, ok := have[n]
			out = append(out, Migration{Name: n, Applied: ok, AppliedAt: at})
		}
		return nil
	})
	return out, err
}

// PendingMigrations returns how many embedded migrations are not applied.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if !m.Applied {
			n++
		}
	}
	return n, nil
}
