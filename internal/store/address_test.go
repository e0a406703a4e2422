package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/store"
)

// TestResolve covers every database address form: the fields, each URL scheme, the drivers' native
// forms, and the refusals (each naming its key).
func TestResolve(t *testing.T) {
	tests := []struct {
		name         string
		a            store.Address
		dialect, dsn string
		badKey       string // "" = accepted
	}{
		{"sqlite default", store.Address{Dialect: "sqlite", Database: "data/inkan.db"}, "sqlite", "data/inkan.db", ""},
		{"postgres fields", store.Address{Dialect: "postgres", Host: "db", User: "u", Password: "p@ss/w", Database: "inkan"}, "postgres", "postgres://u:p%40ss%2Fw@db:5432/inkan", ""},
		{"cockroach fields", store.Address{Dialect: "cockroach", Host: "crdb", User: "root", Database: "inkan"}, "cockroach", "postgres://root@crdb:26257/inkan", ""},
		{"mysql fields", store.Address{Dialect: "mysql", Host: "db", Port: "3307", User: "u", Password: "p", Database: "inkan"}, "mysql", "u:p@tcp(db:3307)/inkan", ""},
		{"mariadb fields", store.Address{Dialect: "mariadb", Host: "::1", User: "u", Database: "inkan"}, "mariadb", "u@tcp([::1]:3306)/inkan", ""},
		{"postgres url implies dialect", store.Address{Dialect: "sqlite", URL: "postgres://u:p@h:5/d?sslmode=disable"}, "postgres", "postgres://u:p@h:5/d?sslmode=disable", ""},
		{"postgresql url", store.Address{Dialect: "sqlite", URL: "postgresql://h/d"}, "postgres", "postgresql://h/d", ""},
		{"cockroach keeps dialect", store.Address{Dialect: "cockroach", URL: "postgres://h:26257/d"}, "cockroach", "postgres://h:26257/d", ""},
		{"libpq keywords", store.Address{Dialect: "postgres", URL: "host=h dbname=d user=u sslmode=disable"}, "postgres", "host=h dbname=d user=u sslmode=disable", ""},
		{"mysql url", store.Address{Dialect: "sqlite", URL: "mysql://u:p@h/d?tls=true"}, "mysql", "u:p@tcp(h:3306)/d?tls=true", ""},
		{"mariadb url", store.Address{Dialect: "sqlite", URL: "mariadb://u:p@h:3310/d"}, "mysql", "u:p@tcp(h:3310)/d", ""},
		{"mysql url keeps mariadb", store.Address{Dialect: "mariadb", URL: "mysql://h:3310/d"}, "mariadb", "tcp(h:3310)/d", ""},
		{"native mysql dsn", store.Address{Dialect: "mysql", URL: "u:p@tcp(h:3306)/d"}, "mysql", "u:p@tcp(h:3306)/d", ""},
		{"sqlite url", store.Address{Dialect: "sqlite", URL: "sqlite:///var/lib/inkan.db"}, "sqlite", "/var/lib/inkan.db", ""},
		{"sqlite relative url", store.Address{Dialect: "sqlite", URL: "sqlite://x.db"}, "sqlite", "x.db", ""},
		{"file uri", store.Address{Dialect: "sqlite", URL: "file:data/x.db"}, "sqlite", "data/x.db", ""},
		{"bare path", store.Address{Dialect: "sqlite", URL: "/tmp/a.db"}, "sqlite", "/tmp/a.db", ""},
		{"file uri with parameters", store.Address{Dialect: "sqlite", URL: "file:x.db?mode=rwc"}, "", "", "database.url"},
		{"bare file:", store.Address{Dialect: "sqlite", URL: "file:"}, "", "", "database.url"},
		{"bad scheme", store.Address{Dialect: "sqlite", URL: "redis://h"}, "", "", "database.url"},
		{"unknown dialect", store.Address{Dialect: "oracle", Database: "x"}, "", "", "database.dialect"},
		{"url conflicts with dialect", store.Address{Dialect: "mysql", URL: "postgres://db/x"}, "", "", "database.url"},
		{"sqlite url with server dialect", store.Address{Dialect: "postgres", URL: "sqlite://x.db"}, "", "", "database.url"},
		{"mysql url without host", store.Address{Dialect: "mysql", URL: "mysql:///d"}, "", "", "database.url"},
		{"mysql url with a bad parameter", store.Address{Dialect: "mysql", URL: "mysql://h/d?timeout=forever"}, "", "", "database.url"},
		{"bad native mysql dsn", store.Address{Dialect: "mysql", URL: "u:p@h/d"}, "", "", "database.url"},
		{"bad postgres url", store.Address{Dialect: "postgres", URL: "postgres://u:p@h:notaport/d"}, "", "", "database.url"},
		{"postgres without host", store.Address{Dialect: "postgres", Database: "d"}, "", "", "database.host"},
		{"mysql bad port", store.Address{Dialect: "mysql", Host: "h", Port: "x", Database: "d"}, "", "", "database.port"},
		{"sqlite without file", store.Address{Dialect: "sqlite"}, "", "", "database.database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.Resolve(tc.a)
			if tc.badKey != "" {
				var ae *store.AddressError
				if !errors.As(err, &ae) || ae.Problems[0].Key != tc.badKey {
					t.Fatalf("got %v, want a problem with %s", err, tc.badKey)
				}
				if tc.a.Password != "" && strings.Contains(err.Error(), tc.a.Password) {
					t.Errorf("the message shows the password: %v", err)
				}
				return
			}
			if err != nil || got.Dialect != tc.dialect || got.DSN != tc.dsn {
				t.Fatalf("got (%q, %q, %v), want (%q, %q)", got.Dialect, got.DSN, err, tc.dialect, tc.dsn)
			}
		})
	}
}

// TestResolvedAddressesOpen: what Resolve accepts Open accepts (the same parsers), on each configured
// server.
func TestResolvedAddressesOpen(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []store.Address{
		{Dialect: "sqlite", URL: "file:" + dir + "/a.db"},
		{Dialect: "sqlite", URL: "sqlite://" + dir + "/b.db"},
		{Dialect: "sqlite", Database: dir + "/c.db"},
	} {
		target, err := store.Resolve(a)
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(t.Context(), target.Options(store.Options{}))
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		st.Close()
	}
}
