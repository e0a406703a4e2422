package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// execParam runs the statement q, written once for every dialect with ?
// placeholders for args, in ctx's transaction when it carries one.
//
// On PostgreSQL it is sent with $n placeholders in pgx's cache_statement
// mode: prepared once per connection, then only bound and executed, so
// PostgreSQL neither parses nor plans it again. bun's query building
// formats the values into the text instead, which PostgreSQL parses and
// plans on every call; on the hot writes that doubled PostgreSQL's CPU time
// per sign-up (BenchmarkSignUpSQL, docs/performance.md "Query building").
// On MariaDB and SQLite it goes through bun, which formats the values in:
// go-sql-driver would turn a parameterized statement into prepare, execute
// and close (three round trips), and SQLite runs in-process.
func (s *Store) execParam(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.dialect != DialectPostgres {
		return s.idb(ctx).ExecContext(ctx, q, args...)
	}
	conn, pq, args := s.pgPrepared(ctx, q, args)
	return conn.ExecContext(ctx, pq, args...)
}

// queryParam runs the query q (? placeholders, as execParam) and scans its
// rows into dest (a slice of bun-tagged structs) with bun's scanner. On
// PostgreSQL the statement is prepared once per connection, so its plan is
// reused whatever the values: the reads every authenticated request makes
// (the session, the profile) would otherwise be planned on every call,
// which for the profile's five-table join costs PostgreSQL more than
// running it (docs/performance.md "Query building").
func (s *Store) queryParam(ctx context.Context, dest any, q string, args ...any) error {
	var rows *sql.Rows
	var err error
	if s.dialect != DialectPostgres {
		rows, err = s.idb(ctx).QueryContext(ctx, q, args...)
	} else {
		conn, pq, pargs := s.pgPrepared(ctx, q, args)
		rows, err = conn.QueryContext(ctx, pq, pargs...)
	}
	if err != nil {
		return err
	}
	return s.db.ScanRows(ctx, rows, dest)
}

// sqlConn is what runs a statement: *sql.Tx or *sql.DB.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pgPrepared readies q (? placeholders) for PostgreSQL's cache_statement
// mode, the one path of execParam and queryParam: it returns ctx's
// transaction or else the pool, q with $n placeholders (after telling the
// query log, as bun's hook does), and args led by the mode.
func (s *Store) pgPrepared(ctx context.Context, q string, args []any) (sqlConn, string, []any) {
	pq := dollarPlaceholders(q)
	for _, l := range s.logs {
		l.BeforeQuery(ctx, &bun.QueryEvent{Query: pq})
	}
	args = append([]any{pgx.QueryExecModeCacheStatement}, args...)
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx.Tx, pq, args
	}
	return s.db.DB, pq, args
}

// dollarTexts caches the PostgreSQL form of each execParam text.
var dollarTexts sync.Map

// dollarPlaceholders numbers q's ? placeholders as PostgreSQL's $1, $2, …
// (the texts execParam gets have no ? inside literals).
func dollarPlaceholders(q string) string {
	if v, ok := dollarTexts.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	dollarTexts.Store(q, b.String())
	return b.String()
}

// orNull is v, or NULL for v's zero value (bun's nullzero).
func orNull[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}
