package passcode_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/store"
)

// outbox is a Mailer that keeps what it was given; fail makes it refuse.
type outbox struct {
	mu   sync.Mutex
	sent []inkan.PasscodeMail
	fail error
}

func (o *outbox) SendPasscode(_ context.Context, m inkan.PasscodeMail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) last() inkan.PasscodeMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent[len(o.sent)-1]
}

type env struct {
	dsn  string
	st   *store.Store
	svc  *passcode.Service
	mail *outbox
	now  time.Time
	r    passcode.Recipient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	o := dbtest.Options(t, "sqlite")
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{dsn: o.DSN, st: st, mail: &outbox{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	svc, err := passcode.New(e.st, e.mail, passcode.Options{TTL: 300 * time.Second, Secret: []byte("0123456789abcdef0123456789abcdef"), ServiceName: "Test"},
		func() time.Time { return e.now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	u := inkan.User{ID: uuid.New(), CreatedAt: e.now, UpdatedAt: e.now}
	em, err := e.st.CreateUser(context.Background(), u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: "p@example.test", CreatedAt: e.now, UpdatedAt: e.now})
	if err != nil {
		t.Fatal(err)
	}
	e.r = passcode.Recipient{UserID: u.ID, EmailID: em.ID, Address: em.Address, Language: "de"}
	return e
}

func wantKind(t *testing.T, err error, k inkan.Kind, msg string) {
	t.Helper()
	if inkan.KindOf(err) != k || inkan.MessageOf(err) != msg {
		t.Fatalf("error %v: kind %v message %q, want kind %v message %q", err, inkan.KindOf(err), inkan.MessageOf(err), k, msg)
	}
}

func TestInitializeStoresOnlyAKeyedHash(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.Initialize(context.Background(), e.r)
	if err != nil {
		t.Fatal(err)
	}
	m := e.mail.last()
	if !regexp.MustCompile(`^\d{6}$`).MatchString(m.Code) || m.To != "p@example.test" || m.TTL != 300*time.Second || m.ServiceName != "Test" || m.Language != "de" {
		t.Fatalf("mail %+v", m)
	}
	stored, err := e.st.GetPasscode(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.CodeHash) != 32 || bytes.Contains(stored.CodeHash, []byte(m.Code)) {
		t.Fatalf("stored hash %x holds the code or is not HMAC-SHA256", stored.CodeHash)
	}
	if !stored.ExpiresAt.Equal(e.now.Add(300*time.Second)) || stored.TryCount != 0 {
		t.Fatalf("stored %+v", stored)
	}
}

func TestFinalizeStatuses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, _ := e.svc.Initialize(ctx, e.r)
	code := e.mail.last().Code
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}

	_, err := e.svc.Finalize(ctx, uuid.New(), code, nil)
	wantKind(t, err, inkan.KindNotFound, "passcode not found")

	_, err = e.svc.Finalize(ctx, p.ID, wrong, nil)
	wantKind(t, err, inkan.KindUnauthorized, "")
	_, err = e.svc.Finalize(ctx, p.ID, wrong, nil)
	wantKind(t, err, inkan.KindUnauthorized, "")
	// A refused check leaves the passcode usable.
	_, err = e.svc.Finalize(ctx, p.ID, code, func(inkan.Passcode) error { return inkan.E(inkan.KindForbidden, "no") })
	wantKind(t, err, inkan.KindForbidden, "no")
	got, err := e.svc.Finalize(ctx, p.ID, code, nil)
	if err != nil || got.ID != p.ID || got.UserID != e.r.UserID || got.EmailID != e.r.EmailID {
		t.Fatalf("finalize with the right code: %+v %v", got, err)
	}
	// Single use.
	_, err = e.svc.Finalize(ctx, p.ID, code, nil)
	wantKind(t, err, inkan.KindNotFound, "passcode not found")

	// Third wrong code is 410, and then even the right code is 410.
	p, _ = e.svc.Initialize(ctx, e.r)
	code = e.mail.last().Code
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i, want := range []inkan.Kind{inkan.KindUnauthorized, inkan.KindUnauthorized, inkan.KindGone} {
		_, err := e.svc.Finalize(ctx, p.ID, wrong, nil)
		if inkan.KindOf(err) != want {
			t.Fatalf("wrong code #%d: %v, want kind %v", i+1, err, want)
		}
	}
	_, err = e.svc.Finalize(ctx, p.ID, code, nil)
	wantKind(t, err, inkan.KindGone, "max attempts reached")

	// Expired: 408 at exactly created_at + ttl, and the row is kept.
	p, _ = e.svc.Initialize(ctx, e.r)
	code = e.mail.last().Code
	e.now = e.now.Add(300 * time.Second)
	_, err = e.svc.Finalize(ctx, p.ID, code, nil)
	wantKind(t, err, inkan.KindTimeout, "passcode request timed out")
	if _, err := e.st.GetPasscode(ctx, p.ID); err != nil {
		t.Fatalf("expired passcode row: %v", err)
	}
}

func TestMailFailureKillsThePasscode(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.mail.fail = errors.New("smtp: 550 mailbox unavailable")
	_, err := e.svc.Initialize(ctx, e.r)
	wantKind(t, err, inkan.KindBadGateway, "failed to send passcode")
	// Nothing usable was left behind.
	db, err := sql.Open("sqlite", e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM passcodes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d passcodes left after a failed delivery (%v)", n, err)
	}
	e.mail.fail = nil
	p, err := e.svc.Initialize(ctx, e.r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetPasscode(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
}

// TestMailedCodes checks what the service mails: six ASCII digits, fresh
// for each passcode. The distribution of the generator is tested in
// passcode_internal_test.go.
func TestMailedCodes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seen := map[string]bool{}
	for range 20 {
		if _, err := e.svc.Initialize(ctx, e.r); err != nil {
			t.Fatal(err)
		}
		code := e.mail.last().Code
		if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) {
			t.Fatalf("mailed code %q is not 6 ASCII digits", code)
		}
		seen[code] = true
	}
	// 20 uniform draws from 10^6 codes are all equal with probability 10^-114.
	if len(seen) == 1 {
		t.Fatal("20 passcodes mailed the same code")
	}
}

func TestNewRejectsWeakOptions(t *testing.T) {
	if _, err := passcode.New(nil, nil, passcode.Options{TTL: time.Minute, Secret: []byte("short")}, nil, nil); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, err := passcode.New(nil, nil, passcode.Options{Secret: make([]byte, 32)}, nil, nil); err == nil {
		t.Error("a zero TTL was accepted")
	}
}

// TestOldSecretsStillCheck: a passcode issued under secret A finalizes on
// a node that was restarted with [B, A]; with B alone the same code no
// longer matches.
func TestOldSecretsStillCheck(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a, b := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	restart := func(o passcode.Options) *passcode.Service {
		t.Helper()
		o.TTL, o.ServiceName = 300*time.Second, "Test"
		svc, err := passcode.New(e.st, e.mail, o, func() time.Time { return e.now }, nil)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	p1, _ := e.svc.Initialize(ctx, e.r) // under A
	code1 := e.mail.last().Code
	p2, _ := e.svc.Initialize(ctx, e.r)
	code2 := e.mail.last().Code
	rotated := restart(passcode.Options{Secret: b, OldSecrets: [][]byte{a}})
	if _, err := rotated.Finalize(ctx, p1.ID, code1, nil); err != nil {
		t.Fatalf("code issued under the old secret: %v", err)
	}
	p3, _ := rotated.Initialize(ctx, e.r) // under B
	code3 := e.mail.last().Code
	retired := restart(passcode.Options{Secret: b})
	_, err := retired.Finalize(ctx, p2.ID, code2, nil)
	wantKind(t, err, inkan.KindUnauthorized, "")
	if _, err := retired.Finalize(ctx, p3.ID, code3, nil); err != nil {
		t.Fatalf("code issued under the new secret: %v", err)
	}
	if _, err := passcode.New(nil, nil, passcode.Options{TTL: time.Minute, Secret: a, OldSecrets: [][]byte{[]byte("short")}}, nil, nil); err == nil {
		t.Fatal("a short old secret was accepted")
	}
}
