package app_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// passkeySignUp runs a passkey-first sign-up of address with a new
// software authenticator and o: initialize without a session, register,
// finalize. It returns the authenticator and the finalize response.
func (h *harness) passkeySignUp(t *testing.T, address string, o webauthntest.Options) (*webauthntest.Authenticator, response) {
	t.Helper()
	r := h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"`+address+`"}`)
	h.want(t, r, 200, "sign-up initialize")
	auth := webauthntest.New()
	cred, _, err := auth.Register(r.Body, o)
	if err != nil {
		t.Fatal(err)
	}
	return auth, h.do(t, "POST", "/webauthn/registration/finalize", string(cred))
}

type signUpOut struct {
	CredentialID string `json:"credential_id"`
	UserID       string `json:"user_id"`
	EmailID      string `json:"email_id"`
}

type meOut struct {
	ID     string `json:"id"`
	Emails []struct {
		Address    string `json:"address"`
		IsVerified bool   `json:"is_verified"`
		IsPrimary  bool   `json:"is_primary"`
	} `json:"emails"`
	Passkeys []struct {
		ID             string `json:"id"`
		BackupEligible bool   `json:"backup_eligible"`
		BackupState    bool   `json:"backup_state"`
	} `json:"passkeys"`
}

// TestPasskeySignUp: with email.require_verification (the default) a
// passkey-first sign-up creates the user, the passkey and a session in one
// request, leaves the address unassigned (POST /user still 404, no email
// claim) until a passcode for it is finalized, and the passkey signs the
// user in; the events are user_created and the WebAuthn registration
// events naming the session.
func TestPasskeySignUp(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	const address = "first@example.test"

	r := h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"  First@Example.test "}`)
	h.want(t, r, 200, "sign-up initialize")
	var opts struct {
		PublicKey struct {
			User struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			Exclude []any `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	r.json(t, &opts)
	handle, err := base64.RawURLEncoding.DecodeString(opts.PublicKey.User.ID)
	if err != nil || len(handle) != 16 || opts.PublicKey.User.Name != address || opts.PublicKey.User.DisplayName != address || opts.PublicKey.Exclude != nil {
		t.Fatalf("creation options %s", r.Body)
	}
	var seq int64
	if ev := h.eventsAfter(t, 0); len(ev) > 0 {
		seq = ev[len(ev)-1].Seq
	}
	auth := webauthntest.New()
	o := webauthntest.Options{Origin: "https://login.example.test", BE: true, BS: true}
	cred, credID, err := auth.Register(r.Body, o)
	if err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", "/webauthn/registration/finalize", string(cred))
	h.want(t, r, 200, "sign-up finalize")
	var out signUpOut
	r.json(t, &out)
	userID := uuid.Must(uuid.FromBytes(handle)).String()
	if out.UserID != userID || out.CredentialID != base64.RawURLEncoding.EncodeToString(credID) || out.EmailID == "" {
		t.Fatalf("finalize %s, want user %s", r.Body, userID)
	}
	token := tokenOf(r)
	if token == "" || r.Header.Get("X-Session-Lifetime") == "" {
		t.Fatalf("no session delivered: %v", r.Header)
	}

	// One transaction's events: user_created, then the registration naming
	// the session (the init event came with initialize).
	var types []string
	for _, e := range h.eventsAfter(t, seq) {
		types = append(types, e.Type)
		if e.UserID != userID {
			t.Errorf("event %s of user %q, want %s", e.Type, e.UserID, userID)
		}
		if e.Type == "webauthn_registration_final_succeeded" && (!strings.Contains(e.DetailJSON, "session_id") || !strings.Contains(e.DetailJSON, out.CredentialID)) {
			t.Errorf("registration event details %s", e.DetailJSON)
		}
	}
	if !slices.Equal(types, []string{"user_created", "webauthn_registration_final_succeeded"}) {
		t.Fatalf("events %v", types)
	}

	bearer := "Authorization: Bearer " + token
	var me meOut
	h.do(t, "GET", "/me", "", bearer).json(t, &me)
	if me.ID != userID || len(me.Emails) != 0 || len(me.Passkeys) != 1 || me.Passkeys[0].ID != out.CredentialID || !me.Passkeys[0].BackupState {
		t.Fatalf("GET /me after sign-up: %+v", me)
	}
	var v struct {
		Claims map[string]any `json:"claims"`
	}
	h.do(t, "POST", "/sessions/validate", `{"session_token":"`+token+`"}`).json(t, &v)
	if _, has := v.Claims["email"]; has || v.Claims["subject"] != userID {
		t.Fatalf("claims of an unverified sign-up: %v", v.Claims)
	}
	h.want(t, h.do(t, "POST", "/user", `{"email":"`+address+`"}`), 404, "lookup of the unverified address")

	// The passkey signs the user in.
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	a, err := auth.Login(r.Body, o)
	if err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", "/webauthn/login/finalize", string(a))
	h.want(t, r, 200, "passkey login after sign-up")
	if !strings.Contains(string(r.Body), userID) {
		t.Fatalf("login %s", r.Body)
	}

	// The address becomes the user's once its passcode is finalized.
	h.passcodeSignIn(t, [2]string{userID, out.EmailID}, address)
	h.do(t, "GET", "/me", "", bearer).json(t, &me)
	if len(me.Emails) != 1 || me.Emails[0].Address != address || !me.Emails[0].IsVerified || !me.Emails[0].IsPrimary {
		t.Fatalf("GET /me after verification: %+v", me)
	}
	h.want(t, h.do(t, "POST", "/user", `{"email":"`+address+`"}`), 200, "lookup of the verified address")
	// Now taken: another passkey sign-up for it is 409.
	h.want(t, h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"`+address+`"}`), 409, "sign-up for a verified address")
}

// TestPasskeySignUpWithoutVerification: without email.require_verification
// the address is the new user's at once, as with POST /users, and the
// token carries it.
func TestPasskeySignUpWithoutVerification(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Email.RequireVerification = false
	})
	_, r := h.passkeySignUp(t, "direct@example.test", webauthntest.Options{Origin: "https://login.example.test"})
	h.want(t, r, 200, "sign-up finalize")
	var out signUpOut
	r.json(t, &out)
	var v struct {
		Claims struct {
			Sub   string `json:"subject"`
			Email struct {
				Address    string `json:"address"`
				IsPrimary  bool   `json:"is_primary"`
				IsVerified bool   `json:"is_verified"`
			} `json:"email"`
		} `json:"claims"`
	}
	h.do(t, "POST", "/sessions/validate", `{"session_token":"`+tokenOf(r)+`"}`).json(t, &v)
	if v.Claims.Sub != out.UserID || v.Claims.Email.Address != "direct@example.test" || !v.Claims.Email.IsPrimary || v.Claims.Email.IsVerified {
		t.Fatalf("claims %+v", v.Claims)
	}
	r = h.do(t, "POST", "/user", `{"email":"direct@example.test"}`)
	h.want(t, r, 200, "lookup")
	if !strings.Contains(string(r.Body), `"has_webauthn_credential":true`) {
		t.Fatalf("lookup %s", r.Body)
	}
}

// TestPasskeySignUpOthersAddress: an address another user owns cannot be
// signed up for, neither at initialize nor when the owner verified it
// between initialize and finalize; nothing is written and the owner's
// account and passkey keep working.
func TestPasskeySignUpOthersAddress(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	owner := h.newPasskeyUser(t, "owner@example.test", pkOptions{})

	before := h.snapshot(t)
	r := h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"OWNER@example.test"}`)
	if r.Status != 409 || strings.TrimSpace(string(r.Body)) != `{"code":409,"message":"email address already exists"}` {
		t.Fatalf("initialize for the owner's address: %d %s", r.Status, r.Body)
	}
	h.wantRowsUnchanged(t, before)

	// The owner verifies the address between the attacker's initialize
	// and finalize: finalize is 409 and writes nothing.
	const contested = "contested@example.test"
	r = h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"`+contested+`"}`)
	h.want(t, r, 200, "attacker's initialize")
	cred, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	h.signUp(t, contested)
	before = h.snapshot(t)
	r = h.do(t, "POST", "/webauthn/registration/finalize", string(cred))
	if r.Status != 409 || tokenOf(r) != "" {
		t.Fatalf("finalize after the owner verified: %d %s", r.Status, r.Body)
	}
	h.wantRowsUnchanged(t, before)
	h.want(t, owner.login(t, owner.opts), 200, "the owner's passkey")
	var me meOut
	h.do(t, "GET", "/me", "", owner.bearer).json(t, &me)
	if len(me.Emails) != 1 || me.Emails[0].Address != "owner@example.test" || len(me.Passkeys) != 1 {
		t.Fatalf("owner after the attempts: %+v", me)
	}
}

// TestPasskeySignUpOff: without account.allow_signup both routes answer
// POST /users' 403 to a request without a session and write nothing; a
// signed-in user still registers passkeys.
func TestPasskeySignUpOff(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	p := h.newPasskeyUser(t, "existing@example.test", pkOptions{})
	// A sign-up ceremony begun before the switch was turned off.
	r := h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"late@example.test"}`)
	h.want(t, r, 200, "initialize while sign-up is on")
	cred, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.Cfg
	cfg.Account.AllowSignup = false
	off := (&harness{Dialect: h.Dialect, DSN: h.DSN, DBPath: h.DBPath}).start(t, cfg)

	const forbidden = `{"code":403,"message":"sign-up is disabled"}`
	before := off.snapshot(t)
	for _, req := range []struct{ path, body string }{
		{"/webauthn/registration/initialize", `{"email":"new@example.test"}`},
		{"/webauthn/registration/finalize", string(cred)},
		{"/users", `{"email":"new@example.test"}`},
	} {
		r := off.do(t, "POST", req.path, req.body)
		if r.Status != 403 || strings.TrimSpace(string(r.Body)) != forbidden {
			t.Fatalf("POST %s with sign-up off: %d %s", req.path, r.Status, r.Body)
		}
	}
	off.wantRowsUnchanged(t, before)
	r = off.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer)
	h.want(t, r, 200, "a signed-in user's registration with sign-up off")
}

// TestPasskeySignUpBadInput: bad requests to both routes without a session
// get Hanko's error body and the right status, and write nothing (but the
// refusal's *_failed event); the ceremony they aimed at still finishes.
func TestPasskeySignUpBadInput(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Server.MaxRequestBodyBytes = 4096
		c.RateLimiter.Enabled = false
	})
	user := h.newPasskeyUser(t, "member@example.test", pkOptions{})
	// A signed-in user's registration ceremony.
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", user.bearer)
	userCeremony, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	// The sign-up ceremony the bad finalizes aim at.
	r = h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"pending@example.test"}`)
	h.want(t, r, 200, "sign-up initialize")
	signUpOptions := r.Body
	auth := webauthntest.New()
	reg := func(o webauthntest.Options) string {
		t.Helper()
		if o.Origin == "" {
			o.Origin = "https://login.example.test"
		}
		b, _, err := auth.Register(signUpOptions, o)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// A sign-up finished already, to replay.
	_, done := h.passkeySignUp(t, "done@example.test", webauthntest.Options{Origin: "https://login.example.test"})
	h.want(t, done, 200, "finished sign-up")
	r = h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"replayed@example.test"}`)
	replay, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", string(replay)), 200, "sign-up to replay")

	cases := []struct {
		name, path, body string
		headers          []string
		status           int
		message          string
	}{
		// initialize without a session
		{"init: no body", "/webauthn/registration/initialize", "", nil, 401, "Unauthorized"},
		{"init: no email", "/webauthn/registration/initialize", `{}`, nil, 401, "Unauthorized"},
		{"init: null email", "/webauthn/registration/initialize", `{"email":null}`, nil, 401, "Unauthorized"},
		{"init: blank email", "/webauthn/registration/initialize", `{"email":"  "}`, nil, 400, "email is a required field"},
		{"init: invalid email", "/webauthn/registration/initialize", `{"email":"a@@b"}`, nil, 400, "valid email"},
		{"init: email not a string", "/webauthn/registration/initialize", `{"email":5}`, nil, 400, "Unmarshal type error"},
		{"init: malformed", "/webauthn/registration/initialize", `{"email":`, nil, 400, "Syntax error"},
		{"init: two values", "/webauthn/registration/initialize", `{"email":"x@example.test"} {}`, nil, 400, "single JSON value"},
		{"init: not JSON", "/webauthn/registration/initialize", `email=x@example.test`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, ""},
		{"init: too large", "/webauthn/registration/initialize", `{"email":"` + strings.Repeat("a", 5000) + `@example.test"}`, nil, 413, ""},
		{"init: taken", "/webauthn/registration/initialize", `{"email":"Member@example.test"}`, nil, 409, "email address already exists"},
		{"init: invalid token", "/webauthn/registration/initialize", `{"email":"x@example.test"}`, []string{"Authorization: Bearer abc.def.ghi"}, 401, ""},
		// finalize without a session
		{"final: no body", "/webauthn/registration/finalize", "", nil, 401, "Unauthorized"},
		{"final: garbage", "/webauthn/registration/finalize", `{"id":"x","type":"public-key"}`, nil, 400, ""},
		{"final: not an object", "/webauthn/registration/finalize", `[1,2]`, nil, 400, ""},
		{"final: not JSON", "/webauthn/registration/finalize", reg(webauthntest.Options{}), []string{"Content-Type: text/plain"}, 415, ""},
		{"final: a signed-in user's ceremony", "/webauthn/registration/finalize", string(userCeremony), nil, 400, "challenge"},
		{"final: unknown challenge", "/webauthn/registration/finalize", reg(webauthntest.Options{Challenge: []byte("not-the-challenge-0123456789abcd")}), nil, 400, "challenge"},
		{"final: wrong origin", "/webauthn/registration/finalize", reg(webauthntest.Options{Origin: "https://evil.example.test"}), nil, 400, "failed to validate attestation"},
		{"final: wrong RP ID hash", "/webauthn/registration/finalize", reg(webauthntest.Options{TamperRPIDHash: true}), nil, 400, "failed to validate attestation"},
		{"final: no user presence", "/webauthn/registration/finalize", reg(webauthntest.Options{NoUP: true}), nil, 400, "failed to validate attestation"},
		{"final: replayed", "/webauthn/registration/finalize", string(replay), nil, 400, "challenge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot(t)
			r := h.do(t, "POST", tc.path, tc.body, tc.headers...)
			var eb struct {
				Code    int     `json:"code"`
				Message *string `json:"message"`
			}
			if r.Status != tc.status || json.Unmarshal(r.Body, &eb) != nil || eb.Code != tc.status || eb.Message == nil || !strings.Contains(*eb.Message, tc.message) {
				t.Fatalf("%d %s, want %d with %q", r.Status, r.Body, tc.status, tc.message)
			}
			if tokenOf(r) != "" {
				t.Fatal("a refused request delivered a session")
			}
			if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Fatalf("database changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// The ceremony survived every bad finalize.
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", reg(webauthntest.Options{})), 200, "the pending sign-up")
}

// TestPasskeySignUpRateLimit: passkey-first sign-ups spend the client
// address's rate_limiter.signup_limits bucket, shared with POST /users.
func TestPasskeySignUpRateLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.RateLimiter.SignupLimits = config.Limit{Tokens: 3, Interval: time.Minute}
	})
	p := h.newPasskeyUser(t, "member@example.test", pkOptions{}) // one POST /users
	h.want(t, h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"one@example.test"}`), 200, "second")
	h.want(t, h.do(t, "POST", "/users", `{"email":"two@example.test"}`), 200, "third, through POST /users")
	before := h.snapshot(t)
	assertLimited(t, h.do(t, "POST", "/webauthn/registration/initialize", `{"email":"three@example.test"}`), 3)
	assertLimited(t, h.do(t, "POST", "/users", `{"email":"three@example.test"}`), 3)
	h.wantRowsUnchanged(t, before)
	// A signed-in user's registration is not a sign-up and not limited by it.
	h.want(t, h.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer), 200, "registration of a signed-in user")
}
