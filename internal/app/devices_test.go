package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
	"github.com/inkan-auth/inkan/verify"
)

// refreshConfig is header mode with refresh tokens on and rate limits off.
func refreshConfig(c *config.Config) {
	c.Session.EnableAuthTokenHeader = true
	c.Session.RefreshToken.Enabled = true
	c.RateLimiter.Enabled = false
}

type device struct {
	ID        string   `json:"id"`
	ExpiresAt string   `json:"expires_at"`
	UserAgent *string  `json:"user_agent"`
	AMR       []string `json:"amr"`
	Current   bool     `json:"current"`
}

func (h *harness) devices(t *testing.T, token string) []device {
	t.Helper()
	r := h.do(t, "GET", "/sessions", "", "Authorization: Bearer "+token)
	if r.Status != 200 {
		t.Fatalf("GET /sessions: %d %s", r.Status, r.Body)
	}
	var out []device
	r.json(t, &out)
	return out
}

func (h *harness) revokedIDs(t *testing.T) []string {
	t.Helper()
	r := h.do(t, "GET", "/sessions/revoked", "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Cache-Control"), "public, max-age=") {
		t.Fatalf("GET /sessions/revoked: %d %v %s", r.Status, r.Header, r.Body)
	}
	var l struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
			Exp       int64  `json:"exp"`
		} `json:"sessions"`
	}
	r.json(t, &l)
	var ids []string
	for _, s := range l.Sessions {
		if s.Exp <= 0 {
			t.Fatalf("entry without exp: %s", r.Body)
		}
		ids = append(ids, s.SessionID)
	}
	return ids
}

// sessionIDOf decodes the session_id claim of a JWT (unverified; the
// server checked it).
func sessionIDOf(t *testing.T, jwt string) string {
	t.Helper()
	var c struct {
		SessionID string   `json:"session_id"`
		AMR       []string `json:"amr"`
	}
	claimsOf(t, jwt, &c)
	return c.SessionID
}

// TestRefreshOverHTTP: a sign-in in header mode returns X-Refresh-Token;
// POST /sessions/refresh answers a new token pair for the same session;
// logout ends the refresh token and lists the session as revoked.
func TestRefreshOverHTTP(t *testing.T) {
	h := newHarness(t, refreshConfig)
	ids := h.createUser(t, "ada@example.test")
	r := h.passcodeSignIn(t, ids, "ada@example.test")
	access, refresh := r.Header.Get("X-Auth-Token"), r.Header.Get("X-Refresh-Token")
	if access == "" || refresh == "" {
		t.Fatalf("sign-in headers %v", r.Header)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	claimsOf(t, access, &claims)
	if !slices.Equal(claims.AMR, []string{"otp"}) {
		t.Fatalf("amr of a passcode sign-in = %v", claims.AMR)
	}
	sid := sessionIDOf(t, access)

	r = h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"`+refresh+`"}`)
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	var raw map[string]any
	r.json(t, &raw)
	for _, k := range []string{"user_id", "session_id", "expiration_time", "refresh_expiration_time"} {
		if raw[k] == nil {
			t.Fatalf("refresh body %s lacks %s", r.Body, k)
		}
	}
	if raw["session_id"] != sid || raw["user_id"] != ids[0] {
		t.Fatalf("refresh body %s: want session %s of user %s", r.Body, sid, ids[0])
	}
	access2, refresh2 := r.Header.Get("X-Auth-Token"), r.Header.Get("X-Refresh-Token")
	if access2 == "" || refresh2 == "" || refresh2 == refresh || r.Header.Get("X-Session-Lifetime") == "" {
		t.Fatalf("refresh headers %v", r.Header)
	}
	if sessionIDOf(t, access2) != sid {
		t.Fatal("the refreshed token names another session")
	}
	if r := h.do(t, "GET", "/me", "", "Authorization: Bearer "+access2); r.Status != 200 {
		t.Fatalf("/me with the refreshed token: %d", r.Status)
	}
	// One session, still: the device list shows it once, current.
	ds := h.devices(t, access2)
	if len(ds) != 1 || ds[0].ID != sid || !ds[0].Current || !slices.Equal(ds[0].AMR, []string{"otp"}) {
		t.Fatalf("devices %+v", ds)
	}

	// Logout ends the refresh token; the session is listed as revoked.
	if r := h.do(t, "POST", "/logout", "", "Authorization: Bearer "+access2); r.Status != 204 {
		t.Fatalf("logout: %d", r.Status)
	}
	if r := h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"`+refresh2+`"}`); r.Status != 401 {
		t.Fatalf("refresh after logout: %d %s", r.Status, r.Body)
	}
	if got := h.revokedIDs(t); !slices.Contains(got, sid) {
		t.Fatalf("revoked %v lacks %s", got, sid)
	}
}

// TestRefreshAdminRevocation: an admin's revocation ends the refresh
// token; admin-minted sessions get none.
func TestRefreshAdminRevocation(t *testing.T) {
	h := newHarness(t, refreshConfig)
	ids := h.createUser(t, "ada@example.test")
	r := h.passcodeSignIn(t, ids, "ada@example.test")
	sid, refresh := sessionIDOf(t, r.Header.Get("X-Auth-Token")), r.Header.Get("X-Refresh-Token")
	if r := h.admin(t, "DELETE", "/users/"+ids[0]+"/sessions/"+sid, ""); r.Status != 204 {
		t.Fatalf("admin revoke: %d %s", r.Status, r.Body)
	}
	if r := h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"`+refresh+`"}`); r.Status != 401 {
		t.Fatalf("refresh after admin revocation: %d %s", r.Status, r.Body)
	}
	r = h.admin(t, "POST", "/sessions", `{"user_id":"`+ids[0]+`"}`)
	if r.Status != 200 || r.Header.Get("X-Refresh-Token") != "" || strings.Contains(string(r.Body), "refresh") {
		t.Fatalf("admin-minted session: %d %v %s", r.Status, r.Header, r.Body)
	}
}

// TestRefreshOff: without session.refresh_token.enabled (and in cookie
// mode even with it) no refresh token is issued and the route is 404.
func TestRefreshOff(t *testing.T) {
	for name, mutate := range map[string]func(*config.Config){
		"off": func(c *config.Config) { c.Session.EnableAuthTokenHeader = true },
		"cookie mode": func(c *config.Config) {
			c.Session.RefreshToken.Enabled = true
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, mutate)
			ids := h.createUser(t, "ada@example.test")
			r := h.passcodeSignIn(t, ids, "ada@example.test")
			if r.Header.Get("X-Refresh-Token") != "" {
				t.Fatal("refresh token issued")
			}
			r = h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"x"}`)
			if r.Status != 404 {
				t.Fatalf("POST /sessions/refresh: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestDevices: GET /sessions, DELETE /sessions/{id}, DELETE /sessions, and
// amr per sign-in method.
func TestDevices(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		refreshConfig(c)
		c.Session.Limit = 10
	})
	ids := h.createUser(t, "ada@example.test")
	var tokens []string
	for range 3 {
		tokens = append(tokens, tokenOf(h.passcodeSignIn(t, ids, "ada@example.test")))
	}
	// A passkey sign-in: amr pop, user.
	auth := webauthntest.New()
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+tokens[0])
	cred, _, err := auth.Register(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do(t, "POST", "/webauthn/registration/finalize", string(cred), "Authorization: Bearer "+tokens[0]); r.Status != 200 {
		t.Fatalf("registration: %d %s", r.Status, r.Body)
	}
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	assertion, err := auth.Login(r.Body, webauthntest.Options{Origin: "https://login.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", "/webauthn/login/finalize", string(assertion))
	if r.Status != 200 {
		t.Fatalf("passkey login: %d %s", r.Status, r.Body)
	}
	tokens = append(tokens, tokenOf(r))

	ds := h.devices(t, tokens[3])
	if len(ds) != 4 {
		t.Fatalf("devices %+v", ds)
	}
	for _, d := range ds {
		want := []string{"otp"}
		if d.ID == sessionIDOf(t, tokens[3]) {
			want = []string{"pop", "user"}
			if !d.Current {
				t.Errorf("the calling session is not current: %+v", d)
			}
		} else if d.Current {
			t.Errorf("another session is current: %+v", d)
		}
		if !slices.Equal(d.AMR, want) {
			t.Errorf("session %s amr %v, want %v", d.ID, d.AMR, want)
		}
	}

	// Another user's session: 404, nothing revoked.
	bobIDs := h.createUser(t, "bob@example.test")
	bob := tokenOf(h.passcodeSignIn(t, bobIDs, "bob@example.test"))
	before := h.snapshot(t)
	if r := h.do(t, "DELETE", "/sessions/"+sessionIDOf(t, bob), "", "Authorization: Bearer "+tokens[0]); r.Status != 404 {
		t.Fatalf("DELETE another user's session: %d %s", r.Status, r.Body)
	}
	if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("database changed:\nbefore %v\nafter  %v", before, after)
	}
	if r := h.do(t, "GET", "/me", "", "Authorization: Bearer "+bob); r.Status != 200 {
		t.Fatalf("bob after the refused revoke: %d", r.Status)
	}

	// One of mine: 204, its token stops working and it is listed.
	if r := h.do(t, "DELETE", "/sessions/"+sessionIDOf(t, tokens[1]), "", "Authorization: Bearer "+tokens[0]); r.Status != 204 {
		t.Fatalf("DELETE /sessions/{id}: %d %s", r.Status, r.Body)
	}
	if r := h.do(t, "GET", "/me", "", "Authorization: Bearer "+tokens[1]); r.Status != 401 {
		t.Fatalf("revoked session: %d", r.Status)
	}
	// Every other: only the calling one stays; bob's is untouched.
	if r := h.do(t, "DELETE", "/sessions", "", "Authorization: Bearer "+tokens[0]); r.Status != 204 {
		t.Fatalf("DELETE /sessions: %d %s", r.Status, r.Body)
	}
	for i, tok := range tokens {
		want := 401
		if i == 0 {
			want = 200
		}
		if r := h.do(t, "GET", "/me", "", "Authorization: Bearer "+tok); r.Status != want {
			t.Errorf("session %d after DELETE /sessions: %d, want %d", i, r.Status, want)
		}
	}
	if r := h.do(t, "GET", "/me", "", "Authorization: Bearer "+bob); r.Status != 200 {
		t.Fatalf("bob after DELETE /sessions: %d", r.Status)
	}
	revoked := h.revokedIDs(t)
	for _, tok := range tokens[1:] {
		if !slices.Contains(revoked, sessionIDOf(t, tok)) {
			t.Errorf("revoked list %v lacks %s", revoked, sessionIDOf(t, tok))
		}
	}
	if slices.Contains(revoked, sessionIDOf(t, tokens[0])) || slices.Contains(revoked, sessionIDOf(t, bob)) {
		t.Errorf("live session listed as revoked: %v", revoked)
	}
	var n int
	for _, e := range h.eventsAfter(t, 0) {
		if e.Type == "session_revoked" && strings.Contains(e.DetailJSON, `"user_revoked"`) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d session_revoked events with reason user_revoked, want 3", n)
	}
}

// TestSessionsBadInput: the new routes' bad inputs answer Hanko's error
// body and change nothing.
func TestSessionsBadInput(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		refreshConfig(c)
		c.Server.MaxRequestBodyBytes = 4096
	})
	ids := h.createUser(t, "ada@example.test")
	r := h.passcodeSignIn(t, ids, "ada@example.test")
	tokenA, refreshA := r.Header.Get("X-Auth-Token"), r.Header.Get("X-Refresh-Token")
	bearerA := "Authorization: Bearer " + tokenA
	// A refresh token of a session that was logged out.
	r = h.passcodeSignIn(t, ids, "ada@example.test")
	if r := h.do(t, "POST", "/logout", "", "Authorization: Bearer "+r.Header.Get("X-Auth-Token")); r.Status != 204 {
		t.Fatal(r.Status)
	}
	revokedRefresh := r.Header.Get("X-Refresh-Token")
	forged := refreshA[:len(refreshA)-4] + flip(refreshA[len(refreshA)-4:])

	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		message                  string
	}{
		{"list: no session", "GET", "/sessions", "", nil, 401, "Unauthorized"},
		{"list: forged token", "GET", "/sessions", "", []string{"Authorization: Bearer " + tokenA[:len(tokenA)-3] + "AAA"}, 401, "Unauthorized"},
		{"delete one: no session", "DELETE", "/sessions/" + sessionIDOf(t, tokenA), "", nil, 401, "Unauthorized"},
		{"delete one: not a uuid", "DELETE", "/sessions/not-a-uuid", "", []string{bearerA}, 400, "invalid session id"},
		{"delete one: unknown", "DELETE", "/sessions/00000000-0000-4000-8000-000000000000", "", []string{bearerA}, 404, "session not found"},
		{"delete others: no session", "DELETE", "/sessions", "", nil, 401, "Unauthorized"},
		{"refresh: malformed JSON", "POST", "/sessions/refresh", `{"refresh_token":`, nil, 400, "Syntax error"},
		{"refresh: wrong type", "POST", "/sessions/refresh", `{"refresh_token":42}`, nil, 400, "Unmarshal type error"},
		{"refresh: missing", "POST", "/sessions/refresh", `{}`, nil, 400, "refresh_token is a required field"},
		{"refresh: content type", "POST", "/sessions/refresh", `refresh_token=x`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, ""},
		{"refresh: oversized", "POST", "/sessions/refresh", `{"refresh_token":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "larger than"},
		{"refresh: garbage", "POST", "/sessions/refresh", `{"refresh_token":"not a token"}`, nil, 401, "invalid refresh token"},
		{"refresh: forged", "POST", "/sessions/refresh", `{"refresh_token":"` + forged + `"}`, nil, 401, "invalid refresh token"},
		{"refresh: access token", "POST", "/sessions/refresh", `{"refresh_token":"` + tokenA + `"}`, nil, 401, "invalid refresh token"},
		{"refresh: revoked", "POST", "/sessions/refresh", `{"refresh_token":"` + revokedRefresh + `"}`, nil, 401, "invalid refresh token"},
		{"revoked: wrong method", "POST", "/sessions/revoked", `{}`, nil, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot(t)
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
			if after := h.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("database changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// The real refresh token still works after all that.
	if r := h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"`+refreshA+`"}`); r.Status != 200 {
		t.Fatalf("refresh after bad inputs: %d %s", r.Status, r.Body)
	}
}

// TestRefreshRateLimit: refresh is limited per session.
func TestRefreshRateLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		refreshConfig(c)
		c.RateLimiter.Enabled = true
		c.RateLimiter.RefreshLimits = config.Limit{Tokens: 2, Interval: time.Hour}
	})
	ids := h.createUser(t, "ada@example.test")
	refresh := h.passcodeSignIn(t, ids, "ada@example.test").Header.Get("X-Refresh-Token")
	for i := range 3 {
		r := h.do(t, "POST", "/sessions/refresh", `{"refresh_token":"`+refresh+`"}`)
		want := 200
		if i == 2 {
			want = 429
		}
		if r.Status != want {
			t.Fatalf("refresh %d: %d %s, want %d", i, r.Status, r.Body, want)
		}
		if r.Status == 200 {
			refresh = r.Header.Get("X-Refresh-Token")
		}
	}
}

// claimsOf decodes a JWT's payload into v, unverified (the server
// checked it).
func claimsOf(t *testing.T, jwt string, v any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestVerifySeesLogout: an app backend verifying offline with revocation
// polling refuses a logged-out session's token within one interval.
func TestVerifySeesLogout(t *testing.T) {
	h := newHarness(t, refreshConfig)
	ids := h.createUser(t, "ada@example.test")
	tok := tokenOf(h.passcodeSignIn(t, ids, "ada@example.test"))
	const interval = 200 * time.Millisecond
	v, err := verify.New(verify.Options{JWKSURL: h.URL + "/.well-known/jwks.json", RevocationInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("before logout: %v", err)
	}
	if r := h.do(t, "POST", "/logout", "", "Authorization: Bearer "+tok); r.Status != 204 {
		t.Fatalf("logout: %d", r.Status)
	}
	time.Sleep(interval)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("one interval after logout: %v; want verify.ErrRevoked", err)
	}
}
