package app_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
)

// serverDB points a node at a fresh database of dialect reached through a
// TCP proxy (which the test can close), with the development mailer asked
// for by name.
func serverDB(t *testing.T, dialect string) (func(*config.Config), *tcpProxy) {
	t.Helper()
	o := dbtest.Options(t, dialect)
	var dsn string
	var proxy *tcpProxy
	switch o.Dialect {
	case "postgres":
		u, err := url.Parse(o.DSN)
		if err != nil {
			t.Fatal(err)
		}
		proxy = newTCPProxy(t, u.Host)
		u.Host = proxy.Addr()
		dsn = u.String()
	case "mysql":
		c, err := mysql.ParseDSN(o.DSN)
		if err != nil {
			t.Fatal(err)
		}
		proxy = newTCPProxy(t, c.Addr)
		c.Addr = proxy.Addr()
		dsn = c.FormatDSN()
	}
	return func(c *config.Config) {
		c.Database.Dialect = o.Dialect
		c.Database.URL = dsn
		c.Secrets.Keys = []string{"a-test-secret-that-is-long-enough"}
		on := true
		c.Database.AutoMigrate = &on
		c.EmailDelivery.Mailer = "development"
	}, proxy
}

// TestDatabaseRefusingAnswers503: when the database drops every connection
// and refuses new ones, requests answer 503 with Retry-After and the
// error body, not an opaque 500.
func TestDatabaseRefusingAnswers503(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db, proxy := serverDB(t, dialect)
			h := newHarness(t, db)
			h.createUser(t, uniqueAddress("before"))
			proxy.Close()
			for _, req := range [][3]string{
				{"POST", "/users", `{"email":"` + uniqueAddress("refused") + `"}`},
				{"POST", "/user", `{"email":"someone@example.test"}`},
				{"POST", "/webauthn/login/initialize", ""},
			} {
				r := h.do(t, req[0], req[1], req[2])
				if r.Status != 503 || strings.TrimSpace(string(r.Body)) != `{"code":503,"message":"Service Unavailable"}` || r.Header.Get("Retry-After") != "5" {
					t.Fatalf("%s %s with the database gone: %d %s (Retry-After %q)\n%s", req[0], req[1], r.Status, r.Body, r.Header.Get("Retry-After"), h.Log.String())
				}
			}
			if testing.Verbose() || strings.Contains(h.Log.String(), `"level":"ERROR","msg":"internal error"`) {
				t.Fatalf("a refused connection was logged as an internal error:\n%s", h.Log.String())
			}
		})
	}
}

// TestServerDatabaseRefusesDevelopmentMailer: with PostgreSQL or MySQL and
// no SMTP host, serve and config check refuse the configuration unless the
// development mailer is asked for by name; SQLite keeps the development
// mailer.
func TestServerDatabaseRefusesDevelopmentMailer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     []string
		problem bool
	}{
		{[]string{"DATABASE_URL=postgres://u:p@db.example/inkan", "SECRETS_KEYS=0123456789abcdef"}, true},
		{[]string{"DATABASE_URL=mysql://u:p@db.example/inkan", "SECRETS_KEYS=0123456789abcdef"}, true},
		{[]string{"DATABASE_URL=postgres://u:p@db.example/inkan", "SECRETS_KEYS=0123456789abcdef", "EMAIL_DELIVERY_MAILER=development"}, false},
		{[]string{"DATABASE_URL=postgres://u:p@db.example/inkan", "SECRETS_KEYS=0123456789abcdef", "EMAIL_DELIVERY_SMTP_HOST=smtp.example.com"}, false},
		{nil, false}, // SQLite
	} {
		_, err := app.LoadConfig("", tc.env)
		if got := err != nil && strings.Contains(err.Error(), "email_delivery.smtp.host: must be set with dialect"); got != tc.problem || (!tc.problem && err != nil) {
			t.Errorf("%q: %v", tc.env, err)
		}
	}
}
