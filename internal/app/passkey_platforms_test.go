package app_test

import (
	"encoding/base64"
	"maps"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestPasskeyBackupStateThroughAPI: a passkey registered device-bound
// (BE=0) that later signs in synced (BE=1, BS=1) is accepted, and the
// credential list shows the new flags and last use; BE=0 with BS=1 is 401
// and logged with its reason.
func TestPasskeyBackupStateThroughAPI(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	p := h.newPasskeyUser(t, "synced@example.test", webauthntest.Options{})
	bearer, o := p.bearer, p.opts
	synced := o
	synced.BE, synced.BS = true, true
	h.want(t, p.login(t, synced), 200, "login with BE 0→1")
	var list []struct {
		BackupEligible bool    `json:"backup_eligible"`
		BackupState    bool    `json:"backup_state"`
		LastUsedAt     *string `json:"last_used_at"`
	}
	h.do(t, "GET", "/webauthn/credentials", "", bearer).json(t, &list)
	if len(list) != 1 || !list[0].BackupEligible || !list[0].BackupState || list[0].LastUsedAt == nil {
		t.Fatalf("credentials after the synced login: %+v", list)
	}

	invalid := o
	invalid.BS = true
	r := p.login(t, invalid)
	if r.Status != 401 || strings.Contains(string(r.Body), "credential_id") {
		t.Fatalf("BE=0 BS=1: %d %s, want the ordinary 401", r.Status, r.Body)
	}
	if !strings.Contains(h.Log.String(), "Backup State Flag is true but Backup Eligible flag is false") {
		t.Fatalf("refusal not logged:\n%s", h.Log.String())
	}
}

// TestUnknownCredentialThroughAPI: after the passkey is deleted on the
// server, signing in with it answers 401 with credential_id and rp_id for
// signalUnknownCredential, and writes nothing.
func TestUnknownCredentialThroughAPI(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	p := h.newPasskeyUser(t, "gone@example.test", webauthntest.Options{})
	credID := p.credentialID
	h.want(t, h.do(t, "DELETE", "/webauthn/credentials/"+credID, "", p.bearer), 204, "delete")

	r := h.do(t, "POST", "/webauthn/login/initialize", "")
	a, err := p.auth.Login(r.Body, p.opts)
	if err != nil {
		t.Fatal(err)
	}
	before := h.snapshot(t)
	r = h.do(t, "POST", "/webauthn/login/finalize", string(a))
	var body map[string]any
	r.json(t, &body)
	want := map[string]any{"code": 401.0, "message": "unknown credential", "credential_id": credID, "rp_id": "login.example.test"}
	if r.Status != 401 || !maps.Equal(body, want) {
		t.Fatalf("unknown credential: %d %v, want 401 %v", r.Status, body, want)
	}
	if after := h.snapshot(t); !maps.Equal(before, after) {
		t.Fatalf("the refused login changed the database:\n%v\n%v", before, after)
	}
}

// passkeyUser is a signed-up user with one passkey on a software
// authenticator.
type passkeyUser struct {
	h            *harness
	userID       string
	bearer       string // "Authorization: Bearer <token>"
	auth         *webauthntest.Authenticator
	opts         webauthntest.Options // the origin, and the flags it registered with
	credentialID string               // base64url
}

// newPasskeyUser signs address up (harness with the token header) and
// registers a passkey from a new authenticator with the flags of o.
func (h *harness) newPasskeyUser(t *testing.T, address string, o webauthntest.Options) *passkeyUser {
	t.Helper()
	userID, _, token := h.signUp(t, address)
	o.Origin = "https://login.example.test"
	p := &passkeyUser{h: h, userID: userID, bearer: "Authorization: Bearer " + token, auth: webauthntest.New(), opts: o}
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer)
	cred, id, err := p.auth.Register(r.Body, o)
	if err != nil {
		t.Fatal(err)
	}
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", string(cred), p.bearer), 200, "registration")
	p.credentialID = base64.RawURLEncoding.EncodeToString(id)
	return p
}

// login runs a discoverable passkey login with o.
func (p *passkeyUser) login(t *testing.T, o webauthntest.Options) response {
	t.Helper()
	r := p.h.do(t, "POST", "/webauthn/login/initialize", "")
	a, err := p.auth.Login(r.Body, o)
	if err != nil {
		t.Fatal(err)
	}
	return p.h.do(t, "POST", "/webauthn/login/finalize", string(a))
}
