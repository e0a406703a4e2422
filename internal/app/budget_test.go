package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/oidctest"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// budget is what one request of a hot route may cost the database
// (docs/performance.md "Budgets"): statements sent (each one round trip,
// BEGIN and COMMIT included), whether they must form one transaction, and
// whether the request may write at all.
type budget struct {
	statements int
	oneTx      bool
	write      bool
}

// isWrite reports whether a statement changes rows.
func isWrite(q string) bool {
	q = strings.ToUpper(strings.TrimSpace(q))
	for _, w := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
		if strings.HasPrefix(q, w) {
			return true
		}
	}
	return false
}

// meter returns measure: it runs one request on a, fails the test unless it
// answers 2xx, and fails it when the request exceeds its budget b.
func meter(t *testing.T, a *app.App) func(name string, b budget, req func() response) response {
	log := app.LogQueries(a)
	return func(name string, b budget, req func() response) response {
		t.Helper()
		log.Start()
		r := req()
		q := log.Stop()
		if r.Status/100 != 2 {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		t.Logf("%s: %d statements", name, len(q))
		for _, s := range q {
			t.Logf("    %.100s", s)
		}
		if len(q) > b.statements {
			t.Errorf("%s: %d statements, budget %d", name, len(q), b.statements)
		}
		begins, writes := 0, 0
		for _, s := range q {
			if s == "BEGIN" {
				begins++
			}
			if isWrite(s) {
				writes++
			}
		}
		if b.oneTx && (len(q) < 2 || q[0] != "BEGIN" || q[len(q)-1] != "COMMIT" || begins != 1) {
			t.Errorf("%s: not one transaction", name)
		}
		if !b.write && writes > 0 {
			t.Errorf("%s: %d writes, want none", name, writes)
		}
		return r
	}
}

// TestRouteBudgets counts the statements each hot route sends on every
// database, through the store's query hook, and fails when one exceeds its
// budget, leaves one transaction, or writes where it must not: a change
// that adds a round trip fails here, not in a benchmark. The budgets are
// the counts of today; lowering one is progress, raising one needs a
// reason in docs/performance.md.
func TestRouteBudgets(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			h := newHarnessOn(t, dialect, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
			measure := meter(t, h.App)
			const address = "budget@example.test"
			var ids [2]string
			// onPG lowers b to n statements on PostgreSQL, where a sign-up
			// writes the user and the address in one statement
			// (store.insertSignUp) and a new session is inserted together
			// with the read of the sessions its limit evicts
			// (store.insertSession).
			onPG := func(b budget, n int) budget {
				if dialect == "postgres" {
					b.statements = n
				}
				return b
			}
			r := measure("POST /users", onPG(budget{5, true, true}, 4), func() response {
				return h.do(t, "POST", "/users", `{"email":"`+address+`"}`)
			})
			var u map[string]string
			r.json(t, &u)
			ids = [2]string{u["user_id"], u["email_id"]}
			var pcID string
			r = measure("POST /passcode/login/initialize", budget{4, false, true}, func() response {
				return h.initPasscodeFrom(t, ids)
			})
			var pc struct{ ID string }
			r.json(t, &pc)
			pcID = pc.ID
			r = measure("POST /passcode/login/finalize (first: claims the address)", onPG(budget{17, true, true}, 16), func() response {
				return h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pcID+`","code":"`+h.code(t, address)+`"}`)
			})
			auth := "Authorization: Bearer " + tokenOf(r)
			measure("POST /user", budget{1, false, false}, func() response {
				return h.do(t, "POST", "/user", `{"email":"`+address+`"}`)
			})
			// The session was written a moment ago: reads within the touch
			// resolution write nothing.
			for _, c := range []struct {
				path       string
				statements int
			}{{"/me", 2}, {"/users/" + ids[0], 2}, {"/emails", 2}, {"/webauthn/credentials", 2}} {
				measure("GET "+c.path, budget{c.statements, false, false}, func() response {
					return h.do(t, "GET", c.path, "", auth)
				})
			}
			measure("GET /sessions/validate", budget{1, false, false}, func() response {
				return h.do(t, "GET", "/sessions/validate", "", auth)
			})
			measure("GET /.well-known/jwks.json", budget{0, false, false}, func() response {
				return h.do(t, "GET", "/.well-known/jwks.json", "")
			})
			authn := webauthntest.New()
			o := webauthntest.Options{Origin: origin}
			r = measure("POST /webauthn/registration/initialize", budget{6, false, true}, func() response {
				return h.do(t, "POST", "/webauthn/registration/initialize", "", auth)
			})
			cred, _, err := authn.Register(r.Body, o)
			if err != nil {
				t.Fatal(err)
			}
			r = measure("POST /webauthn/registration/finalize", budget{8, false, true}, func() response {
				return h.do(t, "POST", "/webauthn/registration/finalize", string(cred), auth)
			})
			var reg struct {
				CredentialID string `json:"credential_id"`
			}
			r.json(t, &reg)
			r = measure("POST /webauthn/login/initialize", budget{4, true, true}, func() response {
				return h.do(t, "POST", "/webauthn/login/initialize", "")
			})
			assertion, err := authn.Login(r.Body, o)
			if err != nil {
				t.Fatal(err)
			}
			r = measure("POST /webauthn/login/finalize", onPG(budget{9, true, true}, 8), func() response {
				return h.do(t, "POST", "/webauthn/login/finalize", string(assertion))
			})
			auth2 := "Authorization: Bearer " + tokenOf(r)
			measure("DELETE /webauthn/credentials/{id}", budget{5, false, true}, func() response {
				return h.do(t, "DELETE", fmt.Sprintf("/webauthn/credentials/%s", reg.CredentialID), "", auth2)
			})
			// A returning user's passcode login: the user and the address
			// in one read (account.PasscodeTarget), the passcode, its event.
			r = measure("POST /passcode/login/initialize (returning user)", budget{3, false, true}, func() response {
				return h.initPasscodeFrom(t, ids)
			})
			r.json(t, &pc)
			pcID = pc.ID
			measure("POST /passcode/login/finalize (returning user)", onPG(budget{8, true, true}, 7), func() response {
				return h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pcID+`","code":"`+h.code(t, address)+`"}`)
			})
			// A passkey-first sign-up: initialize stores only the ceremony;
			// finalize is one transaction from the attestation to the session.
			r = measure("POST /webauthn/registration/initialize (passkey-first sign-up)", budget{5, false, true}, func() response {
				return h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"first-`+address+`"}`)
			})
			cred, _, err = webauthntest.New().Register(r.Body, o)
			if err != nil {
				t.Fatal(err)
			}
			measure("POST /webauthn/registration/finalize (passkey-first sign-up)", onPG(budget{12, true, true}, 10), func() response {
				return h.do(t, "POST", "/webauthn/registration/finalize", string(cred))
			})
		})
		t.Run(dialect+"-third_party", func(t *testing.T) { testThirdPartyBudgets(t, dialect) })
	}
}

// testThirdPartyBudgets: with third-party providers enabled, GET /me and
// GET /emails show the user's identities and GET /users/{id} is read for a
// user who has them, each in the same two statements as without (the
// identities come with the one profile read).
func testThirdPartyBudgets(t *testing.T, dialect string) {
	x := newIdPHarness(t, dialect, nil)
	const address = "budget-idp@example.test"
	tok := x.apple.Token(t, oidctest.Claims{"sub": "001.budget", "aud": "com.example.app", "nonce": appleNonce("bn"), "email": address, "email_verified": "true"})
	r := x.do(t, "POST", "/thirdparty/id_token", idTokenBody("apple", tok, "bn"))
	if r.Status != 200 {
		t.Fatalf("apple sign-up: %d %s", r.Status, r.Body)
	}
	var body struct {
		UserID string `json:"user_id"`
	}
	r.json(t, &body)
	gt := x.google.Token(t, oidctest.Claims{"sub": "g-budget", "aud": "android.apps.googleusercontent.com", "nonce": "gn", "email": address, "email_verified": true})
	r = x.do(t, "POST", "/thirdparty/id_token", idTokenBody("google", gt, "gn"))
	if r.Status != 200 {
		t.Fatalf("google linking: %d %s", r.Status, r.Body)
	}
	// The session of the last sign-in was written a moment ago: reads
	// within the touch resolution write nothing.
	auth := "Authorization: Bearer " + tokenOf(r)
	measure := meter(t, x.App)
	var me struct {
		Identities []struct{ ID, Provider string } `json:"identities"`
		Emails     []struct {
			Identities []struct{ ID string } `json:"identities"`
		} `json:"emails"`
	}
	measure("GET /me (third_party)", budget{2, false, false}, func() response {
		return x.do(t, "GET", "/me", "", auth)
	}).json(t, &me)
	if len(me.Identities) != 2 || me.Identities[0].ID != "001.budget" || me.Identities[1].ID != "g-budget" || len(me.Emails) != 1 || len(me.Emails[0].Identities) != 2 {
		t.Errorf("GET /me identities: %+v", me)
	}
	var user map[string]any
	measure("GET /users/{id} (third_party)", budget{2, false, false}, func() response {
		return x.do(t, "GET", "/users/"+body.UserID, "", auth)
	}).json(t, &user)
	if user["id"] != body.UserID || user["email"] != address {
		t.Errorf("GET /users/{id}: %v", user)
	}
	var emails []struct {
		Identities []struct{ ID string } `json:"identities"`
	}
	measure("GET /emails (third_party)", budget{2, false, false}, func() response {
		return x.do(t, "GET", "/emails", "", auth)
	}).json(t, &emails)
	if len(emails) != 1 || len(emails[0].Identities) != 2 {
		t.Errorf("GET /emails identities: %+v", emails)
	}
}
