package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/client"
)

const (
	userID     = "0b41f4e6-7a3e-4c2b-9a57-5c1e1c0f6a11"
	emailID    = "5d3c6e0a-1f43-4b0e-8f55-2f0d7a9f4c22"
	passcodeID = "9e8a4f3c-2b1d-4c6e-8a7f-1d2c3b4a5e66"
	credID     = "q83vEjRWeJA"
)

// request is what the fake server saw.
type request struct {
	Method, Path, Auth, ContentType string
	Header                          http.Header
	Body                            map[string]any
	RawBody                         string
}

// fakeServer speaks the wire shapes of the public API (docs/compatibility.md "Routes") just far
// enough to test the client's encoding, decoding and token handling.
type fakeServer struct {
	headerMode bool
	cookieName string

	mu       sync.Mutex
	reqs     []request
	sessions map[string]bool // issued tokens still valid
	n        int
}

func newFake(t *testing.T, headerMode bool, cookieName string) (*fakeServer, *httptest.Server) {
	f := &fakeServer{headerMode: headerMode, cookieName: cookieName, sessions: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeServer) last() request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Request-Id", "req-"+http.StatusText(status))
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}

func (f *fakeServer) issue(w http.ResponseWriter) {
	f.n++
	tok := "jwt-" + string(rune('a'+f.n))
	f.sessions[tok] = true
	w.Header().Set("X-Session-Lifetime", "43200")
	if f.headerMode {
		w.Header().Set("X-Auth-Token", tok)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: f.cookieName, Value: tok, Path: "/", MaxAge: 43200, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Clone(), body, string(raw)})
	authed := func() (string, bool) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return tok, ok && f.sessions[tok]
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /user":
		if body["email"] == "known@example.com" {
			writeJSON(w, 200, map[string]any{"id": userID, "email_id": emailID, "verified": true, "has_webauthn_credential": true})
			return
		}
		writeErr(w, 404, "user not found")
	case "POST /users":
		if body["email"] == "known@example.com" {
			writeErr(w, 409, "Conflict")
			return
		}
		if body["email"] == "instant@example.com" {
			f.issue(w)
		}
		http.SetCookie(w, &http.Cookie{Name: "hanko_email_id", Value: emailID, SameSite: http.SameSiteNoneMode})
		writeJSON(w, 200, map[string]any{"id": userID, "user_id": userID, "email_id": emailID})
	case "POST /passcode/login/initialize":
		writeJSON(w, 200, map[string]any{"id": passcodeID, "ttl": 300, "created_at": "2025-01-02T03:04:05.123456Z"})
	case "POST /passcode/login/finalize":
		if body["code"] != "123456" {
			writeErr(w, 401, "Unauthorized")
			return
		}
		f.issue(w)
		writeJSON(w, 200, map[string]any{"id": passcodeID, "ttl": 300, "created_at": "2025-01-02T03:04:05Z"})
	case "POST /webauthn/registration/initialize":
		if _, ok := authed(); !ok {
			writeErr(w, 401, "Unauthorized")
			return
		}
		writeJSON(w, 200, map[string]any{"publicKey": map[string]any{"challenge": "Y2hhbGxlbmdl", "rp": map[string]any{"id": "example.com"}}})
	case "POST /webauthn/registration/finalize":
		if _, ok := authed(); !ok {
			writeErr(w, 401, "Unauthorized")
			return
		}
		writeJSON(w, 200, map[string]any{"credential_id": credID, "user_id": userID})
	case "POST /webauthn/login/initialize":
		writeJSON(w, 200, map[string]any{"publicKey": map[string]any{"challenge": "bG9naW4", "rpId": "example.com"}})
	case "POST /webauthn/login/finalize":
		f.issue(w)
		writeJSON(w, 200, map[string]any{"credential_id": credID, "user_id": userID})
	case "GET /me":
		if _, ok := authed(); !ok {
			writeErr(w, 401, "Unauthorized")
			return
		}
		writeJSON(w, 200, map[string]any{
			"id": userID, "user_id": userID,
			"emails":     []any{map[string]any{"id": emailID, "address": "new@example.com", "is_verified": true, "is_primary": true}},
			"passkeys":   []any{map[string]any{"id": credID, "public_key": "pQECAyYgASFYIA", "attestation_type": "none", "aaguid": "00000000-0000-0000-0000-000000000000", "created_at": "2025-01-02T03:04:05Z", "transports": []string{"internal"}, "backup_eligible": true, "backup_state": true, "mfa_only": false}},
			"created_at": "2025-01-02T03:04:05Z", "updated_at": "2025-01-02T03:04:05Z",
		})
	case "POST /logout":
		tok, ok := authed()
		if !ok {
			writeErr(w, 401, "Unauthorized")
			return
		}
		delete(f.sessions, tok)
		if !f.headerMode {
			http.SetCookie(w, &http.Cookie{Name: f.cookieName, Value: "", Path: "/", MaxAge: -1})
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /.well-known/jwks.json":
		writeJSON(w, 200, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"}}})
	default:
		writeErr(w, 404, "Not Found")
	}
}

func TestMobileFlowHeaderMode(t *testing.T) {
	ctx := context.Background()
	f, srv := newFake(t, true, "hanko")
	c := client.New(srv.URL+"/", client.WithHeader("Origin", "android:apk-key-hash:abc"), client.WithHeader("Accept-Language", "de"))

	_, err := c.LookupUser(ctx, "new@example.com")
	if !client.IsNotFound(err) {
		t.Fatalf("LookupUser unknown: err = %v, want 404", err)
	}
	if r := f.last(); r.Method != "POST" || r.Path != "/user" || r.Body["email"] != "new@example.com" || r.ContentType != "application/json" {
		t.Fatalf("LookupUser sent %+v", r)
	}
	if r := f.last(); r.Header.Get("Origin") != "android:apk-key-hash:abc" || r.Header.Get("Accept-Language") != "de" || r.Auth != "" {
		t.Fatalf("headers sent: %v", r.Header)
	}

	cu, err := c.CreateUser(ctx, "new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if cu.UserID != userID || cu.EmailID != emailID || cu.Session != nil || c.Token() != "" {
		t.Fatalf("CreateUser = %+v, token %q", cu, c.Token())
	}

	p, err := c.InitPasscode(ctx, cu.UserID, cu.EmailID)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
	if p.ID != passcodeID || p.TTL != 300 || !p.CreatedAt.Equal(want) {
		t.Fatalf("InitPasscode = %+v", p)
	}
	if r := f.last(); r.Body["user_id"] != userID || r.Body["email_id"] != emailID || len(r.Body) != 2 {
		t.Fatalf("InitPasscode sent %s", r.RawBody)
	}

	if _, err := c.FinalizePasscode(ctx, p.ID, "000000"); !client.IsUnauthorized(err) {
		t.Fatalf("wrong code: err = %v, want 401", err)
	}
	sess, err := c.FinalizePasscode(ctx, p.ID, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Body["id"] != passcodeID || r.Body["code"] != "123456" || len(r.Body) != 2 {
		t.Fatalf("FinalizePasscode sent %s", r.RawBody)
	}
	if sess.Token == "" || sess.FromCookie || sess.Lifetime != 12*time.Hour || c.Token() != sess.Token {
		t.Fatalf("session = %+v, client token %q", sess, c.Token())
	}

	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Auth != "Bearer "+sess.Token {
		t.Fatalf("Me sent Authorization %q", r.Auth)
	}
	if me.ID != userID || me.UserID != userID || me.PrimaryEmail() == nil || me.PrimaryEmail().Address != "new@example.com" ||
		!me.Emails[0].IsVerified || len(me.Passkeys) != 1 || me.Passkeys[0].ID != credID || !me.Passkeys[0].BackupEligible ||
		me.Passkeys[0].Transports[0] != "internal" || me.CreatedAt.IsZero() {
		t.Fatalf("Me = %+v", me)
	}

	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Token() != "" {
		t.Fatalf("token after logout = %q", c.Token())
	}
	if _, err := c.Me(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("Me after logout: err = %v, want 401", err)
	}
	if r := f.last(); r.Auth != "" {
		t.Fatalf("Authorization after logout = %q", r.Auth)
	}
}

func TestCookieMode(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"hanko", "my_session"} {
		t.Run(name, func(t *testing.T) {
			f, srv := newFake(t, false, name)
			opts := []client.Option{}
			if name != "hanko" {
				opts = append(opts, client.WithCookieName(name))
			}
			c := client.New(srv.URL, opts...)
			if _, err := c.CreateUser(ctx, "new@example.com"); err != nil {
				t.Fatal(err)
			}
			if c.Token() != "" {
				t.Fatalf("hanko_email_id cookie taken as session: %q", c.Token())
			}
			sess, err := c.FinalizePasscode(ctx, passcodeID, "123456")
			if err != nil {
				t.Fatal(err)
			}
			if !sess.FromCookie || sess.Token == "" || sess.Lifetime != 12*time.Hour || c.Token() != sess.Token {
				t.Fatalf("session = %+v, client token %q", sess, c.Token())
			}
			if _, err := c.Me(ctx); err != nil {
				t.Fatal(err)
			}
			if r := f.last(); r.Auth != "Bearer "+sess.Token {
				t.Fatalf("Me sent Authorization %q", r.Auth)
			}
			if err := c.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			if c.Token() != "" {
				t.Fatalf("token after logout = %q", c.Token())
			}
		})
	}
}

func TestCreateUserWithImmediateSession(t *testing.T) {
	_, srv := newFake(t, true, "hanko")
	c := client.New(srv.URL)
	cu, err := c.CreateUser(context.Background(), "instant@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if cu.Session == nil || cu.Session.Token == "" || c.Token() != cu.Session.Token {
		t.Fatalf("CreateUser = %+v, token %q", cu, c.Token())
	}
	if _, err := c.CreateUser(context.Background(), "known@example.com"); !client.IsConflict(err) {
		t.Fatalf("existing address: err = %v, want 409", err)
	}
}

func TestLookupUserFound(t *testing.T) {
	_, srv := newFake(t, true, "hanko")
	u, err := client.New(srv.URL).LookupUser(context.Background(), "known@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if *u != (client.User{ID: userID, EmailID: emailID, Verified: true, HasWebauthnCredential: true}) {
		t.Fatalf("LookupUser = %+v", u)
	}
}

func TestInitPasscodeOmitsEmptyEmailID(t *testing.T) {
	f, srv := newFake(t, true, "hanko")
	if _, err := client.New(srv.URL).InitPasscode(context.Background(), userID, ""); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.RawBody != `{"user_id":"`+userID+`"}` {
		t.Fatalf("body = %s", r.RawBody)
	}
}

func TestPasskeys(t *testing.T) {
	ctx := context.Background()
	f, srv := newFake(t, true, "hanko")
	c := client.New(srv.URL)

	if _, err := c.BeginPasskeyRegistration(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("registration without session: err = %v, want 401", err)
	}
	if _, err := c.FinalizePasscode(ctx, passcodeID, "123456"); err != nil {
		t.Fatal(err)
	}
	opts, err := c.BeginPasskeyRegistration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.RawBody != "" || r.ContentType != "" || !strings.HasPrefix(r.Auth, "Bearer ") {
		t.Fatalf("registration init sent body %q, content type %q, auth %q", r.RawBody, r.ContentType, r.Auth)
	}
	var creation struct {
		PublicKey struct{ Challenge string } `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &creation); err != nil || creation.PublicKey.Challenge != "Y2hhbGxlbmdl" {
		t.Fatalf("creation options %s (%v)", opts, err)
	}
	cred := json.RawMessage(`{"id":"q83vEjRWeJA","rawId":"q83vEjRWeJA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"o2Nm"}}`)
	res, err := c.FinishPasskeyRegistration(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	if *res != (client.PasskeyResult{CredentialID: credID, UserID: userID}) {
		t.Fatalf("FinishPasskeyRegistration = %+v", res)
	}
	if r := f.last(); r.RawBody != string(cred) {
		t.Fatalf("credential sent as %s", r.RawBody)
	}

	if _, err := c.BeginPasskeyLogin(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.RawBody != "{}" {
		t.Fatalf("discoverable login init body = %q, want {}", r.RawBody)
	}
	req, err := c.BeginPasskeyLogin(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Body["user_id"] != userID {
		t.Fatalf("login init body = %s", r.RawBody)
	}
	if !strings.Contains(string(req), `"rpId":"example.com"`) {
		t.Fatalf("request options = %s", req)
	}

	before := c.Token()
	sess, res, err := c.FinishPasskeyLogin(ctx, json.RawMessage(`{"id":"q83vEjRWeJA","type":"public-key","response":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if sess.Token == before || c.Token() != sess.Token || res.CredentialID != credID || res.UserID != userID {
		t.Fatalf("FinishPasskeyLogin = %+v %+v", sess, res)
	}
}

func TestJWKS(t *testing.T) {
	_, srv := newFake(t, true, "hanko")
	raw, err := client.New(srv.URL).JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != "k1" {
		t.Fatalf("JWKS = %s (%v)", raw, err)
	}
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		header      map[string]string
		wantCode    int
		wantMessage string
		wantRetry   time.Duration
		is          func(error) bool
	}{
		{"not found", 404, "application/json", `{"code":404,"message":"user not found"}`, nil, 404, "user not found", 0, client.IsNotFound},
		{"conflict", 409, "application/json", `{"code":409,"message":"Conflict"}`, nil, 409, "Conflict", 0, client.IsConflict},
		{"unauthorized", 401, "application/json", `{"code":401,"message":"Unauthorized"}`, nil, 401, "Unauthorized", 0, client.IsUnauthorized},
		{"rate limited", 429, "application/json", `{"code":429,"message":"Too Many Requests"}`, map[string]string{"Retry-After": "42"}, 429, "Too Many Requests", 42 * time.Second, client.IsRateLimited},
		{"html from proxy", 502, "text/html", `<html><body>Bad Gateway</body></html>`, nil, 502, "Bad Gateway", 0, nil},
		{"plain 404", 404, "text/plain", "404 page not found\n", nil, 404, "Not Found", 0, client.IsNotFound},
		{"empty 401", 401, "", "", nil, 401, "Unauthorized", 0, client.IsUnauthorized},
		{"json without message", 429, "application/json", `{"code":429}`, nil, 429, "Too Many Requests", 0, client.IsRateLimited},
		{"json array", 500, "application/json", `[1,2]`, nil, 500, "Internal Server Error", 0, nil},
		{"unknown credential", 401, "application/json", `{"code":401,"message":"unknown credential","credential_id":"q83vEjRWeJA","rp_id":"example.com"}`, nil, 401, "unknown credential", 0, client.IsUnknownCredential},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "rid-1")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			_, err := client.New(srv.URL).LookupUser(context.Background(), "x@example.com")
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tc.status || ae.Code != tc.wantCode || ae.Message != tc.wantMessage || ae.RequestID != "rid-1" || ae.RetryAfter != tc.wantRetry {
				t.Fatalf("APIError = %+v", ae)
			}
			if tc.is != nil && !tc.is(fmt.Errorf("wrapped: %w", err)) {
				t.Fatalf("helper does not match wrapped %v", err)
			}
			unknown := tc.name == "unknown credential"
			if client.IsUnknownCredential(err) != unknown || (unknown && (ae.CredentialID != "q83vEjRWeJA" || ae.RPID != "example.com")) {
				t.Fatalf("unknown credential: %v, APIError %+v", client.IsUnknownCredential(err), ae)
			}
			if !strings.Contains(err.Error(), "rid-1") || !strings.Contains(err.Error(), tc.wantMessage) {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
	if client.IsNotFound(errors.New("other")) || client.IsNotFound(nil) {
		t.Fatal("IsNotFound true for a non-API error")
	}
}

func TestNoSessionInLoginResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": passcodeID, "ttl": 300, "created_at": "2025-01-02T03:04:05Z"})
	}))
	defer srv.Close()
	if _, err := client.New(srv.URL).FinalizePasscode(context.Background(), passcodeID, "123456"); err == nil {
		t.Fatal("FinalizePasscode without token in response: want error")
	}
}

func TestLogoutKeepsTokenOnServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, 500, "Internal Server Error")
	}))
	defer srv.Close()
	c := client.New(srv.URL, client.WithToken("jwt-x"))
	if err := c.Logout(context.Background()); err == nil || c.Token() != "jwt-x" {
		t.Fatalf("Logout = %v, token %q; want error and token kept", err, c.Token())
	}
}

func TestConcurrentUse(t *testing.T) {
	_, srv := newFake(t, true, "hanko")
	c := client.New(srv.URL)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.FinalizePasscode(ctx, passcodeID, "123456"); err != nil {
				t.Error(err)
			}
			_ = c.Token()
			_, _ = c.Me(ctx)
		}()
	}
	wg.Wait()
	if c.Token() == "" {
		t.Fatal("no token after concurrent logins")
	}
}

// TestStdlibOnly fails when the package imports anything outside the
// standard library (architecture: client/ may import stdlib only).
func TestStdlibOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/inkan-auth/inkan/client" {
			t.Errorf("client imports non-standard package %s", p)
		}
	}
}

// A deletion cookie (docs/compatibility.md "Issuing a session": empty value, Max-Age=0), e.g. on an
// idle-timeout 401, makes the client forget its token.
func TestDeletionCookieClearsToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "hanko=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
		writeErr(w, 401, "Unauthorized")
	}))
	defer srv.Close()
	c := client.New(srv.URL, client.WithToken("jwt-x"))
	if _, err := c.Me(context.Background()); !client.IsUnauthorized(err) {
		t.Fatalf("err = %v, want 401", err)
	}
	if c.Token() != "" {
		t.Fatalf("token = %q after deletion cookie", c.Token())
	}
}
