package passkey_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/outboxtest"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/store"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

const (
	rpID       = "example.test"
	origin     = "https://app.example.test"
	apkOrigin  = "android:apk-key-hash:Y2VydGlmaWNhdGUtaGFzaC1zaGEyNTYtaW4tYmFzZTY0dXJs"
	email      = "alice@example.test"
	regTimeout = 5 * time.Minute
)

var b64 = base64.RawURLEncoding

// testStore is a passkey.Store that can also create users.
type testStore interface {
	passkey.Store
	addUser(email string) uuid.UUID
}

// dbStore is the real store on a fresh SQLite database.
type dbStore struct {
	*store.Store
	t *testing.T
}

// addUser creates a user whose primary address is email; with email ""
// the user has no primary address.
func (d dbStore) addUser(email string) uuid.UUID {
	id := uuid.New()
	e := inkan.Email{ID: uuid.New(), UserID: id, Address: email, Verified: true}
	if email == "" {
		e.UserID, e.Address = uuid.Nil, id.String()+"@unassigned.test"
	}
	if _, err := d.CreateUser(ctx, inkan.User{ID: id}, e); err != nil {
		d.t.Fatalf("CreateUser: %v", err)
	}
	return id
}

type env struct {
	logs  *outboxtest.Buffer // what the service logged
	svc   *passkey.Service
	store testStore
	clock *clocktest.Clock
	auth  *webauthntest.Authenticator
	user  uuid.UUID

	users      []uuid.UUID
	challenges []string
}

func newEnv(t *testing.T, mod func(*passkey.Options)) *env {
	t.Helper()
	o := passkey.Options{
		RPID:                  rpID,
		RPDisplayName:         "Example",
		Origins:               []string{origin},
		RegistrationTimeout:   regTimeout,
		LoginTimeout:          2 * time.Minute,
		UserVerification:      "preferred",
		AttestationPreference: "direct",
	}
	logs := &outboxtest.Buffer{}
	o.Log = slog.New(slog.NewTextHandler(logs, nil))
	if mod != nil {
		mod(&o)
	}
	st := dbStore{Store: dbtest.Open(t, "sqlite"), t: t}
	c := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	svc, err := passkey.New(st, o, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, store: st, clock: c, auth: webauthntest.New(), logs: logs}
	e.user = e.addUser(email)
	return e
}

func (e *env) addUser(email string) uuid.UUID {
	id := e.store.addUser(email)
	e.users = append(e.users, id)
	return id
}

// state is what the store holds for the env's users and challenges.
type state struct {
	ceremonies map[string]inkan.Ceremony
	creds      [][]inkan.Credential
}

func (e *env) snapshot(t *testing.T) state {
	t.Helper()
	s := state{ceremonies: map[string]inkan.Ceremony{}}
	for _, ch := range e.challenges {
		c, err := e.store.GetCeremonyByChallenge(ctx, ch)
		if err == nil {
			s.ceremonies[ch] = c
		} else if !errors.Is(err, inkan.ErrNotFound) {
			t.Fatal(err)
		}
	}
	for _, u := range e.users {
		cs, err := e.store.ListCredentials(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		s.creds = append(s.creds, cs)
	}
	return s
}

// beginRegOptions and beginLoginOptions begin a ceremony and record its
// challenge for snapshot.
func (e *env) beginRegOptions(t *testing.T, user uuid.UUID) []byte {
	t.Helper()
	opts, err := e.svc.BeginRegistration(ctx, user)
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	e.record(t, opts)
	return opts
}

func (e *env) beginLoginOptions(t *testing.T, user uuid.UUID) []byte {
	t.Helper()
	opts, err := e.svc.BeginLogin(ctx, user)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	e.record(t, opts)
	return opts
}

func (e *env) record(t *testing.T, opts []byte) {
	var o struct{ PublicKey struct{ Challenge string } }
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", opts, err)
	}
	e.challenges = append(e.challenges, o.PublicKey.Challenge)
}

var ctx = context.Background()

// beginRegister returns the creation options and the authenticator's
// response for them.
func (e *env) beginRegister(t *testing.T, user uuid.UUID, o webauthntest.Options) []byte {
	t.Helper()
	opts := e.beginRegOptions(t, user)
	body, _, err := e.auth.Register(opts, o)
	if err != nil {
		t.Fatalf("authenticator Register: %v", err)
	}
	return body
}

func (e *env) register(t *testing.T, o webauthntest.Options) inkan.Credential {
	t.Helper()
	cred, err := e.svc.FinishRegistration(ctx, e.user, e.beginRegister(t, e.user, o))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return cred
}

func (e *env) beginLogin(t *testing.T, user uuid.UUID, o webauthntest.Options) []byte {
	t.Helper()
	opts := e.beginLoginOptions(t, user)
	body, err := e.auth.Login(opts, o)
	if err != nil {
		t.Fatalf("authenticator Login: %v", err)
	}
	return body
}

func wantErr(t *testing.T, err error, kind inkan.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want kind %d %q", kind, msg)
	}
	if inkan.KindOf(err) != kind || (msg != "" && inkan.MessageOf(err) != msg) {
		t.Fatalf("error %v: kind %d message %q, want kind %d %q", err, inkan.KindOf(err), inkan.MessageOf(err), kind, msg)
	}
}

func TestRegistrationAndLogin(t *testing.T) {
	for _, format := range []string{"none", "packed"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, nil)
			o := webauthntest.Options{Origin: origin, Attestation: format, UV: true}
			cred := e.register(t, o)
			stored, err := e.store.GetCredential(ctx, cred.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := inkan.Credential{
				ID: cred.ID, UserID: e.user, PublicKey: stored.PublicKey, AttestationType: format,
				AAGUID: e.auth.AAGUID, Transports: []string{"hybrid", "internal"}, UserVerified: true,
				LastUsedAt: e.clock.Now(), CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
			}
			if !reflect.DeepEqual(stored, want) || !reflect.DeepEqual(cred, want) {
				t.Fatalf("stored %+v\nreturned %+v\nwant %+v", stored, cred, want)
			}
			if len(stored.PublicKey) == 0 {
				t.Fatal("no public key stored")
			}
			if cers := e.snapshot(t).ceremonies; len(cers) != 0 {
				t.Fatalf("ceremony left after registration: %+v", cers)
			}

			for i, user := range []uuid.UUID{e.user, uuid.Nil} { // allowCredentials, then discoverable
				e.clock.Advance(time.Minute)
				got, err := e.svc.FinishLogin(ctx, e.beginLogin(t, user, o))
				if err != nil {
					t.Fatalf("FinishLogin (user %v): %v", user, err)
				}
				if got.UserID != e.user || got.SignCount != uint32(i+1) || !got.LastUsedAt.Equal(e.clock.Now()) {
					t.Fatalf("after login %d: %+v", i+1, got)
				}
			}
			if cers := e.snapshot(t).ceremonies; len(cers) != 0 {
				t.Fatalf("ceremony left after login: %+v", cers)
			}
		})
	}
}

func TestBeginRegistrationOptions(t *testing.T) {
	e := newEnv(t, func(o *passkey.Options) { o.UserVerification = "required"; o.AttestationPreference = "none" })
	raw, err := e.svc.BeginRegistration(ctx, e.user)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PublicKey struct {
			RP        struct{ ID, Name string }
			User      struct{ ID, Name, DisplayName string }
			Challenge string
			Params    []struct {
				Type string
				Alg  int
			} `json:"pubKeyCredParams"`
			Timeout int
			Sel     struct {
				RequireResidentKey *bool
				ResidentKey        string
				UserVerification   string
			} `json:"authenticatorSelection"`
			Attestation string
			Exclude     []any `json:"excludeCredentials"`
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	p := got.PublicKey
	if p.RP.ID != rpID || p.RP.Name != "Example" || p.User.ID != b64.EncodeToString(e.user[:]) ||
		p.User.Name != email || p.User.DisplayName != email || p.Timeout != int(regTimeout/time.Millisecond) ||
		p.Sel.RequireResidentKey == nil || !*p.Sel.RequireResidentKey || p.Sel.ResidentKey != "required" ||
		p.Sel.UserVerification != "required" || p.Attestation != "none" || len(p.Params) != 10 ||
		p.Params[0].Alg != -7 || p.Exclude != nil {
		t.Fatalf("creation options: %s", raw)
	}
	cer, err := e.store.GetCeremonyByChallenge(ctx, p.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	if cer.Operation != inkan.OperationRegistration || cer.UserID != e.user || cer.UserVerification != "required" ||
		!cer.ExpiresAt.Equal(e.clock.Now().Add(regTimeout)) || len(cer.SessionData) == 0 {
		t.Fatalf("ceremony %+v", cer)
	}
	if c, _ := b64.DecodeString(p.Challenge); len(c) != 32 {
		t.Fatalf("challenge of %d bytes", len(c))
	}

	_, err = e.svc.BeginRegistration(ctx, uuid.New())
	wantErr(t, err, inkan.KindInvalid, "user not found")
	_, err = e.svc.BeginRegistration(ctx, e.addUser(""))
	wantErr(t, err, inkan.KindInternal, "")
}

// TestExcludeCredentials: creation options list the user's credentials
// with ids and transports (WebAuthn L3 §5.4.3), and an authenticator that
// holds one of them refuses to register the account again.
func TestExcludeCredentials(t *testing.T) {
	e := newEnv(t, nil)
	first := e.auth
	c1 := e.register(t, webauthntest.Options{Origin: origin, Transports: []string{"internal", "hybrid"}})
	e.clock.Advance(time.Second)
	e.auth = webauthntest.New()
	c2 := e.register(t, webauthntest.Options{Origin: origin, Transports: []string{"usb", "nfc"}})
	other := e.addUser("bob@example.test")

	opts := e.beginRegOptions(t, e.user)
	var got struct {
		PublicKey struct {
			Exclude []map[string]any `json:"excludeCredentials"`
		}
	}
	if err := json.Unmarshal(opts, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"type": "public-key", "id": b64.EncodeToString(c1.ID), "transports": []any{"internal", "hybrid"}},
		{"type": "public-key", "id": b64.EncodeToString(c2.ID), "transports": []any{"usb", "nfc"}},
	}
	if !reflect.DeepEqual(got.PublicKey.Exclude, want) {
		t.Fatalf("excludeCredentials %v, want %v", got.PublicKey.Exclude, want)
	}
	if _, _, err := first.Register(opts, webauthntest.Options{Origin: origin}); err == nil || !strings.Contains(err.Error(), "InvalidStateError") {
		t.Fatalf("an authenticator holding a listed credential registered again: %v", err)
	}
	// Another user's options exclude nothing of the first user's.
	raw, err := e.svc.BeginRegistration(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "excludeCredentials") {
		t.Fatalf("options for a user without credentials: %s", raw)
	}
}

func TestBeginLoginOptions(t *testing.T) {
	e := newEnv(t, nil)
	o := webauthntest.Options{Origin: origin}
	c1 := e.register(t, o)
	e.clock.Advance(time.Second) // credentials are listed oldest first
	e.auth = webauthntest.New()  // a second authenticator: the first is excluded now
	c2 := e.register(t, o)
	type options struct {
		PublicKey struct {
			Challenge, RPID, UserVerification string
			Timeout                           int
			Allow                             []map[string]any `json:"allowCredentials"`
		}
	}
	begin := func(user uuid.UUID) (options, inkan.Ceremony) {
		t.Helper()
		raw, err := e.svc.BeginLogin(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var got options
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		cer, err := e.store.GetCeremonyByChallenge(ctx, got.PublicKey.Challenge)
		if err != nil {
			t.Fatal(err)
		}
		if got.PublicKey.RPID != rpID || got.PublicKey.Timeout != 120000 || got.PublicKey.UserVerification != "preferred" ||
			cer.Operation != inkan.OperationAuthentication || !cer.ExpiresAt.Equal(e.clock.Now().Add(2*time.Minute)) {
			t.Fatalf("options %+v ceremony %+v", got, cer)
		}
		return got, cer
	}

	got, cer := begin(e.user)
	want := []map[string]any{
		{"type": "public-key", "id": b64.EncodeToString(c1.ID)},
		{"type": "public-key", "id": b64.EncodeToString(c2.ID)},
	}
	if !reflect.DeepEqual(got.PublicKey.Allow, want) || cer.UserID != e.user || len(cer.AllowedCredentialIDs) != 2 {
		t.Fatalf("allowCredentials %v, ceremony %+v", got.PublicKey.Allow, cer)
	}
	for _, user := range []uuid.UUID{uuid.Nil, e.addUser("bob@example.test")} {
		got, cer = begin(user)
		if got.PublicKey.Allow != nil || cer.UserID != uuid.Nil || cer.AllowedCredentialIDs != nil {
			t.Fatalf("user %v: want discoverable, got %+v ceremony %+v", user, got, cer)
		}
	}
	_, err := e.svc.BeginLogin(ctx, uuid.New())
	wantErr(t, err, inkan.KindInvalid, "user not found")
}

func TestOrigins(t *testing.T) {
	t.Run("android origin configured", func(t *testing.T) {
		e := newEnv(t, func(o *passkey.Options) { o.Origins = []string{origin, apkOrigin} })
		o := webauthntest.Options{Origin: apkOrigin}
		e.register(t, o)
		if _, err := e.svc.FinishLogin(ctx, e.beginLogin(t, uuid.Nil, o)); err != nil {
			t.Fatal(err)
		}
		// Verbatim: a different hash, or other case, is another origin.
		body := e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: apkOrigin + "x"})
		_, err := e.svc.FinishLogin(ctx, body)
		wantErr(t, err, inkan.KindUnauthorized, "failed to validate assertion")
	})
	t.Run("android origin not configured", func(t *testing.T) {
		e := newEnv(t, nil)
		_, err := e.svc.FinishRegistration(ctx, e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: apkOrigin}))
		wantErr(t, err, inkan.KindInvalid, "failed to validate attestation")
	})
	t.Run("http origin case and default port", func(t *testing.T) {
		e := newEnv(t, nil)
		e.register(t, webauthntest.Options{Origin: "HTTPS://App.Example.Test:443"})
	})
}

// TestFinishRegistrationRejects checks each bad registration: its error,
// and that nothing was written (the ceremony stays, no credential).
func TestFinishRegistrationRejects(t *testing.T) {
	ok := webauthntest.Options{Origin: origin}
	for _, tc := range []struct {
		name string
		mod  func(*passkey.Options)
		prep func(e *env) (user uuid.UUID, body []byte)
		kind inkan.Kind
		msg  string
	}{
		{name: "unparsable", prep: func(e *env) (uuid.UUID, []byte) {
			e.beginRegister(t, e.user, ok)
			return e.user, []byte(`{"id":"","type":"public-key"}`)
		}, kind: inkan.KindInvalid, msg: "Parse error for Registration"},
		{name: "not json", prep: func(e *env) (uuid.UUID, []byte) { return e.user, []byte(`{`) },
			kind: inkan.KindInvalid, msg: "Parse error for Registration"},
		{name: "unknown challenge", prep: func(e *env) (uuid.UUID, []byte) {
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, Challenge: make([]byte, 32)})
		}, kind: inkan.KindInvalid, msg: "Stored challenge and received challenge do not match"},
		{name: "login challenge", prep: func(e *env) (uuid.UUID, []byte) {
			opts := e.beginLoginOptions(t, uuid.Nil)
			var lo struct{ PublicKey struct{ Challenge string } }
			_ = json.Unmarshal(opts, &lo)
			c, _ := b64.DecodeString(lo.PublicKey.Challenge)
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, Challenge: c})
		}, kind: inkan.KindInvalid, msg: "Stored challenge and received challenge do not match"},
		{name: "finished by another user", prep: func(e *env) (uuid.UUID, []byte) {
			return e.addUser("mallory@example.test"), e.beginRegister(t, e.user, ok)
		}, kind: inkan.KindInvalid, msg: "Stored challenge and received challenge do not match"},
		{name: "wrong origin", prep: func(e *env) (uuid.UUID, []byte) {
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: "https://evil.test"})
		}, kind: inkan.KindInvalid, msg: "failed to validate attestation"},
		{name: "tampered rp id hash", prep: func(e *env) (uuid.UUID, []byte) {
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, TamperRPIDHash: true, Attestation: "packed"})
		}, kind: inkan.KindInvalid, msg: "failed to validate attestation"},
		{name: "no user presence", prep: func(e *env) (uuid.UUID, []byte) {
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, NoUP: true})
		}, kind: inkan.KindInvalid, msg: "failed to validate attestation"},
		{name: "expired", prep: func(e *env) (uuid.UUID, []byte) {
			body := e.beginRegister(t, e.user, ok)
			e.clock.Advance(regTimeout)
			return e.user, body
		}, kind: inkan.KindInvalid, msg: "failed to validate attestation"},
		{name: "uv required, not verified", mod: func(o *passkey.Options) { o.UserVerification = "required" },
			prep: func(e *env) (uuid.UUID, []byte) { return e.user, e.beginRegister(t, e.user, ok) },
			kind: inkan.KindUnprocessable,
			msg:  "failed to validate attestation: user verification required, but the authenticator did not verify the user"},
		{name: "duplicate credential", prep: func(e *env) (uuid.UUID, []byte) {
			c := e.register(t, ok)
			return e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, CredentialID: c.ID})
		}, kind: inkan.KindConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			user, body := tc.prep(e)
			before := e.snapshot(t)
			_, err := e.svc.FinishRegistration(ctx, user, body)
			wantErr(t, err, tc.kind, tc.msg)
			if after := e.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Fatalf("store changed:\n%+v\nto\n%+v", before, after)
			}
			// go-webauthn's developer detail is logged, never sent.
			if tc.kind == inkan.KindUnprocessable && !strings.Contains(e.logs.String(), "User verification required but flag not set by authenticator") {
				t.Fatalf("library detail not logged:\n%s", e.logs.String())
			}
		})
	}
}

func TestRegistrationUVRequired(t *testing.T) {
	e := newEnv(t, func(o *passkey.Options) { o.UserVerification = "required" })
	if c := e.register(t, webauthntest.Options{Origin: origin, UV: true}); !c.UserVerified {
		t.Fatal("UV flag not stored")
	}
}

func TestRegistrationReplay(t *testing.T) {
	e := newEnv(t, nil)
	body := e.beginRegister(t, e.user, webauthntest.Options{Origin: origin})
	if _, err := e.svc.FinishRegistration(ctx, e.user, body); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.FinishRegistration(ctx, e.user, body)
	wantErr(t, err, inkan.KindInvalid, "Stored challenge and received challenge do not match")
	if creds := e.snapshot(t).creds[0]; len(creds) != 1 {
		t.Fatalf("%d credentials", len(creds))
	}
}

// TestFinishLoginRejects checks each bad assertion: its error, and that
// nothing was written (ceremony kept, sign count and last_used_at unmoved).
func TestFinishLoginRejects(t *testing.T) {
	ok := webauthntest.Options{Origin: origin}
	one := uint32(1)
	zero := uint32(0)
	for _, tc := range []struct {
		name string
		prep func(e *env) []byte
		kind inkan.Kind
		msg  string
	}{
		{name: "not json", prep: func(e *env) []byte { return []byte(`[`) },
			kind: inkan.KindInvalid, msg: "Parse error for Assertion"},
		{name: "unknown challenge", prep: func(e *env) []byte {
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: origin, Challenge: make([]byte, 32)})
		}, kind: inkan.KindUnauthorized, msg: "Stored challenge and received challenge do not match"},
		{name: "registration challenge", prep: func(e *env) []byte {
			opts := e.beginRegOptions(t, e.user)
			var ro struct{ PublicKey struct{ Challenge string } }
			_ = json.Unmarshal(opts, &ro)
			c, _ := b64.DecodeString(ro.PublicKey.Challenge)
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: origin, Challenge: c})
		}, kind: inkan.KindUnauthorized, msg: "Stored challenge and received challenge do not match"},
		{name: "wrong origin", prep: func(e *env) []byte {
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: "https://evil.test"})
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
		{name: "tampered rp id hash", prep: func(e *env) []byte {
			return e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin, TamperRPIDHash: true})
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
		{name: "expired", prep: func(e *env) []byte {
			body := e.beginLogin(t, e.user, ok)
			e.clock.Advance(2 * time.Minute)
			return body
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
		{name: "unknown credential", prep: func(e *env) []byte {
			e.auth = webauthntest.New()
			e.beginRegister(t, e.user, ok) // the authenticator has a credential the server never stored
			return e.beginLogin(t, uuid.Nil, ok)
		}, kind: inkan.KindUnauthorized, msg: "unknown credential"},
		{name: "userHandle not a uuid", prep: func(e *env) []byte {
			return e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin, UserHandle: []byte("alice")})
		}, kind: inkan.KindInvalid, msg: "failed to parse userHandle as uuid"},
		{name: "userHandle of another user", prep: func(e *env) []byte {
			other := e.addUser("bob@example.test")
			return e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin, UserHandle: other[:]})
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
		{name: "credential not allowed for the user", prep: func(e *env) []byte {
			alice, _ := e.store.ListCredentials(ctx, e.user)
			bob := e.addUser("bob@example.test")
			e.user = bob
			e.register(t, ok) // bob's credential, so that bob gets allowCredentials
			opts := e.beginLoginOptions(t, bob)
			body, err := e.auth.Login(opts, webauthntest.Options{Origin: origin, CredentialID: alice[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			return body
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
		{name: "sign count backwards", prep: func(e *env) []byte {
			if _, err := e.svc.FinishLogin(ctx, e.beginLogin(t, e.user, ok)); err != nil { // stored 1
				t.Fatal(err)
			}
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: origin, SignCount: &one})
		}, kind: inkan.KindInvalid, msg: "failed to validate assertion"},
		{name: "sign count back to zero", prep: func(e *env) []byte {
			if _, err := e.svc.FinishLogin(ctx, e.beginLogin(t, e.user, ok)); err != nil {
				t.Fatal(err)
			}
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: origin, SignCount: &zero})
		}, kind: inkan.KindInvalid, msg: "failed to validate assertion"},
		{name: "user verification required", prep: func(e *env) []byte {
			return e.beginLogin(t, e.user, webauthntest.Options{Origin: origin})
		}, kind: inkan.KindUnauthorized, msg: "failed to validate assertion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			if tc.name == "user verification required" {
				e = newEnv(t, func(o *passkey.Options) { o.UserVerification = "required" })
				e.register(t, webauthntest.Options{Origin: origin, UV: true})
			} else {
				e = newEnv(t, nil)
				e.register(t, ok)
			}
			body := tc.prep(e)
			e.clock.Advance(time.Second)
			before := e.snapshot(t)
			_, err := e.svc.FinishLogin(ctx, body)
			wantErr(t, err, tc.kind, tc.msg)
			if after := e.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Fatalf("store changed:\n%+v\nto\n%+v", before, after)
			}
		})
	}
}

func TestLoginReplay(t *testing.T) {
	e := newEnv(t, nil)
	e.register(t, webauthntest.Options{Origin: origin})
	body := e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin})
	if _, err := e.svc.FinishLogin(ctx, body); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t)
	_, err := e.svc.FinishLogin(ctx, body)
	wantErr(t, err, inkan.KindUnauthorized, "Stored challenge and received challenge do not match")
	if after := e.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatal("replay changed the credential")
	}
}

// TestZeroCounter: an authenticator that never counts (synced passkeys
// report 0) logs in again and again (WebAuthn L3 §6.1.1).
func TestZeroCounter(t *testing.T) {
	e := newEnv(t, nil)
	zero := uint32(0)
	o := webauthntest.Options{Origin: origin, SignCount: &zero}
	e.register(t, o)
	for i := range 3 {
		got, err := e.svc.FinishLogin(ctx, e.beginLogin(t, e.user, o))
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if got.SignCount != 0 {
			t.Fatalf("sign count %d", got.SignCount)
		}
	}
}

// TestBackupStateTransitions: every change of BE/BS between registration
// and a sign-in that WebAuthn L3 §6.1.3 allows is accepted and stored; the
// invalid BE=0, BS=1 is refused at sign-in and at registration, writing
// nothing.
func TestBackupStateTransitions(t *testing.T) {
	type flags struct{ be, bs bool }
	for _, tc := range []struct {
		name       string
		registered flags
		asserted   flags
		refused    bool
	}{
		{name: "0/0 to 1/0, device passkey became backup eligible", registered: flags{}, asserted: flags{true, false}},
		{name: "0/0 to 1/1, device passkey became synced", registered: flags{}, asserted: flags{true, true}},
		{name: "1/0 to 0/0, synced passkey became device-bound", registered: flags{true, false}, asserted: flags{}},
		{name: "1/1 to 0/0", registered: flags{true, true}, asserted: flags{}},
		{name: "1/0 to 1/1, backed up", registered: flags{true, false}, asserted: flags{true, true}},
		{name: "1/1 to 1/0, backup lost", registered: flags{true, true}, asserted: flags{true, false}},
		{name: "1/1 unchanged", registered: flags{true, true}, asserted: flags{true, true}},
		{name: "0/0 to 0/1 refused", registered: flags{}, asserted: flags{false, true}, refused: true},
		{name: "1/1 to 0/1 refused", registered: flags{true, true}, asserted: flags{false, true}, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			reg := e.register(t, webauthntest.Options{Origin: origin, BE: tc.registered.be, BS: tc.registered.bs})
			if reg.BackupEligible != tc.registered.be || reg.BackupState != tc.registered.bs {
				t.Fatalf("registered BE=%v BS=%v", reg.BackupEligible, reg.BackupState)
			}
			for _, user := range []uuid.UUID{e.user, uuid.Nil} { // allowCredentials, then discoverable
				e.clock.Advance(time.Minute)
				before := e.snapshot(t)
				got, err := e.svc.FinishLogin(ctx, e.beginLogin(t, user, webauthntest.Options{Origin: origin, BE: tc.asserted.be, BS: tc.asserted.bs}))
				stored, gerr := e.store.GetCredential(ctx, reg.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if tc.refused {
					wantErr(t, err, inkan.KindUnauthorized, "failed to validate assertion")
					if !strings.Contains(e.logs.String(), "Backup State Flag is true but Backup Eligible flag is false") {
						t.Fatalf("refusal reason not logged:\n%s", e.logs.String())
					}
					before.ceremonies = e.snapshot(t).ceremonies // the new ceremony stays; nothing else moves
					if after := e.snapshot(t); !reflect.DeepEqual(before, after) {
						t.Fatalf("store changed:\n%+v\nto\n%+v", before, after)
					}
					continue
				}
				if err != nil {
					t.Fatalf("login as %v: %v", user, err)
				}
				for _, c := range []inkan.Credential{got, stored} {
					if c.BackupEligible != tc.asserted.be || c.BackupState != tc.asserted.bs || !c.LastUsedAt.Equal(e.clock.Now()) {
						t.Fatalf("after login BE=%v BS=%v last used %v, want BE=%v BS=%v at %v",
							c.BackupEligible, c.BackupState, c.LastUsedAt, tc.asserted.be, tc.asserted.bs, e.clock.Now())
					}
				}
			}
		})
	}
	t.Run("registration with 0/1 refused", func(t *testing.T) {
		e := newEnv(t, nil)
		before := e.snapshot(t)
		_, err := e.svc.FinishRegistration(ctx, e.user, e.beginRegister(t, e.user, webauthntest.Options{Origin: origin, BS: true}))
		wantErr(t, err, inkan.KindInvalid, "failed to validate attestation")
		if after := e.snapshot(t); !reflect.DeepEqual(before.creds, after.creds) {
			t.Fatal("a credential was stored")
		}
	})
}

// TestUnknownCredential: an assertion with a credential id that no user
// holds gets the distinct error for signalUnknownCredential (WebAuthn L3
// §5.1.10); a credential that exists never does, whatever else is wrong.
func TestUnknownCredential(t *testing.T) {
	e := newEnv(t, nil)
	c := e.register(t, webauthntest.Options{Origin: origin})
	isUnknown := func(err error) *inkan.UnknownCredentialError {
		var u *inkan.UnknownCredentialError
		if errors.As(err, &u) {
			return u
		}
		return nil
	}

	// A bad signature on an existing credential: the ordinary refusal.
	_, err := e.svc.FinishLogin(ctx, e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin, TamperSignature: true}))
	wantErr(t, err, inkan.KindUnauthorized, "failed to validate assertion")
	if isUnknown(err) != nil {
		t.Fatalf("existing credential reported unknown: %v", err)
	}
	// An existing credential presented under another user's handle.
	bob := e.addUser("bob@example.test")
	_, err = e.svc.FinishLogin(ctx, e.beginLogin(t, uuid.Nil, webauthntest.Options{Origin: origin, UserHandle: bob[:]}))
	wantErr(t, err, inkan.KindUnauthorized, "failed to validate assertion")
	if isUnknown(err) != nil {
		t.Fatalf("another user's credential reported unknown: %v", err)
	}

	// Deleted on the server, still offered by the authenticator.
	if err := e.svc.Delete(ctx, e.user, c.ID); err != nil {
		t.Fatal(err)
	}
	for _, user := range []uuid.UUID{uuid.Nil, e.user} {
		body := e.beginLogin(t, user, webauthntest.Options{Origin: origin, CredentialID: c.ID})
		before := e.snapshot(t)
		_, err = e.svc.FinishLogin(ctx, body)
		wantErr(t, err, inkan.KindUnauthorized, "unknown credential")
		u := isUnknown(err)
		if u == nil || !bytes.Equal(u.CredentialID, c.ID) || u.RPID != rpID {
			t.Fatalf("user %v: error %#v, want the credential id and RP id", user, u)
		}
		if after := e.snapshot(t); !reflect.DeepEqual(before, after) {
			t.Fatal("store changed")
		}
	}
}

// TestRefusalsLogged: every refused assertion leaves one info line with
// its reason, and the line holds no signature, key, challenge or e-mail.
func TestRefusalsLogged(t *testing.T) {
	e := newEnv(t, nil)
	c := e.register(t, webauthntest.Options{Origin: origin})
	body := e.beginLogin(t, e.user, webauthntest.Options{Origin: "https://evil.test"})
	if _, err := e.svc.FinishLogin(ctx, body); err == nil {
		t.Fatal("wrong origin accepted")
	}
	var sent struct {
		Response struct{ Signature, ClientDataJSON string }
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	line := e.logs.String()
	for _, want := range []string{"level=INFO", "passkey assertion refused", "reason=\"assertion verification failed\"",
		"credential_id=" + b64.EncodeToString(c.ID), "user_id=" + e.user.String(), "https://evil.test"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q:\n%s", want, line)
		}
	}
	for _, secret := range []string{sent.Response.Signature, sent.Response.ClientDataJSON, b64.EncodeToString(c.PublicKey), email} {
		if strings.Contains(line, secret) {
			t.Errorf("log line holds %q:\n%s", secret, line)
		}
	}
	if n := strings.Count(line, "\n"); n != 1 {
		t.Errorf("%d log lines, want 1:\n%s", n, line)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := passkey.Options{RPID: rpID, RPDisplayName: "Example", Origins: []string{origin}}
	if _, err := passkey.New(nil, good, nil); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mod := range map[string]func(*passkey.Options){
		"no rp id":      func(o *passkey.Options) { o.RPID = "" },
		"no name":       func(o *passkey.Options) { o.RPDisplayName = "" },
		"no origins":    func(o *passkey.Options) { o.Origins = nil },
		"bad uv":        func(o *passkey.Options) { o.UserVerification = "always" },
		"bad conveying": func(o *passkey.Options) { o.AttestationPreference = "enterprise" },
	} {
		o := good
		mod(&o)
		if _, err := passkey.New(nil, o, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
