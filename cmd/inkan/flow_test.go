package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/webauthntest"
	"github.com/inkan-auth/inkan/verify"
)

// androidOrigin is the WebAuthn origin an Android app signed with a
// certificate whose DER bytes hash to sha256(cert) sends.
func androidOrigin(cert string) string {
	sum := sha256.Sum256([]byte(cert))
	return "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestMobileFlow drives the whole native-app flow of the README against a
// real server on every configured database: lookup 404 → create → passcode
// → finalize (header mode) → JWT verified against the JWKS → /me → passkey
// registration from an android:apk-key-hash origin → logout (old token
// 401) → discoverable passkey login → /me.
func TestMobileFlow(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			origin := androidOrigin("test app signing certificate")
			env := baseEnv(t, dialect)
			env["SESSION_ENABLE_AUTH_TOKEN_HEADER"] = "true"
			env["WEBAUTHN_RELYING_PARTY_ORIGINS"] = "https://login.example.test," + origin
			env["WEBAUTHN_RELYING_PARTY_ID"] = "login.example.test"
			env["SESSION_ISSUER"] = "https://login.example.test"
			srv := startServer(t, env)
			ctx := context.Background()
			c := client.New(srv.URL)
			email := uniqueEmail("ada")

			if _, err := c.LookupUser(ctx, email); !client.IsNotFound(err) {
				t.Fatalf("LookupUser before sign-up: want 404, got %v", err)
			}
			created, err := c.CreateUser(ctx, email)
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if _, err := c.CreateUser(ctx, strings.ToUpper(email)); !client.IsConflict(err) {
				// require_verification is on: the address is not owned yet, so a
				// second sign-up reuses it; it must not be a server error.
				if err != nil && !client.IsConflict(err) {
					t.Fatalf("second CreateUser: %v", err)
				}
			}
			pc, err := c.InitPasscode(ctx, created.UserID, created.EmailID)
			if err != nil {
				t.Fatalf("InitPasscode: %v", err)
			}
			if pc.TTL != 300 {
				t.Errorf("passcode ttl = %d, want 300", pc.TTL)
			}
			code := srv.lastCode(t, email)
			sess, err := c.FinalizePasscode(ctx, pc.ID, code)
			if err != nil {
				t.Fatalf("FinalizePasscode: %v", err)
			}
			if sess == nil || sess.Token == "" || sess.FromCookie {
				t.Fatalf("header mode: want token from X-Auth-Token, got %+v", sess)
			}
			if sess.Lifetime != 12*time.Hour {
				t.Errorf("X-Session-Lifetime = %v, want 12h", sess.Lifetime)
			}

			// The app's backend verifies the JWT offline against the JWKS.
			v, err := verify.New(verify.Options{JWKSURL: srv.URL + "/.well-known/jwks.json", Audience: "login.example.test", Issuer: "https://login.example.test"})
			if err != nil {
				t.Fatal(err)
			}
			claims, err := v.Verify(ctx, sess.Token)
			if err != nil {
				t.Fatalf("verify JWT against JWKS: %v", err)
			}
			if claims.Subject != created.UserID || claims.SessionID == "" {
				t.Errorf("claims sub=%q session_id=%q, want sub %q", claims.Subject, claims.SessionID, created.UserID)
			}
			if claims.Email == nil || claims.Email.Address != email || !claims.Email.IsPrimary || !claims.Email.IsVerified {
				t.Errorf("email claim = %+v, want primary verified %s", claims.Email, email)
			}

			me, err := c.Me(ctx)
			if err != nil {
				t.Fatalf("Me: %v", err)
			}
			if me.ID != created.UserID || len(me.Emails) != 1 || me.Emails[0].Address != email || !me.Emails[0].IsVerified || !me.Emails[0].IsPrimary {
				t.Fatalf("Me = %+v", me)
			}
			if u, err := c.LookupUser(ctx, email); err != nil || u.ID != created.UserID || !u.Verified || u.HasWebauthnCredential {
				t.Fatalf("LookupUser after sign-up = %+v, %v", u, err)
			}

			// Passkey registration from the Android app's origin.
			auth := webauthntest.New()
			opts, err := c.BeginPasskeyRegistration(ctx)
			if err != nil {
				t.Fatalf("BeginPasskeyRegistration: %v", err)
			}
			cred, _, err := auth.Register(opts, webauthntest.Options{Origin: origin, UV: true, BE: true, BS: true})
			if err != nil {
				t.Fatalf("authenticator Register: %v", err)
			}
			reg, err := c.FinishPasskeyRegistration(ctx, cred)
			if err != nil {
				t.Fatalf("FinishPasskeyRegistration: %v", err)
			}
			if reg.UserID != created.UserID || reg.CredentialID == "" {
				t.Fatalf("registration result %+v", reg)
			}

			// Logout revokes the session: the old token is now refused.
			oldToken := c.Token()
			if err := c.Logout(ctx); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			c.SetToken(oldToken)
			if _, err := c.Me(ctx); !client.IsUnauthorized(err) {
				t.Fatalf("Me with a logged-out token: want 401, got %v", err)
			}
			c.SetToken("")

			// Discoverable passkey login.
			reqOpts, err := c.BeginPasskeyLogin(ctx, "")
			if err != nil {
				t.Fatalf("BeginPasskeyLogin: %v", err)
			}
			if strings.Contains(string(reqOpts), "allowCredentials") {
				t.Errorf("discoverable login options carry allowCredentials: %s", reqOpts)
			}
			assertion, err := auth.Login(reqOpts, webauthntest.Options{Origin: origin, UV: true, BE: true, BS: true})
			if err != nil {
				t.Fatalf("authenticator Login: %v", err)
			}
			sess2, res, err := c.FinishPasskeyLogin(ctx, assertion)
			if err != nil {
				t.Fatalf("FinishPasskeyLogin: %v", err)
			}
			if res.UserID != created.UserID || res.CredentialID != reg.CredentialID || sess2 == nil || sess2.Token == oldToken {
				t.Fatalf("passkey login result %+v session %+v", res, sess2)
			}
			me, err = c.Me(ctx)
			if err != nil {
				t.Fatalf("Me after passkey login: %v", err)
			}
			if len(me.Passkeys) != 1 {
				t.Fatalf("Me passkeys = %+v, want one", me.Passkeys)
			}
			if u, err := c.LookupUser(ctx, email); err != nil || !u.HasWebauthnCredential {
				t.Fatalf("LookupUser after registration = %+v, %v", u, err)
			}

			// Non-discoverable login options list the user's credential.
			reqOpts, err = c.BeginPasskeyLogin(ctx, created.UserID)
			if err != nil {
				t.Fatalf("BeginPasskeyLogin(user): %v", err)
			}
			var ro struct {
				PublicKey struct {
					AllowCredentials []struct{ ID string } `json:"allowCredentials"`
				} `json:"publicKey"`
			}
			if err := json.Unmarshal(reqOpts, &ro); err != nil || len(ro.PublicKey.AllowCredentials) != 1 || ro.PublicKey.AllowCredentials[0].ID != reg.CredentialID {
				t.Fatalf("allowCredentials = %+v (%v)", ro.PublicKey.AllowCredentials, err)
			}
		})
	}
}

// TestCookieMode finalizes a passcode without the header mode: the JWT
// comes as the "hanko" cookie with HttpOnly, Secure and SameSite=Strict and
// works on protected routes; logout sends the deletion cookie.
func TestCookieMode(t *testing.T) {
	srv := startServer(t, baseEnv(t, "sqlite"))
	c := client.New(srv.URL)
	_, body := srv.signUpWithPasscode(t, c, uniqueEmail("grace"))
	resp, err := http.Post(srv.URL+"/passcode/login/finalize", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("finalize: %d", resp.StatusCode)
	}
	if resp.Header.Get("X-Auth-Token") != "" {
		t.Error("cookie mode must not send X-Auth-Token")
	}
	if resp.Header.Get("X-Session-Lifetime") != "43200" {
		t.Errorf("X-Session-Lifetime = %q", resp.Header.Get("X-Session-Lifetime"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "hanko" {
			cookie = ck
		}
	}
	if cookie == nil || cookie.Value == "" || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.MaxAge != 43200 {
		t.Fatalf("session cookie = %+v", cookie)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.AddCookie(&http.Cookie{Name: "hanko", Value: cookie.Value})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/me with cookie: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/logout", nil)
	req.AddCookie(&http.Cookie{Name: "hanko", Value: cookie.Value})
	req.Header.Set("Content-Type", "application/json") // required with the cookie (no cross-site form posts)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "hanko=;") || !strings.Contains(sc, "Max-Age=0") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "Secure") {
		t.Errorf("deletion cookie = %q", sc)
	}
}
