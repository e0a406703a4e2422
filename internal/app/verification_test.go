package app_test

import (
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestFirstVerificationEndsEarlierAccess: without required verification an
// attacker signs up the victim's address, keeps the session, adds a passkey
// and a password. When the victim proves the address with a passcode, all
// of that ends — the attacker's token, passkey and password no longer get
// in — an event records it, and the victim's new session works. A later
// verification (the address is verified now) removes nothing.
func TestFirstVerificationEndsEarlierAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) {
		c.Email.RequireVerification = false
		c.Session.EnableAuthTokenHeader = true
		c.Password.Enabled = true
	})
	const victim = "victim@example.test"
	r := h.do(t, "POST", "/users", `{"email":"`+victim+`"}`)
	h.want(t, r, 200, "attacker's sign-up")
	var u struct {
		UserID  string `json:"user_id"`
		EmailID string `json:"email_id"`
	}
	r.json(t, &u)
	attacker := "Authorization: Bearer " + tokenOf(r)
	attackerKey := webauthntest.New()
	r = h.do(t, "POST", "/webauthn/registration/initialize", "", attacker)
	h.want(t, r, 200, "registration init")
	body, _, err := attackerKey.Register(r.Body, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", string(body), attacker), 200, "attacker's passkey")
	h.want(t, h.do(t, "PUT", "/password", `{"user_id":"`+u.UserID+`","password":"attacker-password"}`, attacker), 201, "attacker's password")

	// The victim signs in with a passcode to the address.
	victimToken := h.passcodeLogin(t, u.UserID, victim)
	victimAuth := "Authorization: Bearer " + victimToken

	h.want(t, h.do(t, "GET", "/me", "", attacker), 401, "the attacker's session after the verification")
	h.want(t, h.do(t, "POST", "/password/login", `{"user_id":"`+u.UserID+`","password":"attacker-password"}`), 401, "the attacker's password")
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	h.want(t, r, 200, "login init")
	assertion, err := attackerKey.Login(r.Body, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do(t, "POST", "/webauthn/login/finalize", string(assertion)); r.Status == 200 {
		t.Fatal("the attacker's passkey still signs in")
	}
	r = h.do(t, "GET", "/me", "", victimAuth)
	h.want(t, r, 200, "the victim's session")
	var me map[string]any
	r.json(t, &me)
	if _, ok := me["passkeys"]; ok {
		t.Fatalf("the attacker's passkey is still listed: %s", r.Body)
	}
	events := queryStrings(t, h.sqlDB(t), `SELECT details FROM events WHERE type = 'user_access_revoked' AND actor_user_id = ?`, u.UserID)
	if len(events) != 1 {
		t.Fatalf("user_access_revoked events: %q", events)
	}
	for _, want := range []string{`"sessions":1`, `"passkeys":1`, `"passwords":1`, `"reason":"first_verification"`} {
		if !strings.Contains(events[0], want) {
			t.Fatalf("event details %s lack %s", events[0], want)
		}
	}

	// A second passcode sign-in verifies nothing new and ends nothing.
	h.passcodeLogin(t, u.UserID, victim)
	h.want(t, h.do(t, "GET", "/me", "", victimAuth), 200, "the victim's first session after a second sign-in")
	if n := len(queryStrings(t, h.sqlDB(t), `SELECT id FROM events WHERE type = 'user_access_revoked'`)); n != 1 {
		t.Fatalf("%d user_access_revoked events after a second sign-in, want 1", n)
	}
}

// TestVerifyingAnAddedAddressKeepsAccess: with required verification a new
// address belongs to nobody until verified, so verifying one the user
// added ends nothing: the passkey and the session stay.
func TestVerifyingAnAddedAddressKeepsAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	userID, _, token := h.signUp(t, "owner@example.test")
	auth := "Authorization: Bearer " + token
	h.registerPasskey(t, auth)
	r := h.do(t, "POST", "/emails", `{"address":"second@example.test"}`, auth)
	h.want(t, r, 200, "add address")
	var e struct{ ID string }
	r.json(t, &e)
	id := h.initPasscodeID(t, [2]string{userID, e.ID})
	h.want(t, h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+h.code(t, "second@example.test")+`"}`, auth), 200, "verify the added address")
	h.want(t, h.do(t, "GET", "/me", "", auth), 200, "the session after verifying the added address")
	if n := len(h.do(t, "GET", "/webauthn/credentials", "", auth).Body); n < 10 {
		t.Fatal("passkey gone")
	}
	if n := len(queryStrings(t, h.sqlDB(t), `SELECT id FROM events WHERE type = 'user_access_revoked'`)); n != 0 {
		t.Fatalf("%d user_access_revoked events", n)
	}
}
