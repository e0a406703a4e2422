package store_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestRefreshStateAndRevocations: on every database, a session keeps its
// amr and refresh state, RotateRefresh is a conditional write (conflict
// for a moved generation, not found for a gone session), every way a
// session row ends lists it as revoked with its reason and token expiry,
// ListSessions counts sessions kept alive by a refresh token, and Purge
// removes expired revocation entries.
func TestRefreshStateAndRevocations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		s := openMigrated(t, o)
		u, _ := newUser(t, s)
		other, _ := newUser(t, s)
		now := time.Now().UTC().Truncate(time.Millisecond)
		mk := func(user uuid.UUID, refresh bool) inkan.Session {
			ses := inkan.Session{ID: uuid.New(), UserID: user, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), AMR: []string{"pop", "user"}}
			if refresh {
				ses.Refresh = &inkan.RefreshState{Hash: bytes.Repeat([]byte{1}, 32), Generation: 1, RotatedAt: now, ExpiresAt: now.Add(720 * time.Hour)}
				ses.EndsAt = now.Add(168 * time.Hour)
			}
			if err := s.CreateSession(ctx, ses, 100); err != nil {
				t.Fatal(err)
			}
			return ses
		}
		a := mk(u.ID, true)
		got, err := s.GetSession(ctx, a.ID)
		if err != nil || !slices.Equal(got.AMR, a.AMR) || got.Refresh == nil || got.Refresh.Generation != 1 ||
			!bytes.Equal(got.Refresh.Hash, a.Refresh.Hash) || !got.Refresh.ExpiresAt.Equal(a.Refresh.ExpiresAt) || !got.EndsAt.Equal(a.EndsAt) {
			t.Fatalf("stored %+v (%+v), %v; want %+v", got, got.Refresh, err, a)
		}

		next := inkan.RefreshState{Hash: bytes.Repeat([]byte{2}, 32), Generation: 2, RotatedAt: now.Add(time.Minute), ExpiresAt: a.Refresh.ExpiresAt}
		exp := now.Add(16 * time.Minute)
		if err := s.RotateRefresh(ctx, a.ID, 1, next, exp, now.Add(169*time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "RotateRefresh(moved generation)", s.RotateRefresh(ctx, a.ID, 1, next, exp, exp), inkan.ErrConflict)
		wantErr(t, "RotateRefresh(unknown)", s.RotateRefresh(ctx, uuid.New(), 1, next, exp, exp), inkan.ErrNotFound)
		got, _ = s.GetSession(ctx, a.ID)
		if got.Refresh.Generation != 2 || !bytes.Equal(got.Refresh.Hash, next.Hash) || !got.ExpiresAt.Equal(exp) || !got.LastUsed.Equal(next.RotatedAt) {
			t.Fatalf("after rotation %+v (%+v)", got, got.Refresh)
		}

		// A session whose token expired but whose refresh token lives is
		// listed; a plain expired one is not.
		plain := mk(u.ID, false)
		later := now.Add(time.Hour)
		ss, err := s.ListSessions(ctx, u.ID, later)
		if err != nil || len(ss) != 1 || ss[0].ID != a.ID {
			t.Fatalf("ListSessions an hour later: %+v, %v", ss, err)
		}

		// Every way a session ends lists it.
		b, c, d := mk(u.ID, true), mk(u.ID, false), mk(other.ID, false)
		if err := s.DeleteSession(ctx, plain.ID, inkan.SessionEndLogout); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "DeleteUserSession(another user's)", s.DeleteUserSession(ctx, u.ID, d.ID, inkan.SessionEndUserRevoked), inkan.ErrNotFound)
		if err := s.DeleteUserSession(ctx, u.ID, b.ID, inkan.SessionEndAdminRevoked); err != nil {
			t.Fatal(err)
		}
		ids, err := s.DeleteOtherSessions(ctx, u.ID, a.ID, inkan.SessionEndUserRevoked)
		if err != nil || len(ids) != 1 || ids[0] != c.ID {
			t.Fatalf("DeleteOtherSessions: %v, %v; want [%s]", ids, err, c.ID)
		}
		if err := s.DeleteUser(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		l, err := s.RevokedSessions(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uuid.UUID]inkan.SessionEnd{plain.ID: inkan.SessionEndLogout, b.ID: inkan.SessionEndAdminRevoked, c.ID: inkan.SessionEndUserRevoked, d.ID: inkan.SessionEndUserDeleted}
		if len(l) != len(want) {
			t.Fatalf("revoked %+v, want %v", l, want)
		}
		for _, e := range l {
			if want[e.SessionID] != e.Reason || !e.ExpiresAt.Equal(now.Add(15*time.Minute)) {
				t.Errorf("entry %+v, want reason %q and expiry %v", e, want[e.SessionID], now.Add(15*time.Minute))
			}
		}
		if l, _ := s.RevokedSessions(ctx, now.Add(15*time.Minute)); len(l) != 0 {
			t.Fatalf("entries past their expiry are listed: %+v", l)
		}
		p, err := s.Purge(ctx, store.Cutoffs{Sessions: now.Add(16 * time.Minute)})
		if err != nil || p.Revocations != 4 {
			t.Fatalf("Purge: %+v, %v; want 4 revocations", p, err)
		}
		if _, err := s.GetSession(ctx, a.ID); err != nil {
			t.Fatalf("the refreshable session was purged: %v", err)
		}
	})
}
