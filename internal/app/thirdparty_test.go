package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/oidctest"
)

// idpHarness is a node with Apple and Google pointed at issuers running in
// the test and a custom OpenID Connect provider "kc" found through
// discovery.
type idpHarness struct {
	*harness
	apple, google, kc *oidctest.Issuer
}

func newIdPHarness(t *testing.T, dialect string, mutate func(*config.Config)) *idpHarness {
	t.Helper()
	x := &idpHarness{apple: oidctest.New(t), google: oidctest.New(t), kc: oidctest.New(t)}
	cfg := func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.ThirdParty.Providers.Apple = config.Provider{Enabled: true, AllowLinking: true, IDTokenAudiences: []string{"com.example.app"}}
		c.ThirdParty.Providers.Google = config.Provider{Enabled: true, AllowLinking: true, IDTokenAudiences: []string{"android.apps.googleusercontent.com"}}
		c.ThirdParty.CustomProviders = map[string]config.CustomProvider{"kc": {Enabled: true, DisplayName: "Keycloak", Issuer: x.kc.URL, IDTokenAudiences: []string{"kc-app"}}}
		if mutate != nil {
			mutate(c)
		}
	}
	ctx := app.WithProviderEndpoints(context.Background(), map[string]app.ProviderEndpoints{
		"apple":  {Issuer: x.apple.URL, JWKSURL: x.apple.JWKSURL()},
		"google": {Issuer: x.google.URL, JWKSURL: x.google.JWKSURL()},
	})
	ctx = app.WithMinKeyRefresh(ctx, time.Nanosecond)
	// newHarnessOn builds the configuration; start again with the context.
	base := newHarnessOn(t, dialect, cfg)
	h := &harness{Dialect: base.Dialect, DSN: base.DSN, DBPath: base.DBPath, ctx: ctx}
	x.harness = h.start(t, base.Cfg)
	return x
}

func appleNonce(n string) string {
	s := sha256.Sum256([]byte(n))
	return hex.EncodeToString(s[:])
}

func idTokenBody(provider, token, nonce string, extra ...string) string {
	b, _ := json.Marshal(map[string]string{"provider": provider, "id_token": token, "nonce": nonce})
	s := string(b)
	for _, e := range extra {
		s = strings.TrimSuffix(s, "}") + "," + e + "}"
	}
	return s
}

// TestIDTokenSignIn: Sign in with Apple (hashed nonce, the name passed by
// the app once) signs up and then signs in the same user; the identity
// shows in GET /me, GET /emails and the admin user object; Google with the
// same verified address links; a custom provider signs in through
// discovery; /.well-known/config lists the built-in providers.
func TestIDTokenSignIn(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) { testIDTokenSignIn(t, dialect) })
	}
}

func testIDTokenSignIn(t *testing.T, dialect string) {
	x := newIdPHarness(t, dialect, nil)
	tok := x.apple.Token(t, oidctest.Claims{"sub": "001.apple", "aud": "com.example.app", "nonce": appleNonce("raw-nonce"),
		"email": "ada@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true"})
	r := x.do(t, "POST", "/thirdparty/id_token", idTokenBody("apple", tok, "raw-nonce", `"given_name":"Ada","family_name":"Lovelace"`))
	if r.Status != 200 || tokenOf(r) == "" || r.Header.Get("X-Session-Lifetime") == "" {
		t.Fatalf("apple sign-up: %d %s", r.Status, r.Body)
	}
	var body struct {
		UserID string `json:"user_id"`
	}
	r.json(t, &body)
	session := tokenOf(r)

	// The same identity, a fresh token without the name: the same user.
	tok2 := x.apple.Token(t, oidctest.Claims{"sub": "001.apple", "aud": "com.example.app", "nonce": appleNonce("n2"), "email": "ada@privaterelay.appleid.com", "email_verified": true})
	r = x.do(t, "POST", "/thirdparty/id_token", idTokenBody("apple", tok2, "n2"))
	var again struct {
		UserID string `json:"user_id"`
	}
	r.json(t, &again)
	if r.Status != 200 || again.UserID != body.UserID {
		t.Fatalf("apple sign-in: %d %s (first %s)", r.Status, r.Body, body.UserID)
	}

	// Google vouches for the same address: linked (allow_linking default).
	gt := x.google.Token(t, oidctest.Claims{"sub": "g-7", "aud": "android.apps.googleusercontent.com", "nonce": "gn", "email": "ada@privaterelay.appleid.com", "email_verified": true, "name": "Ada L."})
	r = x.do(t, "POST", "/thirdparty/id_token", idTokenBody("google", gt, "gn"))
	r.json(t, &again)
	if r.Status != 200 || again.UserID != body.UserID {
		t.Fatalf("google linking: %d %s", r.Status, r.Body)
	}

	r = x.do(t, "GET", "/me", "", "Authorization: Bearer "+session)
	var meRaw map[string]any
	r.json(t, &meRaw)
	ids, _ := meRaw["identities"].([]any)
	if r.Status != 200 || len(ids) != 2 || fmt.Sprint(ids[0].(map[string]any)["provider"]) != "Apple" || fmt.Sprint(ids[0].(map[string]any)["id"]) != "001.apple" {
		t.Errorf("GET /me identities: %s", r.Body)
	}
	r = x.do(t, "GET", "/emails", "", "Authorization: Bearer "+session)
	var emails []struct {
		Address    string `json:"address"`
		IsVerified bool   `json:"is_verified"`
		Identities []struct {
			ID       string `json:"id"`
			Provider string `json:"provider"`
		} `json:"identities"`
	}
	r.json(t, &emails)
	if len(emails) != 1 || !emails[0].IsVerified || len(emails[0].Identities) != 2 || emails[0].Identities[1].Provider != "Google" {
		t.Errorf("GET /emails: %s", r.Body)
	}
	r = x.admin(t, "GET", "/users/"+body.UserID, "")
	var au struct {
		GivenName  string `json:"given_name"`
		Name       string `json:"name"`
		Identities []struct {
			ProviderID   string `json:"provider_id"`
			ProviderName string `json:"provider_name"`
			EmailID      string `json:"email_id"`
		} `json:"identities"`
	}
	r.json(t, &au)
	if au.GivenName != "Ada" || au.Name != "Ada Lovelace" || len(au.Identities) != 2 || au.Identities[0].ProviderName != "apple" || au.Identities[0].ProviderID != "001.apple" || au.Identities[0].EmailID == "" {
		t.Errorf("admin user: %s", r.Body)
	}

	// A custom provider (discovery) signs up a new user.
	kt := x.kc.Token(t, oidctest.Claims{"sub": "kc-1", "aud": "kc-app", "nonce": "kn", "email": "kc@example.test", "email_verified": true})
	r = x.do(t, "POST", "/thirdparty/id_token", idTokenBody("custom_kc", kt, "kn"))
	if r.Status != 200 {
		t.Fatalf("custom provider: %d %s", r.Status, r.Body)
	}

	r = x.do(t, "GET", "/.well-known/config", "")
	var wk struct {
		Providers []string `json:"providers"`
	}
	r.json(t, &wk)
	if !reflect.DeepEqual(wk.Providers, []string{"Apple", "Google"}) {
		t.Errorf("/.well-known/config providers: %s", r.Body)
	}

	if r = x.admin(t, "GET", "/metrics", ""); !strings.Contains(string(r.Body), `inkan_sign_ins_total{method="thirdparty",result="success"} 4`) {
		t.Errorf("metrics do not count the third-party sign-ins:\n%s", grepLines(string(r.Body), "sign_ins"))
	}

	// Key rotation at the provider: a token signed with the new key is
	// accepted (the key set is fetched again for the unknown kid).
	x.google.Rotate(t, false)
	gt = x.google.Token(t, oidctest.Claims{"sub": "g-7", "aud": "android.apps.googleusercontent.com", "nonce": "gn2"})
	if r = x.do(t, "POST", "/thirdparty/id_token", idTokenBody("google", gt, "gn2")); r.Status != 200 {
		t.Errorf("after key rotation: %d %s", r.Status, r.Body)
	}
}

// TestIDTokenRefusals: every refused token answers 401 naming the check,
// and writes nothing (its thirdparty_signin_signup_failed event aside);
// linking off answers 409 user_conflict, sign-up off 403 signup_disabled;
// bad input answers 400; nothing is ever a 500.
func TestIDTokenRefusals(t *testing.T) {
	x := newIdPHarness(t, "sqlite", func(c *config.Config) {
		c.ThirdParty.Providers.Google.AllowLinking = false
		c.RateLimiter.Enabled = false
	})
	owner, _, _ := x.signUp(t, "taken@example.test")
	_ = owner
	g := x.google
	aud := "android.apps.googleusercontent.com"
	claims := func(kv ...any) oidctest.Claims {
		c := oidctest.Claims{"sub": "g-1", "aud": aud, "nonce": "n", "email": "new@example.test", "email_verified": true}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	foreign := oidctest.NewKey(t)
	now := time.Now()
	cases := []struct {
		name, body string
		status     int
		message    string
	}{
		{"wrong aud", idTokenBody("google", g.Token(t, claims("aud", "web-of-someone-else")), "n"), 401, "aud:"},
		{"wrong iss", idTokenBody("google", g.Token(t, claims("iss", "https://accounts.evil.example")), "n"), 401, "iss:"},
		{"bad signature", idTokenBody("google", g.SignWith(t, foreign, claims()), "n"), 401, "signature:"},
		{"tampered payload", idTokenBody("google", tamper(g.Token(t, claims())), "n"), 401, "signature:"},
		{"expired", idTokenBody("google", g.Token(t, claims("exp", now.Add(-time.Hour).Unix())), "n"), 401, "exp:"},
		{"issued in the future", idTokenBody("google", g.Token(t, claims("iat", now.Add(time.Hour).Unix())), "n"), 401, "iat:"},
		{"wrong nonce", idTokenBody("google", g.Token(t, claims()), "other"), 401, "nonce:"},
		{"token without nonce", idTokenBody("google", g.Token(t, claims("nonce", nil)), "n"), 401, "nonce:"},
		{"apple token with the plain nonce", idTokenBody("apple", x.apple.Token(t, oidctest.Claims{"sub": "a", "aud": "com.example.app", "nonce": "n"}), "n"), 401, "nonce:"},
		{"google token sent as apple", idTokenBody("apple", g.Token(t, claims()), "n"), 401, "signature:"},
		{"linking off", idTokenBody("google", g.Token(t, claims("email", "taken@example.test")), "n"), 409, "user_conflict"},
		{"unverified address", idTokenBody("google", g.Token(t, claims("email_verified", false)), "n"), 403, "unverified_email"},
		{"missing nonce", idTokenBody("google", g.Token(t, claims()), ""), 400, "nonce is a required field"},
		{"missing token", idTokenBody("google", "", "n"), 400, "id_token is a required field"},
		{"missing provider", idTokenBody("", "x", "n"), 400, "provider is a required field"},
		{"unknown provider", idTokenBody("facebook", "x", "n"), 400, "provider is not enabled"},
		{"GitHub has no ID tokens", idTokenBody("github", "x", "n"), 400, "provider is not enabled"},
		{"not JSON", `{"provider":`, 400, ""},
		{"wrong types", `{"provider":1,"id_token":[],"nonce":{}}`, 400, ""},
		{"array", `[]`, 400, ""},
		{"long nonce", idTokenBody("google", "x", strings.Repeat("n", 600)), 400, "nonce is too long"},
		{"long token", idTokenBody("google", strings.Repeat("x", 17<<10), "n"), 400, "id_token is too long"},
		{"garbage token", idTokenBody("google", "a.b.c", "n"), 401, "signature:"},
		{"long name", idTokenBody("google", "x", "n", `"given_name":"`+strings.Repeat("a", 300)+`"`), 400, "given_name is too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := x.snapshot(t)
			r := x.do(t, "POST", "/thirdparty/id_token", tc.body)
			var eb struct {
				Code    int     `json:"code"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(r.Body, &eb); err != nil || r.Status != tc.status || eb.Code != tc.status || eb.Message == nil || !strings.Contains(*eb.Message, tc.message) {
				t.Fatalf("got %d %s, want %d naming %q", r.Status, r.Body, tc.status, tc.message)
			}
			if after := x.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("database changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	var failed int
	for _, line := range x.failedEvents(t) {
		if line == "thirdparty_signin_signup_failed" {
			failed++
		}
	}
	if failed < 12 {
		t.Errorf("thirdparty_signin_signup_failed recorded %d times, want one per refused token", failed)
	}
}

// TestIDTokenSignUpOff: account.allow_signup off refuses a new identity
// with 403 signup_disabled.
func TestIDTokenSignUpOff(t *testing.T) {
	x := newIdPHarness(t, "sqlite", func(c *config.Config) { c.Account.AllowSignup = false })
	before := x.snapshot(t)
	r := x.do(t, "POST", "/thirdparty/id_token", idTokenBody("google", x.google.Token(t, oidctest.Claims{"sub": "s", "aud": "android.apps.googleusercontent.com", "nonce": "n", "email": "s@example.test", "email_verified": true}), "n"))
	if r.Status != 403 || !strings.Contains(string(r.Body), "signup_disabled") {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if after := x.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Errorf("database changed: %v → %v", before, after)
	}
}

// TestIDTokenRateLimit: rate_limiter.thirdparty_limits caps the route per
// client address, before the token is looked at.
func TestIDTokenRateLimit(t *testing.T) {
	x := newIdPHarness(t, "sqlite", func(c *config.Config) {
		c.RateLimiter.ThirdPartyLimits = config.Limit{Tokens: 2, Interval: time.Hour}
	})
	for i, want := range []int{401, 401, 429} {
		r := x.do(t, "POST", "/thirdparty/id_token", idTokenBody("google", "a.b.c", "n"))
		if r.Status != want {
			t.Errorf("request %d: %d %s, want %d", i+1, r.Status, r.Body, want)
		}
	}
}

// failedEvents returns the types of the *_failed events recorded.
func (h *harness) failedEvents(t *testing.T) []string {
	t.Helper()
	r := h.admin(t, "GET", "/audit_logs?per_page=100", "")
	var entries []struct {
		Type string `json:"type"`
	}
	r.json(t, &entries)
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Type, "_failed") {
			out = append(out, e.Type)
		}
	}
	return out
}

// tamper changes one character of a JWS payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}

// TestIDTokenClient: the public client signs in with an ID token against a
// real node and sees the identity in its profile.
func TestIDTokenClient(t *testing.T) {
	x := newIdPHarness(t, "sqlite", nil)
	c := client.New(x.URL)
	tok := x.apple.Token(t, oidctest.Claims{"sub": "001.c", "aud": "com.example.app", "nonce": appleNonce("cn"), "email": "c@example.test", "email_verified": "true"})
	sess, userID, err := c.SignInWithIDToken(context.Background(), client.IDTokenSignIn{Provider: "apple", IDToken: tok, Nonce: "cn", GivenName: "Cy"})
	if err != nil || sess.Token == "" || userID == "" {
		t.Fatalf("%v %+v %q", err, sess, userID)
	}
	me, err := c.Me(context.Background())
	if err != nil || me.ID != userID || len(me.Identities) != 1 || me.Identities[0].Provider != "Apple" || me.GivenName != "Cy" || len(me.Emails) != 1 || len(me.Emails[0].Identities) != 1 {
		t.Fatalf("me: %+v %v", me, err)
	}
	_, _, err = c.SignInWithIDToken(context.Background(), client.IDTokenSignIn{Provider: "apple", IDToken: tok, Nonce: "other"})
	if !client.IsUnauthorized(err) {
		t.Errorf("wrong nonce: %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
