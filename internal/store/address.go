package store

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Address is where the database is, as an operator configures it (the database.* keys): either URL,
// or Host, Port, User, Password and Database. It is the only input from which inkan builds a driver
// connection string; Resolve is the only place that does so.
type Address struct {
	// Dialect is sqlite|postgres|cockroach|mysql|mariadb (database.dialect). A URL's scheme may imply
	// it (see Resolve).
	Dialect string
	// URL is database.url; when set it overrides the fields below.
	URL string
	// Host, Port ("" = the dialect's default port), User, Password and Database (for sqlite: the file
	// path) are database.host, .port, .user, .password and .database.
	Host, Port, User, Password, Database string
}

// Target is a resolved Address.
type Target struct {
	// Dialect is the effective configured dialect: sqlite, postgres, cockroach, mysql or mariadb.
	Dialect string
	// DSN is what Open takes: for sqlite the plain file path, for postgres/cockroach a pgx URL or
	// keyword/value string, for mysql/mariadb a go-sql-driver DSN (user:password@tcp(host:port)/db).
	DSN string
}

// SQLiteFile returns the database file for sqlite, "" for the server dialects.
func (t Target) SQLiteFile() string {
	if t.Dialect == "sqlite" {
		return t.DSN
	}
	return ""
}

// Options returns the Open options for the target with the pool settings of p.
func (t Target) Options(p Options) Options {
	p.Dialect, p.DSN = t.Dialect, t.DSN
	return p
}

// AddressProblem is one reason an Address cannot be used, named by its configuration key.
type AddressProblem struct {
	Key     string // "database.url", "database.dialect", "database.host", …
	Message string // never contains the password
}

// AddressError lists every problem of an Address, sorted by key.
type AddressError struct {
	Problems []AddressProblem
}

func (e *AddressError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Key + ": " + p.Message)
	}
	return b.String()
}

// Resolve turns an Address into the dialect and the driver's connection string, checking it with the
// driver's own parser so that what Resolve accepts Open accepts too. It reads no files and opens no
// connections. It returns a *AddressError listing every problem.
//
// database.url forms (the scheme implies the dialect when database.dialect is left at sqlite, and must
// agree with it otherwise):
//   - postgres://… and postgresql://… (libpq URL, RFC 3986): postgres, or cockroach when configured;
//   - mysql://user:password@host:port/database?param=value and mariadb://…: mysql (or mariadb); the
//     parameters are go-sql-driver's (tls=true, …); the port defaults to 3306;
//   - sqlite://PATH, sqlite:PATH, file:PATH or a bare PATH: sqlite (parameters are refused: inkan sets
//     its own pragmas);
//   - without a scheme, with a server dialect configured: that driver's native form (libpq
//     keyword/value string, go-sql-driver DSN user:password@tcp(host:3306)/database).
//
// Without a URL, sqlite takes the file path in database.database, and the server dialects need
// database.host and database.database (database.port defaults to 5432, 26257 for cockroach, 3306 for
// mysql/mariadb).
func Resolve(a Address) (Target, error) {
	var ps []AddressProblem
	add := func(key, format string, args ...any) {
		ps = append(ps, AddressProblem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	t, key, err := resolve(a)
	if err != nil {
		add(key, "%v", err)
	}
	if a.URL == "" && key != "database.dialect" {
		switch family(t.Dialect) {
		case "sqlite":
			if strings.TrimSpace(a.Database) == "" {
				add("database.database", "must name the sqlite file")
			}
		case "postgres", "mysql":
			if a.Host == "" {
				add("database.host", "must not be empty with dialect %s", t.Dialect)
			}
			if a.Database == "" {
				add("database.database", "must not be empty with dialect %s", t.Dialect)
			}
			if a.Port != "" {
				if n, err := strconv.Atoi(strings.TrimSpace(a.Port)); err != nil || n < 1 || n > 65535 {
					add("database.port", "must be a port number 1-65535, got %q", a.Port)
				}
			}
		}
	}
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
		return Target{Dialect: t.Dialect}, &AddressError{Problems: dedupe(ps)}
	}
	return t, nil
}

func dedupe(ps []AddressProblem) []AddressProblem {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.Key == ps[i-1].Key {
			continue // one problem per key: the first says enough
		}
		out = append(out, p)
	}
	return out
}

// family maps a configured dialect to its driver family: sqlite, postgres or mysql ("" if unknown).
func family(dialect string) string {
	switch dialect {
	case "sqlite":
		return "sqlite"
	case "postgres", "cockroach":
		return "postgres"
	case "mysql", "mariadb":
		return "mysql"
	}
	return ""
}

// resolve returns the target, or the key at fault and why.
func resolve(a Address) (Target, string, error) {
	dialect := strings.TrimSpace(a.Dialect)
	if family(dialect) == "" {
		return Target{Dialect: dialect}, "database.dialect", fmt.Errorf("must be one of sqlite|postgres|cockroach|mysql|mariadb, got %q", a.Dialect)
	}
	if a.URL == "" {
		return fromFields(dialect, a)
	}
	raw := strings.TrimSpace(a.URL)
	scheme := ""
	if i := strings.Index(raw, ":"); i > 0 && !strings.ContainsAny(raw[:i], "/@()=\\") {
		scheme = strings.ToLower(raw[:i])
	}
	// implied returns the dialect a URL of family f gives, or an error when the configured dialect
	// is another family (sqlite, the default, gives way to the URL).
	implied := func(f string) (string, error) {
		switch family(dialect) {
		case f:
			return dialect, nil
		case "sqlite":
			return f, nil
		}
		return dialect, fmt.Errorf("a %s URL conflicts with database.dialect %q", f, dialect)
	}
	switch scheme {
	case "postgres", "postgresql":
		d, err := implied("postgres")
		if err != nil {
			return Target{Dialect: d}, "database.url", err
		}
		if _, err := pgx.ParseConfig(raw); err != nil {
			return Target{Dialect: d}, "database.url", fmt.Errorf("is not a valid PostgreSQL URL: %s", redact(err, a.Password, raw))
		}
		return Target{Dialect: d, DSN: raw}, "", nil
	case "mysql", "mariadb":
		d, err := implied("mysql")
		if err != nil {
			return Target{Dialect: d}, "database.url", err
		}
		dsn, err := mysqlURLToDSN(raw)
		if err != nil {
			return Target{Dialect: d}, "database.url", err
		}
		return Target{Dialect: d, DSN: dsn}, "", nil
	case "sqlite", "file":
		if dialect != "sqlite" {
			return Target{Dialect: dialect}, "database.url", fmt.Errorf("a sqlite URL conflicts with database.dialect %q", dialect)
		}
		p := raw[len(scheme)+1:]
		if scheme == "sqlite" {
			p = strings.TrimPrefix(p, "//")
		}
		return sqliteTarget(p, "database.url")
	case "":
	default:
		if strings.Contains(raw, "://") {
			return Target{Dialect: dialect}, "database.url", fmt.Errorf("has unsupported scheme %q (use postgres://, postgresql://, mysql://, mariadb://, sqlite:// or a file path)", scheme)
		}
	}
	// No scheme: the configured dialect's native form.
	switch family(dialect) {
	case "postgres":
		if _, err := pgx.ParseConfig(raw); err != nil {
			return Target{Dialect: dialect}, "database.url", fmt.Errorf("is not a valid PostgreSQL connection string: %s", redact(err, a.Password, raw))
		}
		return Target{Dialect: dialect, DSN: raw}, "", nil
	case "mysql":
		if _, err := mysql.ParseDSN(raw); err != nil {
			return Target{Dialect: dialect}, "database.url", fmt.Errorf("is not a valid MySQL DSN (user:password@tcp(host:3306)/database) or mysql:// URL")
		}
		return Target{Dialect: dialect, DSN: raw}, "", nil
	}
	return sqliteTarget(raw, "database.url")
}

func fromFields(dialect string, a Address) (Target, string, error) {
	port := strings.TrimSpace(a.Port)
	if port == "" {
		port = map[string]string{"postgres": "5432", "cockroach": "26257", "mysql": "3306", "mariadb": "3306"}[dialect]
	}
	switch family(dialect) {
	case "postgres":
		u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(a.Host, port), Path: "/" + a.Database}
		if a.User != "" {
			if a.Password != "" {
				u.User = url.UserPassword(a.User, a.Password)
			} else {
				u.User = url.User(a.User)
			}
		}
		return Target{Dialect: dialect, DSN: u.String()}, "", nil
	case "mysql":
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr, c.DBName = a.User, a.Password, "tcp", net.JoinHostPort(a.Host, port), a.Database
		return Target{Dialect: dialect, DSN: c.FormatDSN()}, "", nil
	}
	if strings.TrimSpace(a.Database) == "" {
		return Target{Dialect: dialect}, "", nil // reported by Resolve as database.database
	}
	return sqliteTarget(a.Database, "database.database")
}

// sqliteTarget checks a SQLite file path.
func sqliteTarget(p, key string) (Target, string, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return Target{Dialect: "sqlite"}, key, fmt.Errorf("names no sqlite file")
	case strings.ContainsAny(p, "?#"):
		return Target{Dialect: "sqlite"}, key, fmt.Errorf("must be a plain sqlite file path without parameters (inkan sets its own pragmas), got %q", p)
	case strings.HasPrefix(strings.ToLower(p), "file:"), p == ":memory:":
		return Target{Dialect: "sqlite"}, key, fmt.Errorf("must name a sqlite file, got %q", p)
	}
	return Target{Dialect: "sqlite", DSN: p}, "", nil
}

// mysqlURLToDSN turns mysql://user:password@host[:port]/database?params (or mariadb://) into a
// go-sql-driver DSN and checks it with the driver's parser.
func mysqlURLToDSN(raw string) (string, error) {
	bad := fmt.Errorf("is not a valid mysql://user:password@host:port/database URL")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", bad
	}
	c := mysql.NewConfig()
	c.Net, c.Addr = "tcp", u.Host
	if u.Port() == "" {
		c.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.DBName = strings.TrimPrefix(u.Path, "/")
	// The parameters are go-sql-driver's; let its parser judge them.
	probe := "tcp(" + c.Addr + ")/"
	if u.RawQuery != "" {
		probe += "?" + u.RawQuery
	}
	pc, err := mysql.ParseDSN(probe)
	if err != nil {
		return "", fmt.Errorf("has a parameter the MySQL driver refuses: %v", err)
	}
	pc.User, pc.Passwd, pc.DBName = c.User, c.Passwd, c.DBName
	return pc.FormatDSN(), nil
}

// redact removes the password and the raw connection string from a driver error message.
func redact(err error, secrets ...string) string {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return msg
}
