package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/clocktest"
)

const (
	userID    = "0b41f4e6-7a3e-4c2b-9a57-5c1e1c0f6a11"
	sessionID = "9e8a4f3c-2b1d-4c6e-8a7f-1d2c3b4a5e66"
)

// signer is a private JWK with kid and alg set, as inkan's key store holds.
type signer struct {
	priv jwk.Key
	alg  jwa.SignatureAlgorithm
}

func newSigner(t testing.TB, kid string, alg jwa.SignatureAlgorithm) signer {
	t.Helper()
	var raw any
	var err error
	switch alg {
	case jwa.RS256():
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.ES256():
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.EdDSA():
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyUsageKey, "sig"); err != nil {
		t.Fatal(err)
	}
	return signer{k, alg}
}

func (s signer) public(t testing.TB) jwk.Key {
	t.Helper()
	pub, err := jwk.PublicKeyOf(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// sign makes a session JWT shaped as docs/compatibility.md "Session tokens", changed by edit.
func (s signer) sign(t testing.TB, now time.Time, edit func(*jwt.Builder)) string {
	t.Helper()
	b := jwt.NewBuilder().
		Subject(userID).
		IssuedAt(now).
		Expiration(now.Add(12*time.Hour)).
		Audience([]string{"example.com"}).
		Issuer("https://auth.example.com").
		Claim("session_id", sessionID).
		Claim("email", map[string]any{"address": "jane@example.com", "is_primary": true, "is_verified": true})
	if edit != nil {
		edit(b)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Sign(tok, jwt.WithKey(s.alg, s.priv))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// jwksServer publishes a key set that tests can change, break and count.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []jwk.Key
	down bool
	hits int
}

func newJWKSServer(t testing.TB, keys ...jwk.Key) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := jwk.NewSet()
		for _, k := range s.keys {
			_ = set.AddKey(k)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=600")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys ...jwk.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *jwksServer) hitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func newVerifier(t *testing.T, o Options) (*Verifier, *clocktest.Clock) {
	t.Helper()
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Now().UTC().Truncate(time.Second))
	v.now = c.Now
	return v, c
}

func TestVerifyValid(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256(), jwa.ES256(), jwa.EdDSA()} {
		t.Run(alg.String(), func(t *testing.T) {
			s := newSigner(t, "k-"+alg.String(), alg)
			srv := newJWKSServer(t, s.public(t))
			v, clk := newVerifier(t, Options{JWKSURL: srv.URL, Audience: "example.com", Issuer: "https://auth.example.com"})
			tok := s.sign(t, clk.Now(), func(b *jwt.Builder) { b.Claim("role", "admin").Claim("username", "jane") })
			c, err := v.Verify(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != userID || c.SessionID != sessionID || c.Issuer != "https://auth.example.com" ||
				len(c.Audience) != 1 || c.Audience[0] != "example.com" || c.Username != "jane" ||
				!c.IssuedAt.Equal(clk.Now()) || !c.Expiration.Equal(clk.Now().Add(12*time.Hour)) {
				t.Fatalf("claims = %+v", c)
			}
			if c.Email == nil || *c.Email != (Email{Address: "jane@example.com", IsPrimary: true, IsVerified: true}) {
				t.Fatalf("email = %+v", c.Email)
			}
			if len(c.Custom) != 1 || c.Custom["role"] != "admin" {
				t.Fatalf("custom = %v", c.Custom)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, "k1", jwa.RS256())
	other := newSigner(t, "k1", jwa.RS256()) // same kid, different key
	srv := newJWKSServer(t, s.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL, Audience: "example.com", Issuer: "https://auth.example.com"})
	now := clk.Now()

	cases := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"expired", s.sign(t, now.Add(-13*time.Hour), nil), ErrExpired},
		{"expired beyond leeway", s.sign(t, now.Add(-12*time.Hour-6*time.Second), nil), ErrExpired},
		{"iat in the future beyond leeway", s.sign(t, now.Add(time.Minute), nil), ErrInvalidToken},
		{"nbf in the future", s.sign(t, now, func(b *jwt.Builder) { b.NotBefore(now.Add(time.Minute)) }), ErrInvalidToken},
		{"wrong audience", s.sign(t, now, func(b *jwt.Builder) { b.Audience([]string{"evil.example"}) }), ErrInvalidToken},
		{"no audience", s.sign(t, now, func(b *jwt.Builder) { b.Audience(nil) }), ErrInvalidToken},
		{"wrong issuer", s.sign(t, now, func(b *jwt.Builder) { b.Issuer("https://evil.example") }), ErrInvalidToken},
		{"no exp", func() string {
			tok, _ := jwt.NewBuilder().Subject(userID).IssuedAt(now).Audience([]string{"example.com"}).Issuer("https://auth.example.com").Build()
			b, _ := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), s.priv))
			return string(b)
		}(), ErrInvalidToken},
		{"bad signature", other.sign(t, now, nil), ErrInvalidToken},
		{"alg none", unsigned(t, s.sign(t, now, nil), "none"), ErrInvalidToken},
		{"HS256 with the public key as secret", hmacConfused(t, s.sign(t, now, nil), s.public(t)), ErrInvalidToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
		{"too long", strings.Repeat("a", maxTokenBytes+1), ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(ctx, tc.token)
			t.Log(err)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify = %+v, %v; want %v", c, err, tc.wantErr)
			}
		})
	}
	// Within the leeway (default 5 s) both edges pass.
	for _, tok := range []string{s.sign(t, now.Add(-12*time.Hour+time.Second-5*time.Second), nil), s.sign(t, now.Add(4*time.Second), nil)} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("token within leeway: %v", err)
		}
	}
}

// unsigned rewrites tok's header to alg and drops the signature.
func unsigned(t *testing.T, tok, alg string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	hdr := rewriteAlg(t, parts[0], alg)
	return hdr + "." + parts[1] + "."
}

// hmacConfused re-signs tok as HS256 with the public JWK's JSON as the HMAC
// secret: the classic RS256→HS256 key confusion attack.
func hmacConfused(t *testing.T, tok string, pub jwk.Key) string {
	t.Helper()
	secret, err := json.Marshal(pub)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	input := rewriteAlg(t, parts[0], "HS256") + "." + parts[1]
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func rewriteAlg(t *testing.T, seg, alg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	h["alg"] = alg
	b, _ = json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestNoAudienceOrIssuerConfigured(t *testing.T) {
	s := newSigner(t, "k1", jwa.RS256())
	srv := newJWKSServer(t, s.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	tok := s.sign(t, clk.Now(), func(b *jwt.Builder) { b.Audience([]string{"anything"}).Issuer("whoever") })
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestRotationUnknownKidRefetches(t *testing.T) {
	ctx := context.Background()
	old := newSigner(t, "old", jwa.RS256())
	srv := newJWKSServer(t, old.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	if _, err := v.Verify(ctx, old.sign(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	if n := srv.hitCount(); n != 1 {
		t.Fatalf("JWKS hits after first verify = %d, want 1", n)
	}

	// The server rotates: a new key signs, the old one is still published.
	clk.Advance(2 * time.Minute) // past MinRefreshInterval, within MaxAge
	next := newSigner(t, "new", jwa.RS256())
	srv.publish(old.public(t), next.public(t))
	c, err := v.Verify(ctx, next.sign(t, clk.Now(), nil))
	if err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if c.Subject != userID || srv.hitCount() != 2 {
		t.Fatalf("claims %+v, JWKS hits %d (want 2)", c, srv.hitCount())
	}
	// Both keys now verify from the cache.
	for _, s := range []signer{old, next} {
		if _, err := v.Verify(ctx, s.sign(t, clk.Now(), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hitCount(); n != 2 {
		t.Fatalf("JWKS hits = %d, want 2 (cached)", n)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	ctx := context.Background()
	known := newSigner(t, "known", jwa.RS256())
	stranger := newSigner(t, "stranger", jwa.RS256()) // never published
	srv := newJWKSServer(t, known.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL, MinRefreshInterval: time.Minute})
	if _, err := v.Verify(ctx, known.sign(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, stranger.sign(t, clk.Now(), nil)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid: err = %v, want ErrInvalidToken", err)
		}
	}
	if n := srv.hitCount(); n != 1 {
		t.Fatalf("JWKS hits within MinRefreshInterval = %d, want 1", n)
	}
	clk.Advance(61 * time.Second)
	for i := 0; i < 5; i++ {
		_, _ = v.Verify(ctx, stranger.sign(t, clk.Now(), nil))
	}
	if n := srv.hitCount(); n != 2 {
		t.Fatalf("JWKS hits after the interval = %d, want 2", n)
	}
	// Known keys keep verifying without fetching.
	if _, err := v.Verify(ctx, known.sign(t, clk.Now(), nil)); err != nil || srv.hitCount() != 2 {
		t.Fatalf("known key: %v, hits %d", err, srv.hitCount())
	}
}

func TestJWKSDownKeepsCachedKeys(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, "k1", jwa.ES256())
	srv := newJWKSServer(t, s.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL, MaxAge: 10 * time.Minute})
	if _, err := v.Verify(ctx, s.sign(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	srv.setDown(true)
	clk.Advance(11 * time.Minute) // cache stale: a refresh is attempted and fails
	if _, err := v.Verify(ctx, s.sign(t, clk.Now(), nil)); err != nil {
		t.Fatalf("cached key while JWKS is down: %v", err)
	}
	if n := srv.hitCount(); n != 2 {
		t.Fatalf("JWKS hits = %d, want 2 (one failed refresh)", n)
	}
	// Further requests within MinRefreshInterval do not retry the endpoint.
	if _, err := v.Verify(ctx, s.sign(t, clk.Now(), nil)); err != nil || srv.hitCount() != 2 {
		t.Fatalf("second verify while down: %v, hits %d", err, srv.hitCount())
	}
	// Fully closed server (connection refused) behaves the same.
	srv.Close()
	clk.Advance(2 * time.Minute)
	if _, err := v.Verify(ctx, s.sign(t, clk.Now(), nil)); err != nil {
		t.Fatalf("cached key while JWKS server is gone: %v", err)
	}
}

func TestStaleCacheDropsUnpublishedKey(t *testing.T) {
	ctx := context.Background()
	a, b := newSigner(t, "a", jwa.RS256()), newSigner(t, "b", jwa.RS256())
	srv := newJWKSServer(t, a.public(t), b.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	if _, err := v.Verify(ctx, a.sign(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	srv.publish(b.public(t))
	clk.Advance(11 * time.Minute)
	if _, err := v.Verify(ctx, a.sign(t, clk.Now(), nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("key removed from JWKS: err = %v, want ErrInvalidToken", err)
	}
}

func TestFirstFetchFails(t *testing.T) {
	s := newSigner(t, "k1", jwa.RS256())
	srv := newJWKSServer(t, s.public(t))
	srv.setDown(true)
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	if _, err := v.Verify(context.Background(), s.sign(t, clk.Now(), nil)); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
}

func TestJWKSIgnoresUnusableKeys(t *testing.T) {
	s := newSigner(t, "k1", jwa.RS256())
	enc := newSigner(t, "enc", jwa.RS256())
	_ = enc.priv.Set(jwk.KeyUsageKey, "enc")
	sym, err := jwk.Import([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_ = sym.Set(jwk.KeyIDKey, "sym")
	srv := newJWKSServer(t, s.public(t), enc.public(t), sym)
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	if _, err := v.Verify(context.Background(), s.sign(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), enc.sign(t, clk.Now(), nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("key with use=enc: err = %v", err)
	}
	// HS256 signed with the published symmetric key is refused too.
	tok, _ := jwt.NewBuilder().Subject(userID).Expiration(clk.Now().Add(time.Hour)).Build()
	raw, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), sym))
	if _, err := v.Verify(context.Background(), string(raw)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("HS256 with a published oct key: err = %v", err)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "/.well-known/jwks.json", "ftp://x/jwks", "https://"} {
		if _, err := New(Options{JWKSURL: u}); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
}

func TestMiddleware(t *testing.T) {
	s := newSigner(t, "k1", jwa.RS256())
	srv := newJWKSServer(t, s.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL, CookieName: "sess"})
	good := s.sign(t, clk.Now(), nil)
	expired := s.sign(t, clk.Now().Add(-24*time.Hour), nil)

	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in context")
			return
		}
		_, _ = io.WriteString(w, c.Subject+" "+c.SessionID)
	}))
	cases := []struct {
		name   string
		auth   string
		cookie string
		ok     bool
	}{
		{"bearer", "Bearer " + good, "", true},
		{"bearer lower-case scheme", "bearer " + good, "", true},
		{"cookie", "", good, true},
		{"invalid header, valid cookie", "Bearer " + expired, good, true},
		{"none", "", "", false},
		{"expired bearer", "Bearer " + expired, "", false},
		{"basic scheme", "Basic " + good, "", false},
		{"garbage cookie", "", "garbage", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/app", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "sess", Value: tc.cookie})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.ok {
				if rec.Code != 200 || rec.Body.String() != userID+" "+sessionID {
					t.Fatalf("got %d %q", rec.Code, rec.Body.String())
				}
				return
			}
			if rec.Code != 401 || rec.Body.String() != `{"code":401,"message":"Unauthorized"}` ||
				rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
			}
		})
	}
	if _, ok := ClaimsFromContext(context.Background()); ok {
		t.Fatal("claims in a bare context")
	}
}

func TestConcurrentVerify(t *testing.T) {
	s := newSigner(t, "k1", jwa.RS256())
	srv := newJWKSServer(t, s.public(t))
	v, clk := newVerifier(t, Options{JWKSURL: srv.URL})
	tok := s.sign(t, clk.Now(), nil)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hitCount(); n != 1 {
		t.Fatalf("JWKS hits = %d, want 1", n)
	}
}

// TestImports fails when the package imports anything but the standard
// library and jwx (architecture: verify/ may import stdlib, jwx).
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(p, "/")
		if strings.Contains(first, ".") && !strings.HasPrefix(p, "github.com/lestrrat-go/jwx/v3/") {
			t.Errorf("verify imports %s", p)
		}
	}
}
