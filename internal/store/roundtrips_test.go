package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
)

type codeBox struct{ code string }

func (c *codeBox) SendPasscode(_ context.Context, m inkan.PasscodeMail) error {
	c.code = m.Code
	return nil
}

// TestPasscodeLoginRoundTrips counts the statements (each one round trip,
// BEGIN and COMMIT included) of a passcode login through internal/login on
// every database, and checks that it is one transaction: BEGIN first,
// COMMIT last, nothing outside. The bounds are what it takes today (the
// first login claims the address and records three events; a returning
// user's records one, and with session.limit 1 here evicts the first
// session, which takes one statement to list it as revoked for offline
// verifiers and one to delete it), so a change that adds a round trip
// fails here.
// Before internal/login the same logins took 16 and 8 statements in three
// and two separate units.
func TestPasscodeLoginRoundTrips(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		st, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		log := store.LogQueries(st)
		km, err := keys.New(ctx, st, keys.Options{Secrets: []string{"a-measurement-secret-long-enough"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sessions := session.New(st, km, session.Options{Limit: 1}, nil)
		accounts := account.New(st, account.Options{RequireVerification: true, AllowSignup: true, EmailLimit: 5}, nil)
		box := &codeBox{}
		pcs, err := passcode.New(st, box, passcode.Options{TTL: time.Minute, Secret: []byte("0123456789abcdef0123456789abcdef")}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		logins := login.New(login.Deps{Journal: st, Accounts: accounts, Passcodes: pcs, Sessions: sessions})
		u, e, err := accounts.SignUp(ctx, "m@example.test")
		if err != nil {
			t.Fatal(err)
		}
		for round, name := range []string{"first (sign-up: claim)", "returning user"} {
			// The returning user's new session evicts the first one
			// (session.limit 1): listed as revoked (one insert) and
			// recorded as session_evicted (one insert).
			bound := []int{17, 11}[round]
			p, err := pcs.Initialize(ctx, passcode.Recipient{UserID: u.ID, EmailID: e.ID, Address: e.Address})
			if err != nil {
				t.Fatal(err)
			}
			log.Start()
			res, err := logins.Passcode(ctx, login.PasscodeRequest{ID: p.ID, Code: box.code})
			if err != nil || res.UserID != u.ID {
				t.Fatal(res, err)
			}
			q := log.Stop()
			t.Logf("%s, %s: %d statements", o.Dialect, name, len(q))
			for _, s := range q {
				if len(s) > 90 {
					s = s[:90]
				}
				t.Logf("   %s", s)
			}
			begins := 0
			for _, s := range q {
				if s == "BEGIN" {
					begins++
				}
			}
			if len(q) < 2 || q[0] != "BEGIN" || q[len(q)-1] != "COMMIT" || begins != 1 {
				t.Errorf("%s: not one transaction: %q", name, q)
			}
			if len(q) > bound {
				t.Errorf("%s: %d statements, more than %d", name, len(q), bound)
			}
		}
	})
}
