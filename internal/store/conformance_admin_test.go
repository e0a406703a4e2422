package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/audit"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
	"github.com/inkan-auth/inkan/internal/userimport"
)

var (
	_ audit.Store      = (*store.Store)(nil)
	_ userimport.Store = (*store.Store)(nil)
)

// testAdminUsers: ListUsers filters (ids, e-mail substring with LIKE
// wildcards taken literally), order, paging and total; users without an
// address are left out; CreateUserWithEmails takes over a pending address,
// refuses an assigned one writing nothing; UpdateUser writes the profile.
func testAdminUsers(t *testing.T, s *store.Store) {
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	base := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	var ids []uuid.UUID
	for i, local := range []string{"a_" + tag, "b%" + tag, "c" + tag} {
		u := inkan.User{ID: uuid.New(), CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		if _, err := s.CreateUserWithEmails(ctx, u, []inkan.Email{{ID: uuid.New(), Address: local + "@example.test", Primary: true, Verified: true}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	list := func(f inkan.UserFilter) ([]uuid.UUID, int) {
		t.Helper()
		us, total, err := s.ListUsers(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []uuid.UUID
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out, total
	}
	eq := func(what string, got []uuid.UUID, want ...uuid.UUID) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
	}
	got, total := list(inkan.UserFilter{Email: tag, Limit: 10})
	eq("newest first", got, ids[2], ids[1], ids[0])
	if total != 3 {
		t.Fatalf("total = %d", total)
	}
	got, total = list(inkan.UserFilter{Email: tag, Limit: 2, Offset: 1, Ascending: true})
	eq("page 2 of 1, ascending", got, ids[1], ids[2])
	if total != 3 {
		t.Fatalf("total with offset = %d", total)
	}
	got, _ = list(inkan.UserFilter{Email: "_" + tag, Limit: 10})
	eq("'_' is literal", got, ids[0])
	got, _ = list(inkan.UserFilter{Email: "%" + tag, Limit: 10})
	eq("'%' is literal", got, ids[1])
	got, _ = list(inkan.UserFilter{IDs: []uuid.UUID{ids[0], ids[2], uuid.New()}, Limit: 10})
	eq("ids", got, ids[2], ids[0])

	pending := inkan.User{ID: uuid.New()}
	pendingAddr := "pending-" + tag + "@example.test"
	if _, err := s.CreateUser(ctx, pending, inkan.Email{ID: uuid.New(), Address: pendingAddr}); err != nil {
		t.Fatal(err)
	}
	if got, _ = list(inkan.UserFilter{IDs: []uuid.UUID{pending.ID}, Limit: 10}); len(got) != 0 {
		t.Fatalf("a user without an address is listed: %v", got)
	}
	taker := inkan.User{ID: uuid.New()}
	stored, err := s.CreateUserWithEmails(ctx, taker, []inkan.Email{{ID: uuid.New(), Address: pendingAddr, Primary: true}})
	if err != nil || len(stored) != 1 || stored[0].UserID != taker.ID || !stored[0].Primary {
		t.Fatalf("take over a pending address: %+v %v", stored, err)
	}
	clash := inkan.User{ID: uuid.New()}
	_, err = s.CreateUserWithEmails(ctx, clash, []inkan.Email{{ID: uuid.New(), Address: "fresh-" + tag + "@example.test", Primary: true}, {ID: uuid.New(), Address: pendingAddr}})
	wantErr(t, "an assigned address", err, inkan.ErrConflict)
	if _, err := s.GetUser(ctx, clash.ID); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("the refused user was written: %v", err)
	}

	u, _ := s.GetUser(ctx, ids[0])
	u.Name, u.Picture, u.UpdatedAt = "Ada", "https://example.test/a.png", base.Add(48*time.Hour)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if back, _ := s.GetUser(ctx, ids[0]); back.Name != "Ada" || back.Picture != u.Picture || back.GivenName != "" {
		t.Fatalf("profile = %+v", back)
	}
	wantErr(t, "UpdateUser unknown", s.UpdateUser(ctx, inkan.User{ID: uuid.New()}), inkan.ErrNotFound)
}

// testMetadata: absent, written, replaced, an update error writes nothing,
// unknown user.
func testMetadata(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	if md, err := s.GetUserMetadata(ctx, u.ID); err != nil || !md.Empty() {
		t.Fatalf("new user's metadata = %+v, %v", md, err)
	}
	set := func(md inkan.UserMetadata) func(inkan.UserMetadata) (inkan.UserMetadata, error) {
		return func(inkan.UserMetadata) (inkan.UserMetadata, error) { return md, nil }
	}
	if _, err := s.UpdateUserMetadata(ctx, u.ID, localNow(), set(inkan.UserMetadata{Public: json.RawMessage(`{"a":1}`)})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUserMetadata(ctx, u.ID, localNow(), set(inkan.UserMetadata{Private: json.RawMessage(`{"b":2}`)})); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	_, err := s.UpdateUserMetadata(ctx, u.ID, localNow(), func(inkan.UserMetadata) (inkan.UserMetadata, error) { return inkan.UserMetadata{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("update error = %v", err)
	}
	md, err := s.GetUserMetadata(ctx, u.ID)
	if err != nil || md.Public != nil || string(md.Private) != `{"b":2}` || md.Unsafe != nil {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
	_, err = s.GetUserMetadata(ctx, uuid.New())
	wantErr(t, "GetUserMetadata unknown", err, inkan.ErrNotFound)
	_, err = s.UpdateUserMetadata(ctx, uuid.New(), localNow(), set(inkan.UserMetadata{}))
	wantErr(t, "UpdateUserMetadata unknown", err, inkan.ErrNotFound)
}

// testImportUser: a whole user in one transaction; an existing id is
// skipped writing nothing; a taken credential id fails writing nothing.
func testImportUser(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u := inkan.User{ID: uuid.New(), CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
	cred := inkan.Credential{ID: randBytes(t, 16), UserID: u.ID, PublicKey: randBytes(t, 77), AttestationType: "none", SignCount: 9, Transports: []string{"internal"}, BackupEligible: true}
	pw := &inkan.PasswordCredential{ID: uuid.New(), UserID: u.ID, Hash: "$2a$10$abcdefghijklmnopqrstuuNsF/o8qYhU2ZgOCZ2BC1b7YEL4S1ShK"}
	emails := []inkan.Email{{ID: uuid.New(), Address: addr(), Primary: true, Verified: true}, {ID: uuid.New(), Address: addr()}}
	ok, err := s.ImportUser(ctx, u, emails, []inkan.Credential{cred}, pw)
	if err != nil || !ok {
		t.Fatalf("ImportUser = %v, %v", ok, err)
	}
	es, _ := s.ListEmails(ctx, u.ID)
	cs, _ := s.ListCredentials(ctx, u.ID)
	p, perr := s.GetPasswordCredential(ctx, u.ID)
	if len(es) != 2 || len(cs) != 1 || cs[0].SignCount != 9 || perr != nil || p.Hash != pw.Hash {
		t.Fatalf("imported: %+v %+v %+v %v", es, cs, p, perr)
	}
	if ok, err := s.ImportUser(ctx, u, []inkan.Email{{ID: uuid.New(), Address: addr(), Primary: true}}, nil, nil); err != nil || ok {
		t.Fatalf("second ImportUser = %v, %v; want skipped", ok, err)
	}
	if es, _ := s.ListEmails(ctx, u.ID); len(es) != 2 {
		t.Fatalf("the skipped import wrote: %+v", es)
	}
	other := inkan.User{ID: uuid.New()}
	cred.UserID = other.ID
	_, err = s.ImportUser(ctx, other, []inkan.Email{{ID: uuid.New(), Address: addr(), Primary: true}}, []inkan.Credential{cred}, nil)
	wantErr(t, "a taken credential id", err, inkan.ErrConflict)
	if _, err := s.GetUser(ctx, other.ID); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("the failed import left its user: %v", err)
	}
	if all, err := s.AllUsers(ctx); err != nil || len(all) == 0 {
		t.Fatalf("AllUsers = %d, %v", len(all), err)
	}
}

// maskingSink is an EventSink whose audit log shows every address as
// "m***@example.test" behind its tag, and which counts committed events.
type maskingSink struct {
	tag       string
	committed int
}

func (m *maskingSink) AuditEmail(e inkan.Event) string {
	if e.Actor.Email == "" {
		return ""
	}
	return "m" + m.tag + "***@example.test"
}

func (m *maskingSink) Committed(inkan.Event) { m.committed++ }

// testAuditLogs: the audit log is the recorded events, one row each:
// filters (type, user id and address substrings, client address, q,
// exclusive time bounds) on the address as the audit log shows it (the
// sink's masked form, while the event keeps the real one), newest first,
// paging, purge.
func testAuditLogs(t *testing.T, s *store.Store) {
	ctx := context.Background()
	who := uuid.New()
	tag := uuid.NewString()[:8]
	sink := &maskingSink{tag: tag}
	s.SetEventSink(sink)
	defer s.SetEventSink(nil)
	before, err := s.Events(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2022, 2, 3, 4, 5, 6, 0, time.UTC)
	for i, typ := range []inkan.EventType{inkan.EventUserCreated, inkan.EventPasscodeLoginFinalFailed, inkan.EventLoginSuccess} {
		e := inkan.Event{ID: uuid.New(), Type: typ, Actor: inkan.Actor{UserID: who, Email: "real" + tag + "@example.test"},
			Request: inkan.RequestMeta{ID: "r" + tag, ClientIP: "198.51.100." + tag[:1], UserAgent: "ua"}, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if typ == inkan.EventPasscodeLoginFinalFailed {
			e.Error = "passcode not found"
		}
		if i == 2 {
			e = e.With("api", "admin")
		}
		if err := s.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if sink.committed != 3 {
		t.Errorf("sink saw %d committed events, want 3", sink.committed)
	}
	// One row per event, and the event keeps the real address.
	after, err := s.Events(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+3 || after[len(after)-1].Actor.Email != "real"+tag+"@example.test" {
		t.Fatalf("events: %d before, %d after, last %+v", len(before), len(after), after[len(after)-1])
	}
	get := func(f inkan.AuditFilter) ([]inkan.Event, int) {
		t.Helper()
		f.Limit = 10
		if f.ActorUserID == "" && f.Q == "" {
			f.ActorEmail = "m" + tag
		}
		es, n, err := s.ListAuditLogs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return es, n
	}
	es, n := get(inkan.AuditFilter{})
	if n != 3 || len(es) != 3 || es[0].Type != inkan.EventLoginSuccess || es[2].Type != inkan.EventUserCreated || es[0].Details["api"] != "admin" || es[1].Error != "passcode not found" {
		t.Fatalf("entries = %+v (%d)", es, n)
	}
	if es[0].Actor.Email != "m"+tag+"***@example.test" {
		t.Errorf("listed address %q, want the audit log's form", es[0].Actor.Email)
	}
	if es, n, err := s.ListAuditLogs(ctx, inkan.AuditFilter{ActorEmail: "real" + tag, Limit: 10}); err != nil || n != 0 || len(es) != 0 {
		t.Errorf("filter on the hidden address = %d entries, %v; want none", n, err)
	}
	for name, c := range map[string]struct {
		f    inkan.AuditFilter
		want int
	}{
		"type":         {inkan.AuditFilter{Types: []string{"login_success", "user_created"}}, 2},
		"user id":      {inkan.AuditFilter{ActorUserID: who.String()[9:18]}, 3},
		"source ip":    {inkan.AuditFilter{SourceIP: "198.51.100."}, 3},
		"q user id":    {inkan.AuditFilter{Q: who.String()[:8]}, 3},
		"q address":    {inkan.AuditFilter{Q: "m" + tag}, 3},
		"start, excl.": {inkan.AuditFilter{Start: base}, 2},
		"end, excl.":   {inkan.AuditFilter{End: base.Add(2 * time.Minute)}, 2},
		"both":         {inkan.AuditFilter{Start: base, End: base.Add(2 * time.Minute)}, 1},
	} {
		if _, n := get(c.f); n != c.want {
			t.Errorf("%s: %d entries, want %d", name, n, c.want)
		}
	}
	if es, n := get(inkan.AuditFilter{Offset: 2}); n != 3 || len(es) != 1 || es[0].Type != inkan.EventUserCreated {
		t.Fatalf("offset 2 = %+v (%d)", es, n)
	}
	if _, err := s.DeleteAuditLogsBefore(ctx, base.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, n := get(inkan.AuditFilter{}); n != 1 {
		t.Fatalf("after the purge %d entries, want 1", n)
	}
}

// testAdminSessionsPasswords: ListSessions (unexpired, newest first),
// DeleteUserSession (another user's: ErrNotFound), the admin password
// methods' sentinels.
func testAdminSessionsPasswords(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u, _ := newUser(t, s)
	other, _ := newUser(t, s)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var sids []uuid.UUID
	for i, exp := range []time.Duration{time.Hour, -time.Minute, 2 * time.Hour} {
		id := uuid.New()
		if err := s.CreateSession(ctx, inkan.Session{ID: id, UserID: u.ID, CreatedAt: now.Add(time.Duration(i) * time.Second), ExpiresAt: now.Add(exp)}, 10); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, id)
	}
	ss, err := s.ListSessions(ctx, u.ID, now)
	if err != nil || len(ss) != 2 || ss[0].ID != sids[2] || ss[1].ID != sids[0] {
		t.Fatalf("ListSessions = %+v, %v", ss, err)
	}
	wantErr(t, "another user's session", s.DeleteUserSession(ctx, other.ID, sids[0], inkan.SessionEndAdminRevoked), inkan.ErrNotFound)
	if err := s.DeleteUserSession(ctx, u.ID, sids[0], inkan.SessionEndAdminRevoked); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted twice", s.DeleteUserSession(ctx, u.ID, sids[0], inkan.SessionEndAdminRevoked), inkan.ErrNotFound)

	if _, err := s.CreatePasswordCredential(ctx, u.ID, "h1", now); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreatePasswordCredential(ctx, u.ID, "h2", now)
	wantErr(t, "second password", err, inkan.ErrConflict)
	_, err = s.CreatePasswordCredential(ctx, uuid.New(), "h", now)
	wantErr(t, "password of an unknown user", err, inkan.ErrNotFound)
	if c, err := s.UpdatePasswordCredential(ctx, u.ID, "h3", now); err != nil || c.Hash != "h3" {
		t.Fatalf("UpdatePasswordCredential = %+v, %v", c, err)
	}
	_, err = s.UpdatePasswordCredential(ctx, other.ID, "h", now)
	wantErr(t, "replace none", err, inkan.ErrNotFound)
	if err := s.DeletePasswordCredential(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete none", s.DeletePasswordCredential(ctx, u.ID), inkan.ErrNotFound)
}
