package webauthntest_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/inkan-auth/inkan/internal/webauthntest"
)

const origin = "https://app.example.test"

type user struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id }
func (u *user) WebAuthnName() string                       { return "alice@example.test" }
func (u *user) WebAuthnDisplayName() string                { return "alice@example.test" }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newRP(t *testing.T, uv protocol.UserVerificationRequirement) *webauthn.WebAuthn {
	t.Helper()
	rk := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          "example.test",
		RPDisplayName: "Example",
		RPOrigins:     []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &rk,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   uv,
		},
		AttestationPreference: protocol.PreferDirectAttestation,
	})
	if err != nil {
		t.Fatal(err)
	}
	return wa
}

// register runs a go-webauthn registration against the authenticator and
// returns the verified credential.
func register(t *testing.T, wa *webauthn.WebAuthn, a *webauthntest.Authenticator, u *user, o webauthntest.Options) *webauthn.Credential {
	t.Helper()
	creation, session, err := wa.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	optsJSON, err := json.Marshal(creation)
	if err != nil {
		t.Fatal(err)
	}
	body, id, err := a.Register(optsJSON, o)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		t.Fatalf("parse registration: %v", err)
	}
	cred, err := wa.CreateCredential(u, *session, parsed)
	if err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	if !bytes.Equal(cred.ID, id) {
		t.Fatalf("credential id %x, Register returned %x", cred.ID, id)
	}
	return cred
}

// login answers the relying party's assertion options with the
// authenticator and parses the response as the relying party does.
func login(t *testing.T, a *webauthntest.Authenticator, assertion *protocol.CredentialAssertion, o webauthntest.Options) *protocol.ParsedCredentialAssertionData {
	t.Helper()
	reqJSON, err := json.Marshal(assertion)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Login(reqJSON, o)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		t.Fatalf("parse assertion: %v", err)
	}
	return parsed
}

func TestRegisterAndLoginRoundTrip(t *testing.T) {
	for _, format := range []string{"none", "packed"} {
		t.Run(format, func(t *testing.T) {
			wa := newRP(t, protocol.VerificationRequired)
			a := webauthntest.New()
			u := &user{id: []byte("0123456789abcdef")}
			o := webauthntest.Options{Origin: origin, Attestation: format, UV: true, BE: true, BS: true}
			cred := register(t, wa, a, u, o)
			if cred.AttestationFormat != format {
				t.Errorf("format = %q, want %q", cred.AttestationFormat, format)
			}
			if !bytes.Equal(cred.Authenticator.AAGUID, a.AAGUID[:]) {
				t.Errorf("aaguid = %x, want %x", cred.Authenticator.AAGUID, a.AAGUID[:])
			}
			if !cred.Flags.UserVerified || !cred.Flags.BackupEligible || !cred.Flags.BackupState {
				t.Errorf("flags = %+v, want UV, BE, BS", cred.Flags)
			}
			if len(cred.Transport) != 2 {
				t.Errorf("transports = %v", cred.Transport)
			}
			u.creds = append(u.creds, *cred)

			// Non-discoverable login with allowCredentials.
			assertion, session, err := wa.BeginLogin(u)
			if err != nil {
				t.Fatal(err)
			}
			parsed := login(t, a, assertion, o)
			if !bytes.Equal(parsed.Response.UserHandle, u.id) {
				t.Errorf("userHandle = %x, want %x", parsed.Response.UserHandle, u.id)
			}
			got, err := wa.ValidateLogin(u, *session, parsed)
			if err != nil {
				t.Fatalf("ValidateLogin: %v", err)
			}
			if got.Authenticator.SignCount != 1 || got.Authenticator.CloneWarning {
				t.Errorf("sign count = %d (clone warning %v), want 1", got.Authenticator.SignCount, got.Authenticator.CloneWarning)
			}
			u.creds[0] = *got

			// Discoverable login.
			assertion, session, err = wa.BeginDiscoverableLogin()
			if err != nil {
				t.Fatal(err)
			}
			parsed = login(t, a, assertion, o)
			handler := func(rawID, userHandle []byte) (webauthn.User, error) { return u, nil }
			if _, got, err = wa.ValidatePasskeyLogin(handler, *session, parsed); err != nil {
				t.Fatalf("ValidatePasskeyLogin: %v", err)
			}
			if got.Authenticator.SignCount != 2 {
				t.Errorf("sign count = %d, want 2", got.Authenticator.SignCount)
			}
			if n, ok := a.SignCount(cred.ID); !ok || n != 2 {
				t.Errorf("authenticator counter = %d, %v; want 2", n, ok)
			}
		})
	}
}

// TestKnobsBreakVerification checks that each failure knob produces a
// response go-webauthn rejects, so tests that use them test what they say.
func TestKnobsBreakVerification(t *testing.T) {
	wa := newRP(t, protocol.VerificationRequired)
	a := webauthntest.New()
	u := &user{id: []byte("0123456789abcdef")}
	good := webauthntest.Options{Origin: origin, UV: true}
	u.creds = append(u.creds, *register(t, wa, a, u, good))

	zero := uint32(0)
	for name, o := range map[string]webauthntest.Options{
		"wrong origin":      {Origin: "https://evil.test", UV: true},
		"tampered rp hash":  {Origin: origin, UV: true, TamperRPIDHash: true},
		"other rp id":       {Origin: origin, UV: true, RPID: "other.test"},
		"no user verified":  {Origin: origin},
		"no user presence":  {Origin: origin, UV: true, NoUP: true},
		"other challenge":   {Origin: origin, UV: true, Challenge: bytes.Repeat([]byte{7}, 32)},
		"counter backwards": {Origin: origin, UV: true, SignCount: &zero},
		"cross origin":      {Origin: origin, UV: true, CrossOrigin: true},
	} {
		t.Run(name, func(t *testing.T) {
			assertion, session, err := wa.BeginLogin(u)
			if err != nil {
				t.Fatal(err)
			}
			// Make the stored counter non-zero so that 0 goes backwards.
			u.creds[0].Authenticator.SignCount = 5
			parsed := login(t, a, assertion, o)
			got, err := wa.ValidateLogin(u, *session, parsed)
			if name == "counter backwards" {
				if err != nil || !got.Authenticator.CloneWarning {
					t.Fatalf("want clone warning, got err %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateLogin accepted the response")
			}
		})
	}
}

func TestAndroidOrigin(t *testing.T) {
	const apk = "android:apk-key-hash:Y2VydGlmaWNhdGUtaGFzaC1zaGEyNTYtaW4tYmFzZTY0dXJs"
	rk := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID: "example.test", RPDisplayName: "Example", RPOrigins: []string{origin, apk},
		AuthenticatorSelection: protocol.AuthenticatorSelection{RequireResidentKey: &rk},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := webauthntest.New()
	u := &user{id: []byte("0123456789abcdef")}
	register(t, wa, a, u, webauthntest.Options{Origin: apk})
}

func TestRegisterRejectsBadOptions(t *testing.T) {
	a := webauthntest.New()
	for name, in := range map[string]string{
		"not json":     `{`,
		"no publicKey": `{}`,
		"no es256":     `{"publicKey":{"rp":{"id":"example.test"},"user":{"id":"AA"},"challenge":"AAAA","pubKeyCredParams":[{"type":"public-key","alg":-257}]}}`,
	} {
		if _, _, err := a.Register([]byte(in), webauthntest.Options{Origin: origin}); err == nil {
			t.Errorf("%s: Register accepted it", name)
		}
	}
	if _, _, err := a.Register([]byte(`{"publicKey":{"rp":{"id":"example.test"},"user":{"id":"AA"},"challenge":"AAAA"}}`), webauthntest.Options{}); err == nil {
		t.Error("Register without Origin accepted")
	}
	if _, err := a.Login([]byte(`{"publicKey":{"challenge":"AAAA","rpId":"example.test"}}`), webauthntest.Options{Origin: origin}); err == nil {
		t.Error("Login without credentials succeeded")
	}
}
