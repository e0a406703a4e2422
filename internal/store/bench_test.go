package store_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// BenchmarkPasscodeCycle measures one passcode's life on each dialect:
// CreatePasscode, one wrong attempt (IncrementPasscodeTries) and
// ConsumePasscode.
func BenchmarkPasscodeCycle(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(d, func(b *testing.B) {
			s := dbtest.Open(b, d)
			u, e := newUser(b, s)
			ctx := context.Background()
			hash := randBytes(b, 32)
			for b.Loop() {
				now := time.Now()
				p := inkan.Passcode{ID: uuid.New(), UserID: u.ID, EmailID: e.ID, CodeHash: hash, TTL: 300 * time.Second, CreatedAt: now, ExpiresAt: now.Add(300 * time.Second)}
				if err := s.CreatePasscode(ctx, p); err != nil {
					b.Fatal(err)
				}
				if _, err := s.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts); err != nil {
					b.Fatal(err)
				}
				if err := s.ConsumePasscode(ctx, p.ID, inkan.MaxPasscodeAttempts, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionRead compares the two ways of sending the hottest
// statement (the session look-up of every authenticated request): bun's
// query building, which formats the values into the SQL text (parsed and
// planned by the server every time), and parameterized SQL (pgx prepares
// it once per connection and caches it). docs/performance.md "Query
// building" records the result and the choice.
func BenchmarkSessionRead(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		s := dbtest.Open(b, d)
		u, _ := newUser(b, s)
		now := time.Now()
		ses := inkan.Session{ID: uuid.New(), UserID: u.ID, CreatedAt: now, UpdatedAt: now, LastUsed: now, ExpiresAt: now.Add(time.Hour)}
		ctx := context.Background()
		if err := s.CreateSession(ctx, ses, 5); err != nil {
			b.Fatal(err)
		}
		want, err := s.GetSession(ctx, ses.ID)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []struct {
			name string
			get  func(context.Context, *store.Store, uuid.UUID) (inkan.Session, error)
		}{{"bun", func(ctx context.Context, s *store.Store, id uuid.UUID) (inkan.Session, error) {
			return s.GetSession(ctx, id)
		}}, {"param", store.GetSessionParam}} {
			b.Run(d+"/"+m.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := m.get(ctx, s, ses.ID)
					if err != nil || got.ID != want.ID || got.UserID != want.UserID || !got.ExpiresAt.Equal(want.ExpiresAt) {
						b.Fatalf("%+v, %v; want %+v", got, err, want)
					}
				}
			})
			// 32 clients at once: where the database's CPU, not the round
			// trip, sets the rate.
			b.Run(d+"/"+m.name+"/32clients", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(32 / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if got, err := m.get(ctx, s, ses.ID); err != nil || got.ID != want.ID || !got.ExpiresAt.Equal(want.ExpiresAt) {
							b.Errorf("%+v, %v; want %+v", got, err, want)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkRevokedSessions reads the revocation list (GET
// /sessions/revoked) holding 10,000 revoked sessions on each dialect
// (README "Keeping native apps signed in").
func BenchmarkRevokedSessions(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(d, func(b *testing.B) {
			s := dbtest.Open(b, d)
			u, _ := newUser(b, s)
			ctx := context.Background()
			now := time.Now().UTC()
			for range 10_000 {
				ses := inkan.Session{ID: uuid.New(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
				if err := s.CreateSession(ctx, ses, 1_000_000); err != nil {
					b.Fatal(err)
				}
				if err := s.DeleteSession(ctx, ses.ID, inkan.SessionEndLogout); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				l, err := s.RevokedSessions(ctx, now)
				if err != nil || len(l) != 10_000 {
					b.Fatal(len(l), err)
				}
			}
		})
	}
}

// BenchmarkSignUpSQL measures the sign-up transaction over one connection:
// "store" is the store's own path (CreateUser and RecordEvent inside
// Atomically: on PostgreSQL one prepared statement for the user and the
// address, one for the event), "param" the earlier four-statement form
// with every statement prepared (user, address check, address, event), kept
// as the yardstick. On PostgreSQL it
// also reports the backend's CPU time per sign-up (pg-cpu-µs/op, from
// /proc/<pid>/schedstat of that connection's server process), the cost
// the issue compares with Hanko's. docs/performance.md "Query building"
// records the result and the choice.
func BenchmarkSignUpSQL(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		o := dbtest.Options(b, d)
		o.MaxOpenConns = 1
		ctx := context.Background()
		s, err := store.Open(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if _, err := s.MigrateUp(ctx); err != nil {
			b.Fatal(err)
		}
		cpu := func() time.Duration { return 0 }
		if d == store.DialectPostgres {
			pid, err := store.BackendPID(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			cpu = func() time.Duration {
				raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
				if err != nil {
					b.Fatal(err)
				}
				ns, err := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
				if err != nil {
					b.Fatal(err)
				}
				return time.Duration(ns)
			}
		}
		signUp := func(u inkan.User, e inkan.Email, ev inkan.Event) error {
			return s.Atomically(ctx, func(ctx context.Context) error {
				if _, err := s.CreateUser(ctx, u, e); err != nil {
					return err
				}
				return s.RecordEvent(ctx, ev)
			})
		}
		for _, m := range []struct {
			name string
			run  func(inkan.User, inkan.Email, inkan.Event) error
		}{{"store", signUp}, {"param", func(u inkan.User, e inkan.Email, ev inkan.Event) error {
			return store.SignUpParam(ctx, s, u, e, ev)
		}}} {
			b.Run(d+"/"+m.name, func(b *testing.B) {
				b.ReportAllocs()
				start := cpu()
				for b.Loop() {
					now := time.Now()
					u := inkan.User{ID: uuid.New(), CreatedAt: now, UpdatedAt: now}
					e := inkan.Email{ID: uuid.New(), Address: uuid.NewString() + "@example.test", CreatedAt: now, UpdatedAt: now}
					ev := inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: u.ID, Email: e.Address}, now)
					if err := m.run(u, e, ev); err != nil {
						b.Fatal(err)
					}
				}
				if d == store.DialectPostgres {
					b.ReportMetric(float64(cpu()-start)/float64(time.Microsecond)/float64(b.N), "pg-cpu-µs/op")
				}
			})
		}
	}
}
