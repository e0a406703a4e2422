package app_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestPasskeyBackupStateThroughAPI: a passkey registered device-bound
// (BE=0) that later signs in synced (BE=1, BS=1) is accepted, and the
// credential list shows the new flags and last use; BE=0 with BS=1 is 401
// and logged with its reason.
func TestPasskeyBackupStateThroughAPI(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	p := h.newPasskeyUser(t, "synced@example.test", pkOptions{})
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

// TestUnknownCredentialThroughAPI: a bad signature on an existing passkey
// is the ordinary 401; after the passkey is deleted on the server, signing
// in with it answers 401 with credential_id and rp_id for
// signalUnknownCredential, and writes nothing.
func TestUnknownCredentialThroughAPI(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	p := h.newPasskeyUser(t, "gone@example.test", pkOptions{})
	credID := p.credentialID

	// While it exists, a bad signature gets the ordinary 401, never the
	// unknown-credential body.
	bad := p.opts
	bad.TamperSignature = true
	if r := p.login(t, bad); r.Status != 401 || strings.TrimSpace(string(r.Body)) != `{"code":401,"message":"failed to validate assertion"}` {
		t.Fatalf("bad signature on an existing credential: %d %s", r.Status, r.Body)
	}
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

// pkOptions are the registration flags and AAGUID of newPasskeyUser.
type pkOptions struct {
	BE, BS bool
	AAGUID uuid.UUID
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
// registers a passkey from a new authenticator with the flags of o and,
// when o.AAGUID is set, that AAGUID.
func (h *harness) newPasskeyUser(t *testing.T, address string, o pkOptions) *passkeyUser {
	t.Helper()
	userID, _, token := h.signUp(t, address)
	p := &passkeyUser{h: h, userID: userID, bearer: "Authorization: Bearer " + token, auth: webauthntest.New(),
		opts: webauthntest.Options{Origin: "https://login.example.test", BE: o.BE, BS: o.BS}}
	if o.AAGUID != uuid.Nil {
		p.auth.AAGUID = o.AAGUID
	}
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer)
	cred, id, err := p.auth.Register(r.Body, p.opts)
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

// TestPasskeyNamesAndSignals: the provider named by the AAGUID (built-in,
// or from passkey.aaguid_metadata_file with icons) names a new passkey and
// appears with the backup flags, last use, RP id and user handle in GET
// /webauthn/credentials and GET /me; /me carries the Signals API
// arguments; delete and set_primary return them when asked with Prefer.
func TestPasskeyNamesAndSignals(t *testing.T) {
	const vault = "11111111-2222-3333-4444-555555555555"
	icon := "data:image/svg+xml;base64,PHN2Zy8+"
	file := filepath.Join(t.TempDir(), "aaguid.json")
	if err := os.WriteFile(file, []byte(`{"`+vault+`": {"name": "Example Vault", "icon_light": "`+icon+`", "icon_dark": "`+icon+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Passkey.AAGUIDMetadataFile = file
	})
	p := h.newPasskeyUser(t, "names@example.test", pkOptions{BE: true, BS: true, AAGUID: uuid.MustParse(vault)})
	apple := webauthntest.New()
	apple.AAGUID = uuid.MustParse("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer)
	cred, appleID, err := apple.Register(r.Body, webauthntest.Options{Origin: p.opts.Origin})
	if err != nil {
		t.Fatal(err)
	}
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", string(cred), p.bearer), 200, "second registration")
	h.want(t, p.login(t, p.opts), 200, "login")

	userID := uuid.MustParse(p.userID)
	handle := base64.RawURLEncoding.EncodeToString(userID[:])
	appleCred := base64.RawURLEncoding.EncodeToString(appleID)
	type credOut struct {
		ID                string  `json:"id"`
		Name              string  `json:"name"`
		AAGUID            string  `json:"aaguid"`
		ProviderName      string  `json:"provider_name"`
		ProviderIconLight string  `json:"provider_icon_light"`
		ProviderIconDark  string  `json:"provider_icon_dark"`
		BackupEligible    bool    `json:"backup_eligible"`
		BackupState       bool    `json:"backup_state"`
		LastUsedAt        *string `json:"last_used_at"`
		RPID              string  `json:"rp_id"`
		UserHandle        string  `json:"user_handle"`
		PublicKey         string  `json:"public_key"`
		MFAOnly           *bool   `json:"mfa_only"`
	}
	check := func(what string, got []credOut) {
		t.Helper()
		if len(got) != 2 {
			t.Fatalf("%s: %+v", what, got)
		}
		v, a := got[0], got[1]
		if v.ID != p.credentialID || v.Name != "Example Vault" || v.ProviderName != "Example Vault" || v.AAGUID != vault ||
			v.ProviderIconLight != icon || v.ProviderIconDark != icon || !v.BackupEligible || !v.BackupState || v.LastUsedAt == nil ||
			v.RPID != "login.example.test" || v.UserHandle != handle || v.PublicKey == "" || v.MFAOnly == nil {
			t.Errorf("%s: first passkey %+v", what, v)
		}
		if a.ID != appleCred || a.Name != "iCloud Keychain" || a.ProviderName != "iCloud Keychain" || a.ProviderIconLight != "" ||
			a.BackupEligible || a.RPID != "login.example.test" || a.UserHandle != handle {
			t.Errorf("%s: second passkey %+v", what, a)
		}
	}
	var list []credOut
	h.do(t, "GET", "/webauthn/credentials", "", p.bearer).json(t, &list)
	check("GET /webauthn/credentials", list)

	type signals struct {
		All struct {
			RPID   string   `json:"rpId"`
			UserID string   `json:"userId"`
			IDs    []string `json:"allAcceptedCredentialIds"`
		} `json:"signal_all_accepted_credentials"`
		Details struct {
			RPID        string `json:"rpId"`
			UserID      string `json:"userId"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"signal_current_user_details"`
	}
	var me struct {
		Passkeys []credOut `json:"passkeys"`
		signals
	}
	h.do(t, "GET", "/me", "", p.bearer).json(t, &me)
	check("GET /me", me.Passkeys)
	if me.All.RPID != "login.example.test" || me.All.UserID != handle || !slices.Equal(me.All.IDs, []string{p.credentialID, appleCred}) ||
		me.Details.RPID != "login.example.test" || me.Details.UserID != handle || me.Details.Name != "names@example.test" || me.Details.DisplayName != "names@example.test" {
		t.Fatalf("GET /me signals: %+v", me.signals)
	}

	// A name the user sets is kept; the provider stays visible.
	h.want(t, h.do(t, "PATCH", "/webauthn/credentials/"+appleCred, `{"name":"My iPhone"}`, p.bearer), 200, "rename")
	h.do(t, "GET", "/webauthn/credentials", "", p.bearer).json(t, &list)
	if list[1].Name != "My iPhone" || list[1].ProviderName != "iCloud Keychain" {
		t.Fatalf("after rename: %+v", list[1])
	}

	// Delete with Prefer: the remaining accepted credentials.
	r = h.do(t, "DELETE", "/webauthn/credentials/"+appleCred, "", p.bearer, "Prefer: return=representation")
	var del signals
	if h.want(t, r, 200, "delete with Prefer"); r.Header.Get("Preference-Applied") != "return=representation" {
		t.Fatalf("Preference-Applied %q", r.Header.Get("Preference-Applied"))
	}
	r.json(t, &del)
	if del.All.RPID != "login.example.test" || del.All.UserID != handle || !slices.Equal(del.All.IDs, []string{p.credentialID}) {
		t.Fatalf("delete: %s", r.Body)
	}
	r = h.do(t, "DELETE", "/webauthn/credentials/"+p.credentialID, "", p.bearer, "Prefer: respond-async, RETURN=representation; x=1")
	h.want(t, r, 200, "delete the last one")
	r.json(t, &del)
	if del.All.IDs == nil || len(del.All.IDs) != 0 || !strings.Contains(string(r.Body), `"allAcceptedCredentialIds":[]`) {
		t.Fatalf("delete of the last passkey: %s", r.Body)
	}

	// set_primary with Prefer: the new names; without: Hanko's 204.
	newEmail := h.verifiedAddress(t, p, "names.work@example.test")
	r = h.do(t, "POST", "/emails/"+newEmail+"/set_primary", "", p.bearer, "Prefer: return=representation")
	h.want(t, r, 200, "set_primary with Prefer")
	var sp signals
	r.json(t, &sp)
	if sp.Details.RPID != "login.example.test" || sp.Details.UserID != handle || sp.Details.Name != "names.work@example.test" || sp.Details.DisplayName != "names.work@example.test" {
		t.Fatalf("set_primary: %s", r.Body)
	}
	r = h.do(t, "POST", "/emails/"+newEmail+"/set_primary", "", p.bearer, "Prefer: return=minimal")
	if h.want(t, r, 204, "set_primary without representation"); len(r.Body) != 0 || r.Header.Get("Preference-Applied") != "" {
		t.Fatalf("set_primary 204 body %q", r.Body)
	}
}

// verifiedAddress adds address to p's account, verifies it with its
// passcode, and returns its id.
func (h *harness) verifiedAddress(t *testing.T, p *passkeyUser, address string) string {
	t.Helper()
	r := h.do(t, "POST", "/emails", `{"address":"`+address+`"}`, p.bearer)
	h.want(t, r, 200, "add address")
	var row struct{ ID string }
	r.json(t, &row)
	r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+p.userID+`","email_id":"`+row.ID+`"}`, p.bearer)
	h.want(t, r, 200, "passcode for the address")
	var pc struct{ ID string }
	r.json(t, &pc)
	r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, address)+`"}`, p.bearer)
	h.want(t, r, 200, "verify the address")
	p.bearer = "Authorization: Bearer " + tokenOf(r)
	return row.ID
}

// TestBadAAGUIDMetadataFile: serve refuses a bad file and names the key.
func TestBadAAGUIDMetadataFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "aaguid.json")
	if err := os.WriteFile(file, []byte(`{"not-a-uuid": {"name": "x"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Database.Database = filepath.Join(t.TempDir(), "inkan.db")
	cfg.Passkey.AAGUIDMetadataFile = file
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "passkey.aaguid_metadata_file") || !strings.Contains(err.Error(), `"not-a-uuid"`) {
		t.Fatalf("config check: %v", err)
	}
	if _, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard); err == nil || !strings.Contains(err.Error(), "passkey.aaguid_metadata_file") {
		t.Fatalf("app.New: %v", err)
	}
}

// TestAdminPasskeyFields: the admin API shows each passkey as the public
// API does — the provider named by the AAGUID with the metadata file's
// icons, the backup flags and last use of the latest sign-in, the RP id
// and the user handle — in the list, the single credential and the user.
func TestAdminPasskeyFields(t *testing.T) {
	const vault = "11111111-2222-3333-4444-555555555555"
	icon := "data:image/svg+xml;base64,PHN2Zy8+"
	file := filepath.Join(t.TempDir(), "aaguid.json")
	if err := os.WriteFile(file, []byte(`{"`+vault+`": {"name": "Example Vault", "icon_light": "`+icon+`", "icon_dark": "`+icon+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Passkey.AAGUIDMetadataFile = file
	})
	p := h.newPasskeyUser(t, "admin-view@example.test", pkOptions{AAGUID: uuid.MustParse(vault)})
	synced := p.opts
	synced.BE, synced.BS = true, true
	h.want(t, p.login(t, synced), 200, "login with BE 0→1")

	userID := uuid.MustParse(p.userID)
	handle := base64.RawURLEncoding.EncodeToString(userID[:])
	type credOut struct {
		ID                string  `json:"id"`
		Name              string  `json:"name"`
		ProviderName      string  `json:"provider_name"`
		ProviderIconLight string  `json:"provider_icon_light"`
		ProviderIconDark  string  `json:"provider_icon_dark"`
		BackupEligible    bool    `json:"backup_eligible"`
		BackupState       bool    `json:"backup_state"`
		LastUsedAt        *string `json:"last_used_at"`
		RPID              string  `json:"rp_id"`
		UserHandle        string  `json:"user_handle"`
	}
	check := func(what string, c credOut) {
		t.Helper()
		if c.ID != p.credentialID || c.Name != "Example Vault" || c.ProviderName != "Example Vault" || c.ProviderIconLight != icon ||
			c.ProviderIconDark != icon || !c.BackupEligible || !c.BackupState || c.LastUsedAt == nil || c.RPID != "login.example.test" || c.UserHandle != handle {
			t.Errorf("%s: %+v", what, c)
		}
	}
	var list []credOut
	r := h.admin(t, "GET", "/users/"+p.userID+"/webauthn_credentials", "")
	h.want(t, r, 200, "admin list")
	r.json(t, &list)
	if len(list) != 1 {
		t.Fatalf("admin list: %s", r.Body)
	}
	check("GET /users/{user_id}/webauthn_credentials", list[0])
	var one credOut
	r = h.admin(t, "GET", "/users/"+p.userID+"/webauthn_credentials/"+p.credentialID, "")
	h.want(t, r, 200, "admin credential")
	r.json(t, &one)
	check("GET /users/{user_id}/webauthn_credentials/{credential_id}", one)
	var u struct {
		WebauthnCredentials []credOut `json:"webauthn_credentials"`
	}
	r = h.admin(t, "GET", "/users/"+p.userID, "")
	h.want(t, r, 200, "admin user")
	r.json(t, &u)
	if len(u.WebauthnCredentials) != 1 {
		t.Fatalf("admin user: %s", r.Body)
	}
	check("GET /users/{id}", u.WebauthnCredentials[0])
}
