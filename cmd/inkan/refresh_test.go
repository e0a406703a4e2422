package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/client"
)

// TestClientRefresh drives the client package's refresh against a real
// server with a 3-second session.lifespan: a request refreshes a JWT that
// is about to expire, a request answered 401 refreshes once and is sent
// again, ten requests with one expired JWT make exactly one refresh, and
// the device list and revocation work through the client.
func TestClientRefresh(t *testing.T) {
	env := baseEnv(t, "sqlite")
	env["SESSION_ENABLE_AUTH_TOKEN_HEADER"] = "true"
	env["SESSION_REFRESH_TOKEN_ENABLED"] = "true"
	env["SESSION_LIFESPAN"] = "3s"
	env["SESSION_LIMIT"] = "10"
	env["RATE_LIMITER_ENABLED"] = "false"
	srv := startServer(t, env)
	ctx := context.Background()

	signIn := func(t *testing.T, email string, opts ...client.Option) *client.Client {
		t.Helper()
		c := client.New(srv.URL, opts...)
		u, err := c.LookupUser(ctx, email)
		var userID, emailID string
		if client.IsNotFound(err) {
			created, err := c.CreateUser(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			userID, emailID = created.UserID, created.EmailID
		} else if err != nil {
			t.Fatal(err)
		} else {
			userID, emailID = u.ID, u.EmailID
		}
		pc, err := c.InitPasscode(ctx, userID, emailID)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := c.FinalizePasscode(ctx, pc.ID, srv.lastCode(t, email))
		if err != nil {
			t.Fatal(err)
		}
		if sess.RefreshToken == "" || c.RefreshToken() != sess.RefreshToken {
			t.Fatalf("sign-in without refresh token: %+v", sess)
		}
		return c
	}
	email := uniqueEmail("ada")

	t.Run("before expiry", func(t *testing.T) {
		var n atomic.Int32
		c := signIn(t, email, client.WithOnTokens(func(client.Session) { n.Add(1) })) // default margin 1m > lifespan
		firstRT := c.RefreshToken()
		n.Store(0)
		if _, err := c.Me(ctx); err != nil {
			t.Fatal(err)
		}
		// (The JWT itself may come back byte for byte the same when the
		// refresh falls in the sign-in's second: iat and exp are whole
		// seconds.)
		if n.Load() != 1 || c.RefreshToken() == firstRT {
			t.Fatalf("refreshes %d; refresh token rotated %v", n.Load(), c.RefreshToken() != firstRT)
		}
	})

	t.Run("once on 401, never two at once", func(t *testing.T) {
		var n atomic.Int32
		c := signIn(t, email, client.WithRefreshBefore(-time.Hour), client.WithOnTokens(func(client.Session) { n.Add(1) }))
		n.Store(0)
		time.Sleep(4 * time.Second) // the JWT expires; the refresh token lives
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Me(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got := n.Load(); got != 1 {
			t.Fatalf("%d refreshes for one expired token, want 1", got)
		}
	})

	t.Run("devices", func(t *testing.T) {
		a := signIn(t, email)
		b := signIn(t, email)
		ds, err := a.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var mine, other string
		for _, d := range ds {
			if d.Current {
				mine = d.ID
			} else if other == "" {
				other = d.ID
			}
		}
		if mine == "" || other == "" || len(ds) < 2 {
			t.Fatalf("devices %+v", ds)
		}
		if err := a.RevokeOtherSessions(ctx); err != nil {
			t.Fatal(err)
		}
		// b's session and refresh token are gone: its request fails and
		// the client forgets both tokens.
		if _, err := b.Me(ctx); !client.IsUnauthorized(err) {
			t.Fatalf("revoked device: %v", err)
		}
		if b.RefreshToken() != "" {
			t.Fatal("the client kept a dead refresh token")
		}
		if err := a.RevokeSession(ctx, other); !client.IsNotFound(err) {
			t.Fatalf("revoking a gone session: %v", err)
		}
		if err := a.RevokeSession(ctx, mine); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Me(ctx); !client.IsUnauthorized(err) {
			t.Fatalf("after revoking its own session: %v", err)
		}
	})
}
