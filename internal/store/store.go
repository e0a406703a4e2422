// Package store is the only package that speaks SQL. It keeps inkan's state
// (users, e-mail addresses, passcodes, WebAuthn credentials and ceremonies,
// sessions, signing keys) and the event log (events, see RecordEvent and
// Events) in SQLite, PostgreSQL (or CockroachDB) or MySQL/MariaDB through
// bun, with one code path for all three.
//
// A change and its event are written in one transaction with Atomically
// (inkan.Journal): every method called with the ctx Atomically hands to its
// function joins that transaction.
//
// Every timestamp is written and read in UTC with microsecond precision,
// whatever the process or database session time zone. Expiry is compared in
// SQL against a "now" bound by the caller, never the database clock. Driver
// errors are mapped to the inkan sentinels by their error code:
// unique violations to inkan.ErrConflict, foreign-key violations and
// sql.ErrNoRows to inkan.ErrNotFound. Conditional updates whose
// rows-affected count is zero yield inkan.ErrStale.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/schema"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Normalised dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
	DialectMySQL    = "mysql"
)

// Options configures Open.
type Options struct {
	// Dialect is one of "sqlite", "postgres", "cockroach" (handled as
	// postgres), "mysql" or "mariadb" (handled as mysql).
	Dialect string
	// DSN locates the database. sqlite: a file path; the file and its
	// directory (mode 0700) are created when missing. postgres: a URL
	// (postgres://user@host:5432/db?sslmode=disable) or a key=value DSN.
	// mysql: a go-sql-driver DSN (user:pass@tcp(host:3306)/db) or a
	// mysql://user:pass@host:3306/db URL.
	DSN string
	// MaxOpenConns bounds the connection pool (0 keeps the database/sql
	// default: unlimited). MaxIdleConns is how many of them stay open while
	// unused; 0 means as many as MaxOpenConns (or the database/sql default of
	// 2 when MaxOpenConns is 0 too). Fewer idle than open connections makes
	// database/sql close and reopen connections whenever the number in use
	// swings across MaxIdleConns: a new server process (PostgreSQL) or thread
	// (MariaDB) per swing, which cost more CPU than the queries themselves
	// under load (docs/performance.md "Connection pool").
	MaxOpenConns int
	MaxIdleConns int
	// ConnMaxLifetime and ConnMaxIdleTime age out pooled connections (0 =
	// never).
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// idleConns is the idle-pool size Open uses (see Options.MaxIdleConns); 2
// is database/sql's own default.
func (o Options) idleConns() int {
	switch {
	case o.MaxIdleConns > 0:
		return o.MaxIdleConns
	case o.MaxOpenConns > 0:
		return o.MaxOpenConns
	default:
		return 2
	}
}

// Store implements the persistence interfaces of the domain packages
// (account.Store, passcode.Store, session.Store, keys.Store, passkey.Store)
// over one database. It is safe for concurrent use.
type Store struct {
	// sink sees every recorded event (SetEventSink); nil = none.
	sink EventSink
	// hooked says which events wait for the webhook fan-out
	// (SetHookedTypes); nil = none.
	hooked  func(inkan.EventType) bool
	db      *bun.DB
	dialect string
	// lockPath is the SQLite migration lock file ("<dbfile>.lock").
	lockPath string
	// logs see the statements execParam sends past bun (LogQueries).
	logs []*QueryLog
	// gate queues SQLite's writers in the process (writeGate); nil on the
	// other dialects.
	gate *writeGate
}

// NormalizeDialect maps a configured dialect name to "sqlite", "postgres" or
// "mysql"; it returns an error for any other name.
func NormalizeDialect(d string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(d)) {
	case "sqlite", "sqlite3":
		return DialectSQLite, nil
	case "postgres", "postgresql", "cockroach", "cockroachdb":
		return DialectPostgres, nil
	case "mysql", "mariadb":
		return DialectMySQL, nil
	}
	return "", fmt.Errorf("store: unknown database dialect %q (want sqlite, postgres, cockroach, mysql or mariadb)", d)
}

// Open connects to the database described by o and pings it. It does not
// migrate: call MigrateUp.
func Open(ctx context.Context, o Options) (*Store, error) {
	d, err := NormalizeDialect(o.Dialect)
	if err != nil {
		return nil, err
	}
	if o.DSN == "" {
		return nil, errors.New("store: empty DSN")
	}
	s := &Store{dialect: d}
	var sqldb *sql.DB
	var dia schema.Dialect
	switch d {
	case DialectSQLite:
		sqldb, err = openSQLite(o.DSN)
		s.lockPath = o.DSN + ".lock"
		dia = sqlitedialect.New()
	case DialectPostgres:
		sqldb, err = openPostgres(o.DSN)
		dia = pgdialect.New()
	case DialectMySQL:
		sqldb, err = openMySQL(o.DSN)
		dia = mysqldialect.New(mysqldialect.WithTimeLocation("UTC"))
	}
	if err != nil {
		return nil, err
	}
	sqldb.SetMaxOpenConns(o.MaxOpenConns)
	sqldb.SetMaxIdleConns(o.idleConns())
	if o.ConnMaxLifetime > 0 {
		sqldb.SetConnMaxLifetime(o.ConnMaxLifetime)
	}
	if o.ConnMaxIdleTime > 0 {
		sqldb.SetConnMaxIdleTime(o.ConnMaxIdleTime)
	}
	s.db = bun.NewDB(sqldb, dia)
	if d == DialectSQLite {
		s.gate = newWriteGate()
		s.db.AddQueryHook(gateHook{gate: s.gate})
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens the file at path through modernc.org/sqlite. Every
// connection gets foreign_keys=ON, WAL journal mode and a 10 s busy timeout;
// transactions begin IMMEDIATE so that a writer takes the write lock before
// its first read and never fails with SQLITE_BUSY on lock upgrade. Within
// the process writers queue in Go before they take a connection (writeGate,
// installed by Open); the busy timeout covers writers in other processes.
func openSQLite(path string) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: sqlite DSN must be a plain file path, got %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create sqlite directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create sqlite file: %w", err)
	}
	_ = f.Close()
	dsn := path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	return db, nil
}

// openPostgres opens a pgx (stdlib) pool whose sessions run with TimeZone
// UTC and send each statement with the simple query protocol.
//
// bun formats every value into the SQL text, so no two statements share a
// text. pgx's default mode (cache_statement) would prepare each distinct
// text it queries — a Parse/Describe round trip, a named statement that is
// never used again, and a DEALLOCATE when it falls out of the 512-entry
// cache — which doubled the round trips of every SELECT and PostgreSQL's
// CPU time per sign-up (docs/performance.md "Query building"). The simple
// protocol sends the text once and gets the rows back in one round trip.
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse postgres DSN: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return stdlib.OpenDB(*cfg), nil
}

// openMySQL opens a go-sql-driver pool with parseTime, loc=UTC, session
// time_zone '+00:00' and found-rows semantics for rows affected.
func openMySQL(dsn string) (*sql.DB, error) {
	cfg, err := parseMySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true // rows affected = rows matched, as on the other dialects
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: mysql connector: %w", err)
	}
	return sql.OpenDB(conn), nil
}

// parseMySQLDSN accepts a go-sql-driver DSN or a mysql:// (mariadb://) URL (see Resolve).
func parseMySQLDSN(dsn string) (*mysql.Config, error) {
	if l := strings.ToLower(dsn); strings.HasPrefix(l, "mysql://") || strings.HasPrefix(l, "mariadb://") {
		d, err := mysqlURLToDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: mysql URL %w", err)
		}
		dsn = d
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse mysql DSN: %w", err)
	}
	return cfg, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Stats returns the connection pool's statistics.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }

// EventSink sees every event RecordEvent writes: AuditEmail before the
// row is written (the actor's address as the audit log shows it, stored
// with the event when it differs), Committed once the event's transaction
// committed (never for a rolled-back one).
type EventSink interface {
	AuditEmail(e inkan.Event) string
	Committed(e inkan.Event)
}

// SetEventSink installs sink (the audit log and metrics); call it before
// the store is used concurrently.
func (s *Store) SetEventSink(sink EventSink) { s.sink = sink }

// commitHooksKey carries the functions to run after the outermost
// transaction of a context commits.
type commitHooksKey struct{}

// afterCommit runs f once ctx's transaction committed, or now outside one.
func afterCommit(ctx context.Context, f func()) {
	if hooks, ok := ctx.Value(commitHooksKey{}).(*[]func()); ok {
		*hooks = append(*hooks, f)
		return
	}
	f()
}

// Dialect returns the normalised dialect: "sqlite", "postgres" or "mysql".
func (s *Store) Dialect() string { return s.dialect }

// mapErr translates a driver error into the inkan sentinels by error code
// (never by message): unique violation → ErrConflict, foreign-key violation
// and no rows → ErrNotFound. The driver error stays in the chain for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var classified *inkan.Error
	if errors.Is(err, inkan.ErrNotFound) || errors.Is(err, inkan.ErrConflict) || errors.Is(err, inkan.ErrStale) || errors.As(err, &classified) {
		return err // already classified (a domain error returned through Atomically)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return inkan.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", inkan.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %v", inkan.ErrNotFound, err)
		}
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1062: // ER_DUP_ENTRY
			return fmt.Errorf("%w: %v", inkan.ErrConflict, err)
		case 1452: // ER_NO_REFERENCED_ROW_2
			return fmt.Errorf("%w: %v", inkan.ErrNotFound, err)
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", inkan.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %v", inkan.ErrNotFound, err)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", inkan.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %w", err)
}

// txKey is the context key of the transaction Atomically runs.
type txKey struct{}

// idb returns the transaction ctx carries (set by Atomically or inTx), or
// the pool: every query of the store goes through it, so a store method
// called inside Atomically is part of that transaction.
func (s *Store) idb(ctx context.Context) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return s.db
}

// Atomically runs fn in one transaction: every store method called with the
// ctx given to fn joins it, and it commits when fn returns nil and rolls
// back otherwise (inkan.Journal). Nested calls join the outermost
// transaction. fn may run again after a deadlock (see inTx), so it must
// have no effects outside the database. On PostgreSQL a statement that
// fails inside the transaction aborts it: fn returns that error.
func (s *Store) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, func(ctx context.Context, _ bun.Tx) error { return fn(ctx) })
}

// unavailable reports whether err says the database cannot be reached or
// will not serve now — connection refused, dropped or reset, a server
// shutting down, out of connections, or a SQLite file still locked after
// the busy timeout — by error type and code, never by message text.
func unavailable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, pgconn.ErrConnClosed), pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.As(err, &netErr), errors.As(err, &connErr):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 connection exception, 53 insufficient resources
		// (53300 too_many_connections), 57P01-57P03 shutdown / cannot
		// connect now (PostgreSQL Appendix A).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1203: // too many connections, shutdown, aborted or broken connection, too many user connections
			return true
		}
		return false
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code() & 0xff // the primary result code
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE on SQLite), committing when
// fn returns nil and rolling back otherwise; the error is mapped. On SQLite
// the transaction first waits for the write gate (writeGate), in arrival
// order and holding no connection, and keeps it until it committed or
// rolled back; a ctx that ends while waiting yields ctx's error, mapped as
// when the wait for a pool connection runs out. When ctx
// already carries a transaction fn joins it (no savepoint: a failing
// statement fails the whole unit) and the outermost caller commits.
//
// A transaction the database aborted to break a deadlock or a
// serialization conflict (MySQL 1213, PostgreSQL 40001/40P01) has written
// nothing and is run again, up to txAttempts times in all, after a short
// random pause; fn must therefore have no effects outside the transaction.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.inTxOpts(ctx, nil, fn)
}

// AtomicallyReadCommitted is Atomically with the transaction at READ
// COMMITTED isolation. On MySQL and MariaDB, whose default is REPEATABLE
// READ, locking reads and updates then lock only the rows they find, not
// the gaps between index entries, so a unit that scans and rewrites a busy
// index cannot deadlock with the inserts into it: the webhook fan-out
// (PendingHookEvents … ClearHookEvents) against every request recording an
// event. Measured before this: at 32 concurrent passkey round trips on
// MariaDB with a hook configured, up to 44 requests in 4 s failed with
// error 1213 after the store's four attempts (docs/performance.md). It costs
// one statement more (SET TRANSACTION ISOLATION LEVEL). PostgreSQL's default
// is READ COMMITTED already and SQLite has one writer; both run it as
// Atomically. Joining a caller's transaction keeps that transaction's level.
func (s *Store) AtomicallyReadCommitted(ctx context.Context, fn func(ctx context.Context) error) error {
	var opts *sql.TxOptions
	if s.dialect == DialectMySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s.inTxOpts(ctx, opts, func(ctx context.Context, _ bun.Tx) error { return fn(ctx) })
}

// inTxOpts is inTx with the transaction's options (nil: the database's
// defaults).
func (s *Store) inTxOpts(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return mapErr(fn(ctx, tx))
	}
	var err error
	for attempt := 1; ; attempt++ {
		var hooks []func()
		err = s.gated(ctx, func(ctx context.Context) error {
			return s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
				ctx = context.WithValue(ctx, commitHooksKey{}, &hooks)
				return fn(context.WithValue(ctx, txKey{}, tx), tx)
			})
		})
		if err == nil {
			for _, h := range hooks {
				h()
			}
			return nil
		}
		if attempt == txAttempts || !retryable(err) {
			return mapErr(err)
		}
		pause := time.Duration(attempt) * time.Millisecond * time.Duration(1+mrand.IntN(10))
		select {
		case <-ctx.Done():
			return mapErr(err)
		case <-time.After(pause):
		}
	}
}

// gated runs fn holding the SQLite write gate, with a ctx that tells the
// gate's hook so (gateHeldKey); on the other dialects it just runs fn.
func (s *Store) gated(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.gate == nil {
		return fn(ctx)
	}
	if err := s.gate.acquire(ctx); err != nil {
		return err // mapped like a wait for a pool connection that ran out of time
	}
	defer s.gate.release()
	return fn(context.WithValue(ctx, gateHeldKey{}, true))
}

// txAttempts bounds the runs of one transaction aborted by deadlocks.
const txAttempts = 4

// retryable reports whether err is the database aborting a transaction to
// resolve a deadlock or serialization failure, by error code.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == 1213 // ER_LOCK_DEADLOCK
	}
	return false
}

// affected returns the rows-affected count of res (rows matched on MySQL,
// where the DSN sets clientFoundRows).
func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: rows affected: %w", err)
	}
	return n, nil
}

// utc returns t in UTC truncated to the microsecond, the precision every
// dialect stores; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// now is the write time for updated_at columns the caller gives no time for.
func now() time.Time { return utc(time.Now()) }
