package login_test

import (
	"errors"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/oidctest"
	"github.com/inkan-auth/inkan/internal/thirdparty"
)

// rows counts users, identities, sessions and e-mail rows: what a refused
// sign-in must leave as it was.
func (e *env) rows(t *testing.T) [4]int {
	t.Helper()
	return [4]int{e.count(t, "SELECT COUNT(*) FROM users"), e.count(t, "SELECT COUNT(*) FROM identities"),
		e.count(t, "SELECT COUNT(*) FROM sessions"), e.count(t, "SELECT COUNT(*) FROM emails")}
}

// TestThirdPartyAccounts: a new identity signs up (user_created and
// thirdparty_signup_succeeded with the session, in one unit), the same
// identity signs the same user in, the name Apple sends once is kept, and a
// second provider with the verified address links to the user only with
// allow_linking.
func TestThirdPartyAccounts(t *testing.T) {
	e := newEnv(t, true)
	apple := inkan.ProviderUser{Provider: "apple", Subject: "000123.abc", Email: "Ada@Example.test", EmailVerified: true, GivenName: "Ada", FamilyName: "Lovelace"}
	n := len(e.events(t))
	res, err := e.login.ThirdParty(e.ctx, apple, true, "id_token")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != account.IdentitySignUp || res.Token == "" || res.Email == nil || res.Email.Address != "ada@example.test" || !res.Email.Verified || !res.Email.Primary {
		t.Fatalf("sign-up: %+v", res)
	}
	if got := types(e.eventsAfter(t, n)); got != "user_created,thirdparty_signup_succeeded" {
		t.Errorf("sign-up events: %s", got)
	}
	u, _ := e.accounts.User(e.ctx, res.UserID)
	if u.GivenName != "Ada" || u.FamilyName != "Lovelace" {
		t.Errorf("Apple's first-sign-in name not kept: %+v", u)
	}

	// The same identity again, without the name (Apple sends it once) and
	// with another address: the same user, the name stays.
	again := apple
	again.GivenName, again.FamilyName, again.Email = "", "", "relay@privaterelay.appleid.com"
	n = len(e.events(t))
	res2, err := e.login.ThirdParty(e.ctx, again, true, "id_token")
	if err != nil || res2.UserID != res.UserID || res2.Outcome != account.IdentitySignIn || res2.Identity.ID != res.Identity.ID {
		t.Fatalf("sign-in: %+v %v", res2, err)
	}
	if got := types(e.eventsAfter(t, n)); got != "thirdparty_signin_succeeded" {
		t.Errorf("sign-in events: %s", got)
	}
	if u, _ := e.accounts.User(e.ctx, res.UserID); u.GivenName != "Ada" {
		t.Errorf("name lost: %+v", u)
	}

	// Google with the same verified address: refused without linking,
	// nothing written but the failure event.
	google := inkan.ProviderUser{Provider: "google", Subject: "g-1", Email: "ada@example.test", EmailVerified: true, Name: "Ada L."}
	before := e.rows(t)
	n = len(e.events(t))
	_, err = e.login.ThirdParty(e.ctx, google, false, "id_token")
	wantKind(t, err, inkan.KindConflict)
	if !errors.Is(err, account.ErrUserConflict) || e.rows(t) != before {
		t.Errorf("linking off: %v, rows %v → %v", err, before, e.rows(t))
	}
	evs := e.eventsAfter(t, n)
	if len(evs) != 1 {
		t.Fatalf("events: %s", types(evs))
	}
	e.wantEvent(t, evs[0], inkan.EventThirdPartySignInSignUpFailed, inkan.Actor{}, "user_conflict")
	// The provider does not vouch for the address: refused even with linking.
	unverified := google
	unverified.EmailVerified = false
	_, err = e.login.ThirdParty(e.ctx, unverified, true, "id_token")
	if !errors.Is(err, account.ErrUserConflict) || e.rows(t) != before {
		t.Errorf("unverified address linked: %v", err)
	}
	// With linking: the same user, the identity added (a second later, so
	// that the identities' order is their creation's).
	e.clock.Advance(time.Second)
	n = len(e.events(t))
	res3, err := e.login.ThirdParty(e.ctx, google, true, "id_token")
	if err != nil || res3.UserID != res.UserID || res3.Outcome != account.IdentityLinked {
		t.Fatalf("linking: %+v %v", res3, err)
	}
	if got := types(e.eventsAfter(t, n)); got != "thirdparty_linking_succeeded" {
		t.Errorf("linking events: %s", got)
	}
	ids, _ := e.st.ListIdentities(e.ctx, res.UserID)
	if len(ids) != 2 || ids[0].Provider != "apple" || ids[1].Provider != "google" {
		t.Errorf("identities: %+v", ids)
	}
	if u, _ := e.accounts.User(e.ctx, res.UserID); u.Name != "Ada L." || u.GivenName != "Ada" {
		t.Errorf("profile after linking: %+v", u)
	}
}

// TestThirdPartySignUpRules: account.allow_signup off refuses a new
// identity (signup_disabled) but signs a known one in; an address the
// provider has not verified cannot create a user under
// email.require_verification; a failed session insert leaves nothing.
func TestThirdPartySignUpRules(t *testing.T) {
	e := newEnv(t, true)
	known := inkan.ProviderUser{Provider: "google", Subject: "g-known", Email: "known@example.test", EmailVerified: true}
	if _, err := e.login.ThirdParty(e.ctx, known, true, "id_token"); err != nil {
		t.Fatal(err)
	}
	closed := login.New(login.Deps{
		Journal: e.st, Accounts: account.New(e.st, account.Options{RequireVerification: true, AllowSignup: false, EmailLimit: 5}, e.clock.Now),
		Passcodes: e.passcodes, Passkeys: e.passkeys, Sessions: e.sessions, Now: e.clock.Now,
	})
	before := e.rows(t)
	_, err := closed.ThirdParty(e.ctx, inkan.ProviderUser{Provider: "google", Subject: "g-new", Email: "new@example.test", EmailVerified: true}, true, "id_token")
	if !errors.Is(err, account.ErrSignupDisabled) || inkan.KindOf(err) != inkan.KindForbidden || e.rows(t) != before {
		t.Errorf("sign-up off: %v, rows %v → %v", err, before, e.rows(t))
	}
	if _, err := closed.ThirdParty(e.ctx, known, true, "id_token"); err != nil {
		t.Errorf("known identity with sign-up off: %v", err)
	}
	before = e.rows(t)
	for _, pu := range []inkan.ProviderUser{
		{Provider: "google", Subject: "g-unverified", Email: "u@example.test"},
		{Provider: "github", Subject: "42"},
	} {
		_, err = e.login.ThirdParty(e.ctx, pu, true, "redirect")
		if !errors.Is(err, account.ErrUnverifiedEmail) || e.rows(t) != before {
			t.Errorf("%+v: %v", pu, err)
		}
	}
	_, err = e.login.ThirdParty(e.ctx, inkan.ProviderUser{Provider: "google", Subject: "g-bad", Email: "not an address", EmailVerified: true}, true, "id_token")
	wantKind(t, err, inkan.KindInvalid)

	heal := e.failSessionInserts(t)
	before = e.rows(t)
	_, err = e.login.ThirdParty(e.ctx, inkan.ProviderUser{Provider: "google", Subject: "g-rollback", Email: "rb@example.test", EmailVerified: true}, true, "id_token")
	if err == nil || e.rows(t) != before {
		t.Errorf("failed session insert: %v, rows %v → %v", err, before, e.rows(t))
	}
	heal()
}

// TestIDToken: the native method verifies with internal/thirdparty against
// a real issuer and ends in the completion step; a refused token writes
// only its failure event.
func TestIDToken(t *testing.T) {
	e := newEnv(t, true)
	iss := oidctest.New(t)
	iss.Now = e.clock.Now
	tp, err := thirdparty.New([]thirdparty.Config{{ID: "google", Audiences: []string{"app"}, Issuer: iss.URL, JWKSURL: iss.JWKSURL()}}, thirdparty.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	l := login.New(login.Deps{Journal: e.st, Accounts: e.accounts, Passcodes: e.passcodes, Passkeys: e.passkeys, Sessions: e.sessions, Now: e.clock.Now, ThirdParty: tp})
	tok := iss.Token(t, oidctest.Claims{"sub": "g-1", "aud": "app", "nonce": "n", "email": "g@example.test", "email_verified": true})
	before := e.rows(t)
	n := len(e.events(t))
	_, err = l.IDToken(e.ctx, login.IDTokenRequest{Provider: "google", Token: tok, Nonce: "wrong"})
	wantKind(t, err, inkan.KindUnauthorized)
	if evs := e.eventsAfter(t, n); e.rows(t) != before || types(evs) != "thirdparty_signin_signup_failed" {
		t.Errorf("refused token wrote %v → %v, events %s", before, e.rows(t), types(evs))
	}
	res, err := l.IDToken(e.ctx, login.IDTokenRequest{Provider: "google", Token: tok, Nonce: "n"})
	if err != nil || res.Outcome != account.IdentitySignUp || res.Claims.Subject != res.UserID {
		t.Fatalf("%+v %v", res, err)
	}
	_, err = l.IDToken(e.ctx, login.IDTokenRequest{Provider: "apple", Token: tok, Nonce: "n"})
	wantKind(t, err, inkan.KindNotFound)
	_, err = e.login.IDToken(e.ctx, login.IDTokenRequest{Provider: "google", Token: tok, Nonce: "n"}) // no providers at all
	wantKind(t, err, inkan.KindNotFound)
}

// TestOneTimeToken: the redirect flow's callback resolves the identity and
// stores a one-time token (its event with it, no session); the token is
// exchanged once for a session (token_exchange_succeeded); a second use is
// 404, an expired token 422, each token_exchange_failed.
func TestOneTimeToken(t *testing.T) {
	e := newEnv(t, true)
	l := login.New(login.Deps{Journal: e.st, Accounts: e.accounts, Passcodes: e.passcodes, Passkeys: e.passkeys, Sessions: e.sessions, Now: e.clock.Now, Tokens: e.st})
	pu := inkan.ProviderUser{Provider: "github", Subject: "583231", Email: "octo@example.test", EmailVerified: true}
	n := len(e.events(t))
	red, err := l.ThirdPartyRedirect(e.ctx, pu, true)
	if err != nil || len(red.Token) != 44 || red.Outcome != account.IdentitySignUp {
		t.Fatalf("%+v %v", red, err)
	}
	if got := types(e.eventsAfter(t, n)); got != "user_created,thirdparty_signup_succeeded" {
		t.Errorf("callback events: %s", got)
	}
	if e.count(t, "SELECT COUNT(*) FROM sessions") != 0 || e.count(t, "SELECT COUNT(*) FROM tokens WHERE value_hash = ?", red.Token) != 0 {
		t.Error("a session before the exchange, or the token stored in the clear")
	}
	res, err := l.ExchangeToken(e.ctx, red.Token)
	if err != nil || res.UserID != red.UserID || res.Token == "" {
		t.Fatalf("exchange: %+v %v", res, err)
	}
	_, err = l.ExchangeToken(e.ctx, red.Token)
	wantKind(t, err, inkan.KindNotFound)
	_, err = l.ExchangeToken(e.ctx, "never-issued")
	wantKind(t, err, inkan.KindNotFound)

	red, err = l.ThirdPartyRedirect(e.ctx, pu, true)
	if err != nil || red.Outcome != account.IdentitySignIn {
		t.Fatalf("%+v %v", red, err)
	}
	e.clock.Advance(inkan.OneTimeTokenTTL + time.Second)
	before := e.rows(t)
	for range 2 {
		_, err = l.ExchangeToken(e.ctx, red.Token)
		wantKind(t, err, inkan.KindUnprocessable)
	}
	if e.rows(t) != before {
		t.Error("an expired token wrote something")
	}
	evs := e.events(t)
	if got := types(evs[len(evs)-6:]); got != "token_exchange_succeeded,token_exchange_failed,token_exchange_failed,thirdparty_signin_succeeded,token_exchange_failed,token_exchange_failed" {
		t.Errorf("events: %s", got)
	}
}
