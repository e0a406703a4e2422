package app_test

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// Tests of the account-settings routes: credentials, e-mail
// addresses, passwords, account deletion and session checks, end to end
// through a real node in cookie and in header mode.

const origin = "https://login.example.test"

// sessionMode is how a client carries its session.
type sessionMode struct {
	name   string
	header bool // session.enable_auth_token_header
}

var sessionModes = []sessionMode{{"cookie", false}, {"header", true}}

// auth is the request header that carries token in mode m.
// settingsHarness is a node in mode m with every settings route on
// (passwords, account deletion) and no rate limits.
func (m sessionMode) settingsHarness(t *testing.T) *harness {
	return newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = m.header
		c.RateLimiter.Enabled = false
		c.Password.Enabled = true
		c.Account.AllowDeletion = true
	})
}

func (m sessionMode) auth(token string) string {
	if m.header {
		return "Authorization: Bearer " + token
	}
	return "Cookie: hanko=" + token
}

// tokenOf returns the session token a response delivered (X-Auth-Token or
// the hanko cookie), or "".
func tokenOf(r response) string {
	if t := r.Header.Get("X-Auth-Token"); t != "" {
		return t
	}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "hanko" && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// clearsCookie reports whether r sets the deletion cookie.
func clearsCookie(r response) bool {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "hanko" && c.Value == "" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

func (h *harness) want(t *testing.T, r response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
}

// sqlDB opens the node's SQLite file for direct inspection.
func (h *harness) sqlDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wantRowsUnchanged fails the test unless the database is still before
// (a snapshot taken earlier).
func (h *harness) wantRowsUnchanged(t *testing.T, before dbState) {
	t.Helper()
	if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("rows changed: %v -> %v", before, after)
	}
}

// passcodeLogin signs an existing user in with a passcode to address and
// returns the new session token.
func (h *harness) passcodeLogin(t *testing.T, userID, address string, headers ...string) string {
	t.Helper()
	r := h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`"}`, headers...)
	h.want(t, r, 200, "passcode init")
	var pc struct{ ID string }
	r.json(t, &pc)
	r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, address)+`"}`, headers...)
	h.want(t, r, 200, "passcode finalize")
	return tokenOf(r)
}

// registerPasskey registers a software authenticator's passkey for the
// session and returns its base64url credential id.
func (h *harness) registerPasskey(t *testing.T, auth string) string {
	t.Helper()
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", auth)
	h.want(t, r, 200, "registration init")
	body, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", "/webauthn/registration/finalize", string(body), auth)
	h.want(t, r, 200, "registration finalize")
	var out struct {
		CredentialID string `json:"credential_id"`
	}
	r.json(t, &out)
	return out.CredentialID
}

type emailOut struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	IsVerified bool   `json:"is_verified"`
	IsPrimary  bool   `json:"is_primary"`
}

func (h *harness) emails(t *testing.T, auth string) []emailOut {
	t.Helper()
	r := h.do(t, "GET", "/emails", "", auth)
	h.want(t, r, 200, "GET /emails")
	var out []emailOut
	r.json(t, &out)
	return out
}

type validation struct {
	IsValid bool `json:"is_valid"`
	Claims  struct {
		Subject    string    `json:"subject"`
		SessionID  string    `json:"session_id"`
		Expiration time.Time `json:"expiration"`
		IssuedAt   time.Time `json:"issued_at"`
		Audience   []string  `json:"audience"`
		Email      *struct {
			Address string `json:"address"`
		} `json:"email"`
	} `json:"claims"`
	ExpirationTime *time.Time `json:"expiration_time"`
	UserID         string     `json:"user_id"`
	IdleExpiresAt  *time.Time `json:"idle_expires_at"`
}

func (h *harness) validate(t *testing.T, method, token string, headers ...string) validation {
	t.Helper()
	var r response
	if method == "POST" {
		r = h.do(t, "POST", "/sessions/validate", `{"session_token":"`+token+`"}`, headers...)
	} else {
		r = h.do(t, "GET", "/sessions/validate", "", headers...)
	}
	h.want(t, r, 200, method+" /sessions/validate")
	var v validation
	r.json(t, &v)
	return v
}

// TestSettingsFlow walks every new route once, in both session modes.
func TestSettingsFlow(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			h := m.settingsHarness(t)
			userID, emailID, token := h.signUp(t, "alice@example.test")
			auth := m.auth(token)

			// Credentials: list, rename, keep, delete.
			r := h.do(t, "GET", "/webauthn/credentials", "", auth)
			if h.want(t, r, 200, "list credentials"); strings.TrimSpace(string(r.Body)) != "[]" {
				t.Fatalf("credentials before = %s, want []", r.Body)
			}
			credID := h.registerPasskey(t, auth)
			r = h.do(t, "PATCH", "/webauthn/credentials/"+credID, `{"name":"Work laptop"}`, auth)
			if h.want(t, r, 200, "rename"); len(r.Body) != 0 {
				t.Fatalf("rename body = %q, want empty", r.Body)
			}
			h.want(t, h.do(t, "PATCH", "/webauthn/credentials/"+credID+"==", `{}`, auth), 200, "rename without name, padded id")
			r = h.do(t, "GET", "/webauthn/credentials", "", auth)
			var creds []struct{ ID, Name string }
			r.json(t, &creds)
			if len(creds) != 1 || creds[0].ID != credID || creds[0].Name != "Work laptop" {
				t.Fatalf("credentials = %s", r.Body)
			}
			h.want(t, h.do(t, "DELETE", "/webauthn/credentials/"+credID, "", auth), 204, "delete credential")
			h.want(t, h.do(t, "DELETE", "/webauthn/credentials/"+credID, "", auth), 404, "delete credential again")
			if r := h.do(t, "GET", "/webauthn/credentials", "", auth); strings.TrimSpace(string(r.Body)) != "[]" {
				t.Fatalf("credentials after delete = %s", r.Body)
			}

			// E-mail addresses: add (verification required), verify, make
			// primary, delete the old one; the primary cannot be deleted.
			if es := h.emails(t, auth); len(es) != 1 || es[0].ID != emailID || !es[0].IsPrimary || !es[0].IsVerified {
				t.Fatalf("emails = %+v", es)
			}
			r = h.do(t, "POST", "/emails", `{"address":"  Alice.Work@Example.TEST "}`, auth)
			h.want(t, r, 200, "add email")
			var row map[string]any
			r.json(t, &row)
			if row["address"] != "alice.work@example.test" || row["verified"] != false || row["user_id"] != nil || row["id"] == nil || row["created_at"] == nil {
				t.Fatalf("POST /emails row = %s", r.Body)
			}
			newID := row["id"].(string)
			if es := h.emails(t, auth); len(es) != 1 {
				t.Fatalf("an unverified address is listed: %+v", es)
			}
			r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`","email_id":"`+newID+`"}`, auth)
			h.want(t, r, 200, "passcode init for new address")
			var pc struct{ ID string }
			r.json(t, &pc)
			r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, "alice.work@example.test")+`"}`, auth)
			h.want(t, r, 200, "passcode finalize for new address")
			auth = m.auth(tokenOf(r))
			es := h.emails(t, auth)
			if len(es) != 2 || es[1].ID != newID || !es[1].IsVerified || es[1].IsPrimary {
				t.Fatalf("emails after verification = %+v", es)
			}
			h.want(t, h.do(t, "POST", "/emails/"+newID+"/set_primary", "", auth), 204, "set primary")
			h.want(t, h.do(t, "POST", "/emails/"+newID+"/set_primary", "", auth), 204, "set primary again")
			r = h.do(t, "DELETE", "/emails/"+newID, "", auth)
			h.want(t, r, 409, "delete primary")
			h.want(t, h.do(t, "DELETE", "/emails/"+emailID, "", auth), 204, "delete old address")
			if es := h.emails(t, auth); len(es) != 1 || es[0].ID != newID || !es[0].IsPrimary {
				t.Fatalf("emails at the end = %+v", es)
			}

			// Password: set (201), replace (200), log in.
			body := `{"user_id":"` + userID + `","password":"correct horse"}`
			r = h.do(t, "PUT", "/password", body, auth)
			if h.want(t, r, 201, "set password"); strings.TrimSpace(string(r.Body)) != "null" {
				t.Fatalf("PUT /password body = %s", r.Body)
			}
			body = `{"user_id":"` + userID + `","password":"battery staple"}`
			h.want(t, h.do(t, "PUT", "/password", body, auth), 200, "replace password")
			r = h.do(t, "POST", "/password/login", body)
			h.want(t, r, 200, "password login")
			if strings.TrimSpace(string(r.Body)) != "null" || r.Header.Get("X-Session-Lifetime") != "43200" {
				t.Fatalf("password login: body %s, lifetime %q", r.Body, r.Header.Get("X-Session-Lifetime"))
			}
			pwToken := tokenOf(r)
			if pwToken == "" {
				t.Fatal("no session after password login")
			}
			if (r.Header.Get("X-Auth-Token") != "") != m.header {
				t.Fatalf("session delivered the wrong way in %s mode", m.name)
			}
			h.want(t, h.do(t, "GET", "/me", "", m.auth(pwToken)), 200, "/me with the password session")

			// Session checks.
			v := h.validate(t, "GET", "", m.auth(pwToken))
			if !v.IsValid || v.UserID != userID || v.Claims.Subject != userID || v.Claims.SessionID == "" ||
				v.ExpirationTime == nil || !v.ExpirationTime.Equal(v.Claims.Expiration) || v.IdleExpiresAt != nil ||
				v.Claims.Email == nil || v.Claims.Email.Address != "alice.work@example.test" {
				t.Fatalf("GET validate = %+v", v)
			}
			if v := h.validate(t, "POST", pwToken); !v.IsValid || v.UserID != userID {
				t.Fatalf("POST validate = %+v", v)
			}
			if v := h.validate(t, "GET", ""); v.IsValid {
				t.Fatal("GET validate without a token is valid")
			}

			// Account deletion: everything of the user goes, the cookie is cleared.
			before := h.snapshot(t)
			r = h.do(t, "DELETE", "/user", "", auth)
			h.want(t, r, 204, "delete account")
			if !clearsCookie(r) {
				t.Fatalf("DELETE /user did not clear the cookie: %v", r.Header.Values("Set-Cookie"))
			}
			after := h.snapshot(t)
			for table, n := range map[string]int{"users": 0, "emails": 0, "primary_emails": 0, "sessions": 0, "password_credentials": 0, "passcodes": 0, "webauthn_credentials": 0} {
				if after[table].Rows != n {
					t.Errorf("%s: %d rows left (before %d)", table, after[table].Rows, before[table].Rows)
				}
			}
			h.want(t, h.do(t, "GET", "/me", "", m.auth(pwToken)), 401, "/me after deletion")
			if v := h.validate(t, "POST", pwToken); v.IsValid {
				t.Fatal("session of a deleted user is valid")
			}
			h.want(t, h.do(t, "POST", "/user", `{"email":"alice.work@example.test"}`), 404, "lookup after deletion")
		})
	}
}

// TestDefaultsHideOptionalRoutes: without account.allow_deletion DELETE
// /user is 405 (POST /user exists) and without password.enabled the
// password routes do not exist.
func TestDefaultsHideOptionalRoutes(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.RateLimiter.Enabled = false })
	_, _, token := h.signUp(t, "alice@example.test")
	before := h.snapshot(t)
	r := h.do(t, "DELETE", "/user", "", "Authorization: Bearer "+token)
	if r.Status != 405 || !strings.Contains(r.Header.Get("Allow"), "POST") || !strings.Contains(string(r.Body), `"code":405`) {
		t.Fatalf("DELETE /user = %d %q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	h.want(t, h.do(t, "PUT", "/password", `{}`, "Authorization: Bearer "+token), 404, "PUT /password disabled")
	h.want(t, h.do(t, "POST", "/password/login", `{}`), 404, "POST /password/login disabled")
	h.wantRowsUnchanged(t, before)
}

// TestEmailsWithoutVerification: with email.require_verification false an
// address is assigned at once; email.limit answers 409.
func TestEmailsWithoutVerification(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Email.RequireVerification = false
		c.Email.Limit = 2
		c.RateLimiter.Enabled = false
	})
	r := h.do(t, "POST", "/users", `{"email":"alice@example.test"}`)
	h.want(t, r, 200, "sign up")
	token := tokenOf(r)
	if token == "" {
		t.Fatal("no session from POST /users without verification")
	}
	auth := "Authorization: Bearer " + token
	r = h.do(t, "POST", "/emails", `{"address":"second@example.test"}`, auth)
	h.want(t, r, 200, "add")
	var row struct {
		UserID   string `json:"user_id"`
		Verified bool   `json:"verified"`
	}
	r.json(t, &row)
	var me struct{ ID string }
	h.do(t, "GET", "/me", "", auth).json(t, &me)
	if row.UserID != me.ID || row.Verified {
		t.Fatalf("row = %+v, want assigned to %s, unverified", row, me.ID)
	}
	if es := h.emails(t, auth); len(es) != 2 || es[1].IsPrimary {
		t.Fatalf("emails = %+v", es)
	}
	before := h.snapshot(t)
	r = h.do(t, "POST", "/emails", `{"address":"third@example.test"}`, auth)
	h.want(t, r, 409, "over the limit")
	h.wantRowsUnchanged(t, before)
}

// TestSignUpWithoutVerificationSession: POST /users without required
// verification issues a JWT backed by a session row (Hanko's token was
// rejected), in both modes.
func TestSignUpWithoutVerificationSession(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.Session.EnableAuthTokenHeader = m.header
				c.Email.RequireVerification = false
			})
			r := h.do(t, "POST", "/users", `{"email":"bob@example.test"}`)
			h.want(t, r, 200, "sign up")
			var u struct {
				UserID string `json:"user_id"`
			}
			r.json(t, &u)
			token := tokenOf(r)
			if token == "" {
				t.Fatal("no token")
			}
			var n int
			if err := h.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE user_id = ?`, u.UserID).Scan(&n); err != nil || n != 1 {
				t.Fatalf("session rows = %d, %v", n, err)
			}
			r = h.do(t, "GET", "/me", "", m.auth(token))
			h.want(t, r, 200, "/me")
			if v := h.validate(t, "POST", token); !v.IsValid || v.UserID != u.UserID {
				t.Fatalf("validate = %+v", v)
			}
		})
	}
}

// TestEmailNormalisation: one account per mailbox across /users, /user and
// /emails, whatever the case, surrounding space, or IDN spelling.
func TestEmailNormalisation(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.RateLimiter.Enabled = false
	})
	_, _, otherToken := h.signUp(t, "other@example.test")
	other := "Authorization: Bearer " + otherToken

	// Sign-up through the Unicode domain; the passcode goes to the punycode form.
	r := h.do(t, "POST", "/users", `{"email":" Dana@Bücher.test "}`)
	h.want(t, r, 200, "sign up with IDN")
	var su struct {
		UserID  string `json:"user_id"`
		EmailID string `json:"email_id"`
	}
	r.json(t, &su)
	r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+su.UserID+`","email_id":"`+su.EmailID+`"}`)
	h.want(t, r, 200, "init")
	var pc struct{ ID string }
	r.json(t, &pc)
	r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, "dana@xn--bcher-kva.test")+`"}`)
	h.want(t, r, 200, "finalize")
	dana := "Authorization: Bearer " + tokenOf(r)
	if es := h.emails(t, dana); len(es) != 1 || es[0].Address != "dana@xn--bcher-kva.test" {
		t.Fatalf("stored address = %+v", es)
	}

	// Mixed-case ASCII sign-up of someone else.
	_, _, _ = h.signUp(t, "mixed.case@example.test")

	before := h.snapshot(t)
	for _, spelling := range []string{
		"dana@xn--bcher-kva.test", "DANA@XN--BCHER-KVA.TEST", "  dana@bücher.test\t", "Dana@BÜCHER.test",
	} {
		js, _ := json.Marshal(spelling)
		r := h.do(t, "POST", "/user", `{"email":`+string(js)+`}`)
		var lu struct{ ID string }
		if r.json(t, &lu); r.Status != 200 || lu.ID != su.UserID {
			t.Errorf("POST /user %q = %d %s, want Dana", spelling, r.Status, r.Body)
		}
		if r := h.do(t, "POST", "/users", `{"email":`+string(js)+`}`); r.Status != 409 {
			t.Errorf("POST /users %q = %d %s, want 409", spelling, r.Status, r.Body)
		}
		if r := h.do(t, "POST", "/emails", `{"address":`+string(js)+`}`, other); r.Status != 400 {
			t.Errorf("POST /emails %q by another user = %d %s, want 400", spelling, r.Status, r.Body)
		}
		if r := h.do(t, "POST", "/emails", `{"address":`+string(js)+`}`, dana); r.Status != 400 {
			t.Errorf("POST /emails %q by the owner = %d %s, want 400", spelling, r.Status, r.Body)
		}
	}
	for _, spelling := range []string{"MIXED.CASE@EXAMPLE.TEST", " Mixed.Case@Example.Test ", "\tmixed.case@example.test\n"} {
		js, _ := json.Marshal(spelling)
		if r := h.do(t, "POST", "/user", `{"email":`+string(js)+`}`); r.Status != 200 {
			t.Errorf("POST /user %q = %d", spelling, r.Status)
		}
		if r := h.do(t, "POST", "/users", `{"email":`+string(js)+`}`); r.Status != 409 {
			t.Errorf("POST /users %q = %d, want 409", spelling, r.Status)
		}
		if r := h.do(t, "POST", "/emails", `{"address":`+string(js)+`}`, other); r.Status != 400 {
			t.Errorf("POST /emails %q = %d, want 400", spelling, r.Status)
		}
	}
	h.wantRowsUnchanged(t, before)

	// An unverified address added in punycode is the same row when added
	// again in Unicode (returned unchanged, not duplicated).
	r = h.do(t, "POST", "/emails", `{"address":"Eve@xn--bcher-kva.test"}`, other)
	h.want(t, r, 200, "add punycode")
	var first struct{ ID, Address string }
	r.json(t, &first)
	r = h.do(t, "POST", "/emails", `{"address":" eve@BÜCHER.test"}`, other)
	h.want(t, r, 200, "add unicode")
	var second struct{ ID, Address string }
	r.json(t, &second)
	if first.ID != second.ID || first.Address != "eve@xn--bcher-kva.test" || second.Address != first.Address {
		t.Fatalf("two rows for one mailbox: %+v %+v", first, second)
	}
}

// TestAuthorizationAcrossUsers: every route that takes an id, tried by
// user A with user B's ids (copied from B's responses) and with guessed
// ids, answers 404 and changes nothing.
func TestAuthorizationAcrossUsers(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			h := m.settingsHarness(t)
			userA, _, tokenA := h.signUp(t, "alice@example.test")
			userB, emailB, tokenB := h.signUp(t, "bob@example.test")
			a, b := m.auth(tokenA), m.auth(tokenB)
			credB := h.registerPasskey(t, b)
			credA := h.registerPasskey(t, a)
			// B's second address, verified, and a pending (unassigned) one.
			r := h.do(t, "POST", "/emails", `{"address":"bob2@example.test"}`, b)
			h.want(t, r, 200, "B adds")
			var e2 struct{ ID string }
			r.json(t, &e2)
			r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userB+`","email_id":"`+e2.ID+`"}`, b)
			h.want(t, r, 200, "B init")
			var pc struct{ ID string }
			r.json(t, &pc)
			h.want(t, h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, "bob2@example.test")+`"}`, b), 200, "B finalize")
			r = h.do(t, "POST", "/emails", `{"address":"bob3@example.test"}`, b)
			var pending struct{ ID string }
			r.json(t, &pending)
			// B's ids as B's own responses show them.
			var bCreds []struct{ ID string }
			h.do(t, "GET", "/webauthn/credentials", "", b).json(t, &bCreds)
			if len(bCreds) != 1 || bCreds[0].ID != credB {
				t.Fatalf("B's credentials = %+v", bCreds)
			}
			h.want(t, h.do(t, "PUT", "/password", `{"user_id":"`+userB+`","password":"bobs password"}`, b), 201, "B password")

			guessedCred := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef"))
			cases := []struct {
				method, path, body string
				status             int
			}{
				{"PATCH", "/webauthn/credentials/" + credB, `{"name":"mine now"}`, 404},
				{"PATCH", "/webauthn/credentials/" + credB, `{}`, 404},
				{"DELETE", "/webauthn/credentials/" + credB, "", 404},
				{"PATCH", "/webauthn/credentials/" + guessedCred, `{"name":"x"}`, 404},
				{"DELETE", "/webauthn/credentials/" + guessedCred, "", 404},
				{"DELETE", "/emails/" + emailB, "", 404},
				{"DELETE", "/emails/" + e2.ID, "", 404},
				{"DELETE", "/emails/" + pending.ID, "", 404},
				{"DELETE", "/emails/" + uuid.NewString(), "", 404},
				{"POST", "/emails/" + emailB + "/set_primary", "", 404},
				{"POST", "/emails/" + e2.ID + "/set_primary", "", 404},
				{"POST", "/emails/" + pending.ID + "/set_primary", "", 404},
				{"POST", "/emails/" + uuid.NewString() + "/set_primary", "", 404},
				// Not id routes of this issue, but the same rule of ownership:
				{"GET", "/users/" + userB, "", 403},
				{"PUT", "/password", `{"user_id":"` + userB + `","password":"taken over"}`, 403},
			}
			before := h.snapshot(t)
			var pwBefore string
			db := h.sqlDB(t)
			_ = db.QueryRow(`SELECT password FROM password_credentials WHERE user_id = ?`, userB).Scan(&pwBefore)
			for _, c := range cases {
				r := h.do(t, c.method, c.path, c.body, a)
				if r.Status != c.status || !strings.Contains(string(r.Body), `"code":`+strconv.Itoa(c.status)) {
					t.Errorf("A %s %s = %d %s, want %d", c.method, c.path, r.Status, r.Body, c.status)
				}
			}
			h.wantRowsUnchanged(t, before)
			var pwAfter string
			_ = db.QueryRow(`SELECT password FROM password_credentials WHERE user_id = ?`, userB).Scan(&pwAfter)
			var nameB sql.NullString
			_ = db.QueryRow(`SELECT name FROM webauthn_credentials WHERE user_id = ?`, userB).Scan(&nameB)
			if pwAfter != pwBefore || nameB.String == "mine now" {
				t.Fatal("B's password or credential name changed")
			}
			if es := h.emails(t, b); len(es) != 2 || !es[0].IsPrimary || es[0].ID != emailB {
				t.Fatalf("B's emails changed: %+v", es)
			}
			// A's own ids still work, and A's deletion leaves B intact.
			h.want(t, h.do(t, "DELETE", "/webauthn/credentials/"+credA, "", a), 204, "A deletes own credential")
			h.want(t, h.do(t, "DELETE", "/user", "", a), 204, "A deletes account")
			h.want(t, h.do(t, "GET", "/me", "", b), 200, "B after A's deletion")
			if es := h.emails(t, b); len(es) != 2 {
				t.Fatalf("B's emails after A's deletion: %+v", es)
			}
			_ = userA
		})
	}
}

// TestSettingsBadInput sends each new route the bad inputs a client can
// produce and asserts the status, the error body and that nothing changed.
func TestSettingsBadInput(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.RateLimiter.Enabled = false
		c.Password.Enabled = true
		c.Password.MinLength = 8
		c.Account.AllowDeletion = true
		c.Server.MaxRequestBodyBytes = 4096
	})
	userA, emailA, tokenA := h.signUp(t, "alice@example.test")
	userB, _, _ := h.signUp(t, "bob@example.test")
	a := "Authorization: Bearer " + tokenA
	credA := h.registerPasskey(t, a)
	h.want(t, h.do(t, "PUT", "/password", `{"user_id":"`+userA+`","password":"alice's password"}`, a), 201, "A password")
	_, _, revoked := h.signUp(t, "carol@example.test")
	h.want(t, h.do(t, "POST", "/logout", "", "Authorization: Bearer "+revoked), 204, "logout")
	forged := tokenA[:len(tokenA)-4] + flip(tokenA[len(tokenA)-4:])
	stdB64 := strings.NewReplacer("-", "+", "_", "/").Replace(credA) + "+/"

	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		message                  string
	}{
		// GET /webauthn/credentials
		{"creds: no session", "GET", "/webauthn/credentials", "", nil, 401, "Unauthorized"},
		{"creds: forged", "GET", "/webauthn/credentials", "", []string{"Authorization: Bearer " + forged}, 401, ""},
		{"creds: revoked", "GET", "/webauthn/credentials", "", []string{"Authorization: Bearer " + revoked}, 401, ""},
		// PATCH /webauthn/credentials/{id}
		{"rename: no session", "PATCH", "/webauthn/credentials/" + credA, `{"name":"x"}`, nil, 401, ""},
		{"rename: not base64url", "PATCH", "/webauthn/credentials/!!!", `{"name":"x"}`, []string{a}, 404, "webauthn credential not found"},
		{"rename: standard base64", "PATCH", "/webauthn/credentials/" + stdB64, `{"name":"x"}`, []string{a}, 404, ""},
		{"rename: unknown", "PATCH", "/webauthn/credentials/AAAA", `{"name":"x"}`, []string{a}, 404, ""},
		{"rename: malformed JSON", "PATCH", "/webauthn/credentials/" + credA, `{"name":`, []string{a}, 400, "Syntax error"},
		{"rename: wrong type", "PATCH", "/webauthn/credentials/" + credA, `{"name":42}`, []string{a}, 400, "Unmarshal type error"},
		{"rename: too long", "PATCH", "/webauthn/credentials/" + credA, `{"name":"` + strings.Repeat("ü", 256) + `"}`, []string{a}, 400, "255"},
		{"rename: content type", "PATCH", "/webauthn/credentials/" + credA, `name=x`, []string{a, "Content-Type: text/plain"}, 415, ""},
		{"rename: oversized", "PATCH", "/webauthn/credentials/" + credA, `{"name":"` + strings.Repeat("a", 5000) + `"}`, []string{a}, 413, ""},
		// DELETE /webauthn/credentials/{id}
		{"del cred: no session", "DELETE", "/webauthn/credentials/" + credA, "", nil, 401, ""},
		{"del cred: unknown", "DELETE", "/webauthn/credentials/AAAA", "", []string{a}, 404, ""},
		{"del cred: garbage", "DELETE", "/webauthn/credentials/%25%00", "", []string{a}, 404, ""},
		// GET /emails
		{"emails: no session", "GET", "/emails", "", nil, 401, ""},
		// POST /emails
		{"add email: no session", "POST", "/emails", `{"address":"x@example.test"}`, nil, 401, ""},
		{"add email: empty body", "POST", "/emails", "", []string{a}, 400, "address is a required field"},
		{"add email: blank", "POST", "/emails", `{"address":"   "}`, []string{a}, 400, "address is a required field"},
		{"add email: invalid", "POST", "/emails", `{"address":"not-an-address"}`, []string{a}, 400, "address must be a valid email address"},
		{"add email: two @", "POST", "/emails", `{"address":"a@@example.test"}`, []string{a}, 400, "valid email"},
		{"add email: display name", "POST", "/emails", `{"address":"Al <al@example.test>"}`, []string{a}, 400, "valid email"},
		{"add email: bad IDN", "POST", "/emails", `{"address":"a@xn--zz.test"}`, []string{a}, 400, "valid email"},
		{"add email: own", "POST", "/emails", `{"address":"Alice@example.test"}`, []string{a}, 400, "already exists"},
		{"add email: other's", "POST", "/emails", `{"address":"bob@example.test"}`, []string{a}, 400, "already exists"},
		{"add email: wrong type", "POST", "/emails", `{"address":["x@example.test"]}`, []string{a}, 400, "Unmarshal type error"},
		{"add email: malformed", "POST", "/emails", `{`, []string{a}, 400, "Syntax error"},
		{"add email: content type", "POST", "/emails", `address=x@example.test`, []string{a, "Content-Type: application/x-www-form-urlencoded"}, 415, ""},
		// DELETE /emails/{id}
		{"del email: no session", "DELETE", "/emails/" + emailA, "", nil, 401, ""},
		{"del email: not a uuid", "DELETE", "/emails/xyz", "", []string{a}, 400, "id must be a valid uuid"},
		{"del email: unknown", "DELETE", "/emails/" + uuid.NewString(), "", []string{a}, 404, "email not found"},
		{"del email: primary", "DELETE", "/emails/" + emailA, "", []string{a}, 409, "primary"},
		// POST /emails/{id}/set_primary
		{"primary: no session", "POST", "/emails/" + emailA + "/set_primary", "", nil, 401, ""},
		{"primary: not a uuid", "POST", "/emails/123/set_primary", "", []string{a}, 400, "id must be a valid uuid"},
		{"primary: unknown", "POST", "/emails/" + uuid.NewString() + "/set_primary", "", []string{a}, 404, ""},
		// PUT /password
		{"set pw: no session", "PUT", "/password", `{"user_id":"` + userA + `","password":"longenough"}`, nil, 401, ""},
		{"set pw: empty", "PUT", "/password", `{}`, []string{a}, 400, "user_id is a required field and password is a required field"},
		{"set pw: bad uuid", "PUT", "/password", `{"user_id":"abc","password":"longenough"}`, []string{a}, 400, "user_id must be a valid uuid"},
		{"set pw: short", "PUT", "/password", `{"user_id":"` + userA + `","password":"äöüäöüä"}`, []string{a}, 400, "at least 8 characters"},
		{"set pw: 73 bytes", "PUT", "/password", `{"user_id":"` + userA + `","password":"` + strings.Repeat("a", 73) + `"}`, []string{a}, 400, "72 bytes"},
		{"set pw: unknown user", "PUT", "/password", `{"user_id":"` + uuid.NewString() + `","password":"longenough"}`, []string{a}, 401, ""},
		{"set pw: other user", "PUT", "/password", `{"user_id":"` + userB + `","password":"longenough"}`, []string{a}, 403, ""},
		{"set pw: wrong type", "PUT", "/password", `{"user_id":"` + userA + `","password":12345678}`, []string{a}, 400, "Unmarshal type error"},
		// POST /password/login
		{"pw login: empty", "POST", "/password/login", "", nil, 400, "required"},
		{"pw login: bad uuid", "POST", "/password/login", `{"user_id":"nope","password":"x"}`, nil, 400, "valid uuid"},
		{"pw login: unknown user", "POST", "/password/login", `{"user_id":"` + uuid.NewString() + `","password":"alice's password"}`, nil, 401, ""},
		{"pw login: no password", "POST", "/password/login", `{"user_id":"` + userB + `","password":"anything at all"}`, nil, 401, ""},
		{"pw login: wrong", "POST", "/password/login", `{"user_id":"` + userA + `","password":"alice's passworD"}`, nil, 401, ""},
		{"pw login: 73 bytes", "POST", "/password/login", `{"user_id":"` + userA + `","password":"` + strings.Repeat("a", 73) + `"}`, nil, 400, "72 bytes"},
		{"pw login: content type", "POST", "/password/login", `<x/>`, []string{"Content-Type: application/xml"}, 415, ""},
		// POST /sessions/validate
		{"validate: empty", "POST", "/sessions/validate", "", nil, 400, "session_token is a required field"},
		{"validate: malformed", "POST", "/sessions/validate", `{"session_token":`, nil, 400, "Syntax error"},
		{"validate: wrong type", "POST", "/sessions/validate", `{"session_token":1}`, nil, 400, "Unmarshal type error"},
		// DELETE /user
		{"delete user: no session", "DELETE", "/user", "", nil, 401, ""},
		{"delete user: revoked", "DELETE", "/user", "", []string{"Authorization: Bearer " + revoked}, 401, ""},
		{"delete user: forged", "DELETE", "/user", "", []string{"Authorization: Bearer " + forged}, 401, ""},
	}
	db := h.sqlDB(t)
	var pwBefore string
	if err := db.QueryRow(`SELECT password FROM password_credentials WHERE user_id = ?`, userA).Scan(&pwBefore); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.snapshot(t)
			r := h.do(t, c.method, c.path, c.body, c.headers...)
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("%d: body %q is not JSON", r.Status, r.Body)
			}
			if r.Status != c.status || body.Code != c.status || !strings.Contains(body.Message, c.message) {
				t.Errorf("got %d %s, want %d containing %q", r.Status, r.Body, c.status, c.message)
			}
			if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("rows changed: %v -> %v", before, after)
			}
		})
	}
	var pwAfter string
	_ = db.QueryRow(`SELECT password FROM password_credentials WHERE user_id = ?`, userA).Scan(&pwAfter)
	if pwAfter != pwBefore {
		t.Error("a rejected request changed the password hash")
	}
	// Invalid tokens are a 200 {"is_valid":false}, not an error.
	for _, tok := range []string{"garbage", forged, revoked} {
		if v := h.validate(t, "POST", tok); v.IsValid {
			t.Errorf("POST validate(%.10s…) is valid", tok)
		}
		if v := h.validate(t, "GET", "", "Authorization: Bearer "+tok); v.IsValid {
			t.Errorf("GET validate(%.10s…) is valid", tok)
		}
	}
}

// TestSessionValidateAndLimits: GET leaves last_used alone and POST sets
// it; idle timeout ends a session (row deleted, cookie cleared);
// session.limit evicts the oldest; session.lifespan sets exp.
func TestSessionValidateAndLimits(t *testing.T) {
	for _, m := range sessionModes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.Session.EnableAuthTokenHeader = m.header
				c.Session.IdleTimeout = time.Hour
				c.Session.Limit = 2
				c.Session.Lifespan = 3 * time.Hour
				c.RateLimiter.Enabled = false
			})
			db := h.sqlDB(t)
			userID, _, first := h.signUp(t, "alice@example.test")
			v := h.validate(t, "GET", "", m.auth(first))
			if !v.IsValid || v.IdleExpiresAt == nil {
				t.Fatalf("validate = %+v", v)
			}
			if got := v.Claims.Expiration.Sub(v.Claims.IssuedAt); got != 3*time.Hour {
				t.Fatalf("exp - iat = %v, want session.lifespan 3h", got)
			}
			sid := v.Claims.SessionID
			setLastUsed := func(at time.Time) time.Time {
				s := at.UTC().Format("2006-01-02 15:04:05.999999-07:00")
				if _, err := db.Exec(`UPDATE sessions SET last_used = ? WHERE id = ?`, s, sid); err != nil {
					t.Fatal(err)
				}
				return at
			}
			lastUsed := func() time.Time {
				var s time.Time
				if err := db.QueryRow(`SELECT last_used FROM sessions WHERE id = ?`, sid).Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s
			}
			// GET: last_used untouched; idle_expires_at = last_used + 1h.
			old := time.Now().Add(-30 * time.Minute).Truncate(time.Microsecond)
			stamp := setLastUsed(old)
			v = h.validate(t, "GET", "", m.auth(first))
			if !v.IsValid || !lastUsed().Equal(stamp) {
				t.Fatalf("GET validate touched last_used: %s -> %s", stamp, lastUsed())
			}
			if !v.IdleExpiresAt.Equal(old.Add(time.Hour)) {
				t.Fatalf("idle_expires_at = %v, want %v", v.IdleExpiresAt, old.Add(time.Hour))
			}
			// POST: last_used moves forward.
			if v := h.validate(t, "POST", first); !v.IsValid || !lastUsed().After(stamp) {
				t.Fatal("POST validate did not touch last_used")
			}
			// Idle timeout: the session ends and its row goes.
			setLastUsed(time.Now().Add(-2 * time.Hour))
			r := h.do(t, "GET", "/sessions/validate", "", m.auth(first))
			h.want(t, r, 200, "GET validate idle")
			if strings.Contains(string(r.Body), "true") {
				t.Fatalf("idle session valid: %s", r.Body)
			}
			if !m.header && !clearsCookie(r) {
				t.Fatal("idle session: cookie not cleared")
			}
			var n int
			_ = db.QueryRow(`SELECT count(*) FROM sessions WHERE id = ?`, sid).Scan(&n)
			if n != 0 {
				t.Fatal("idle session row kept")
			}
			h.want(t, h.do(t, "GET", "/me", "", m.auth(first)), 401, "/me with the idle session")

			// session.limit 2: three logins leave the two newest.
			t1 := h.passcodeLogin(t, userID, "alice@example.test")
			t2 := h.passcodeLogin(t, userID, "alice@example.test")
			t3 := h.passcodeLogin(t, userID, "alice@example.test")
			_ = db.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = ?`, userID).Scan(&n)
			if n != 2 {
				t.Fatalf("sessions = %d, want session.limit 2", n)
			}
			if h.validate(t, "POST", t1).IsValid || !h.validate(t, "POST", t2).IsValid || !h.validate(t, "POST", t3).IsValid {
				t.Fatal("the oldest session was not the one evicted")
			}
			h.want(t, h.do(t, "GET", "/me", "", m.auth(t1)), 401, "/me with the evicted session")
			h.want(t, h.do(t, "GET", "/me", "", m.auth(t3)), 200, "/me with the newest session")
		})
	}
}

// TestPasswordUpgradeAndRateLimit: a bcrypt hash imported from Hanko
// verifies and is replaced by an argon2id hash; POST /password/login is
// limited per user and client address.
func TestPasswordUpgradeAndRateLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Password.Enabled = true
		c.RateLimiter.Enabled = true
		c.RateLimiter.PasscodeLimits = config.Limit{Tokens: 100, Interval: time.Minute}
		c.RateLimiter.PasswordLimits = config.Limit{Tokens: 3, Interval: time.Hour}
	})
	userID, _, _ := h.signUp(t, "alice@example.test")
	other, _, _ := h.signUp(t, "bob@example.test")
	hash, err := bcrypt.GenerateFromPassword([]byte("imported from hanko"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	db := h.sqlDB(t)
	now := time.Now().UTC().Format("2006-01-02 15:04:05.999999-07:00")
	if _, err := db.Exec(`INSERT INTO password_credentials (id, user_id, password, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		uuid.NewString(), userID, string(hash), now, now); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) response {
		return h.do(t, "POST", "/password/login", `{"user_id":"`+user+`","password":"`+pw+`"}`)
	}
	h.want(t, login(userID, "wrong guess"), 401, "wrong password")
	r := login(userID, "imported from hanko")
	h.want(t, r, 200, "imported bcrypt password")
	if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("rate limit headers: %v", r.Header)
	}
	var stored string
	_ = db.QueryRow(`SELECT password FROM password_credentials WHERE user_id = ?`, userID).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$") {
		t.Fatalf("hash not upgraded: %.12s…", stored)
	}
	h.want(t, h.do(t, "GET", "/me", "", "Authorization: Bearer "+tokenOf(r)), 200, "/me")
	h.want(t, login(userID, "imported from hanko"), 200, "login after upgrade")
	before := h.snapshot(t)
	r = login(userID, "imported from hanko")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th login = %d %v", r.Status, r.Header)
	}
	if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("a limited login wrote rows: %v -> %v", before, after)
	}
	// Another user's bucket is separate.
	h.want(t, login(other, "no password here"), 401, "other user not limited")
}
