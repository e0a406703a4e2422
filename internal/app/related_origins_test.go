package app_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestRelatedOrigins: GET /.well-known/webauthn serves
// webauthn.related_origins as {"origins": […]} (WebAuthn L3 §5.11); a
// passkey of the relying party signs in from a related origin, while an
// origin that is neither configured nor related is refused.
func TestRelatedOrigins(t *testing.T) {
	related := []string{"https://example.shop", "https://www.example.co.uk", "https://shop.example.com"}
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Webauthn.RelatedOrigins = related
	})
	r := h.do(t, "GET", "/.well-known/webauthn", "")
	h.want(t, r, 200, "GET /.well-known/webauthn")
	if ct, cc := r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"); ct != "application/json" || cc != "public, max-age=3600" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, cc)
	}
	var doc struct {
		Origins []string `json:"origins"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil || !slices.Equal(doc.Origins, related) {
		t.Fatalf("body %s (%v), want the origins %v", r.Body, err, related)
	}

	p := h.newPasskeyUser(t, "related@example.test", pkOptions{})
	shop := p.opts
	shop.Origin = "https://example.shop"
	h.want(t, p.login(t, shop), 200, "login from a related origin")

	// Registration from a related origin works too (§5.11 covers create()).
	r = h.do(t, "POST", "/webauthn/registration/initialize", "", p.bearer)
	cred, _, err := webauthntest.New().Register(r.Body, webauthntest.Options{Origin: "https://www.example.co.uk"})
	if err != nil {
		t.Fatal(err)
	}
	h.want(t, h.do(t, "POST", "/webauthn/registration/finalize", string(cred), p.bearer), 200, "registration from a related origin")

	stranger := p.opts
	stranger.Origin = "https://example.org"
	r = h.do(t, "POST", "/webauthn/login/initialize", "")
	a, err := p.auth.Login(r.Body, stranger)
	if err != nil {
		t.Fatal(err)
	}
	before := h.snapshot(t)
	h.want(t, h.do(t, "POST", "/webauthn/login/finalize", string(a)), 401, "login from an unrelated origin")
	if !strings.Contains(h.Log.String(), "example.org") {
		t.Fatalf("the origin refusal is not logged:\n%s", h.Log.String())
	}
	h.wantRowsUnchanged(t, before)

	// Without related origins there is no document.
	plain := newHarness(t, nil)
	r = plain.do(t, "GET", "/.well-known/webauthn", "")
	if r.Status != 404 || !strings.Contains(string(r.Body), `"code":404`) {
		t.Fatalf("without related origins: %d %s", r.Status, r.Body)
	}
}

// TestRelatedOriginsConfig: config check and serve refuse related origins
// that are not https origins, that have no registrable domain, or that
// span more registrable-domain labels than browsers read (five, WebAuthn L3
// §5.11.1); the same label in several public suffixes counts once.
func TestRelatedOriginsConfig(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		want    []string // problem keys; none = accepted
	}{
		{"five labels, one in three suffixes", []string{
			"https://a.example", "https://b.example", "https://c.example", "https://d.example",
			"https://example.com", "https://example.de", "https://shop.example.co.uk", "https://example.com:8443",
		}, nil},
		{"six labels", []string{
			"https://a.example.com", "https://b.example", "https://c.example", "https://d.example", "https://e.example", "https://f.example",
		}, []string{"webauthn.related_origins"}},
		{"plain http", []string{"http://example.com"}, []string{"webauthn.related_origins[0]"}},
		{"path", []string{"https://example.com", "https://example.com/login"}, []string{"webauthn.related_origins[1]"}},
		{"android origin", []string{"android:apk-key-hash:" + strings.Repeat("A", 43)}, []string{"webauthn.related_origins[0]"}},
		{"ip address", []string{"https://192.0.2.1", "https://[2001:db8::1]"}, []string{"webauthn.related_origins[0]", "webauthn.related_origins[1]"}},
		{"public suffix", []string{"https://github.io", "https://example.com"}, []string{"webauthn.related_origins[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Database.Database = filepath.Join(t.TempDir(), "inkan.db")
			cfg.Webauthn.RelatedOrigins = tt.origins
			_, err := app.CheckConfig(cfg)
			var got []string
			var ve *config.ValidationError
			if err != nil {
				if !errors.As(err, &ve) {
					t.Fatalf("CheckConfig: %v", err)
				}
				for _, p := range ve.Problems {
					got = append(got, p.Key)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems %v (%v), want keys %v", got, err, tt.want)
			}
		})
	}
}
