package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestIdentities: the identities table on every dialect — (provider,
// subject) is unique, an identity outlives its address (email_id becomes
// NULL) and goes with its user.
func TestIdentities(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		s := openMigrated(t, o)
		ctx := context.Background()
		u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
		e, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr(), Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		id := inkan.Identity{ID: uuid.New(), Provider: "apple", Subject: "000123.abc", UserID: u.ID, EmailID: e.ID, Data: []byte(`{"name":"Ada"}`), CreatedAt: localNow(), UpdatedAt: localNow()}
		if err := s.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindIdentity(ctx, "apple", "000123.abc")
		if err != nil || got.ID != id.ID || got.UserID != u.ID || got.EmailID != e.ID || string(got.Data) != `{"name":"Ada"}` || !got.CreatedAt.Equal(id.CreatedAt.Truncate(time.Microsecond)) || got.CreatedAt.Location().String() != "UTC" {
			t.Fatalf("find: %+v %v", got, err)
		}
		dup := id
		dup.ID = uuid.New()
		if err := s.CreateIdentity(ctx, dup); !errors.Is(err, inkan.ErrConflict) {
			t.Errorf("duplicate (provider, subject): %v", err)
		}
		other := inkan.Identity{ID: uuid.New(), Provider: "google", Subject: "000123.abc", UserID: u.ID}
		if err := s.CreateIdentity(ctx, other); err != nil {
			t.Errorf("same subject at another provider: %v", err)
		}
		if err := s.CreateIdentity(ctx, inkan.Identity{ID: uuid.New(), Provider: "google", Subject: "x", UserID: uuid.New()}); !errors.Is(err, inkan.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		if _, err := s.FindIdentity(ctx, "apple", "nope"); !errors.Is(err, inkan.ErrNotFound) {
			t.Errorf("missing: %v", err)
		}
		got.Data = []byte(`{"name":"Ada L."}`)
		if err := s.UpdateIdentity(ctx, got); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListIdentities(ctx, u.ID)
		if err != nil || len(list) != 2 || list[0].ID != id.ID || string(list[0].Data) != `{"name":"Ada L."}` {
			t.Fatalf("list: %+v %v", list, err)
		}
		// A second address so that the first can be deleted.
		if err := s.SetPrimaryEmail(ctx, u.ID, mustAdd(t, s, u.ID).ID, localNow()); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEmail(ctx, u.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindIdentity(ctx, "apple", "000123.abc"); got.EmailID != uuid.Nil {
			t.Errorf("identity keeps a deleted address: %+v", got)
		}
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.ListIdentities(ctx, u.ID); len(list) != 0 {
			t.Errorf("identities outlive their user: %+v", list)
		}
		if err := s.UpdateIdentity(ctx, got); !errors.Is(err, inkan.ErrNotFound) {
			t.Errorf("update of a deleted identity: %v", err)
		}
	})
}

func mustAdd(t *testing.T, s *store.Store, userID uuid.UUID) inkan.Email {
	t.Helper()
	e, err := s.AddEmail(context.Background(), userID, inkan.Email{ID: uuid.New(), UserID: userID, Address: addr(), Verified: true, CreatedAt: localNow(), UpdatedAt: localNow()}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestOneTimeTokens: a token is used once (a second consume, or a racing
// one, is ErrNotFound), an expired one is ErrStale and stays refused.
func TestOneTimeTokens(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		s := openMigrated(t, o)
		ctx := context.Background()
		u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
		if _, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr(), Verified: true}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		mk := func(hash string, exp time.Time) {
			t.Helper()
			if err := s.CreateOneTimeToken(ctx, inkan.OneTimeToken{ID: uuid.New(), UserID: u.ID, ValueHash: hash, Provider: "google", CreatedAt: now, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
		mk("aa", now.Add(time.Minute))
		if err := s.CreateOneTimeToken(ctx, inkan.OneTimeToken{ID: uuid.New(), UserID: u.ID, ValueHash: "aa", Provider: "google", CreatedAt: now, ExpiresAt: now}); !errors.Is(err, inkan.ErrConflict) {
			t.Errorf("duplicate hash: %v", err)
		}
		got, err := s.ConsumeOneTimeToken(ctx, "aa", now)
		if err != nil || got.UserID != u.ID || got.Provider != "google" {
			t.Fatalf("consume: %+v %v", got, err)
		}
		if _, err := s.ConsumeOneTimeToken(ctx, "aa", now); !errors.Is(err, inkan.ErrNotFound) {
			t.Errorf("second use: %v", err)
		}
		mk("bb", now.Add(-time.Second))
		for range 2 {
			if _, err := s.ConsumeOneTimeToken(ctx, "bb", now); !errors.Is(err, inkan.ErrStale) {
				t.Errorf("expired: %v", err)
			}
		}
		// Racing consumers: exactly one wins.
		mk("cc", now.Add(time.Minute))
		wins := make(chan error, 4)
		for range 4 {
			go func() {
				wins <- s.Atomically(ctx, func(ctx context.Context) error {
					_, err := s.ConsumeOneTimeToken(ctx, "cc", now)
					return err
				})
			}()
		}
		ok := 0
		for range 4 {
			if err := <-wins; err == nil {
				ok++
			} else if !errors.Is(err, inkan.ErrNotFound) && !errors.Is(err, inkan.ErrUnavailable) {
				t.Errorf("racing consume: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d racing consumers won, want 1", ok)
		}
	})
}
