package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

func migrationNames(t *testing.T, st []store.Migration) (applied, pending []string) {
	t.Helper()
	for _, m := range st {
		if m.Applied {
			if m.AppliedAt.IsZero() || m.AppliedAt.Location() != time.UTC {
				t.Errorf("%s applied_at = %v, want a UTC time", m.Name, m.AppliedAt)
			}
			applied = append(applied, m.Name)
		} else {
			if !m.AppliedAt.IsZero() {
				t.Errorf("pending %s has applied_at %v", m.Name, m.AppliedAt)
			}
			pending = append(pending, m.Name)
		}
	}
	return applied, pending
}

// TestMigrations runs up, down, up on every dialect and checks the status
// and the schema at each step.
func TestMigrations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		s, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Dialect() != o.Dialect {
			t.Errorf("Dialect() = %q, want %q", s.Dialect(), o.Dialect)
		}
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		applied, all := migrationNames(t, st)
		if len(applied) != 0 || len(all) == 0 || all[0] != "0001_init" {
			t.Fatalf("fresh status: applied %v, pending %v", applied, all)
		}
		if n, err := s.PendingMigrations(ctx); err != nil || n != len(all) {
			t.Errorf("PendingMigrations = %d, %v; want %d", n, err, len(all))
		}
		for round := range 2 {
			done, err := s.MigrateUp(ctx)
			if err != nil || !slices.Equal(done, all) {
				t.Fatalf("MigrateUp round %d = %v, %v; want %v", round, done, err, all)
			}
			if done, err := s.MigrateUp(ctx); err != nil || len(done) != 0 {
				t.Errorf("MigrateUp(current) = %v, %v; want nothing", done, err)
			}
			st, _ := s.MigrationStatus(ctx)
			if applied, pending := migrationNames(t, st); !slices.Equal(applied, all) || len(pending) != 0 {
				t.Errorf("status after up: applied %v, pending %v", applied, pending)
			}
			if n, err := s.PendingMigrations(ctx); err != nil || n != 0 {
				t.Errorf("PendingMigrations after up = %d, %v", n, err)
			}
			// The schema works.
			u, _ := newUser(t, s)
			if _, err := s.GetUser(ctx, u.ID); err != nil {
				t.Fatalf("GetUser after up: %v", err)
			}
			if round == 1 {
				break
			}
			down, err := s.MigrateDown(ctx, len(all))
			want := slices.Clone(all)
			slices.Reverse(want)
			if err != nil || !slices.Equal(down, want) {
				t.Fatalf("MigrateDown = %v, %v; want %v", down, err, want)
			}
			if n, err := s.PendingMigrations(ctx); err != nil || n != len(all) {
				t.Errorf("PendingMigrations after down = %d, %v", n, err)
			}
			// The tables are gone: a query fails with a non-sentinel error.
			if _, err := s.GetUser(ctx, uuid.New()); err == nil || errors.Is(err, inkan.ErrNotFound) {
				t.Errorf("GetUser after down = %v, want a missing-table error", err)
			}
			if down, err := s.MigrateDown(ctx, 1); err != nil || len(down) != 0 {
				t.Errorf("MigrateDown(nothing applied) = %v, %v", down, err)
			}
		}
	})
}

// TestConcurrentMigrateUp starts two stores on one fresh database and
// migrates both at once: the lock makes one apply everything and the other
// find nothing to do.
func TestConcurrentMigrateUp(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		var stores [2]*store.Store
		for i := range stores {
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		var wg sync.WaitGroup
		var done [2][]string
		var errs [2]error
		for i, s := range stores {
			wg.Go(func() { done[i], errs[i] = s.MigrateUp(ctx) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("MigrateUp errors: %v, %v", errs[0], errs[1])
		}
		if len(done[0]) != 0 && len(done[1]) != 0 {
			t.Errorf("both calls applied migrations: %v and %v", done[0], done[1])
		}
		st, err := stores[1].MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		applied, pending := migrationNames(t, st)
		if len(pending) != 0 || !slices.Equal(applied, append(done[0], done[1]...)) {
			t.Errorf("status: applied %v, pending %v; calls applied %v + %v", applied, pending, done[0], done[1])
		}
	})
}

// TestOpen covers dialect aliases, DSN forms and SQLite file creation.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, store.Options{Dialect: "oracle", DSN: "x"}); err == nil {
		t.Error("Open(oracle) succeeded")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := store.Open(ctx, store.Options{Dialect: "sqlite", DSN: filepath.Join(dir, "inkan.db")})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("sqlite directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "inkan.db")); err != nil {
		t.Errorf("sqlite file not created: %v", err)
	}

	t.Run("aliases", func(t *testing.T) {
		for _, alias := range []string{"cockroach", "mariadb"} {
			dialect := map[string]string{"cockroach": "postgres", "mariadb": "mysql"}[alias]
			t.Run(alias, func(t *testing.T) {
				o := dbtest.Options(t, dialect)
				o.Dialect = alias
				s, err := store.Open(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if s.Dialect() != dialect {
					t.Errorf("Dialect() = %q, want %q", s.Dialect(), dialect)
				}
			})
		}
	})
	t.Run("mysql URL", func(t *testing.T) {
		o := dbtest.Options(t, "mysql")
		// root@tcp(127.0.0.1:3306)/db → mysql://root@127.0.0.1:3306/db
		cfg := o.DSN
		at, lp, rp := strings.Index(cfg, "@tcp("), strings.Index(cfg, "("), strings.Index(cfg, ")")
		if at < 0 || lp < 0 || rp < 0 {
			t.Skip("mysql DSN is not of the user@tcp(host)/db form")
		}
		o.DSN = "mysql://" + cfg[:at] + "@" + cfg[lp+1:rp] + cfg[rp+1:]
		s, err := store.Open(ctx, o)
		if err != nil {
			t.Fatalf("Open(%s): %v", o.DSN, err)
		}
		_ = s.Close()
	})
}
