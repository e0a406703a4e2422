package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/outboxtest"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// fuzzNode is a real node (SQLite file, development mailer) whose public
// handler is called in-process, for fuzz targets.
type fuzzNode struct {
	h      http.Handler
	outbox *outboxtest.Buffer
}

func newFuzzNode(f *testing.F) *fuzzNode {
	f.Helper()
	cfg := config.Default()
	cfg.Database.Database = filepath.Join(f.TempDir(), "inkan.db")
	cfg.Log.Level = "error"
	cfg.Webauthn.RelyingParty.ID = "login.example.test"
	cfg.Webauthn.RelyingParty.Origins = []string{rpOrigin}
	cfg.Session.EnableAuthTokenHeader = true
	cfg.RateLimiter.Enabled = false
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	n := &fuzzNode{outbox: &outboxtest.Buffer{}}
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, &outboxtest.Buffer{}), n.outbox)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(a.Close)
	n.h = a.PublicHandler()
	return n
}

func (n *fuzzNode) call(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	n.h.ServeHTTP(rec, req)
	return rec
}

func (n *fuzzNode) mustCall(f *testing.F, method, path, body string, headers ...string) []byte {
	f.Helper()
	rec := n.call(method, path, body, headers...)
	if rec.Code != 200 {
		f.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// login signs up address and returns a session token.
func (n *fuzzNode) login(f *testing.F, address string) string {
	f.Helper()
	var u struct{ UserID, EmailID string }
	b := n.mustCall(f, "POST", "/users", `{"email":"`+address+`"}`)
	u.UserID, u.EmailID = jsonField(b, "user_id"), jsonField(b, "email_id")
	b = n.mustCall(f, "POST", "/passcode/login/initialize", `{"user_id":"`+u.UserID+`","email_id":"`+u.EmailID+`"}`)
	id := jsonField(b, "id")
	code, _ := n.outbox.Code(address)
	rec := n.call("POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+code+`"}`)
	if rec.Code != 200 {
		f.Fatalf("finalize: %d %s", rec.Code, rec.Body)
	}
	return rec.Header().Get("X-Auth-Token")
}

// jsonField extracts a top-level string field without failing.
func jsonField(b []byte, name string) string {
	s := string(b)
	i := strings.Index(s, `"`+name+`":"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+4:]
	return s[:strings.IndexByte(s, '"')]
}

// FuzzWebAuthnFinalize sends arbitrary bodies to the two WebAuthn finalize
// routes of a real node, i.e. through go-webauthn's
// ParseCredentialCreationResponseBytes / ParseCredentialRequestResponseBytes
// and passkey.Service.FinishRegistration / FinishLogin over a real SQLite
// store. Live ceremonies (fresh options answered by a software
// authenticator) seed the corpus besides testdata/fuzz. Nothing may panic
// and nothing may come out as a 5xx: bad WebAuthn input is a client error.
func FuzzWebAuthnFinalize(f *testing.F) {
	n := newFuzzNode(f)
	token := n.login(f, "fuzz@example.test")
	auth := webauthntest.New()
	opts := n.mustCall(f, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
	for i := range 3 { // three live ceremonies: the first seed run uses one
		if i > 0 {
			opts = n.mustCall(f, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
		}
		cred, _, err := auth.Register(opts, webauthntest.Options{Origin: rpOrigin, UV: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(true, cred)
	}
	// One registered credential so assertions can verify.
	regOpts := n.mustCall(f, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
	cred, _, err := auth.Register(regOpts, webauthntest.Options{Origin: rpOrigin, UV: true})
	if err != nil {
		f.Fatal(err)
	}
	n.mustCall(f, "POST", "/webauthn/registration/finalize", string(cred), "Authorization: Bearer "+token)
	for range 3 {
		lo := n.mustCall(f, "POST", "/webauthn/login/initialize", "")
		a, err := auth.Login(lo, webauthntest.Options{Origin: rpOrigin, UV: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, a)
	}
	f.Fuzz(func(t *testing.T, registration bool, body []byte) {
		var rec *httptest.ResponseRecorder
		if registration {
			rec = n.call("POST", "/webauthn/registration/finalize", string(body), "Authorization: Bearer "+token)
		} else {
			rec = n.call("POST", "/webauthn/login/finalize", string(body))
		}
		if rec.Code >= 500 {
			t.Fatalf("registration=%v body %q: %d %s", registration, body, rec.Code, rec.Body)
		}
		if rec.Code != 200 && !strings.HasPrefix(rec.Body.String(), `{"code":`) {
			t.Fatalf("error without Hanko's body: %d %q", rec.Code, rec.Body)
		}
	})
}

// FuzzPublicJSONBodies sends arbitrary bodies to every public route that
// decodes a JSON request (docs/compatibility.md "Routes"), with and without a session: no
// panic, no 5xx.
func FuzzPublicJSONBodies(f *testing.F) {
	n := newFuzzNode(f)
	token := n.login(f, "fuzz-json@example.test")
	routes := []struct{ method, path string }{
		{"POST", "/user"},
		{"POST", "/users"},
		{"POST", "/passcode/login/initialize"},
		{"POST", "/passcode/login/finalize"},
		{"POST", "/webauthn/login/initialize"},
		{"POST", "/password/login"},
		{"PUT", "/password"},
		{"POST", "/emails"},
		{"PATCH", "/webauthn/credentials/00000000-0000-0000-0000-000000000000"},
		{"POST", "/sessions/validate"},
		{"POST", "/token"},
	}
	for i := range routes {
		f.Add(uint8(i), true, []byte(`{}`))
		f.Add(uint8(i), false, []byte(`{"email":"a@example.test","user_id":"00000000-0000-0000-0000-000000000000","id":"x","code":"123456","password":"longenough","name":"n","session_token":"e30.e30.e30"}`))
	}
	f.Fuzz(func(t *testing.T, route uint8, withSession bool, body []byte) {
		r := routes[int(route)%len(routes)]
		var hdr []string
		if withSession {
			hdr = append(hdr, "Authorization: Bearer "+token)
		}
		rec := n.call(r.method, r.path, string(body), hdr...)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
	})
}
