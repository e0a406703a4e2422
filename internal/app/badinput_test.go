package app_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestBadInput sends every public endpoint the bad inputs a client can
// produce and asserts the status, the {"code","message"} body, and that
// nothing was written: no row, no counter, no mail.
func TestBadInput(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Server.MaxRequestBodyBytes = 4096
		c.RateLimiter.Enabled = false
	})
	userA, emailA, tokenA := h.signUp(t, "alice@example.test")
	userB, emailB, tokenB := h.signUp(t, "bob@example.test")
	_ = tokenB

	// Log out a third user's token so a revoked token is at hand.
	_, _, revoked := h.signUp(t, "carol@example.test")
	if r := h.do(t, "POST", "/logout", "", "Authorization: Bearer "+revoked); r.Status != 204 {
		t.Fatalf("logout: %d", r.Status)
	}
	// A passcode waiting for A, whose counter must not move.
	r := h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userA+`"}`)
	if r.Status != 200 {
		t.Fatalf("init: %d %s", r.Status, r.Body)
	}
	var pending struct{ ID string }
	r.json(t, &pending)

	// A registration ceremony of A, for WebAuthn bad inputs.
	r = h.do(t, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+tokenA)
	if r.Status != 200 {
		t.Fatalf("registration init: %d %s", r.Status, r.Body)
	}
	regOptions := r.Body
	auth := webauthntest.New()
	wrongOrigin, _, err := auth.Register(regOptions, webauthntest.Options{Origin: "https://evil.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	wrongRPID, _, err := auth.Register(regOptions, webauthntest.Options{Origin: "https://login.example.test", TamperRPIDHash: true})
	if err != nil {
		t.Fatal(err)
	}
	unknownChallenge, _, err := auth.Register(regOptions, webauthntest.Options{Origin: "https://login.example.test", Challenge: []byte("not-the-challenge-0123456789abcd")})
	if err != nil {
		t.Fatal(err)
	}
	// A login ceremony and an assertion by a credential the server never saw.
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	if r.Status != 200 {
		t.Fatalf("login init: %d %s", r.Status, r.Body)
	}
	stranger := webauthntest.New()
	strangerOpts, _, _ := stranger.Register(regOptions, webauthntest.Options{Origin: "https://login.example.test"})
	_ = strangerOpts
	unknownCred, err := stranger.Login(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}

	forged := tokenA[:len(tokenA)-4] + flip(tokenA[len(tokenA)-4:])
	bearerA := "Authorization: Bearer " + tokenA
	big := `{"email":"` + strings.Repeat("a", 5000) + `@example.test"}`

	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		message                  string // substring of the message
	}{
		// POST /user
		{"user: malformed JSON", "POST", "/user", `{"email":`, nil, 400, "Syntax error"},
		{"user: wrong type", "POST", "/user", `{"email":42}`, nil, 400, "Unmarshal type error"},
		{"user: missing email", "POST", "/user", `{}`, nil, 400, "email is a required field"},
		{"user: invalid email", "POST", "/user", `{"email":"not-an-address"}`, nil, 400, "email must be a valid email address"},
		{"user: content type", "POST", "/user", `email=a@b.test`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "Unsupported Media Type"},
		{"user: no content type", "POST", "/user", `{"email":"a@b.test"}`, []string{"Content-Type: "}, 415, "Unsupported Media Type"},
		{"users: text/plain", "POST", "/users", `{"email":"new@b.test"}`, []string{"Content-Type: text/plain"}, 415, "Unsupported Media Type"},
		{"user: oversized", "POST", "/user", big, nil, 413, "larger than"},
		{"user: unknown", "POST", "/user", `{"email":"nobody@example.test"}`, nil, 404, "user not found"},
		{"user: array body", "POST", "/user", `[1,2]`, nil, 400, "request body must be an object, got array"},
		{"user: two values", "POST", "/user", `{"email":"a@b.test"}{}`, nil, 400, "single JSON value"},
		// POST /users
		{"users: malformed JSON", "POST", "/users", `[`, nil, 400, "Syntax error"},
		{"users: missing email", "POST", "/users", `{"email":"  "}`, nil, 400, "email is a required field"},
		{"users: invalid email", "POST", "/users", `{"email":"a@@b"}`, nil, 400, "valid email"},
		{"users: taken", "POST", "/users", `{"email":"ALICE@example.test "}`, nil, 409, ""},
		{"users: content type", "POST", "/users", `<email/>`, []string{"Content-Type: application/xml"}, 415, ""},
		// GET /users/{id}
		{"users/id: no session", "GET", "/users/" + userA, "", nil, 401, "Unauthorized"},
		{"users/id: other user", "GET", "/users/" + userB, "", []string{bearerA}, 403, ""},
		{"users/id: malformed id", "GET", "/users/xyz", "", []string{bearerA}, 403, ""},
		{"users/id: forged token", "GET", "/users/" + userA, "", []string{"Authorization: Bearer " + forged}, 401, ""},
		// GET /me, POST /logout
		{"me: no session", "GET", "/me", "", nil, 401, "Unauthorized"},
		{"me: garbage token", "GET", "/me", "", []string{"Authorization: Bearer abc.def.ghi"}, 401, ""},
		{"me: forged token", "GET", "/me", "", []string{"Authorization: Bearer " + forged}, 401, ""},
		{"me: logged out token", "GET", "/me", "", []string{"Authorization: Bearer " + revoked}, 401, ""},
		{"me: forged cookie", "GET", "/me", "", []string{"Cookie: hanko=" + forged}, 401, ""},
		{"logout: no session", "POST", "/logout", "", nil, 401, ""},
		{"logout: logged out token", "POST", "/logout", "", []string{"Authorization: Bearer " + revoked}, 401, ""},
		// POST /passcode/login/initialize
		{"pc init: missing user_id", "POST", "/passcode/login/initialize", `{}`, nil, 400, "user_id is a required field"},
		{"pc init: bad user_id", "POST", "/passcode/login/initialize", `{"user_id":"123"}`, nil, 400, "user_id must be a valid uuid"},
		{"pc init: bad email_id", "POST", "/passcode/login/initialize", `{"user_id":"` + userA + `","email_id":"x"}`, nil, 400, "email_id must be a valid uuid"},
		{"pc init: unknown user", "POST", "/passcode/login/initialize", `{"user_id":"00000000-0000-4000-8000-000000000000"}`, nil, 400, "user not found"},
		{"pc init: foreign email_id", "POST", "/passcode/login/initialize", `{"user_id":"` + userA + `","email_id":"` + emailB + `"}`, nil, 400, "not available"},
		{"pc init: unknown email_id", "POST", "/passcode/login/initialize", `{"user_id":"` + userA + `","email_id":"00000000-0000-4000-8000-000000000000"}`, nil, 400, "not available"},
		{"pc init: other user's session", "POST", "/passcode/login/initialize", `{"user_id":"` + userB + `","email_id":"` + emailB + `"}`, []string{bearerA}, 403, ""},
		{"pc init: malformed", "POST", "/passcode/login/initialize", `{"user_id":`, nil, 400, "Syntax error"},
		// POST /passcode/login/finalize
		{"pc final: missing fields", "POST", "/passcode/login/finalize", `{}`, nil, 400, "id is a required field and code is a required field"},
		{"pc final: bad id", "POST", "/passcode/login/finalize", `{"id":"nope","code":"123456"}`, nil, 400, "id must be a valid uuid"},
		{"pc final: unknown id", "POST", "/passcode/login/finalize", `{"id":"00000000-0000-4000-8000-000000000000","code":"123456"}`, nil, 404, "passcode not found"},
		{"pc final: code wrong type", "POST", "/passcode/login/finalize", `{"id":"` + pending.ID + `","code":123456}`, nil, 400, "Unmarshal type error"},
		// WebAuthn registration
		{"reg init: no session", "POST", "/webauthn/registration/initialize", "", nil, 401, ""},
		{"reg final: no session", "POST", "/webauthn/registration/finalize", "", nil, 401, ""},
		// Without a session a body is a passkey-first sign-up, which a
		// signed-in user's ceremony cannot finish.
		{"reg final: no session, user's ceremony", "POST", "/webauthn/registration/finalize", string(wrongOrigin), nil, 400, "challenge"},
		{"reg final: empty body", "POST", "/webauthn/registration/finalize", "", []string{bearerA}, 400, ""},
		{"reg final: garbage", "POST", "/webauthn/registration/finalize", `{"id":"x","type":"public-key"}`, []string{bearerA}, 400, ""},
		{"reg final: wrong origin", "POST", "/webauthn/registration/finalize", string(wrongOrigin), []string{bearerA}, 400, "failed to validate attestation"},
		{"reg final: wrong RP ID hash", "POST", "/webauthn/registration/finalize", string(wrongRPID), []string{bearerA}, 400, "failed to validate attestation"},
		{"reg final: unknown challenge", "POST", "/webauthn/registration/finalize", string(unknownChallenge), []string{bearerA}, 400, "challenge"},
		// WebAuthn login
		{"login init: bad user_id", "POST", "/webauthn/login/initialize", `{"user_id":"abc"}`, nil, 400, "failed to parse UserID as uuid"},
		{"login init: unknown user", "POST", "/webauthn/login/initialize", `{"user_id":"00000000-0000-4000-8000-000000000000"}`, nil, 400, "user not found"},
		{"login final: empty body", "POST", "/webauthn/login/finalize", "", nil, 400, ""},
		{"login final: garbage", "POST", "/webauthn/login/finalize", `{"id":"x"}`, nil, 400, ""},
		{"login final: unknown credential", "POST", "/webauthn/login/finalize", string(unknownCred), nil, 401, ""},
		// Routing
		{"unknown path", "GET", "/no/such/path", "", nil, 404, "Not Found"},
		{"non-canonical path", "GET", "//me", "", []string{bearerA}, 404, "Not Found"},
		{"dot segments", "GET", "/health/../me", "", []string{bearerA}, 404, "Not Found"},
		{"wrong method", "GET", "/users", "", nil, 405, "Method Not Allowed"},
		{"wrong method on finalize", "PUT", "/passcode/login/finalize", `{}`, nil, 405, "Method Not Allowed"},
	}
	_ = emailA
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot(t)
			mailsBefore := len(h.Outbox.String())
			r := h.do(t, tc.method, tc.path, tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
			}
			var eb struct {
				Code    int     `json:"code"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(r.Body, &eb); err != nil || eb.Code != tc.status || eb.Message == nil {
				t.Fatalf("error body %q is not {\"code\":%d,\"message\":…}", r.Body, tc.status)
			}
			if !strings.Contains(*eb.Message, tc.message) {
				t.Errorf("message %q does not contain %q", *eb.Message, tc.message)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:") {
				t.Errorf("body leaks internals: %s", r.Body)
			}
			if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("database changed:\nbefore %v\nafter  %v", before, after)
			}
			if len(h.Outbox.String()) != mailsBefore {
				t.Error("a mail was sent")
			}
		})
	}

	// 405 names the allowed methods.
	if r := h.do(t, "GET", "/users", ""); r.Header.Get("Allow") == "" {
		t.Error("405 without Allow header")
	}
	// The pending passcode still works after all that: nothing was spent.
	r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pending.ID+`","code":"`+h.code(t, "alice@example.test")+`"}`)
	if r.Status != 200 {
		t.Fatalf("pending passcode no longer usable: %d %s", r.Status, r.Body)
	}
}

// flip changes a token's last characters so the signature no longer matches.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}
