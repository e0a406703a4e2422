package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/password"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
)

// The store satisfies every domain package's persistence interface.
var (
	_ account.Store  = (*store.Store)(nil)
	_ passcode.Store = (*store.Store)(nil)
	_ session.Store  = (*store.Store)(nil)
	_ keys.Store     = (*store.Store)(nil)
	_ passkey.Store  = (*store.Store)(nil)
	_ password.Store = (*store.Store)(nil)
)

// TestConformance runs the one storage conformance suite on every dialect:
// every method of every domain package's Store interface (account.Store
// includes EmailStore, passkey.Store includes ManageStore).
func TestConformance(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		s := openMigrated(t, o)
		t.Run("Users", func(t *testing.T) { testUsers(t, s) })
		t.Run("ClaimEmail", func(t *testing.T) { testClaimEmail(t, s) })
		t.Run("Passcodes", func(t *testing.T) { testPasscodes(t, s) })
		t.Run("PasscodeConcurrency", func(t *testing.T) { testPasscodeConcurrency(t, s) })
		t.Run("Ceremonies", func(t *testing.T) { testCeremonies(t, s) })
		t.Run("Credentials", func(t *testing.T) { testCredentials(t, s) })
		t.Run("Sessions", func(t *testing.T) { testSessions(t, s) })
		t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, s) })
		t.Run("Purge", func(t *testing.T) { testPurge(t, s) })
		t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, s) })
		t.Run("AddEmail", func(t *testing.T) { testAddEmail(t, s) })
		t.Run("PrimaryAndDeleteEmail", func(t *testing.T) { testPrimaryAndDeleteEmail(t, s) })
		t.Run("ManageCredentials", func(t *testing.T) { testManageCredentials(t, s) })
		t.Run("Passwords", func(t *testing.T) { testPasswords(t, s) })
		t.Run("DeleteUser", func(t *testing.T) { testDeleteUser(t, s) })
		t.Run("AdminUsers", func(t *testing.T) { testAdminUsers(t, s) })
		t.Run("Metadata", func(t *testing.T) { testMetadata(t, s) })
		t.Run("ImportUser", func(t *testing.T) { testImportUser(t, s) })
		t.Run("AuditLogs", func(t *testing.T) { testAuditLogs(t, s) })
		t.Run("AdminSessionsPasswords", func(t *testing.T) { testAdminSessionsPasswords(t, s) })
	})
}

// testConcurrentClaims: two addresses of a user without a primary address
// claimed at once both succeed, and exactly one of them becomes primary.
func testConcurrentClaims(t *testing.T, s *store.Store) {
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
		first, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: addr()})
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.CreateUser(ctx, inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}, inkan.Email{ID: uuid.New(), Address: addr()})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []uuid.UUID{first.ID, second.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.ClaimEmail(ctx, id, u.ID, 5)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent claims: %v, %v", errs[0], errs[1])
		}
		emails, err := s.ListEmails(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		primaries := 0
		for _, e := range emails {
			if e.Primary {
				primaries++
			}
		}
		if len(emails) != 2 || primaries != 1 {
			t.Fatalf("after two concurrent claims: %d addresses, %d primary; want 2 and 1", len(emails), primaries)
		}
	}
}

// testPurge: rows that expired before the cut-off go, the others stay;
// unfinished sign-ups created before the sign-up cut-off go, with their
// passcodes and abandoned unassigned addresses, while every user who has
// anything of an account stays. The old rows are dated 2000 so that no
// other subtest's rows fall before the cut-off.
func testPurge(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, e := newUser(t, s)
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	cutoff := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	oldPC := newPasscode(t, s, u, e, old)
	livePC := newPasscode(t, s, u, e, localNow())
	oldCer := inkan.Ceremony{ID: uuid.New(), Challenge: uuid.NewString(), UserID: u.ID, UserVerification: "preferred",
		Operation: inkan.OperationAuthentication, SessionData: []byte(`{}`), CreatedAt: old, ExpiresAt: old.Add(time.Minute)}
	if err := s.CreateCeremony(ctx, oldCer); err != nil {
		t.Fatal(err)
	}
	liveCer := newCeremony(t, s, u.ID, inkan.OperationAuthentication)
	oldSes := inkan.Session{ID: uuid.New(), UserID: u.ID, CreatedAt: old, UpdatedAt: old, LastUsed: old, ExpiresAt: old.Add(time.Hour)}
	liveSes := inkan.Session{ID: uuid.New(), UserID: u.ID, CreatedAt: localNow(), UpdatedAt: localNow(), LastUsed: localNow(), ExpiresAt: localNow().Add(time.Hour)}
	for _, ses := range []inkan.Session{oldSes, liveSes} {
		if err := s.CreateSession(ctx, ses, 10); err != nil {
			t.Fatal(err)
		}
	}
	// Sign-ups of 2000: one never finished (an unassigned address, a
	// passcode), and one of each kind that has something of an account.
	unfinished := inkan.User{ID: uuid.New(), CreatedAt: old, UpdatedAt: old}
	pending, err := s.CreateUser(ctx, unfinished, inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: old, UpdatedAt: old})
	if err != nil {
		t.Fatal(err)
	}
	pendingPC := newPasscode(t, s, unfinished, pending, old)
	if err := s.DeletePasscode(ctx, pendingPC.ID); err != nil { // expired and purged earlier
		t.Fatal(err)
	}
	stillMailed := inkan.User{ID: uuid.New(), CreatedAt: old, UpdatedAt: old}
	mailed, err := s.CreateUser(ctx, stillMailed, inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: old, UpdatedAt: old})
	if err != nil {
		t.Fatal(err)
	}
	newPasscode(t, s, stillMailed, mailed, localNow()) // a live passcode keeps the address
	withEmail := inkan.User{ID: uuid.New(), CreatedAt: old, UpdatedAt: old}
	if _, err := s.CreateUser(ctx, withEmail, inkan.Email{ID: uuid.New(), UserID: withEmail.ID, Address: addr(), CreatedAt: old, UpdatedAt: old}); err != nil {
		t.Fatal(err)
	}
	bare := func() inkan.User {
		u := inkan.User{ID: uuid.New(), CreatedAt: old, UpdatedAt: old}
		if _, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: localNow(), UpdatedAt: localNow()}); err != nil {
			t.Fatal(err)
		}
		return u
	}
	withPasskey, withPassword, withSession := bare(), bare(), bare()
	reg := newCeremony(t, s, withPasskey.ID, inkan.OperationRegistration)
	if err := s.FinishRegistration(ctx, reg.ID, inkan.Credential{ID: randBytes(t, 16), UserID: withPasskey.ID, PublicKey: randBytes(t, 77), AttestationType: "none", CreatedAt: old, UpdatedAt: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPasswordCredential(ctx, withPassword.ID, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", old); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, inkan.Session{ID: uuid.New(), UserID: withSession.ID, CreatedAt: old, UpdatedAt: old, LastUsed: old, ExpiresAt: localNow().Add(time.Hour)}, 10); err != nil {
		t.Fatal(err)
	}
	recent := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	if _, err := s.CreateUser(ctx, recent, inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: localNow(), UpdatedAt: localNow()}); err != nil {
		t.Fatal(err)
	}

	p, err := s.Purge(ctx, store.Cutoffs{Ceremonies: cutoff, Passcodes: cutoff, Sessions: cutoff, Signups: cutoff})
	if err != nil || p != (store.Purged{Ceremonies: 1, Passcodes: 1, Sessions: 1, Signups: 1, Emails: 1}) {
		t.Fatalf("Purge = %+v, %v; want one of each, one sign-up and one address", p, err)
	}
	_, err = s.GetUser(ctx, unfinished.ID)
	wantErr(t, "unfinished sign-up", err, inkan.ErrNotFound)
	_, err = s.GetEmail(ctx, pending.ID)
	wantErr(t, "its unassigned address", err, inkan.ErrNotFound)
	if _, err := s.GetEmail(ctx, mailed.ID); err != nil {
		t.Errorf("unassigned address with a live passcode: %v", err)
	}
	for name, u := range map[string]inkan.User{"with a live passcode": stillMailed, "with an address": withEmail, "with a passkey": withPasskey, "with a password": withPassword, "with a session": withSession, "recent": recent} {
		if _, err := s.GetUser(ctx, u.ID); err != nil {
			t.Errorf("user %s: %v", name, err)
		}
	}
	_, err = s.GetPasscode(ctx, oldPC.ID)
	wantErr(t, "expired passcode", err, inkan.ErrNotFound)
	_, err = s.GetCeremonyByChallenge(ctx, oldCer.Challenge)
	wantErr(t, "expired ceremony", err, inkan.ErrNotFound)
	_, err = s.GetSession(ctx, oldSes.ID)
	wantErr(t, "expired session", err, inkan.ErrNotFound)
	if _, err := s.GetPasscode(ctx, livePC.ID); err != nil {
		t.Errorf("live passcode: %v", err)
	}
	if _, err := s.GetCeremonyByChallenge(ctx, liveCer.Challenge); err != nil {
		t.Errorf("live ceremony: %v", err)
	}
	if _, err := s.GetSession(ctx, liveSes.ID); err != nil {
		t.Errorf("live session: %v", err)
	}
}

// openMigrated opens the store o names and migrates it up, closing it when
// the test ends.
func openMigrated(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// localNow is the current time in the process zone (America/New_York, see
// TestMain) with nanoseconds, as callers would pass it.
func localNow() time.Time { return time.Now().Add(7 * time.Nanosecond) }

// wantTime fails unless got is in UTC and the same instant as want to the
// microsecond.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
	if w := want.Truncate(time.Microsecond); !got.Equal(w) {
		t.Errorf("%s = %v, want %v", what, got, w.UTC())
	}
}

func wantErr(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: err = %v, want %v", what, err, sentinel)
	}
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func addr() string { return "u-" + uuid.NewString() + "@example.test" }

// newUser creates a user whose primary, verified address is a fresh one.
func newUser(t testing.TB, s *store.Store) (inkan.User, inkan.Email) {
	t.Helper()
	u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	e, err := s.CreateUser(context.Background(), u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr(), Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u, e
}

func testUsers(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, err := s.GetUser(ctx, uuid.New())
	wantErr(t, "GetUser(missing)", err, inkan.ErrNotFound)

	created := localNow()
	u := inkan.User{ID: uuid.New(), CreatedAt: created, UpdatedAt: created.Add(time.Second)}
	in := inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr(), Verified: true, CreatedAt: created, UpdatedAt: created}
	e, err := s.CreateUser(ctx, u, in)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != in.ID || e.UserID != u.ID || e.Address != in.Address || !e.Verified || !e.Primary {
		t.Errorf("CreateUser = %+v, want assigned verified primary %+v", e, in)
	}
	wantTime(t, "email created_at", e.CreatedAt, created)
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID {
		t.Errorf("GetUser id = %v", got.ID)
	}
	wantTime(t, "user created_at", got.CreatedAt, created)
	wantTime(t, "user updated_at", got.UpdatedAt, created.Add(time.Second))

	for name, f := range map[string]func() (inkan.Email, error){
		"FindEmailByAddress": func() (inkan.Email, error) { return s.FindEmailByAddress(ctx, in.Address) },
		"GetEmail":           func() (inkan.Email, error) { return s.GetEmail(ctx, in.ID) },
		"PrimaryEmail":       func() (inkan.Email, error) { return s.PrimaryEmail(ctx, u.ID) },
	} {
		g, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g != e {
			t.Errorf("%s = %+v, want %+v", name, g, e)
		}
	}
	list, err := s.ListEmails(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0] != e {
		t.Errorf("ListEmails = %+v, %v; want [%+v]", list, err, e)
	}
	if list, err := s.ListEmails(ctx, uuid.New()); err != nil || len(list) != 0 {
		t.Errorf("ListEmails(unknown) = %+v, %v; want empty", list, err)
	}
	_, err = s.FindEmailByAddress(ctx, addr())
	wantErr(t, "FindEmailByAddress(missing)", err, inkan.ErrNotFound)
	_, err = s.GetEmail(ctx, uuid.New())
	wantErr(t, "GetEmail(missing)", err, inkan.ErrNotFound)
	_, err = s.PrimaryEmail(ctx, uuid.New())
	wantErr(t, "PrimaryEmail(missing)", err, inkan.ErrNotFound)

	// A taken address: conflict, and the new user is not left behind.
	u2 := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	_, err = s.CreateUser(ctx, u2, inkan.Email{ID: uuid.New(), UserID: u2.ID, Address: in.Address})
	wantErr(t, "CreateUser(taken address)", err, inkan.ErrConflict)
	_, err = s.GetUser(ctx, u2.ID)
	wantErr(t, "GetUser(after conflict)", err, inkan.ErrNotFound)
	// A taken user id: conflict.
	_, err = s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr()})
	wantErr(t, "CreateUser(taken id)", err, inkan.ErrConflict)

	// Sign-up awaiting verification: the address stays unassigned …
	u3 := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	pending := inkan.Email{ID: uuid.New(), Address: addr()}
	e3, err := s.CreateUser(ctx, u3, pending)
	if err != nil {
		t.Fatal(err)
	}
	if e3.UserID != uuid.Nil || e3.Verified || e3.Primary || e3.ID != pending.ID {
		t.Errorf("unassigned CreateUser = %+v", e3)
	}
	_, err = s.PrimaryEmail(ctx, u3.ID)
	wantErr(t, "PrimaryEmail(unassigned)", err, inkan.ErrNotFound)
	// … and a later sign-up with the same address reuses the row.
	u4 := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	e4, err := s.CreateUser(ctx, u4, inkan.Email{ID: uuid.New(), UserID: u4.ID, Address: pending.Address, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	if e4.ID != pending.ID || e4.UserID != u4.ID || !e4.Verified || !e4.Primary {
		t.Errorf("CreateUser(reuse unassigned) = %+v, want row %v assigned to %v", e4, pending.ID, u4.ID)
	}
	// An unverified sign-up with an address that waits unassigned gets that
	// row (and the new user); one with an assigned address gets a conflict
	// and leaves no user behind.
	waiting := inkan.Email{ID: uuid.New(), Address: addr()}
	if _, err := s.CreateUser(ctx, inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}, waiting); err != nil {
		t.Fatal(err)
	}
	u5 := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	e5, err := s.CreateUser(ctx, u5, inkan.Email{ID: uuid.New(), Address: waiting.Address})
	if err != nil {
		t.Fatal(err)
	}
	if e5.ID != waiting.ID || e5.UserID != uuid.Nil || e5.Address != waiting.Address {
		t.Errorf("CreateUser(unassigned again) = %+v, want row %v unassigned", e5, waiting.ID)
	}
	if _, err := s.GetUser(ctx, u5.ID); err != nil {
		t.Errorf("GetUser(unassigned again) = %v", err)
	}
	u6 := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	_, err = s.CreateUser(ctx, u6, inkan.Email{ID: uuid.New(), Address: in.Address})
	wantErr(t, "CreateUser(unassigned, taken address)", err, inkan.ErrConflict)
	_, err = s.GetUser(ctx, u6.ID)
	wantErr(t, "GetUser(after unassigned conflict)", err, inkan.ErrNotFound)
}

func testClaimEmail(t *testing.T, s *store.Store) {
	ctx := context.Background()
	unassigned := func() inkan.Email {
		u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
		e, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: localNow()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	u := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	first, err := s.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: addr()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimEmail(ctx, first.ID, u.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != u.ID || !got.Verified || !got.Primary {
		t.Errorf("ClaimEmail = %+v, want assigned, verified, primary", got)
	}
	second := unassigned()
	got, err = s.ClaimEmail(ctx, second.ID, u.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != u.ID || !got.Verified || got.Primary {
		t.Errorf("ClaimEmail(second) = %+v, want assigned, verified, not primary", got)
	}
	// Claiming an own address again is harmless.
	if _, err := s.ClaimEmail(ctx, second.ID, u.ID, 5); err != nil {
		t.Errorf("ClaimEmail(own again) = %v", err)
	}
	list, err := s.ListEmails(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != first.ID || !list[0].Primary || list[1].ID != second.ID {
		t.Errorf("ListEmails = %+v, %v; want [first(primary), second]", list, err)
	}

	other, _ := newUser(t, s)
	_, err = s.ClaimEmail(ctx, second.ID, other.ID, 5)
	wantErr(t, "ClaimEmail(another user's)", err, inkan.ErrConflict)
	if e, _ := s.GetEmail(ctx, second.ID); e.UserID != u.ID {
		t.Errorf("after conflict the row belongs to %v, want %v", e.UserID, u.ID)
	}
	_, err = s.ClaimEmail(ctx, uuid.New(), u.ID, 5)
	wantErr(t, "ClaimEmail(missing row)", err, inkan.ErrNotFound)
	free := unassigned()
	_, err = s.ClaimEmail(ctx, free.ID, uuid.New(), 5)
	wantErr(t, "ClaimEmail(missing user)", err, inkan.ErrNotFound)
	if e, _ := s.GetEmail(ctx, free.ID); e.UserID != uuid.Nil || e.Verified {
		t.Errorf("after missing user the row is %+v, want untouched", e)
	}
	// u owns two addresses: with limit 2 a third is refused and untouched;
	// re-claiming an owned one still works.
	third := unassigned()
	_, err = s.ClaimEmail(ctx, third.ID, u.ID, 2)
	wantErr(t, "ClaimEmail(over the limit)", err, inkan.ErrStale)
	if e, _ := s.GetEmail(ctx, third.ID); e.UserID != uuid.Nil || e.Verified {
		t.Errorf("after the limit the row is %+v, want untouched", e)
	}
	if _, err := s.ClaimEmail(ctx, second.ID, u.ID, 2); err != nil {
		t.Errorf("ClaimEmail(own, at the limit) = %v", err)
	}
	// Concurrent claims of many addresses never pass the limit.
	v := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	if _, err := s.CreateUser(ctx, v, inkan.Email{ID: uuid.New(), Address: addr()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 6 {
		e := unassigned()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.ClaimEmail(ctx, e.ID, v.ID, 2)
		}()
	}
	wg.Wait()
	if list, err := s.ListEmails(ctx, v.ID); err != nil || len(list) != 2 {
		t.Errorf("after 6 concurrent claims with limit 2: %d addresses (%v)", len(list), err)
	}
}

func newPasscode(t testing.TB, s *store.Store, u inkan.User, e inkan.Email, created time.Time) inkan.Passcode {
	t.Helper()
	p := inkan.Passcode{
		ID: uuid.New(), UserID: u.ID, EmailID: e.ID, CodeHash: randBytes(t, 32),
		TTL: 300 * time.Second, CreatedAt: created, ExpiresAt: created.Add(300 * time.Second),
	}
	if err := s.CreatePasscode(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testPasscodes(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, e := newUser(t, s)
	err := s.CreatePasscode(ctx, inkan.Passcode{ID: uuid.New(), UserID: uuid.New(), EmailID: e.ID, CodeHash: randBytes(t, 32), TTL: time.Minute, CreatedAt: localNow(), ExpiresAt: localNow()})
	wantErr(t, "CreatePasscode(missing user)", err, inkan.ErrNotFound)

	created := localNow()
	p := newPasscode(t, s, u, e, created)
	got, err := s.GetPasscode(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.UserID != u.ID || got.EmailID != e.ID || !bytes.Equal(got.CodeHash, p.CodeHash) || got.TTL != p.TTL || got.TryCount != 0 {
		t.Errorf("GetPasscode = %+v, want %+v", got, p)
	}
	wantTime(t, "passcode created_at", got.CreatedAt, created)
	wantTime(t, "passcode expires_at", got.ExpiresAt, p.ExpiresAt)
	_, err = s.GetPasscode(ctx, uuid.New())
	wantErr(t, "GetPasscode(missing)", err, inkan.ErrNotFound)

	for want := 1; want <= 3; want++ {
		n, err := s.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts)
		if err != nil || n != want {
			t.Fatalf("IncrementPasscodeTries #%d = %d, %v", want, n, err)
		}
	}
	_, err = s.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts)
	wantErr(t, "IncrementPasscodeTries(dead)", err, inkan.ErrStale)
	err = s.ConsumePasscode(ctx, p.ID, inkan.MaxPasscodeAttempts, created)
	wantErr(t, "ConsumePasscode(dead)", err, inkan.ErrStale)
	_, err = s.IncrementPasscodeTries(ctx, uuid.New(), inkan.MaxPasscodeAttempts)
	wantErr(t, "IncrementPasscodeTries(missing)", err, inkan.ErrStale)

	// Expiry is compared with the caller's now, to the microsecond.
	q := newPasscode(t, s, u, e, created)
	err = s.ConsumePasscode(ctx, q.ID, inkan.MaxPasscodeAttempts, q.ExpiresAt)
	wantErr(t, "ConsumePasscode(at expiry)", err, inkan.ErrStale)
	if err := s.ConsumePasscode(ctx, q.ID, inkan.MaxPasscodeAttempts, q.ExpiresAt.Add(-time.Microsecond)); err != nil {
		t.Fatalf("ConsumePasscode(just before expiry) = %v", err)
	}
	err = s.ConsumePasscode(ctx, q.ID, inkan.MaxPasscodeAttempts, created)
	wantErr(t, "ConsumePasscode(again)", err, inkan.ErrStale)
	_, err = s.GetPasscode(ctx, q.ID)
	wantErr(t, "GetPasscode(consumed)", err, inkan.ErrNotFound)

	r := newPasscode(t, s, u, e, created)
	if err := s.DeletePasscode(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetPasscode(ctx, r.ID)
	wantErr(t, "GetPasscode(deleted)", err, inkan.ErrNotFound)
	if err := s.DeletePasscode(ctx, r.ID); err != nil {
		t.Errorf("DeletePasscode(missing) = %v, want nil", err)
	}
}

func testPasscodeConcurrency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, e := newUser(t, s)
	const n = 20

	p := newPasscode(t, s, u, e, localNow())
	var wg sync.WaitGroup
	counts := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { counts[i], errs[i] = s.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts) })
	}
	wg.Wait()
	var ok []int
	for i := range n {
		switch {
		case errs[i] == nil:
			ok = append(ok, counts[i])
		case !errors.Is(errs[i], inkan.ErrStale):
			t.Errorf("IncrementPasscodeTries: unexpected error %v", errs[i])
		}
	}
	slices.Sort(ok)
	if !slices.Equal(ok, []int{1, 2, 3}) {
		t.Errorf("successful increments returned %v, want [1 2 3]", ok)
	}
	if got, err := s.GetPasscode(ctx, p.ID); err != nil || got.TryCount != inkan.MaxPasscodeAttempts {
		t.Errorf("TryCount = %d, %v; want %d", got.TryCount, err, inkan.MaxPasscodeAttempts)
	}

	q := newPasscode(t, s, u, e, localNow())
	for i := range n {
		wg.Go(func() { errs[i] = s.ConsumePasscode(ctx, q.ID, inkan.MaxPasscodeAttempts, localNow()) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, inkan.ErrStale):
			t.Errorf("ConsumePasscode: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent ConsumePasscode succeeded, want exactly 1", wins)
	}
}

func newCeremony(t *testing.T, s *store.Store, userID uuid.UUID, op string) inkan.Ceremony {
	t.Helper()
	c := inkan.Ceremony{
		ID: uuid.New(), Challenge: uuid.NewString(), UserID: userID, UserVerification: "preferred",
		Operation: op, SessionData: []byte(`{"challenge":"x"}`), CreatedAt: localNow(), ExpiresAt: localNow().Add(5 * time.Minute),
	}
	if err := s.CreateCeremony(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func testCeremonies(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	c := inkan.Ceremony{
		ID: uuid.New(), Challenge: "chal-" + uuid.NewString(), UserID: u.ID, UserVerification: "required",
		Operation:            inkan.OperationAuthentication,
		AllowedCredentialIDs: [][]byte{randBytes(t, 16), randBytes(t, 1023)},
		SessionData:          []byte(`{"challenge":"abc","user_id":"AAAA"}`),
		CreatedAt:            localNow(), ExpiresAt: localNow().Add(2 * time.Minute),
	}
	if err := s.CreateCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCeremonyByChallenge(ctx, c.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.Challenge != c.Challenge || got.UserID != c.UserID || got.UserVerification != c.UserVerification ||
		got.Operation != c.Operation || !bytes.Equal(got.SessionData, c.SessionData) || len(got.AllowedCredentialIDs) != 2 ||
		!bytes.Equal(got.AllowedCredentialIDs[0], c.AllowedCredentialIDs[0]) || !bytes.Equal(got.AllowedCredentialIDs[1], c.AllowedCredentialIDs[1]) {
		t.Errorf("GetCeremonyByChallenge = %+v, want %+v", got, c)
	}
	wantTime(t, "ceremony created_at", got.CreatedAt, c.CreatedAt)
	wantTime(t, "ceremony expires_at", got.ExpiresAt, c.ExpiresAt)
	_, err = s.GetCeremonyByChallenge(ctx, "nope")
	wantErr(t, "GetCeremonyByChallenge(missing)", err, inkan.ErrNotFound)
	dup := c
	dup.ID = uuid.New()
	wantErr(t, "CreateCeremony(same challenge)", s.CreateCeremony(ctx, dup), inkan.ErrConflict)

	// Discoverable login: nil user id, no allowed credentials.
	d := newCeremony(t, s, uuid.Nil, inkan.OperationAuthentication)
	got, err = s.GetCeremonyByChallenge(ctx, d.Challenge)
	if err != nil || got.UserID != uuid.Nil || len(got.AllowedCredentialIDs) != 0 {
		t.Errorf("discoverable ceremony = %+v, %v", got, err)
	}
}

func testCredentials(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, e := newUser(t, s)
	if got, has, err := s.FindOwner(ctx, e.Address); err != nil || has || got != e {
		t.Errorf("FindOwner(before) = %+v, %v, %v; want %+v, false", got, has, err, e)
	}
	reg := newCeremony(t, s, u.ID, inkan.OperationRegistration)
	created := localNow()
	c := inkan.Credential{
		ID: randBytes(t, 1023), UserID: u.ID, PublicKey: randBytes(t, 300), AttestationType: "packed",
		AAGUID: uuid.New(), SignCount: 1, Name: "my key", Transports: []string{"usb", "nfc"},
		BackupEligible: true, UserVerified: true, CreatedAt: created, UpdatedAt: created,
	}
	if err := s.FinishRegistration(ctx, reg.ID, c); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetCeremonyByChallenge(ctx, reg.Challenge)
	wantErr(t, "ceremony after registration", err, inkan.ErrNotFound)
	c2 := c
	c2.ID = randBytes(t, 16)
	wantErr(t, "FinishRegistration(used ceremony)", s.FinishRegistration(ctx, reg.ID, c2), inkan.ErrStale)
	if _, err := s.GetCredential(ctx, c2.ID); !errors.Is(err, inkan.ErrNotFound) {
		t.Errorf("credential of a stale registration was written: %v", err)
	}
	reg2 := newCeremony(t, s, u.ID, inkan.OperationRegistration)
	wantErr(t, "FinishRegistration(duplicate id)", s.FinishRegistration(ctx, reg2.ID, c), inkan.ErrConflict)
	if _, err := s.GetCeremonyByChallenge(ctx, reg2.Challenge); err != nil {
		t.Errorf("ceremony of a conflicting registration was deleted: %v", err)
	}
	c3 := c
	c3.ID, c3.UserID = randBytes(t, 16), uuid.New()
	wantErr(t, "FinishRegistration(missing user)", s.FinishRegistration(ctx, reg2.ID, c3), inkan.ErrNotFound)

	got, err := s.GetCredential(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.ID, c.ID) || !bytes.Equal(got.PublicKey, c.PublicKey) || got.UserID != u.ID || got.AttestationType != "packed" ||
		got.AAGUID != c.AAGUID || got.SignCount != 1 || got.Name != "my key" || !slices.Equal(got.Transports, c.Transports) ||
		!got.BackupEligible || got.BackupState || !got.UserVerified || !got.LastUsedAt.IsZero() {
		t.Errorf("GetCredential = %+v, want %+v", got, c)
	}
	wantTime(t, "credential created_at", got.CreatedAt, created)
	_, err = s.GetCredential(ctx, randBytes(t, 32))
	wantErr(t, "GetCredential(missing)", err, inkan.ErrNotFound)
	if got, has, err := s.FindOwner(ctx, e.Address); err != nil || !has || got != e {
		t.Errorf("FindOwner(after) = %+v, %v, %v; want %+v, true", got, has, err, e)
	}
	_, _, err = s.FindOwner(ctx, "nobody@example.test")
	wantErr(t, "FindOwner(missing)", err, inkan.ErrNotFound)

	// A login with an increasing sign count is recorded once.
	login := newCeremony(t, s, u.ID, inkan.OperationAuthentication)
	used := localNow().Add(time.Minute)
	if err := s.FinishLogin(ctx, login.ID, c.ID, 5, true, true, used); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "FinishLogin(used ceremony)", s.FinishLogin(ctx, login.ID, c.ID, 6, true, true, used), inkan.ErrStale)
	got, _ = s.GetCredential(ctx, c.ID)
	if got.SignCount != 5 || !got.BackupEligible || !got.BackupState {
		t.Errorf("after login: sign count %d BE %v BS %v, want 5 true true", got.SignCount, got.BackupEligible, got.BackupState)
	}
	wantTime(t, "last_used_at", got.LastUsedAt, used)

	// A sign count going backwards (or equal) writes nothing.
	for _, sc := range []uint32{3, 5, 0} {
		back := newCeremony(t, s, u.ID, inkan.OperationAuthentication)
		wantErr(t, fmt.Sprintf("FinishLogin(sign count %d after 5)", sc), s.FinishLogin(ctx, back.ID, c.ID, sc, false, false, used.Add(time.Hour)), inkan.ErrStale)
		after, _ := s.GetCredential(ctx, c.ID)
		if after.SignCount != 5 || !after.BackupState || !after.LastUsedAt.Equal(got.LastUsedAt) {
			t.Errorf("stale login wrote: %+v", after)
		}
		if _, err := s.GetCeremonyByChallenge(ctx, back.Challenge); err != nil {
			t.Errorf("stale login deleted its ceremony: %v", err)
		}
	}
	missing := newCeremony(t, s, u.ID, inkan.OperationAuthentication)
	wantErr(t, "FinishLogin(missing credential)", s.FinishLogin(ctx, missing.ID, randBytes(t, 16), 1, false, false, used), inkan.ErrNotFound)

	// Authenticators without a counter: 0 after 0 is accepted every time.
	zero := c
	zero.ID, zero.SignCount, zero.Name, zero.Transports = randBytes(t, 64), 0, "", nil
	zero.CreatedAt = created.Add(time.Second)
	if err := s.FinishRegistration(ctx, newCeremony(t, s, u.ID, inkan.OperationRegistration).ID, zero); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.FinishLogin(ctx, newCeremony(t, s, u.ID, inkan.OperationAuthentication).ID, zero.ID, 0, false, false, used); err != nil {
			t.Fatalf("FinishLogin(0 after 0) = %v", err)
		}
	}
	list, err := s.ListCredentials(ctx, u.ID)
	if err != nil || len(list) != 2 || !bytes.Equal(list[0].ID, c.ID) || !bytes.Equal(list[1].ID, zero.ID) {
		t.Errorf("ListCredentials = %d rows, %v; want [c, zero]", len(list), err)
	} else if list[1].Name != "" || len(list[1].Transports) != 0 {
		t.Errorf("unnamed credential = %+v", list[1])
	}
	testProfile(t, s, u.ID)
}

// testProfile checks that Profile's one statement reads what GetUser,
// ListEmails and ListCredentials read, and ProfileWithIdentities' one
// statement those and what ListIdentities reads, each row exactly once,
// for a user with two addresses, the two credentials of testCredentials
// and two identities (one linked to an address, with data; one without
// either), for a user with nothing but the row, and that a missing user is
// ErrNotFound.
func testProfile(t *testing.T, s *store.Store, userID uuid.UUID) {
	ctx := context.Background()
	second, err := s.AddEmail(ctx, userID, inkan.Email{ID: uuid.New(), UserID: userID, Address: addr(), Verified: true, CreatedAt: localNow().Add(time.Second)}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []inkan.Identity{
		{ID: uuid.New(), Provider: "google", Subject: "g-" + uuid.NewString(), UserID: userID, EmailID: second.ID, Data: []byte(`{"name":"Ada"}`)},
		{ID: uuid.New(), Provider: "custom_kc", Subject: "kc-" + uuid.NewString(), UserID: userID},
	} {
		id.CreatedAt = localNow().Add(time.Duration(i-2) * time.Second)
		id.UpdatedAt = id.CreatedAt
		if err := s.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	bare := inkan.User{ID: uuid.New(), CreatedAt: localNow(), UpdatedAt: localNow()}
	if _, err := s.CreateUser(ctx, bare, inkan.Email{ID: uuid.New(), Address: addr()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id                 uuid.UUID
		emails, creds, ids int
	}{{userID, 2, 2, 2}, {bare.ID, 0, 0, 0}} {
		u, err := s.GetUser(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		emails, err := s.ListEmails(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.ListCredentials(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := s.ListIdentities(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		want := inkan.Profile{User: u, Emails: emails, Credentials: creds}
		got, err := s.Profile(ctx, c.id)
		if err != nil {
			t.Fatalf("Profile = %v", err)
		}
		if len(got.Emails) != c.emails || len(got.Credentials) != c.creds || got.Identities != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Profile = %+v\nwant %+v", got, want)
		}
		if p, ok := got.Primary(); c.emails > 0 && (!ok || p != emails[0]) {
			t.Errorf("Profile.Primary = %+v, %v; want %+v", p, ok, emails[0])
		}
		want.Identities = ids
		got, err = s.ProfileWithIdentities(ctx, c.id)
		if err != nil {
			t.Fatalf("ProfileWithIdentities = %v", err)
		}
		if len(got.Emails) != c.emails || len(got.Credentials) != c.creds || len(got.Identities) != c.ids || !reflect.DeepEqual(got, want) {
			t.Errorf("ProfileWithIdentities = %+v\nwant %+v", got, want)
		}
	}
	_, err = s.Profile(ctx, uuid.New())
	wantErr(t, "Profile(missing)", err, inkan.ErrNotFound)
	_, err = s.ProfileWithIdentities(ctx, uuid.New())
	wantErr(t, "ProfileWithIdentities(missing)", err, inkan.ErrNotFound)
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	base := localNow()
	mk := func(i int) inkan.Session {
		at := base.Add(time.Duration(i) * time.Second)
		return inkan.Session{
			ID: uuid.New(), UserID: u.ID, UserAgent: strings.Repeat(`a'b\"c\\`, 125), IPAddress: "2001:db8::1",
			CreatedAt: at, UpdatedAt: at, LastUsed: at, ExpiresAt: at.Add(time.Hour),
		}
	}
	missing := mk(0)
	missing.UserID = uuid.New()
	wantErr(t, "CreateSession(missing user)", s.CreateSession(ctx, missing, 3), inkan.ErrNotFound)

	var all []inkan.Session
	for i := range 5 {
		ses := mk(i)
		if err := s.CreateSession(ctx, ses, 3); err != nil {
			t.Fatal(err)
		}
		all = append(all, ses)
	}
	for i, ses := range all {
		got, err := s.GetSession(ctx, ses.ID)
		if i < 2 {
			wantErr(t, fmt.Sprintf("GetSession(evicted #%d)", i), err, inkan.ErrNotFound)
			continue
		}
		if err != nil {
			t.Fatalf("GetSession(#%d): %v", i, err)
		}
		if got.ID != ses.ID || got.UserID != u.ID || got.UserAgent != ses.UserAgent || got.IPAddress != ses.IPAddress {
			t.Errorf("GetSession = %+v", got)
		}
		wantTime(t, "session created_at", got.CreatedAt, ses.CreatedAt)
		wantTime(t, "session expires_at", got.ExpiresAt, ses.ExpiresAt)
		wantTime(t, "session last_used", got.LastUsed, ses.LastUsed)
	}
	wantErr(t, "CreateSession(same id)", s.CreateSession(ctx, all[4], 3), inkan.ErrConflict)

	touched := base.Add(time.Hour / 2)
	if err := s.TouchSession(ctx, all[4].ID, touched); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetSession(ctx, all[4].ID)
	wantTime(t, "touched last_used", got.LastUsed, touched)
	wantErr(t, "TouchSession(missing)", s.TouchSession(ctx, uuid.New(), touched), inkan.ErrNotFound)
	if err := s.DeleteSession(ctx, all[4].ID, inkan.SessionEndLogout); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteSession(again)", s.DeleteSession(ctx, all[4].ID, inkan.SessionEndLogout), inkan.ErrNotFound)
	_, err := s.GetSession(ctx, all[4].ID)
	wantErr(t, "GetSession(deleted)", err, inkan.ErrNotFound)
}

func testSigningKeys(t *testing.T, s *store.Store) {
	ctx := context.Background()
	if ks, err := s.ListSigningKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("ListSigningKeys(empty) = %v, %v", ks, err)
	}
	created := localNow()
	k1, err := s.InsertSigningKey(ctx, inkan.SigningKey{KID: "k1", Algorithm: "RS256", KeyData: randBytes(t, 2400), CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.InsertSigningKey(ctx, inkan.SigningKey{KID: "k2", Algorithm: "EdDSA", KeyData: randBytes(t, 60), CreatedAt: created, RevokedAt: created.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID <= 0 || k2.ID <= k1.ID {
		t.Errorf("ids %d, %d: want positive and ascending", k1.ID, k2.ID)
	}
	_, err = s.InsertSigningKey(ctx, inkan.SigningKey{KID: "k1", Algorithm: "ES256", KeyData: []byte{1}, CreatedAt: created})
	wantErr(t, "InsertSigningKey(same kid)", err, inkan.ErrConflict)
	ks, err := s.ListSigningKeys(ctx)
	if err != nil || len(ks) != 2 {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	for i, want := range []inkan.SigningKey{k1, k2} {
		got := ks[i]
		if got.ID != want.ID || got.KID != want.KID || got.Algorithm != want.Algorithm || !bytes.Equal(got.KeyData, want.KeyData) {
			t.Errorf("key %d = %+v, want %+v", i, got, want)
		}
		wantTime(t, "key created_at", got.CreatedAt, created)
	}
	if !ks[0].RevokedAt.IsZero() {
		t.Errorf("active key retired_at = %v", ks[0].RevokedAt)
	}
	wantTime(t, "key retired_at", ks[1].RevokedAt, created.Add(time.Hour))

	// Re-sealing is conditional on the old material.
	sealed := randBytes(t, 2400)
	if err := s.ResealSigningKey(ctx, k1.ID, k1.KeyData, sealed); err != nil {
		t.Fatalf("ResealSigningKey: %v", err)
	}
	wantErr(t, "ResealSigningKey(stale old)", s.ResealSigningKey(ctx, k1.ID, k1.KeyData, randBytes(t, 10)), inkan.ErrStale)
	wantErr(t, "ResealSigningKey(unknown id)", s.ResealSigningKey(ctx, k2.ID+100, sealed, sealed), inkan.ErrStale)
	if ks, _ := s.ListSigningKeys(ctx); !bytes.Equal(ks[0].KeyData, sealed) || !bytes.Equal(ks[1].KeyData, k2.KeyData) {
		t.Fatal("re-sealed material not stored, or another key changed")
	}

	// Revocation marks once and keeps the first time.
	revoked := created.Add(2 * time.Hour)
	if err := s.RevokeSigningKey(ctx, "k1", revoked); err != nil {
		t.Fatalf("RevokeSigningKey: %v", err)
	}
	if err := s.RevokeSigningKey(ctx, "k1", revoked.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeSigningKey again: %v", err)
	}
	wantErr(t, "RevokeSigningKey(unknown)", s.RevokeSigningKey(ctx, "nope", revoked), inkan.ErrNotFound)
	ks, _ = s.ListSigningKeys(ctx)
	wantTime(t, "revoked key retired_at", ks[0].RevokedAt, revoked)
	wantTime(t, "other key retired_at", ks[1].RevokedAt, created.Add(time.Hour))
}

func testAddEmail(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	other, otherEmail := newUser(t, s)

	// Unassigned (verification pending), then returned unchanged.
	pending := inkan.Email{ID: uuid.New(), Address: addr(), CreatedAt: localNow()}
	got, err := s.AddEmail(ctx, u.ID, pending, 5)
	if err != nil || got.ID != pending.ID || got.UserID != uuid.Nil || got.Primary {
		t.Fatalf("AddEmail(unassigned) = %+v, %v", got, err)
	}
	again := pending
	again.ID = uuid.New()
	if got, err := s.AddEmail(ctx, other.ID, again, 5); err != nil || got.ID != pending.ID || got.UserID != uuid.Nil {
		t.Fatalf("AddEmail(existing unassigned) = %+v, %v; want the pending row", got, err)
	}
	// Assigned at once takes the unassigned row over.
	take := inkan.Email{ID: uuid.New(), UserID: u.ID, Address: pending.Address}
	if got, err := s.AddEmail(ctx, u.ID, take, 5); err != nil || got.ID != pending.ID || got.UserID != u.ID || got.Primary {
		t.Fatalf("AddEmail(assign existing) = %+v, %v", got, err)
	}
	// Owned by anyone: conflict, nothing written.
	_, err = s.AddEmail(ctx, u.ID, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: otherEmail.Address}, 5)
	wantErr(t, "AddEmail(other's address)", err, inkan.ErrConflict)
	_, err = s.AddEmail(ctx, u.ID, inkan.Email{ID: uuid.New(), Address: pending.Address}, 5)
	wantErr(t, "AddEmail(own address)", err, inkan.ErrConflict)
	// Limit: u owns 2 now.
	_, err = s.AddEmail(ctx, u.ID, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr()}, 2)
	wantErr(t, "AddEmail(at limit)", err, inkan.ErrStale)
	if list, _ := s.ListEmails(ctx, u.ID); len(list) != 2 {
		t.Fatalf("emails after limit = %d, want 2", len(list))
	}
	_, err = s.AddEmail(ctx, uuid.New(), inkan.Email{ID: uuid.New(), Address: addr()}, 5)
	wantErr(t, "AddEmail(unknown user)", err, inkan.ErrNotFound)
}

func testPrimaryAndDeleteEmail(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, first := newUser(t, s)
	other, otherEmail := newUser(t, s)
	second, err := s.AddEmail(ctx, u.ID, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr()}, 5)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "SetPrimary(foreign)", s.SetPrimaryEmail(ctx, u.ID, otherEmail.ID, localNow()), inkan.ErrNotFound)
	wantErr(t, "SetPrimary(unknown)", s.SetPrimaryEmail(ctx, u.ID, uuid.New(), localNow()), inkan.ErrNotFound)
	wantErr(t, "DeleteEmail(foreign)", s.DeleteEmail(ctx, u.ID, otherEmail.ID), inkan.ErrNotFound)
	wantErr(t, "DeleteEmail(unknown)", s.DeleteEmail(ctx, u.ID, uuid.New()), inkan.ErrNotFound)
	wantErr(t, "DeleteEmail(primary)", s.DeleteEmail(ctx, u.ID, first.ID), inkan.ErrConflict)
	if p, err := s.PrimaryEmail(ctx, other.ID); err != nil || p.ID != otherEmail.ID {
		t.Fatalf("other's primary changed: %+v, %v", p, err)
	}
	if err := s.SetPrimaryEmail(ctx, u.ID, second.ID, localNow()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPrimaryEmail(ctx, u.ID, second.ID, localNow()); err != nil {
		t.Fatalf("SetPrimary(already primary): %v", err)
	}
	if p, err := s.PrimaryEmail(ctx, u.ID); err != nil || p.ID != second.ID || !p.Primary {
		t.Fatalf("PrimaryEmail = %+v, %v", p, err)
	}
	if err := s.DeleteEmail(ctx, u.ID, first.ID); err != nil {
		t.Fatalf("DeleteEmail(former primary): %v", err)
	}
	if list, _ := s.ListEmails(ctx, u.ID); len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("emails = %+v", list)
	}
}

func testManageCredentials(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	other, _ := newUser(t, s)
	reg := newCeremony(t, s, u.ID, inkan.OperationRegistration)
	c := inkan.Credential{ID: randBytes(t, 32), UserID: u.ID, PublicKey: randBytes(t, 77), AttestationType: "none", AAGUID: uuid.New(), Name: "old", Transports: []string{}}
	if err := s.FinishRegistration(ctx, reg.ID, c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Rename(other user)", s.RenameCredential(ctx, other.ID, c.ID, "x", localNow()), inkan.ErrNotFound)
	wantErr(t, "Rename(unknown)", s.RenameCredential(ctx, u.ID, randBytes(t, 32), "x", localNow()), inkan.ErrNotFound)
	name := strings.Repeat("ü", 255)
	if err := s.RenameCredential(ctx, u.ID, c.ID, name, localNow()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCredential(ctx, c.ID); got.Name != name {
		t.Fatalf("name = %q", got.Name)
	}
	if err := s.RenameCredential(ctx, u.ID, c.ID, "", localNow()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCredential(ctx, c.ID); got.Name != "" {
		t.Fatalf("name after clear = %q", got.Name)
	}
	wantErr(t, "Delete(other user)", s.DeleteCredential(ctx, other.ID, c.ID), inkan.ErrNotFound)
	if err := s.DeleteCredential(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Delete(again)", s.DeleteCredential(ctx, u.ID, c.ID), inkan.ErrNotFound)
}

func testPasswords(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	_, err := s.GetPasswordCredential(ctx, u.ID)
	wantErr(t, "GetPasswordCredential(none)", err, inkan.ErrNotFound)
	_, err = s.SetPasswordCredential(ctx, uuid.New(), "$2a$x", localNow())
	wantErr(t, "SetPasswordCredential(unknown user)", err, inkan.ErrNotFound)
	t0 := localNow()
	if created, err := s.SetPasswordCredential(ctx, u.ID, "hash-1", t0); err != nil || !created {
		t.Fatalf("first set = %v, %v", created, err)
	}
	pc, err := s.GetPasswordCredential(ctx, u.ID)
	if err != nil || pc.Hash != "hash-1" || pc.UserID != u.ID {
		t.Fatalf("get = %+v, %v", pc, err)
	}
	wantTime(t, "created_at", pc.CreatedAt, t0)
	if created, err := s.SetPasswordCredential(ctx, u.ID, "hash-2", localNow()); err != nil || created {
		t.Fatalf("second set = %v, %v", created, err)
	}
	wantErr(t, "Replace(stale)", s.ReplacePasswordHash(ctx, u.ID, "hash-1", "hash-3", localNow()), inkan.ErrStale)
	if err := s.ReplacePasswordHash(ctx, u.ID, "hash-2", "hash-3", localNow()); err != nil {
		t.Fatal(err)
	}
	if pc2, _ := s.GetPasswordCredential(ctx, u.ID); pc2.Hash != "hash-3" || pc2.ID != pc.ID {
		t.Fatalf("after replace = %+v", pc2)
	}
	// Concurrent first sets: one insert, one replace, never a conflict.
	v, _ := newUser(t, s)
	var wg sync.WaitGroup
	results := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.SetPasswordCredential(ctx, v.ID, fmt.Sprintf("h%d", i), localNow())
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("concurrent set: %v", err)
		}
	}
}

func testDeleteUser(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, e := newUser(t, s)
	other, otherEmail := newUser(t, s)
	if _, err := s.AddEmail(ctx, u.ID, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr()}, 5); err != nil {
		t.Fatal(err)
	}
	pc := newPasscode(t, s, u, e, localNow())
	reg := newCeremony(t, s, u.ID, inkan.OperationRegistration)
	cred := inkan.Credential{ID: randBytes(t, 32), UserID: u.ID, PublicKey: randBytes(t, 77), AttestationType: "none", AAGUID: uuid.New(), Transports: []string{}}
	if err := s.FinishRegistration(ctx, reg.ID, cred); err != nil {
		t.Fatal(err)
	}
	pending := newCeremony(t, s, u.ID, inkan.OperationRegistration)
	if _, err := s.SetPasswordCredential(ctx, u.ID, "h", localNow()); err != nil {
		t.Fatal(err)
	}
	ses := inkan.Session{ID: uuid.New(), UserID: u.ID, CreatedAt: localNow(), ExpiresAt: localNow().Add(time.Hour)}
	if err := s.CreateSession(ctx, ses, 5); err != nil {
		t.Fatal(err)
	}
	otherSes := inkan.Session{ID: uuid.New(), UserID: other.ID, CreatedAt: localNow(), ExpiresAt: localNow().Add(time.Hour)}
	if err := s.CreateSession(ctx, otherSes, 5); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteUser(again)", s.DeleteUser(ctx, u.ID), inkan.ErrNotFound)
	_, err := s.GetUser(ctx, u.ID)
	wantErr(t, "GetUser", err, inkan.ErrNotFound)
	_, err = s.GetEmail(ctx, e.ID)
	wantErr(t, "GetEmail", err, inkan.ErrNotFound)
	if list, _ := s.ListEmails(ctx, u.ID); len(list) != 0 {
		t.Errorf("emails left: %d", len(list))
	}
	_, err = s.GetCredential(ctx, cred.ID)
	wantErr(t, "GetCredential", err, inkan.ErrNotFound)
	_, err = s.GetPasscode(ctx, pc.ID)
	wantErr(t, "GetPasscode", err, inkan.ErrNotFound)
	_, err = s.GetCeremonyByChallenge(ctx, pending.Challenge)
	wantErr(t, "pending ceremony", err, inkan.ErrNotFound)
	_, err = s.GetPasswordCredential(ctx, u.ID)
	wantErr(t, "GetPasswordCredential", err, inkan.ErrNotFound)
	_, err = s.GetSession(ctx, ses.ID)
	wantErr(t, "GetSession", err, inkan.ErrNotFound)
	// The other user is untouched.
	if _, err := s.GetSession(ctx, otherSes.ID); err != nil {
		t.Errorf("other user's session: %v", err)
	}
	if p, err := s.PrimaryEmail(ctx, other.ID); err != nil || p.ID != otherEmail.ID {
		t.Errorf("other user's primary: %+v, %v", p, err)
	}
}
