package login_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/password"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

const (
	rpID   = "example.test"
	origin = "https://app.example.test"
)

// request is the metadata every call of the tests carries, as the HTTP
// layer would set it.
var request = inkan.RequestMeta{ID: "req-1", ClientIP: "192.0.2.7", UserAgent: "LoginTest/1.0"}

// outbox is a passcode.Mailer keeping the codes it was given.
type outbox struct {
	mu    sync.Mutex
	codes []string
}

func (o *outbox) SendPasscode(_ context.Context, m inkan.PasscodeMail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes = append(o.codes, m.Code)
	return nil
}

func (o *outbox) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.codes[len(o.codes)-1]
}

type env struct {
	ctx       context.Context
	st        *store.Store
	db        *sql.DB // the same SQLite file, for triggers and raw checks
	clock     *clocktest.Clock
	mail      *outbox
	accounts  *account.Service
	passcodes *passcode.Service
	passkeys  *passkey.Service
	passwords *password.Service
	sessions  *session.Manager
	login     *login.Service
}

func newEnv(t *testing.T, requireVerification bool) *env {
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
	db, err := sql.Open("sqlite", o.DSN+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{
		ctx: inkan.WithRequestMeta(context.Background(), request),
		st:  st, db: db, mail: &outbox{},
		clock: clocktest.New(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)),
	}
	km, err := keys.New(context.Background(), st, keys.Options{Secrets: []string{"a-test-secret-long-enough-for-keys"}, Algorithm: keys.ES256}, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.sessions = session.New(st, km, session.Options{AcquireIPAddress: true, AcquireUserAgent: true}, e.clock.Now)
	e.accounts = account.New(st, account.Options{RequireVerification: requireVerification, AllowSignup: true, EmailLimit: 5}, e.clock.Now)
	if e.passcodes, err = passcode.New(st, e.mail, passcode.Options{TTL: 5 * time.Minute, Secret: []byte("0123456789abcdef0123456789abcdef")}, e.clock.Now, nil); err != nil {
		t.Fatal(err)
	}
	if e.passkeys, err = passkey.New(st, passkey.Options{
		RPID: rpID, RPDisplayName: "Example", Origins: []string{origin},
		RegistrationTimeout: time.Minute, LoginTimeout: time.Minute,
		UserVerification: "preferred", AttestationPreference: "none",
	}, e.clock.Now); err != nil {
		t.Fatal(err)
	}
	if e.passwords, err = password.New(st, password.Options{Hash: "bcrypt", BcryptCost: 4}, e.clock.Now); err != nil {
		t.Fatal(err)
	}
	e.login = login.New(login.Deps{
		Journal: st, Accounts: e.accounts, Passcodes: e.passcodes, Passkeys: e.passkeys,
		Passwords: e.passwords, Sessions: e.sessions, Now: e.clock.Now,
	})
	return e
}

// events returns every recorded event, in order.
func (e *env) events(t *testing.T) []inkan.Event {
	t.Helper()
	evs, err := e.st.Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// eventsAfter returns the events recorded after the first n.
func (e *env) eventsAfter(t *testing.T, n int) []inkan.Event {
	t.Helper()
	return e.events(t)[n:]
}

func types(evs []inkan.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, ",")
}

// wantEvent checks one event's type, actor, request data, error and time.
func (e *env) wantEvent(t *testing.T, ev inkan.Event, typ inkan.EventType, actor inkan.Actor, errMsg string) {
	t.Helper()
	if ev.Type != typ || ev.Actor != actor || ev.Request != request || ev.Error != errMsg ||
		!ev.CreatedAt.Equal(e.clock.Now()) || ev.Seq <= 0 || ev.ID == uuid.Nil {
		t.Errorf("event %+v\nwant type %s actor %+v error %q request %+v at %v", ev, typ, actor, errMsg, request, e.clock.Now())
	}
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// failSessionInserts makes every INSERT into sessions fail, as a database
// that breaks between the code check and the session would; the returned
// function heals it.
func (e *env) failSessionInserts(t *testing.T) func() {
	t.Helper()
	if _, err := e.db.Exec(`CREATE TRIGGER sessions_fail BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'session insert refused by test trigger'); END`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := e.db.Exec(`DROP TRIGGER sessions_fail`); err != nil {
			t.Fatal(err)
		}
	}
}

// signUp creates a user with address (unassigned until a passcode is
// finalized when verification is required) and sends a passcode to it.
func (e *env) signUp(t *testing.T, address string) (inkan.User, inkan.Email, inkan.Passcode) {
	t.Helper()
	res, err := e.login.SignUp(e.ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.passcodes.Initialize(e.ctx, passcode.Recipient{UserID: res.User.ID, EmailID: res.Address.ID, Address: res.Address.Address})
	if err != nil {
		t.Fatal(err)
	}
	return res.User, res.Address, p
}

func wantKind(t *testing.T, err error, k inkan.Kind) {
	t.Helper()
	if inkan.KindOf(err) != k {
		t.Fatalf("error %v: kind %v, want %v", err, inkan.KindOf(err), k)
	}
}

func TestPasscodeSignUpEndsInOneCompletion(t *testing.T) {
	e := newEnv(t, true)
	u, em, p := e.signUp(t, "ada@example.test")
	res, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: e.mail.last()})
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != u.ID || res.Passcode.ID != p.ID || res.Email == nil || res.Email.Address != "ada@example.test" || !res.Email.Primary || !res.Email.Verified {
		t.Fatalf("result %+v", res)
	}
	c, err := e.sessions.Verify(context.Background(), res.Token)
	if err != nil || c.Subject != u.ID || c.SessionID != res.Claims.SessionID || c.Email == nil || c.Email.Address != "ada@example.test" {
		t.Fatalf("token claims %+v, %v", c, err)
	}
	row, err := e.st.GetSession(context.Background(), res.Claims.SessionID)
	if err != nil || row.IPAddress != request.ClientIP || row.UserAgent != request.UserAgent {
		t.Fatalf("session row %+v, %v", row, err)
	}
	if _, err := e.st.GetPasscode(context.Background(), p.ID); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("passcode after a sign-in: %v, want consumed", err)
	}
	evs := e.events(t)
	if types(evs) != "user_created,passcode_login_init_succeeded,email_verified,primary_email_changed,passcode_login_final_succeeded" {
		t.Fatalf("events %s", types(evs))
	}
	evs = append(evs[:1], evs[2:]...) // initialize's event: internal/passcode's tests
	actor := inkan.Actor{UserID: u.ID, Email: "ada@example.test"}
	for i, typ := range []inkan.EventType{inkan.EventUserCreated, inkan.EventEmailVerified, inkan.EventPrimaryChanged, inkan.EventPasscodeLoginFinalSucceeded} {
		e.wantEvent(t, evs[i], typ, actor, "")
	}
	final := evs[3]
	if final.Details["passcode_id"] != p.ID.String() || final.Details["email_id"] != em.ID.String() || final.Details["session_id"] != res.Claims.SessionID.String() {
		t.Fatalf("details %v", final.Details)
	}
	// Seq increases in insert order.
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("seq %d after %d", evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func TestPasscodeReturningUserWritesNoClaim(t *testing.T) {
	e := newEnv(t, true)
	u, em, p := e.signUp(t, "ada@example.test")
	if _, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: e.mail.last()}); err != nil {
		t.Fatal(err)
	}
	n := len(e.events(t))
	p2, err := e.passcodes.Initialize(e.ctx, passcode.Recipient{UserID: u.ID, EmailID: em.ID, Address: em.Address})
	if err != nil {
		t.Fatal(err)
	}
	n++ // passcode_login_init_succeeded
	if _, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p2.ID, Code: e.mail.last()}); err != nil {
		t.Fatal(err)
	}
	if got := types(e.eventsAfter(t, n)); got != "passcode_login_final_succeeded" {
		t.Fatalf("a returning user's login recorded %s", got)
	}
}

func TestPasscodeFailuresRecordTheirEvent(t *testing.T) {
	e := newEnv(t, true)
	u, _, p := e.signUp(t, "ada@example.test")
	code := e.mail.last()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	n := len(e.events(t))

	// Unknown id: 404, no actor.
	_, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: uuid.New(), Code: code})
	wantKind(t, err, inkan.KindNotFound)
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasscodeLoginFinalFailed, inkan.Actor{}, "passcode not found")

	// Wrong code: the attempt and its event commit together.
	_, err = e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: wrong})
	wantKind(t, err, inkan.KindUnauthorized)
	evs = e.eventsAfter(t, n+1)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasscodeLoginFinalFailed, inkan.Actor{UserID: u.ID}, "Unauthorized")
	if evs[0].Details["passcode_id"] != p.ID.String() {
		t.Fatalf("details %v", evs[0].Details)
	}
	if got := e.count(t, `SELECT try_count FROM passcodes WHERE id = ?`, p.ID.String()); got != 1 {
		t.Fatalf("try_count %d after one wrong code", got)
	}

	// Expired: 408.
	e.clock.Advance(5 * time.Minute)
	_, err = e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: code})
	wantKind(t, err, inkan.KindTimeout)
	evs = e.eventsAfter(t, n+2)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasscodeLoginFinalFailed, inkan.Actor{UserID: u.ID}, "passcode request timed out")
	if e.count(t, `SELECT count(*) FROM sessions`) != 0 {
		t.Fatal("a failed passcode login created a session")
	}
}

// TestPasscodeUnitSurvivesAFailedSessionInsert is the proof: the
// session insert fails (a trigger refuses it) after the code matched, and
// the same code then signs the user in. Nothing of the failed attempt
// remains: the passcode is unconsumed with no attempt counted, the address
// unclaimed, no success event.
func TestPasscodeUnitSurvivesAFailedSessionInsert(t *testing.T) {
	e := newEnv(t, true)
	u, em, p := e.signUp(t, "ada@example.test")
	code := e.mail.last()
	n := len(e.events(t))

	heal := e.failSessionInserts(t)
	_, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: code})
	wantKind(t, err, inkan.KindInternal)
	got, err := e.st.GetPasscode(context.Background(), p.ID)
	if err != nil || got.TryCount != 0 {
		t.Fatalf("passcode after the failed insert: %+v, %v; want it unconsumed with no attempt", got, err)
	}
	if stored, err := e.st.GetEmail(context.Background(), em.ID); err != nil || stored.UserID != uuid.Nil || stored.Verified {
		t.Fatalf("address after the failed insert: %+v, %v; want it unclaimed", stored, err)
	}
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events after the failed insert: %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasscodeLoginFinalFailed, inkan.Actor{UserID: u.ID}, "Internal Server Error")

	heal()
	res, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: code})
	if err != nil {
		t.Fatalf("the same code after the database healed: %v", err)
	}
	if res.UserID != u.ID || res.Email == nil || !res.Email.Verified {
		t.Fatalf("result %+v", res)
	}
	if got := types(e.eventsAfter(t, n+1)); got != "email_verified,primary_email_changed,passcode_login_final_succeeded" {
		t.Fatalf("events of the retry: %s", got)
	}
}

func TestPasscodeClaimRefusedLeavesTheCode(t *testing.T) {
	e := newEnv(t, true)
	// Bob signs up and verifies; then Ada's passcode is for Bob's address.
	bob, bobEmail, p := e.signUp(t, "bob@example.test")
	if _, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: e.mail.last()}); err != nil {
		t.Fatal(err)
	}
	ada, _, _ := e.signUp(t, "ada@example.test")
	// A passcode row naming Ada and Bob's address (what an initialize
	// before Bob's claim would have left).
	evil, err := e.passcodes.Initialize(e.ctx, passcode.Recipient{UserID: ada.ID, EmailID: bobEmail.ID, Address: bobEmail.Address})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.events(t))
	_, err = e.login.Passcode(e.ctx, login.PasscodeRequest{ID: evil.ID, Code: e.mail.last()})
	wantKind(t, err, inkan.KindForbidden)
	if _, err := e.st.GetPasscode(context.Background(), evil.ID); err != nil {
		t.Fatalf("refused claim consumed the passcode: %v", err)
	}
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasscodeLoginFinalFailed, inkan.Actor{UserID: ada.ID}, "email address has been claimed by another user")
	if stored, _ := e.st.GetEmail(context.Background(), bobEmail.ID); stored.UserID != bob.ID {
		t.Fatalf("Bob's address moved: %+v", stored)
	}
}

// registerPasskey signs up a verified user with a passkey on auth.
func (e *env) registerPasskey(t *testing.T, auth *webauthntest.Authenticator) inkan.User {
	t.Helper()
	u, _, p := e.signUp(t, "ada@example.test")
	if _, err := e.login.Passcode(e.ctx, login.PasscodeRequest{ID: p.ID, Code: e.mail.last()}); err != nil {
		t.Fatal(err)
	}
	opts, err := e.passkeys.BeginRegistration(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	cred, _, err := auth.Register(opts, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.passkeys.FinishRegistration(e.ctx, u.ID, cred); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) assertion(t *testing.T, auth *webauthntest.Authenticator) []byte {
	t.Helper()
	opts, err := e.passkeys.BeginLogin(e.ctx, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.Login(opts, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPasskeyLogin(t *testing.T) {
	e := newEnv(t, true)
	auth := webauthntest.New()
	u := e.registerPasskey(t, auth)
	body := e.assertion(t, auth)
	n := len(e.events(t))

	// The session insert fails: the ceremony stays usable and the sign
	// count is not moved, so the very same assertion signs in afterwards.
	heal := e.failSessionInserts(t)
	_, err := e.login.Passkey(e.ctx, body)
	wantKind(t, err, inkan.KindInternal)
	heal()
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventWebAuthnAuthenticationFinalFailed, inkan.Actor{UserID: u.ID}, "Internal Server Error")

	res, err := e.login.Passkey(e.ctx, body)
	if err != nil {
		t.Fatalf("the same assertion after the database healed: %v", err)
	}
	if res.UserID != u.ID || res.Credential.UserID != u.ID || res.Email == nil || res.Email.Address != "ada@example.test" {
		t.Fatalf("result %+v", res)
	}
	evs = e.eventsAfter(t, n+1)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventWebAuthnAuthenticationFinalSucceeded, inkan.Actor{UserID: u.ID, Email: "ada@example.test"}, "")

	// Replayed: refused, recorded, nothing else written.
	sessions := e.count(t, `SELECT count(*) FROM sessions`)
	_, err = e.login.Passkey(e.ctx, body)
	wantKind(t, err, inkan.KindUnauthorized)
	evs = e.eventsAfter(t, n+2)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventWebAuthnAuthenticationFinalFailed, inkan.Actor{}, "Stored challenge and received challenge do not match")
	if e.count(t, `SELECT count(*) FROM sessions`) != sessions {
		t.Fatal("a replayed assertion created a session")
	}
}

func TestPasswordLogin(t *testing.T) {
	e := newEnv(t, false)
	res, err := e.login.SignUp(e.ctx, "ada@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if !res.SignedIn || res.Token == "" || res.Email == nil || res.Email.Address != "ada@example.test" {
		t.Fatalf("sign-up without verification: %+v", res)
	}
	if got := types(e.events(t)); got != "user_created" {
		t.Fatalf("sign-up recorded %s", got)
	}
	u := res.User
	if _, err := e.passwords.Set(e.ctx, u.ID, u.ID, "correct horse"); err != nil {
		t.Fatal(err)
	}
	n := len(e.events(t))
	_, err = e.login.Password(e.ctx, u.ID, "wrong horse")
	wantKind(t, err, inkan.KindUnauthorized)
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasswordLoginFailed, inkan.Actor{UserID: u.ID}, "Unauthorized")

	out, err := e.login.Password(e.ctx, u.ID, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if out.UserID != u.ID || out.Email == nil || out.Email.Address != "ada@example.test" {
		t.Fatalf("result %+v", out)
	}
	evs = e.eventsAfter(t, n+1)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasswordLoginSucceeded, inkan.Actor{UserID: u.ID, Email: "ada@example.test"}, "")

	// The session insert fails: no success event, the failure recorded.
	heal := e.failSessionInserts(t)
	_, err = e.login.Password(e.ctx, u.ID, "correct horse")
	wantKind(t, err, inkan.KindInternal)
	heal()
	evs = e.eventsAfter(t, n+2)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventPasswordLoginFailed, inkan.Actor{UserID: u.ID}, "Internal Server Error")
}

func TestSignUpRollsBackWithItsSession(t *testing.T) {
	e := newEnv(t, false)
	heal := e.failSessionInserts(t)
	_, err := e.login.SignUp(e.ctx, "ada@example.test")
	wantKind(t, err, inkan.KindInternal)
	heal()
	if n := e.count(t, `SELECT count(*) FROM users`); n != 0 {
		t.Fatalf("%d users left by a sign-up whose session failed", n)
	}
	if evs := e.events(t); len(evs) != 0 {
		t.Fatalf("a rolled-back sign-up recorded %s", types(evs))
	}
}

func TestAdminSession(t *testing.T) {
	e := newEnv(t, false)
	res, err := e.login.SignUp(e.ctx, "ada@example.test")
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.events(t))
	out, err := e.login.AdminSession(e.ctx, res.User.ID, "backend/1.0", "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.st.GetSession(context.Background(), out.Claims.SessionID)
	if err != nil || row.UserAgent != "backend/1.0" || row.IPAddress != "203.0.113.9" || out.Email == nil || out.Email.Address != "ada@example.test" {
		t.Fatalf("admin session %+v, row %+v, %v", out, row, err)
	}
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventLoginSuccess, inkan.Actor{UserID: res.User.ID, Email: "ada@example.test"}, "")
	if evs[0].Details["api"] != "admin" {
		t.Fatalf("details %v", evs[0].Details)
	}
	// A failed insert leaves neither session nor event.
	heal := e.failSessionInserts(t)
	_, err = e.login.AdminSession(e.ctx, res.User.ID, "", "")
	wantKind(t, err, inkan.KindInternal)
	heal()
	if evs := e.eventsAfter(t, n+1); len(evs) != 0 {
		t.Fatalf("a failed admin session recorded %s", types(evs))
	}
}
