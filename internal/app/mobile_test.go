package app_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestMobileApps: the mobile: section publishes both association files and
// makes the Android app's derived origin acceptable for WebAuthn although
// webauthn.relying_party.origins does not list it.
func TestMobileApps(t *testing.T) {
	certSum := sha256.Sum256([]byte("the app's signing certificate"))
	var hexParts []string
	for _, b := range certSum {
		hexParts = append(hexParts, strings.ToUpper(hex2(b)))
	}
	fingerprint := strings.Join(hexParts, ":")
	origin := "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(certSum[:])

	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Mobile.Android = []config.AndroidApp{{PackageName: "com.example.app", SHA256CertFingerprints: []string{strings.ToLower(fingerprint)}}}
		c.Mobile.Apple = []config.AppleApp{{TeamID: "ABCDE12345", BundleID: "com.example.app"}}
	})
	if !strings.Contains(h.Log.String(), origin) {
		t.Errorf("the derived origin %s is not in the start-up log", origin)
	}

	r := h.do(t, "GET", "/.well-known/assetlinks.json", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("assetlinks: %d %v", r.Status, r.Header)
	}
	var links []struct {
		Relation []string `json:"relation"`
		Target   struct {
			Namespace    string   `json:"namespace"`
			PackageName  string   `json:"package_name"`
			Fingerprints []string `json:"sha256_cert_fingerprints"`
		} `json:"target"`
	}
	r.json(t, &links)
	if len(links) != 1 || links[0].Target.Namespace != "android_app" || links[0].Target.PackageName != "com.example.app" ||
		!reflect.DeepEqual(links[0].Target.Fingerprints, []string{fingerprint}) ||
		!reflect.DeepEqual(links[0].Relation, []string{"delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"}) {
		t.Fatalf("assetlinks = %s", r.Body)
	}
	r = h.do(t, "GET", "/.well-known/apple-app-site-association", "")
	var aasa struct {
		Webcredentials struct {
			Apps []string `json:"apps"`
		} `json:"webcredentials"`
	}
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("AASA: %d %v", r.Status, r.Header)
	}
	if err := json.Unmarshal(r.Body, &aasa); err != nil || !reflect.DeepEqual(aasa.Webcredentials.Apps, []string{"ABCDE12345.com.example.app"}) {
		t.Fatalf("AASA = %s", r.Body)
	}

	// Register and log in from the derived origin.
	_, _, token := h.signUp(t, "droid@example.test")
	r = h.do(t, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
	auth := webauthntest.New()
	cred, _, err := auth.Register(r.Body, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if r = h.do(t, "POST", "/webauthn/registration/finalize", string(cred), "Authorization: Bearer "+token); r.Status != 200 {
		t.Fatalf("registration from %s: %d %s", origin, r.Status, r.Body)
	}
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	assertion, err := auth.Login(r.Body, webauthntest.Options{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	if r = h.do(t, "POST", "/webauthn/login/finalize", string(assertion)); r.Status != 200 || r.Header.Get("X-Auth-Token") == "" {
		t.Fatalf("login from %s: %d %s", origin, r.Status, r.Body)
	}
	// Another app's origin is still refused.
	other := sha256.Sum256([]byte("someone else's certificate"))
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	assertion, _ = auth.Login(r.Body, webauthntest.Options{Origin: "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(other[:])})
	if r = h.do(t, "POST", "/webauthn/login/finalize", string(assertion)); r.Status != 401 {
		t.Fatalf("login from an unknown app: %d %s", r.Status, r.Body)
	}
}

// TestMobileFilesAbsentWithoutApps: no mobile: section, no files (404 JSON).
func TestMobileFilesAbsentWithoutApps(t *testing.T) {
	h := newHarness(t, nil)
	for _, p := range []string{"/.well-known/assetlinks.json", "/.well-known/apple-app-site-association"} {
		if r := h.do(t, "GET", p, ""); r.Status != 404 || !strings.Contains(string(r.Body), `"code":404`) {
			t.Errorf("%s without apps: %d %s", p, r.Status, r.Body)
		}
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
