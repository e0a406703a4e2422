package thirdparty_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/oidctest"
	"github.com/inkan-auth/inkan/internal/thirdparty"
)

func hashed(n string) string {
	s := sha256.Sum256([]byte(n))
	return hex.EncodeToString(s[:])
}

// setup returns providers "apple" and "google" served by one issuer each
// and "custom_kc" found through discovery, all on a fake clock.
func setup(t *testing.T) (*thirdparty.Providers, map[string]*oidctest.Issuer, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(time.Now())
	iss := map[string]*oidctest.Issuer{"apple": oidctest.New(t), "google": oidctest.New(t), "custom_kc": oidctest.New(t)}
	for _, i := range iss {
		i.Now = clock.Now
	}
	p, err := thirdparty.New([]thirdparty.Config{
		{ID: "apple", Audiences: []string{"com.example.app"}, AllowLinking: true, Issuer: iss["apple"].URL, JWKSURL: iss["apple"].JWKSURL()},
		{ID: "google", ClientID: "web-client", Audiences: []string{"android-client"}, Issuer: iss["google"].URL, JWKSURL: iss["google"].JWKSURL()},
		{ID: "custom_kc", Audiences: []string{"kc-app"}, Issuer: iss["custom_kc"].URL},
		{ID: "github", ClientID: "gh", Secret: "s"},
	}, thirdparty.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p, iss, clock
}

func TestVerifyIDToken(t *testing.T) {
	p, iss, clock := setup(t)
	ctx := context.Background()

	// Apple: the token carries the SHA-256 of the app's nonce.
	tok := iss["apple"].Token(t, oidctest.Claims{"sub": "000123.abc", "aud": "com.example.app", "nonce": hashed("n-1"),
		"email": "x@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true"})
	pu, err := p.VerifyIDToken(ctx, "apple", tok, "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if pu != (inkan.ProviderUser{Provider: "apple", Subject: "000123.abc", Email: "x@privaterelay.appleid.com", EmailVerified: true}) {
		t.Errorf("apple: %+v", pu)
	}
	// Google: the nonce as it is; aud may be the client id or a listed audience; provider ids are case-insensitive.
	for _, aud := range []string{"web-client", "android-client"} {
		tok = iss["google"].Token(t, oidctest.Claims{"sub": "g-1", "aud": aud, "nonce": "n-2", "email": "a@gmail.com", "email_verified": true, "name": "A B"})
		pu, err = p.VerifyIDToken(ctx, "Google", tok, "n-2")
		if err != nil || pu.Subject != "g-1" || !pu.EmailVerified || pu.Name != "A B" {
			t.Errorf("google aud %s: %+v %v", aud, pu, err)
		}
	}
	// A custom provider through discovery.
	tok = iss["custom_kc"].Token(t, oidctest.Claims{"sub": "kc-1", "aud": []string{"other", "kc-app"}, "nonce": "n-3"})
	if pu, err = p.VerifyIDToken(ctx, "custom_kc", tok, "n-3"); err != nil || pu.Provider != "custom_kc" {
		t.Errorf("custom: %+v %v", pu, err)
	}

	// Every refusal names its check.
	good := oidctest.Claims{"sub": "g-1", "aud": "web-client", "nonce": "n"}
	with := func(k string, v any) oidctest.Claims {
		c := oidctest.Claims{}
		for a, b := range good {
			c[a] = b
		}
		c[k] = v
		return c
	}
	foreign := oidctest.NewKey(t)
	for _, c := range []struct {
		name, provider, token, nonce, want string
	}{
		{"wrong aud", "google", iss["google"].Token(t, with("aud", "someone-else")), "n", "aud:"},
		{"wrong iss", "google", iss["google"].Token(t, with("iss", "https://evil.example")), "n", "iss:"},
		{"token of another provider", "google", iss["apple"].Token(t, good), "n", "signature:"},
		{"forged signature", "google", iss["google"].SignWith(t, foreign, good), "n", "signature:"},
		{"expired", "google", iss["google"].Token(t, with("exp", clock.Now().Add(-2*thirdparty.Leeway).Unix())), "n", "exp:"},
		{"no exp", "google", iss["google"].Token(t, with("exp", nil)), "n", "exp:"},
		{"issued in the future", "google", iss["google"].Token(t, with("iat", clock.Now().Add(2*thirdparty.Leeway).Unix())), "n", "iat:"},
		{"wrong nonce", "google", iss["google"].Token(t, good), "m", "nonce:"},
		{"nonce in another case", "google", iss["google"].Token(t, with("nonce", "N")), "n", "nonce:"},
		{"no nonce in the request", "google", iss["google"].Token(t, good), "", "nonce:"},
		{"no nonce in the token", "google", iss["google"].Token(t, with("nonce", nil)), "n", "nonce:"},
		{"apple with the plain nonce", "apple", iss["apple"].Token(t, oidctest.Claims{"sub": "a", "aud": "com.example.app", "nonce": "n"}), "n", "nonce:"},
		{"no subject", "google", iss["google"].Token(t, with("sub", nil)), "n", "sub:"},
		{"not a JWT", "google", "not.a.jwt", "n", "signature:"},
		{"empty", "google", "", "n", "signature:"},
		{"alg none", "google", "eyJhbGciOiJub25lIiwia2lkIjoiayJ9.eyJzdWIiOiJ4In0.", "n", "signature:"},
	} {
		_, err := p.VerifyIDToken(ctx, c.provider, c.token, c.nonce)
		if inkan.KindOf(err) != inkan.KindUnauthorized || !strings.Contains(inkan.MessageOf(err), c.want) {
			t.Errorf("%s: got %v (%v), want 401 naming %q", c.name, err, inkan.KindOf(err), c.want)
		}
	}
	// Leeway: expired 30 s ago is still fine.
	if _, err := p.VerifyIDToken(ctx, "google", iss["google"].Token(t, with("exp", clock.Now().Add(-30*time.Second).Unix())), "n"); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	for _, id := range []string{"github", "facebook", "custom_nope", ""} {
		if _, err := p.VerifyIDToken(ctx, id, tok, "n"); inkan.KindOf(err) != inkan.KindNotFound {
			t.Errorf("provider %q: %v", id, err)
		}
	}
}

// TestKeyRotation: the key set is fetched once and cached; a token signed
// with a key the provider rotated in is accepted after one more fetch; made-up
// kids do not make inkan fetch again within MinKeyRefresh.
func TestKeyRotation(t *testing.T) {
	p, iss, clock := setup(t)
	ctx := context.Background()
	g := iss["google"]
	tok := func() string { return g.Token(t, oidctest.Claims{"sub": "s", "aud": "web-client", "nonce": "n"}) }
	for range 3 {
		if _, err := p.VerifyIDToken(ctx, "google", tok(), "n"); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.JWKSFetches(); n != 1 {
		t.Errorf("key set fetched %d times for 3 tokens, want 1", n)
	}
	clock.Advance(2 * time.Minute)
	g.Rotate(t, false)
	if _, err := p.VerifyIDToken(ctx, "google", tok(), "n"); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := g.JWKSFetches(); n != 2 {
		t.Errorf("fetches after rotation: %d, want 2", n)
	}
	foreign := oidctest.NewKey(t)
	for range 5 {
		_, err := p.VerifyIDToken(ctx, "google", g.SignWith(t, foreign, oidctest.Claims{"sub": "s", "aud": "web-client", "nonce": "n"}), "n")
		if inkan.KindOf(err) != inkan.KindUnauthorized || !strings.Contains(inkan.MessageOf(err), "kid") {
			t.Errorf("unknown kid: %v", err)
		}
	}
	if n := g.JWKSFetches(); n != 2 {
		t.Errorf("made-up kids fetched the key set: %d fetches, want 2", n)
	}
	// A rotation right after a fetch: the new kid is fetched once the
	// minimum interval has passed.
	g.Rotate(t, false)
	if _, err := p.VerifyIDToken(ctx, "google", tok(), "n"); inkan.KindOf(err) != inkan.KindUnauthorized {
		t.Errorf("within MinKeyRefresh: %v", err)
	}
	clock.Advance(2 * time.Minute)
	if _, err := p.VerifyIDToken(ctx, "google", tok(), "n"); err != nil {
		t.Errorf("after MinKeyRefresh: %v", err)
	}
}
