// Package oidctest is a real OpenID Connect provider for tests: an
// httptest.Server that serves Discovery (OpenID Connect Discovery 1.0 §4)
// and a JWK Set (RFC 7517), and signs real ID tokens (RS256, RFC 7515) with
// keys it can rotate, so that a relying party's verification runs
// unchanged against it. It counts the key-set fetches, so a test can see
// the cache and the refresh on an unknown kid.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Issuer is a running OpenID Connect provider.
type Issuer struct {
	// URL is the issuer (the server's base URL, no trailing slash).
	URL string
	// Now is the clock of iat/exp (default time.Now).
	Now func() time.Time

	srv        *httptest.Server
	mu         sync.Mutex
	keys       []jwk.Key // private; the last one signs; all are published
	jwksHits   atomic.Int64
	extraPaths map[string]http.Handler
	authz      *authz
}

// New starts an issuer with one signing key; it stops with the test.
func New(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{Now: time.Now, extraPaths: map[string]http.Handler{}}
	i.keys = []jwk.Key{NewKey(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks", i.jwks)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		h := i.extraPaths[r.URL.Path]
		i.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	i.URL = i.srv.URL
	return i
}

// Handle serves h at path (an authorization or token endpoint, a user-info
// API) next to discovery and the key set.
func (i *Issuer) Handle(path string, h http.Handler) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.extraPaths[path] = h
}

// JWKSURL is the key set's address.
func (i *Issuer) JWKSURL() string { return i.URL + "/jwks" }

// JWKSFetches counts the GET requests of the key set so far.
func (i *Issuer) JWKSFetches() int64 { return i.jwksHits.Load() }

// NewKey returns a fresh RSA-2048 private JWK with a random kid.
func NewKey(t testing.TB) jwk.Key {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	_ = k.Set(jwk.KeyIDKey, fmt.Sprintf("k-%x", b))
	_ = k.Set(jwk.AlgorithmKey, jwa.RS256())
	_ = k.Set(jwk.KeyUsageKey, "sig")
	return k
}

// Rotate replaces the signing key by a new one; with keepOld the old key is
// still published.
func (i *Issuer) Rotate(t testing.TB, keepOld bool) {
	k := NewKey(t)
	i.mu.Lock()
	defer i.mu.Unlock()
	if keepOld {
		i.keys = append(i.keys, k)
	} else {
		i.keys = []jwk.Key{k}
	}
}

// Claims are an ID token's claims; Token fills iss, iat and exp when absent.
type Claims map[string]any

// Token signs claims with the current key: iss defaults to URL, iat to Now,
// exp to Now + 10 minutes.
func (i *Issuer) Token(t testing.TB, c Claims) string {
	i.mu.Lock()
	k := i.keys[len(i.keys)-1]
	i.mu.Unlock()
	return i.SignWith(t, k, c)
}

// SignWith signs claims (completed as Token does) with key k, published or
// not (a forged token).
func (i *Issuer) SignWith(t testing.TB, k jwk.Key, c Claims) string {
	t.Helper()
	now := i.Now()
	out := map[string]any{"iss": i.URL, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for name, v := range c {
		if v == nil {
			delete(out, name) // Claims{"exp": nil} leaves the claim out
			continue
		}
		out[name] = v
	}
	payload, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	kid, _ := k.KeyID()
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, "JWT")
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), k, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"userinfo_endpoint":                     i.URL + "/userinfo",
		"jwks_uri":                              i.JWKSURL(),
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.jwksHits.Add(1)
	set := jwk.NewSet()
	i.mu.Lock()
	for _, k := range i.keys {
		pub, err := k.PublicKey()
		if err == nil {
			_ = set.AddKey(pub)
		}
	}
	i.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}
