// Package dbtest gives tests a fresh, real database per call: a SQLite file
// in the test's temporary directory always, and a new PostgreSQL or
// MySQL/MariaDB database on the servers named by INKAN_TEST_POSTGRES_URL and
// INKAN_TEST_MYSQL_URL; when a variable is unset the test is skipped with a
// message naming it.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/store"
)

// Environment variables naming the database servers tests may use.
const (
	// PostgresEnv holds a PostgreSQL URL whose user may CREATE DATABASE,
	// e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
	PostgresEnv = "INKAN_TEST_POSTGRES_URL"
	// MySQLEnv holds a go-sql-driver DSN whose user may CREATE DATABASE,
	// e.g. root@tcp(127.0.0.1:3306)/test.
	MySQLEnv = "INKAN_TEST_MYSQL_URL"
)

// Dialects returns every dialect a test can run on: "sqlite", "postgres"
// and "mysql". Options skips the server dialects whose variable is unset;
// most callers use ForEach.
func Dialects() []string { return []string{"sqlite", "postgres", "mysql"} }

// ForEach runs fn as the subtests "sqlite", "postgres" and "mysql", each with
// the Options of a fresh database. The server subtests skip, naming the
// variable, when INKAN_TEST_POSTGRES_URL / INKAN_TEST_MYSQL_URL is unset.
func ForEach(t *testing.T, fn func(t *testing.T, o store.Options)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, Options(t, d)) })
	}
}

// Options returns store.Options for a FRESH, empty (unmigrated) database of
// the dialect: a SQLite file in tb.TempDir(), or a database inkan_t_<random>
// created on the configured server and dropped (PostgreSQL: WITH (FORCE)) in
// tb.Cleanup. It skips when the server's variable is unset and fails the
// test when the server cannot be reached.
func Options(tb testing.TB, dialect string) store.Options {
	tb.Helper()
	switch dialect {
	case "sqlite":
		return store.Options{Dialect: "sqlite", DSN: filepath.Join(tb.TempDir(), "inkan.db")}
	case "postgres":
		return postgresOptions(tb)
	case "mysql":
		return mysqlOptions(tb)
	}
	tb.Fatalf("dbtest: unknown dialect %q", dialect)
	return store.Options{}
}

// Open returns a migrated store on a fresh database of the dialect, closed
// in tb.Cleanup.
func Open(tb testing.TB, dialect string) *store.Store {
	tb.Helper()
	o := Options(tb, dialect)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, o)
	if err != nil {
		tb.Fatalf("dbtest: open %s: %v", dialect, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		tb.Fatalf("dbtest: migrate %s: %v", dialect, err)
	}
	return s
}

func dbName(tb testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("dbtest: random name: %v", err)
	}
	return "inkan_t_" + hex.EncodeToString(b[:])
}

func postgresOptions(tb testing.TB) store.Options {
	tb.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		tb.Skip(PostgresEnv + " not set")
	}
	name := dbName(tb)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("dbtest: %s: %v", PostgresEnv, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("dbtest: create postgres database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			tb.Errorf("dbtest: drop postgres database: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("dbtest: drop postgres database: %v", err)
		}
	})
	var dsn string
	if u, err := url.Parse(admin); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		dsn = u.String()
	} else {
		dsn = strings.TrimSpace(admin) + " dbname=" + name // a later key wins
	}
	return store.Options{Dialect: "postgres", DSN: dsn}
}

func mysqlOptions(tb testing.TB) store.Options {
	tb.Helper()
	admin := os.Getenv(MySQLEnv)
	if admin == "" {
		tb.Skip(MySQLEnv + " not set")
	}
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		tb.Fatalf("dbtest: %s: %v", MySQLEnv, err)
	}
	name := dbName(tb)
	exec := func(q string) error {
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(c)
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = db.ExecContext(ctx, q)
		return err
	}
	if err := exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("dbtest: create mysql database: %v", err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + name); err != nil {
			tb.Errorf("dbtest: drop mysql database: %v", err)
		}
	})
	c := cfg.Clone()
	c.DBName = name
	return store.Options{Dialect: "mysql", DSN: c.FormatDSN()}
}

// RedisEnv names the Redis server for tests, e.g. redis://127.0.0.1:6379/0.
const RedisEnv = "INKAN_TEST_REDIS_URL"

// RedisOptions returns the client options of the Redis server named by
// RedisEnv, skipping the test (naming the variable) when it is unset and
// failing it when the URL does not parse. Tests must use key prefixes of
// their own: the server is shared.
func RedisOptions(tb testing.TB) *redis.Options {
	tb.Helper()
	u := os.Getenv(RedisEnv)
	if u == "" {
		tb.Skip(RedisEnv + " not set (e.g. redis://127.0.0.1:6379/0); skipping Redis test")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("%s: %v", RedisEnv, err)
	}
	return opt
}
