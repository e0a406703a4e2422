package session_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
)

var refreshSecret = []byte("refresh-secret-0123456789abcdef")

func refreshOpts() session.Options {
	return session.Options{
		Lifespan: 15 * time.Minute,
		Refresh: session.RefreshOptions{
			Enabled: true, Lifespan: 30 * 24 * time.Hour, IdleTimeout: 7 * 24 * time.Hour,
			ReuseGrace: 10 * time.Second, Secret: refreshSecret,
		},
	}
}

// start signs a new user in with a refresh token.
func (f *fixture) start(t *testing.T) session.Issued {
	t.Helper()
	is, err := f.m.Start(context.Background(), f.newUser(t), nil, session.Meta{AMR: []string{"otp"}})
	if err != nil {
		t.Fatal(err)
	}
	if is.RefreshToken == "" {
		t.Fatal("no refresh token with refresh tokens enabled")
	}
	return is
}

func wantUnauthorized(t *testing.T, what string, r session.Rotated, err error) {
	t.Helper()
	if inkan.KindOf(err) != inkan.KindUnauthorized || r.RefreshToken != "" {
		t.Fatalf("%s: %+v, %v; want KindUnauthorized", what, r, err)
	}
}

func TestRefreshRotates(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", refreshOpts())
	is := f.start(t)
	if is.Claims.AMR[0] != "otp" {
		t.Fatalf("amr = %v", is.Claims.AMR)
	}
	row, _ := f.st.GetSession(ctx, is.Claims.SessionID)
	if row.Refresh == nil || string(row.Refresh.Hash) == is.RefreshToken || len(row.Refresh.Hash) != 32 {
		t.Fatalf("stored refresh state %+v: want a 32-byte keyed hash", row.Refresh)
	}

	f.clk.Advance(14 * time.Minute)
	r1, err := f.m.Refresh(ctx, is.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Session.ID != is.Claims.SessionID || r1.RefreshToken == is.RefreshToken || r1.RefreshToken == "" {
		t.Fatalf("rotation: %+v", r1)
	}
	if want := f.clk.Now().Add(15 * time.Minute); !r1.Session.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v, want %v", r1.Session.ExpiresAt, want)
	}
	tok, c, err := f.m.Sign(ctx, r1.Session, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionID != is.Claims.SessionID || !slices.Equal(c.AMR, []string{"otp"}) {
		t.Fatalf("refreshed claims %+v", c)
	}
	// The old access token and the new one both verify (same row).
	f.clk.Advance(2 * time.Minute) // the first token's exp passed
	if _, err := f.m.Verify(ctx, tok); err != nil {
		t.Fatalf("refreshed token: %v", err)
	}
	if _, err := f.m.Verify(ctx, is.Token); inkan.KindOf(err) != inkan.KindUnauthorized {
		t.Fatalf("first token after its exp: %v", err)
	}
	// The successor rotates again.
	if _, err := f.m.Refresh(ctx, r1.RefreshToken); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshReuse(t *testing.T) {
	ctx := context.Background()
	t.Run("within grace gets the same successor", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is := f.start(t)
		r1, err := f.m.Refresh(ctx, is.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(10 * time.Second)
		again, err := f.m.Refresh(ctx, is.RefreshToken)
		if err != nil || again.RefreshToken != r1.RefreshToken {
			t.Fatalf("retired token within grace: %+v, %v; want the successor %q", again, err, r1.RefreshToken)
		}
		if _, err := f.m.Refresh(ctx, r1.RefreshToken); err != nil {
			t.Fatalf("the successor after a replay within grace: %v", err)
		}
	})
	for _, c := range []struct {
		name string
		gens int // rotations before the replay of the first token
	}{{"after grace revokes", 1}, {"an older generation revokes", 3}} {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, "EdDSA", refreshOpts())
			is := f.start(t)
			cur := is.RefreshToken
			for range c.gens {
				r, err := f.m.Refresh(ctx, cur)
				if err != nil {
					t.Fatal(err)
				}
				cur = r.RefreshToken
			}
			f.clk.Advance(11 * time.Second)
			r, err := f.m.Refresh(ctx, is.RefreshToken)
			wantUnauthorized(t, "reused token", r, err)
			// The whole session is revoked: access token and every
			// refresh token.
			if _, err := f.m.Verify(ctx, is.Token); inkan.KindOf(err) != inkan.KindUnauthorized {
				t.Fatalf("access token after reuse: %v", err)
			}
			r, err = f.m.Refresh(ctx, cur)
			wantUnauthorized(t, "live refresh token after reuse", r, err)
			evs, err := f.st.Events(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range evs {
				if e.Type == inkan.EventSessionRevoked && e.Details["reason"] == "refresh_token_reuse" && e.Details["session_id"] == is.Claims.SessionID.String() {
					found = true
				}
			}
			if !found {
				t.Fatalf("no session_revoked event with reason refresh_token_reuse in %+v", evs)
			}
			l, err := f.m.RevokedList(ctx)
			if err != nil || len(l) != 1 || l[0].SessionID != is.Claims.SessionID || l[0].Reason != inkan.SessionEndRefreshReuse {
				t.Fatalf("revocation list %+v, %v", l, err)
			}
		})
	}
	t.Run("a token not of the chain changes nothing", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is := f.start(t)
		forged := []byte(is.RefreshToken)
		forged[len(forged)-2] ^= 1 // same session and generation, other bytes
		for _, tok := range []string{string(forged), "", "not-base64!", is.RefreshToken[:20]} {
			r, err := f.m.Refresh(ctx, tok)
			wantUnauthorized(t, "forged "+tok, r, err)
		}
		if _, err := f.m.Verify(ctx, is.Token); err != nil {
			t.Fatalf("session ended by a forged token: %v", err)
		}
		if _, err := f.m.Refresh(ctx, is.RefreshToken); err != nil {
			t.Fatalf("the real token after forged ones: %v", err)
		}
	})
}

func TestRefreshExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("idle", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is := f.start(t)
		f.clk.Advance(7*24*time.Hour + time.Second)
		r, err := f.m.Refresh(ctx, is.RefreshToken)
		wantUnauthorized(t, "idle", r, err)
	})
	t.Run("idle is counted from the last refresh", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is := f.start(t)
		f.clk.Advance(6 * 24 * time.Hour)
		r, err := f.m.Refresh(ctx, is.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(6 * 24 * time.Hour)
		if _, err := f.m.Refresh(ctx, r.RefreshToken); err != nil {
			t.Fatalf("used every 6 days: %v", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is := f.start(t)
		tok := is.RefreshToken
		for range 4 {
			f.clk.Advance(6 * 24 * time.Hour)
			r, err := f.m.Refresh(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			tok = r.RefreshToken
		}
		f.clk.Advance(6*24*time.Hour + time.Second) // 30 days and a second after sign-in
		r, err := f.m.Refresh(ctx, tok)
		wantUnauthorized(t, "past the lifespan", r, err)
	})
	t.Run("off", func(t *testing.T) {
		f := setup(t, "EdDSA", session.Options{})
		is, err := f.m.Start(ctx, f.newUser(t), nil, session.Meta{})
		if err != nil || is.RefreshToken != "" {
			t.Fatalf("refresh token with the feature off: %+v, %v", is, err)
		}
		if _, err := f.m.Refresh(ctx, "x"); inkan.KindOf(err) != inkan.KindNotFound {
			t.Fatalf("refresh off: %v", err)
		}
	})
	t.Run("no refresh token for NoRefreshToken", func(t *testing.T) {
		f := setup(t, "EdDSA", refreshOpts())
		is, err := f.m.Start(ctx, f.newUser(t), nil, session.Meta{NoRefreshToken: true})
		if err != nil || is.RefreshToken != "" {
			t.Fatalf("%+v, %v", is, err)
		}
	})
}

func TestRevocationEndsRefresh(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		revoke func(f *fixture, is session.Issued) error
		reason inkan.SessionEnd
	}{
		{"logout", func(f *fixture, is session.Issued) error { return f.m.Logout(ctx, is.Claims) }, inkan.SessionEndLogout},
		{"admin", func(f *fixture, is session.Issued) error {
			return f.m.RevokeOf(ctx, is.Claims.Subject, is.Claims.SessionID)
		}, inkan.SessionEndAdminRevoked},
		{"own", func(f *fixture, is session.Issued) error {
			return f.m.RevokeOwn(ctx, inkan.Actor{UserID: is.Claims.Subject}, is.Claims.SessionID)
		}, inkan.SessionEndUserRevoked},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, "EdDSA", refreshOpts())
			is := f.start(t)
			if err := c.revoke(f, is); err != nil {
				t.Fatal(err)
			}
			r, err := f.m.Refresh(ctx, is.RefreshToken)
			wantUnauthorized(t, "after "+c.name, r, err)
			l, err := f.m.RevokedList(ctx)
			if err != nil || len(l) != 1 || l[0].SessionID != is.Claims.SessionID || l[0].Reason != c.reason ||
				!l[0].ExpiresAt.Equal(f.clk.Now().Add(15*time.Minute)) {
				t.Fatalf("revocation list %+v, %v", l, err)
			}
			// The entry leaves the list when the token expires.
			f.clk.Advance(15 * time.Minute)
			if l, err := f.m.RevokedList(ctx); err != nil || len(l) != 0 {
				t.Fatalf("list after the token expired: %+v, %v", l, err)
			}
		})
	}
}

func TestRevokeOwnAndOthers(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", refreshOpts())
	user := f.newUser(t)
	var ss []session.Issued
	for range 3 {
		is, err := f.m.Start(ctx, user, nil, session.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, is)
	}
	other := f.start(t)
	// Another user's session: not found, nothing revoked.
	err := f.m.RevokeOwn(ctx, inkan.Actor{UserID: user}, other.Claims.SessionID)
	if inkan.KindOf(err) != inkan.KindNotFound {
		t.Fatalf("another user's session: %v", err)
	}
	if _, err := f.m.Verify(ctx, other.Token); err != nil {
		t.Fatalf("other user's session after a refused revoke: %v", err)
	}
	if err := f.m.RevokeOthers(ctx, inkan.Actor{UserID: user}, ss[0].Claims.SessionID); err != nil {
		t.Fatal(err)
	}
	for i, is := range ss {
		_, err := f.m.Verify(ctx, is.Token)
		if (i == 0) != (err == nil) {
			t.Fatalf("session %d after RevokeOthers: %v", i, err)
		}
	}
	if _, err := f.m.Verify(ctx, other.Token); err != nil {
		t.Fatalf("another user's session after RevokeOthers: %v", err)
	}
}

// TestConcurrentRefreshTwoNodes: 20 refreshes of one token at once, on two
// nodes (two managers, each with its own connection pool to one database),
// end with exactly one live successor: every request succeeds with the
// same token, the row moved one generation, and that token rotates next.
func TestConcurrentRefreshTwoNodes(t *testing.T) {
	for _, d := range dbtest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			o := dbtest.Options(t, d)
			clk := clocktest.New(time.Now().UTC())
			var nodes []*session.Manager
			var first *store.Store
			for i := range 2 {
				st, err := store.Open(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				if i == 0 {
					if _, err := st.MigrateUp(ctx); err != nil {
						t.Fatal(err)
					}
					first = st
				}
				km, err := keys.New(ctx, st, keys.Options{Secrets: []string{secret}, Algorithm: "EdDSA"}, clk.Now)
				if err != nil {
					t.Fatal(err)
				}
				nodes = append(nodes, session.New(st, km, refreshOpts(), clk.Now))
			}
			f := &fixture{st: first, clk: clk, m: nodes[0]}
			is := f.start(t)
			var wg sync.WaitGroup
			results := make([]session.Rotated, 20)
			errs := make([]error, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = nodes[i%2].Refresh(ctx, is.RefreshToken)
				}()
			}
			wg.Wait()
			successors := map[string]int{}
			for i, err := range errs {
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				successors[results[i].RefreshToken]++
			}
			if len(successors) != 1 {
				t.Fatalf("successors %v: want exactly one", successors)
			}
			row, err := first.GetSession(ctx, is.Claims.SessionID)
			if err != nil || row.Refresh.Generation != 2 {
				t.Fatalf("row after the race: %+v, %v; want generation 2", row.Refresh, err)
			}
			for s := range successors {
				if _, err := nodes[1].Refresh(ctx, s); err != nil {
					t.Fatalf("the successor: %v", err)
				}
			}
		})
	}
}
