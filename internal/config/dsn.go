package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DatabaseDSN returns the effective dialect (sqlite|postgres|cockroach|mysql|mariadb) and the DSN for
// its driver:
//   - postgres/cockroach: a pgx URL "postgres://user:password@host:port/database";
//   - mysql/mariadb: a go-sql-driver DSN "user:password@tcp(host:port)/database?loc=UTC&parseTime=true"
//     (parseTime and loc are added when missing);
//   - sqlite: the file path (or the "file:…" URI given in database.url) for modernc.org/sqlite; the
//     store adds its pragmas.
//
// database.url overrides the fields. Its scheme implies the dialect family: postgres:// and
// postgresql:// → postgres (cockroach when database.dialect says so), mysql:// → mysql (or mariadb),
// sqlite://PATH, file:… or a bare path → sqlite. A URL without a scheme is otherwise taken in the
// configured dialect's native form (libpq keywords, a go-sql-driver DSN). When the URL cannot be used,
// the returned DSN is "" and Validate reports database.url.
func (c Config) DatabaseDSN() (dialect, dsn string) {
	d, s, _ := c.databaseTarget()
	return d, s
}

// SQLitePath returns the sqlite database file path, or "" when the effective dialect is not sqlite.
// The generated secret file (empty secrets.keys) lives in its directory.
func (c Config) SQLitePath() string {
	d, dsn := c.DatabaseDSN()
	if d != "sqlite" {
		return ""
	}
	p := strings.TrimPrefix(dsn, "file:")
	p, _, _ = strings.Cut(p, "?")
	return p
}

func defaultPort(dialect string) string {
	switch dialect {
	case "mysql", "mariadb":
		return "3306"
	case "cockroach":
		return "26257"
	}
	return "5432"
}

func family(dialect string) string {
	switch dialect {
	case "postgres", "cockroach":
		return "postgres"
	case "mysql", "mariadb":
		return "mysql"
	}
	return dialect
}

// databaseTarget resolves DatabaseDSN; the error explains an unusable database.url.
func (c Config) databaseTarget() (string, string, error) {
	db := c.Database
	dialect := db.Dialect
	if db.URL == "" {
		switch family(dialect) {
		case "postgres":
			u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(db.Host, portOr(db.Port, dialect)), Path: "/" + db.Database}
			if db.User != "" {
				if db.Password != "" {
					u.User = url.UserPassword(db.User, db.Password)
				} else {
					u.User = url.User(db.User)
				}
			}
			return dialect, u.String(), nil
		case "mysql":
			cred := ""
			if db.User != "" {
				cred = db.User
				if db.Password != "" {
					cred += ":" + db.Password
				}
				cred += "@"
			}
			addr := net.JoinHostPort(db.Host, portOr(db.Port, dialect))
			return dialect, cred + "tcp(" + addr + ")/" + db.Database + "?loc=UTC&parseTime=true", nil
		}
		return dialect, db.Database, nil
	}

	raw := strings.TrimSpace(db.URL)
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if family(dialect) != "postgres" {
			if dialect != "sqlite" {
				return dialect, "", fmt.Errorf("a postgres URL conflicts with database.dialect %q", dialect)
			}
			dialect = "postgres"
		}
		if _, err := url.Parse(raw); err != nil {
			return dialect, "", fmt.Errorf("is not a valid URL")
		}
		return dialect, raw, nil
	case strings.HasPrefix(lower, "mysql://"):
		if family(dialect) != "mysql" {
			if dialect != "sqlite" {
				return dialect, "", fmt.Errorf("a mysql URL conflicts with database.dialect %q", dialect)
			}
			dialect = "mysql"
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return dialect, "", fmt.Errorf("is not a valid mysql://user:password@host:port/database URL")
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "3306")
		}
		cred := ""
		if u.User != nil {
			cred = u.User.Username()
			if p, ok := u.User.Password(); ok {
				cred += ":" + p
			}
			cred += "@"
		}
		return dialect, cred + "tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/") + "?" + withTimeParams(u.Query()), nil
	case strings.HasPrefix(lower, "sqlite://"), strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		if dialect != "sqlite" {
			return dialect, "", fmt.Errorf("a sqlite URL conflicts with database.dialect %q", dialect)
		}
		p := raw
		if strings.HasPrefix(lower, "sqlite://") {
			p = raw[len("sqlite://"):]
		} else if strings.HasPrefix(lower, "sqlite:") {
			p = raw[len("sqlite:"):]
		}
		if p == "" || p == "file:" {
			return dialect, "", fmt.Errorf("names no sqlite file")
		}
		return dialect, p, nil
	case strings.Contains(raw, "://"):
		scheme, _, _ := strings.Cut(raw, "://")
		return dialect, "", fmt.Errorf("has unsupported scheme %q (use postgres://, postgresql://, mysql://, sqlite:// or a file path)", scheme)
	}
	// No scheme: the configured dialect's native form.
	if family(dialect) == "mysql" {
		base, q, _ := strings.Cut(raw, "?")
		vals, err := url.ParseQuery(q)
		if err != nil {
			return dialect, "", fmt.Errorf("has malformed parameters")
		}
		return dialect, base + "?" + withTimeParams(vals), nil
	}
	return dialect, raw, nil
}

func portOr(port, dialect string) string {
	if p := strings.TrimSpace(port); p != "" {
		return p
	}
	return defaultPort(dialect)
}

func withTimeParams(q url.Values) string {
	if q.Get("parseTime") == "" {
		q.Set("parseTime", "true")
	}
	if q.Get("loc") == "" {
		q.Set("loc", "UTC")
	}
	return q.Encode()
}
