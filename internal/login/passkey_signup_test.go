package login_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestPasskeySignUpIsOneUnit: when the session of a passkey-first sign-up
// cannot be stored, nothing of the sign-up is left (no user, address or
// passkey; the ceremony stays) and only the failure is recorded; the same
// credential then finishes the sign-up through the completion step, with
// user_created and webauthn_registration_final_succeeded naming the
// session.
func TestPasskeySignUpIsOneUnit(t *testing.T) {
	e := newEnv(t, true)
	opts, err := e.passkeys.BeginSignUp(e.ctx, "ada@example.test")
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := webauthntest.New().Register(opts, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	n := len(e.events(t))

	heal := e.failSessionInserts(t)
	_, err = e.login.PasskeySignUp(e.ctx, body)
	wantKind(t, err, inkan.KindInternal)
	heal()
	for _, table := range []string{"users", "emails", "webauthn_credentials"} {
		if c := e.count(t, `SELECT count(*) FROM `+table); c != 0 {
			t.Fatalf("%d rows in %s after the failed sign-up", c, table)
		}
	}
	if c := e.count(t, `SELECT count(*) FROM webauthn_session_data`); c != 1 {
		t.Fatalf("%d ceremonies, want the sign-up's left", c)
	}
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events %s", types(evs))
	}
	userID := evs[0].Actor.UserID
	e.wantEvent(t, evs[0], inkan.EventWebAuthnRegistrationFinalFailed, inkan.Actor{UserID: userID}, "Internal Server Error")
	if userID == uuid.Nil {
		t.Fatal("the failure names no user")
	}

	res, err := e.login.PasskeySignUp(e.ctx, body)
	if err != nil {
		t.Fatalf("the same credential after the database healed: %v", err)
	}
	if res.UserID != userID || res.Credential.UserID != userID || res.Email != nil || res.Address.UserID != uuid.Nil || res.Token == "" {
		t.Fatalf("result %+v", res)
	}
	if _, err := e.st.GetSession(context.Background(), res.Claims.SessionID); err != nil {
		t.Fatalf("session row: %v", err)
	}
	evs = e.eventsAfter(t, n+1)
	if types(evs) != "user_created,webauthn_registration_final_succeeded" {
		t.Fatalf("events %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventUserCreated, inkan.Actor{UserID: userID, Email: "ada@example.test"}, "")
	e.wantEvent(t, evs[1], inkan.EventWebAuthnRegistrationFinalSucceeded, inkan.Actor{UserID: userID}, "")
	if evs[1].Details["session_id"] != res.Claims.SessionID.String() {
		t.Fatalf("details %v", evs[1].Details)
	}
}
