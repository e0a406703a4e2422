package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
)

// loginWithPasscode creates a user for address and finalizes a passcode;
// it returns the finalize response.
func (h *harness) loginWithPasscode(t *testing.T, address string) response {
	t.Helper()
	return h.passcodeSignIn(t, h.createUser(t, address), address)
}

func setCookie(t *testing.T, r response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %q", name, r.Header.Values("Set-Cookie"))
	return nil
}

// TestSessionCookieAttributes: session.cookie.* shape the cookie on login
// and the deletion cookie on logout carries the same attributes; every
// response holding a token is no-store and carries the security headers.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		retention string
		sameSite  string
		secure    bool
		want      http.SameSite
		maxAge    int
	}{
		{"session retention, lax", "session", "lax", true, http.SameSiteLaxMode, 0},
		{"persistent, none", "persistent", "none", true, http.SameSiteNoneMode, 3600},
		{"persistent, strict, insecure", "persistent", "strict", false, http.SameSiteStrictMode, 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.Session.Lifespan = time.Hour
				c.Session.Cookie = config.Cookie{Name: "inkan_sid", Domain: "example.test", HTTPOnly: true,
					Secure: tc.secure, SameSite: tc.sameSite, Retention: tc.retention}
			})
			login := h.loginWithPasscode(t, uniqueAddress("cookie"))
			c := setCookie(t, login, "inkan_sid")
			if c.Value == "" || c.Path != "/" || c.Domain != "example.test" || !c.HttpOnly || c.Secure != tc.secure || c.SameSite != tc.want || c.MaxAge != tc.maxAge {
				t.Fatalf("login cookie %+v", c)
			}
			if login.Header.Get("Cache-Control") != "no-store" || login.Header.Get("X-Session-Lifetime") != "3600" {
				t.Fatalf("login: Cache-Control %q, X-Session-Lifetime %q", login.Header.Get("Cache-Control"), login.Header.Get("X-Session-Lifetime"))
			}
			if login.Header.Get("X-Content-Type-Options") != "nosniff" || login.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatal("login response without security headers")
			}
			out := h.do(t, "POST", "/logout", "", "Cookie: inkan_sid="+c.Value)
			if out.Status != 200 && out.Status != 204 {
				t.Fatalf("logout: %d %s", out.Status, out.Body)
			}
			d := setCookie(t, out, "inkan_sid")
			if d.Value != "" || d.MaxAge != -1 || d.Path != c.Path || d.Domain != c.Domain || d.HttpOnly != c.HttpOnly || d.Secure != c.Secure || d.SameSite != c.SameSite {
				t.Fatalf("deletion cookie %+v does not match login cookie %+v", d, c)
			}
			if !strings.Contains(strings.Join(out.Header.Values("Set-Cookie"), "\n"), "Max-Age=0") {
				t.Fatalf("deletion cookie without Max-Age=0: %q", out.Header.Values("Set-Cookie"))
			}
			if out.Header.Get("Cache-Control") != "no-store" {
				t.Fatal("logout without Cache-Control: no-store")
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.Server.MaxRequestBodyBytes = 1024 })
	before := h.snapshot(t)
	r := h.do(t, "POST", "/users", `{"email":"big@example.test","pad":"`+strings.Repeat("x", 4096)+`"}`)
	if r.Status != http.StatusRequestEntityTooLarge || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("oversized body: %d %s", r.Status, r.Body)
	}
	if after := h.snapshot(t); !maps.Equal(before, after) {
		t.Fatalf("an oversized request wrote: %v → %v", before, after)
	}
}

// TestReadyWhenDatabaseGone: /health/ready turns 503 "database unavailable"
// once the database cannot be reached, while /health/alive stays 200.
func TestReadyWhenDatabaseGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if r := h.do(t, "GET", "/health/ready", ""); r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"ready":true}` {
		t.Fatalf("ready: %d %s", r.Status, r.Body)
	}
	h.App.Close() // the pool is closed: every query fails
	r := h.do(t, "GET", "/health/ready", "")
	if r.Status != 503 || strings.TrimSpace(string(r.Body)) != `{"code":503,"message":"database unavailable"}` {
		t.Fatalf("ready without database: %d %s", r.Status, r.Body)
	}
	if r := h.do(t, "GET", "/health/alive", ""); r.Status != 200 {
		t.Fatalf("alive: %d", r.Status)
	}
}

// jwtKID returns the kid of a compact JWS and its exp.
func jwtKID(t *testing.T, token string) (string, time.Time) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	var hdr struct{ Kid string }
	var claims struct{ Exp int64 }
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("decode JWS part %d: %v", i, err)
		}
	}
	return hdr.Kid, time.Unix(claims.Exp, 0)
}

func (h *harness) jwksKIDs(t *testing.T) map[string]bool {
	t.Helper()
	r := h.do(t, "GET", "/.well-known/jwks.json", "")
	if r.Status != 200 {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	var set struct{ Keys []struct{ Kid string } }
	r.json(t, &set)
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.Kid] = true
	}
	return out
}

// TestKeyRotationAcrossNodes: two nodes on one database. A token from key
// 1, a rotation on node 1, a token from key 2: both verify on node 2, and
// key 1 leaves the JWKS of both nodes once its tokens have expired. Waits
// are bounded polls for an eventual state, not timing assertions.
func TestKeyRotationAcrossNodes(t *testing.T) {
	t.Parallel()
	const lifespan = 8 * time.Second
	header := func(c *config.Config) {
		c.Session.Lifespan = lifespan
		c.Session.EnableAuthTokenHeader = true
	}
	n1 := newHarness(t, header)
	n2 := newHarness(t, func(c *config.Config) { header(c); c.Database.Database = n1.DBPath })

	tok1 := n1.loginWithPasscode(t, uniqueAddress("rot1")).Header.Get("X-Auth-Token")
	kid1, exp1 := jwtKID(t, tok1)
	if _, err := n1.App.Keys().Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	tok2 := n1.loginWithPasscode(t, uniqueAddress("rot2")).Header.Get("X-Auth-Token")
	kid2, _ := jwtKID(t, tok2)
	if kid1 == kid2 {
		t.Fatalf("the token after the rotation is signed by the old key %s", kid1)
	}
	for _, tc := range []struct{ name, token string }{{"key 1", tok1}, {"key 2", tok2}} {
		for i, n := range []*harness{n1, n2} {
			r := n.do(t, "GET", "/me", "", "Authorization: Bearer "+tc.token)
			if r.Status != 200 {
				if tc.token == tok1 && !time.Now().Before(exp1.Add(-time.Second)) {
					t.Skipf("machine too slow: the key-1 token expired (lifespan %s) before it was checked", lifespan)
				}
				t.Fatalf("token from %s on node %d: %d %s", tc.name, i+1, r.Status, r.Body)
			}
		}
	}
	if k := n1.jwksKIDs(t); !k[kid1] || !k[kid2] {
		t.Fatalf("JWKS of node 1 right after the rotation: %v, want %s and %s", k, kid1, kid2)
	}

	// Eventually (verification window = lifespan, plus the key cache's
	// refresh interval) key 1 is gone from both JWKS while key 2 stays.
	deadline := time.Now().Add(2 * time.Minute)
	for _, n := range []*harness{n1, n2} {
		for {
			k := n.jwksKIDs(t)
			if !k[kid2] {
				t.Fatalf("JWKS lost the signing key: %v", k)
			}
			if !k[kid1] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("key 1 still published long after its tokens expired: %v", k)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if !time.Now().After(exp1) {
		t.Fatalf("key 1 left the JWKS before its tokens expired (exp %s)", exp1)
	}
	// Tokens of key 1 are refused; key 2 keeps working on both nodes.
	for i, n := range []*harness{n1, n2} {
		if r := n.do(t, "GET", "/me", "", "Authorization: Bearer "+tok1); r.Status != 401 {
			t.Fatalf("expired key-1 token on node %d: %d", i+1, r.Status)
		}
	}
}

// TestCookieRequestsMustBeJSON: a state-changing request authenticated by
// the session cookie is refused with 415 unless it declares a JSON body,
// body or not — another site can make a browser send a form post or a
// body-less POST with the cookie, but not an application/json one without
// a CORS preflight. Nothing changes. The same requests with the token in
// the Authorization header, or with the JSON content type, go through.
func TestCookieRequestsMustBeJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.Account.AllowDeletion = true })
	address := uniqueAddress("csrf")
	ids := h.createUser(t, address)
	login := h.passcodeSignIn(t, ids, address)
	cookie := "Cookie: hanko=" + setCookie(t, login, "hanko").Value
	var emails []struct{ ID string }
	h.do(t, "GET", "/emails", "", cookie).json(t, &emails)
	if len(emails) != 1 {
		t.Fatalf("emails: %+v", emails)
	}
	before := h.snapshot(t)
	for _, req := range []struct{ method, path, body, contentType string }{
		{"POST", "/logout", "", "Content-Type: "},
		{"POST", "/logout", "", "Content-Type: application/x-www-form-urlencoded"},
		{"POST", "/logout", "a=b", "Content-Type: text/plain"},
		{"POST", "/emails/" + emails[0].ID + "/set_primary", "", "Content-Type: "},
		{"POST", "/emails/" + emails[0].ID + "/set_primary", "", "Content-Type: multipart/form-data; boundary=x"},
		{"DELETE", "/emails/" + emails[0].ID, "", "Content-Type: "},
		{"DELETE", "/user", "", "Content-Type: text/plain"},
		{"POST", "/webauthn/registration/initialize", "", "Content-Type: "},
	} {
		r := h.do(t, req.method, req.path, req.body, cookie, req.contentType)
		if r.Status != 415 || strings.TrimSpace(string(r.Body)) != `{"code":415,"message":"Unsupported Media Type"}` {
			t.Fatalf("%s %s with the cookie and %q: %d %s", req.method, req.path, req.contentType, r.Status, r.Body)
		}
	}
	h.wantRowsUnchanged(t, before)
	// Reading with the cookie needs no content type.
	if r := h.do(t, "GET", "/me", "", cookie, "Content-Type: "); r.Status != 200 {
		t.Fatalf("GET /me with the cookie: %d %s", r.Status, r.Body)
	}
	// With JSON declared, the cookie works.
	if r := h.do(t, "POST", "/emails/"+emails[0].ID+"/set_primary", "", cookie, "Content-Type: application/json; charset=utf-8"); r.Status != 204 {
		t.Fatalf("set_primary with JSON: %d %s", r.Status, r.Body)
	}
	// A bearer token is not sent by a browser on its own: no content type needed.
	bearer := "Authorization: Bearer " + tokenOf(h.passcodeSignIn(t, ids, address))
	if r := h.do(t, "POST", "/logout", "", bearer, "Content-Type: "); r.Status != 204 {
		t.Fatalf("logout with a bearer token: %d %s", r.Status, r.Body)
	}
	if r := h.do(t, "POST", "/logout", "", cookie, "Content-Type: application/json"); r.Status != 204 {
		t.Fatalf("logout with the cookie and JSON: %d %s", r.Status, r.Body)
	}
}
