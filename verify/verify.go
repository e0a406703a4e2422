// Package verify checks inkan (Hanko-compatible) session JWTs in an
// application's own backend, offline, against the server's published keys
// (GET /.well-known/jwks.json, RFC 7517; docs/compatibility.md "Discovery", "Session tokens").
//
// A [Verifier] fetches the JWK Set once, caches it for [Options.MaxAge],
// fetches it again when a token names an unknown "kid" (key rotation, docs/compatibility.md "Signing keys")
// and keeps using the cached keys while the JWKS endpoint is down. Fetches are
// at most one per [Options.MinRefreshInterval], so tokens with made-up key ids
// cannot make the verifier hammer the server.
//
// What is checked: the JWS signature (RFC 7515) with an asymmetric algorithm
// (RS*, PS*, ES*, EdDSA; never "none" or HS*) matching the key's "alg", the
// presence of "sub" and "exp", "exp"/"nbf"/"iat" with a small leeway (RFC 7519
// §4.1.4–4.1.6), and "aud"/"iss" when configured.
//
// Revocation is checked only with [Options.RevocationInterval]: then the
// verifier polls the server's revocation list (GET /sessions/revoked,
// docs/compatibility.md "Refresh tokens and signed-in devices") at most
// once per interval and refuses a token whose "session_id" is listed
// ([ErrRevoked]), so a logout is seen within one interval without a call
// per request. Without it, a token stays cryptographically valid after
// logout, idle timeout or session-limit eviction until its "exp"; to see a
// revocation at once, ask the server with POST /sessions/validate
// {"session_token"} (docs/compatibility.md "Session validation").
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Defaults applied by [New] to zero [Options] fields.
const (
	DefaultLeeway             = 5 * time.Second
	DefaultMinRefreshInterval = time.Minute
	DefaultMaxAge             = 10 * time.Minute // Hanko's JWKS Cache-Control: max-age=600
	DefaultCookieName         = "hanko"
)

const (
	maxTokenBytes = 16 << 10 // a session JWT is < 2 KiB; refuse to parse more than 16 KiB
	maxJWKSBytes  = 1 << 20
)

// Sentinel errors; Verify wraps one of them (test with errors.Is).
var (
	// ErrInvalidToken: malformed, badly signed, wrong algorithm, unknown key
	// id, missing "sub"/"exp", wrong audience or issuer, or outside its time
	// window. ErrExpired is a special case of it.
	ErrInvalidToken = errors.New("verify: invalid token")
	// ErrExpired: "exp" is in the past by more than the leeway.
	ErrExpired = fmt.Errorf("%w: token expired", ErrInvalidToken)
	// ErrKeysUnavailable: the JWK Set could not be fetched and no cached key
	// can be used (first fetch failed, or rate-limited by MinRefreshInterval).
	ErrKeysUnavailable = errors.New("verify: JWK set unavailable")
)

// Options configure a [Verifier].
type Options struct {
	// JWKSURL is the absolute URL of the key set, e.g.
	// "https://auth.example.com/.well-known/jwks.json". Required.
	JWKSURL string
	// HTTPClient fetches the key set; default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Audience, when set, must be one of the token's "aud" values (inkan:
	// session.audience, default [webauthn.relying_party.id]).
	Audience string
	// Issuer, when set, must equal the token's "iss" (session.issuer).
	Issuer string
	// Leeway is the clock skew allowed on "exp", "nbf" and "iat"; default
	// 5 s (DefaultLeeway). A negative value means no leeway.
	Leeway time.Duration
	// MinRefreshInterval is the least time between two JWKS fetch attempts;
	// default 1 min. A token signed by a key published less than this after
	// the last fetch is accepted only once the interval has passed.
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched key set is used before it is fetched
	// again (a failed fetch keeps the old keys); default 10 min.
	MaxAge time.Duration
	// CookieName is the session cookie [Verifier.Middleware] reads when no
	// valid Bearer token is sent; default "hanko" (session.cookie.name).
	CookieName string
	// RevocationInterval, when positive, turns on revocation polling: the
	// revocation list is fetched when it is older than this (by one
	// request; the others use the list at hand), and a token whose
	// session_id is listed fails with [ErrRevoked]. Until the first fetch
	// succeeds every token fails with [ErrRevocationUnavailable]; a later
	// failed fetch keeps the last list. Zero (the default) checks no
	// revocation. Match it to the server's session.revocation_list.max_age.
	RevocationInterval time.Duration
	// RevocationURL is the list's absolute URL; default: "sessions/revoked"
	// beside JWKSURL's ".well-known/" (https://auth.example.com/sessions/revoked).
	RevocationURL string
}

// Verifier verifies session JWTs. It is safe for concurrent use.
type Verifier struct {
	o   Options
	now func() time.Time // replaced in tests

	mu      sync.RWMutex
	keys    map[string]jwk.Key // public signing keys by "kid"
	fetched time.Time          // last successful fetch

	fetchMu sync.Mutex // serialises fetches; guards tried
	tried   time.Time  // last fetch attempt

	revURL     string
	revMu      sync.RWMutex
	revoked    map[string]struct{} // session ids; nil until fetched
	revFetched time.Time
	revFetchMu sync.Mutex // serialises list fetches
}

// New returns a Verifier for o. It fetches no keys yet (the first Verify
// does). It fails when JWKSURL is not an absolute http(s) URL.
func New(o Options) (*Verifier, error) {
	u, err := url.Parse(o.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("verify: JWKSURL %q is not an absolute http(s) URL", o.JWKSURL)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case o.Leeway == 0:
		o.Leeway = DefaultLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	}
	if o.MinRefreshInterval <= 0 {
		o.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	v := &Verifier{o: o, now: time.Now}
	if o.RevocationInterval > 0 {
		if v.revURL, err = revocationURL(o); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Email is the "email" claim: the user's primary address (docs/compatibility.md "Session tokens").
type Email struct {
	Address    string
	IsPrimary  bool
	IsVerified bool
}

// Claims are the verified claims of an inkan session JWT (docs/compatibility.md "Session tokens").
type Claims struct {
	// Subject is "sub", the user's UUID.
	Subject string
	// SessionID is "session_id", the server-side session's UUID ("" if absent).
	SessionID string
	// IssuedAt and Expiration are "iat" and "exp" (UTC; IssuedAt zero if absent).
	IssuedAt, Expiration time.Time
	// Audience is "aud".
	Audience []string
	// Issuer is "iss" ("" if absent).
	Issuer string
	// Email is the "email" claim, nil when the user has no primary address.
	Email *Email
	// Username is "username" ("" if absent).
	Username string
	// Custom holds every other claim (session.jwt_template.claims), as decoded
	// by encoding/json; nil when there is none.
	Custom map[string]any
}

// allowedAlgs are the JWS algorithms accepted (RFC 7518 §3.1 asymmetric
// ones plus EdDSA, RFC 8037); "none" and HS* never are.
var allowedAlgs = map[string]jwa.KeyType{
	"RS256": jwa.RSA(), "RS384": jwa.RSA(), "RS512": jwa.RSA(),
	"PS256": jwa.RSA(), "PS384": jwa.RSA(), "PS512": jwa.RSA(),
	"ES256": jwa.EC(), "ES384": jwa.EC(), "ES512": jwa.EC(),
	"EdDSA": jwa.OKP(),
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, args...)...)
}

// Verify checks token (compact JWS) and returns its claims. Errors wrap
// ErrInvalidToken (ErrExpired when expired, ErrRevoked when its session is
// on the revocation list), ErrKeysUnavailable or ErrRevocationUnavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > maxTokenBytes {
		return nil, invalid("token longer than %d bytes", maxTokenBytes)
	}
	// 1. Read the protected header: kid and alg choose the key.
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil {
		return nil, invalid("%v", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, invalid("want one signature, got %d", len(sigs))
	}
	hdr := sigs[0].ProtectedHeaders()
	alg, _ := hdr.Algorithm()
	kty, ok := allowedAlgs[alg.String()]
	if !ok {
		return nil, invalid("algorithm %q not accepted", alg.String())
	}
	kid, _ := hdr.KeyID()
	if kid == "" {
		return nil, invalid("no kid in header")
	}
	// 2. Find the key, fetching the key set when the kid is unknown.
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if key.KeyType() != kty {
		return nil, invalid("algorithm %s does not fit key type %s", alg, key.KeyType())
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return nil, invalid("algorithm %s is not the key's %s", alg, ka)
	}
	// 3. Verify the signature and validate the claims.
	vopts := []jwt.ParseOption{
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithAcceptableSkew(v.o.Leeway),
		jwt.WithClock(jwt.ClockFunc(v.now)),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	if v.o.Audience != "" {
		vopts = append(vopts, jwt.WithAudience(v.o.Audience))
	}
	if v.o.Issuer != "" {
		vopts = append(vopts, jwt.WithIssuer(v.o.Issuer))
	}
	t, err := jwt.ParseString(token, vopts...)
	if err != nil {
		if errors.Is(err, jwt.TokenExpiredError()) {
			return nil, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return nil, invalid("%v", err)
	}
	c, err := claimsOf(t)
	if err != nil {
		return nil, err
	}
	// 4. Revocation, when polling is on.
	if v.o.RevocationInterval > 0 {
		if err := v.checkRevoked(ctx, c.SessionID); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func claimsOf(t jwt.Token) (*Claims, error) {
	c := &Claims{}
	c.Subject, _ = t.Subject()
	c.Issuer, _ = t.Issuer()
	c.Audience, _ = t.Audience()
	if ts, ok := t.IssuedAt(); ok {
		c.IssuedAt = ts.UTC()
	}
	if ts, ok := t.Expiration(); ok {
		c.Expiration = ts.UTC()
	}
	for _, name := range t.Keys() {
		switch name {
		case jwt.SubjectKey, jwt.IssuerKey, jwt.AudienceKey, jwt.IssuedAtKey, jwt.ExpirationKey, jwt.NotBeforeKey, jwt.JwtIDKey:
			continue
		}
		var val any
		if err := t.Get(name, &val); err != nil {
			return nil, invalid("claim %s: %v", name, err)
		}
		switch name {
		case "session_id":
			c.SessionID, _ = val.(string)
		case "username":
			c.Username, _ = val.(string)
		case "email":
			// Re-decode through JSON: the claim arrives as map[string]any.
			b, err := json.Marshal(val)
			if err != nil {
				return nil, invalid("email claim: %v", err)
			}
			var e struct {
				Address    string `json:"address"`
				IsPrimary  bool   `json:"is_primary"`
				IsVerified bool   `json:"is_verified"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, invalid("email claim: %v", err)
			}
			c.Email = &Email{Address: e.Address, IsPrimary: e.IsPrimary, IsVerified: e.IsVerified}
		default:
			if c.Custom == nil {
				c.Custom = map[string]any{}
			}
			c.Custom[name] = val
		}
	}
	return c, nil
}

// key returns the public key named kid. A cached key is used while the key
// set is younger than MaxAge; an older set is refreshed (by one caller; the
// others keep using the cache, as do all when the refresh fails). An
// unknown kid triggers a fetch, rate-limited by MinRefreshInterval.
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, error) {
	v.mu.RLock()
	k, fresh := v.keys[kid], v.now().Sub(v.fetched) < v.o.MaxAge
	v.mu.RUnlock()

	if k != nil {
		if fresh || !v.fetchMu.TryLock() {
			return k, nil
		}
		defer v.fetchMu.Unlock()
		if err := v.refreshLocked(ctx); err != nil {
			return k, nil // endpoint down or rate-limited: keep the cached key
		}
		v.mu.RLock()
		k = v.keys[kid]
		v.mu.RUnlock()
		if k == nil {
			return nil, invalid("key %q no longer published", kid)
		}
		return k, nil
	}

	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.RLock()
	k = v.keys[kid] // another caller may have fetched it meanwhile
	v.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	err := v.refreshLocked(ctx)
	v.mu.RLock()
	k, have := v.keys[kid], v.keys != nil
	v.mu.RUnlock()
	if err != nil && !have {
		return nil, err // no key set at all
	}
	if k == nil {
		if err != nil {
			return nil, invalid("unknown key id %q (key set not fetched again: %v)", kid, err)
		}
		return nil, invalid("unknown key id %q", kid)
	}
	return k, nil
}

// refreshLocked fetches the key set unless the last attempt was less than
// MinRefreshInterval ago. The caller holds fetchMu.
func (v *Verifier) refreshLocked(ctx context.Context) error {
	now := v.now()
	if !v.tried.IsZero() && now.Sub(v.tried) < v.o.MinRefreshInterval {
		return fmt.Errorf("%w: last fetch attempt less than %v ago", ErrKeysUnavailable, v.o.MinRefreshInterval)
	}
	v.tried = now
	keys, err := v.fetch(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	v.mu.Lock()
	v.keys, v.fetched = keys, now
	v.mu.Unlock()
	return nil
}

// get fetches url with Options.HTTPClient (Accept: application/json) and
// returns at most limit bytes of its body; an error for a transport
// failure, a status other than 200, or a read error. The JWKS and the
// revocation list are both read through it.
func (v *Verifier) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.o.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// fetch downloads and parses the JWK Set, keeping public signature keys
// with a "kid" ("use" absent or "sig"; symmetric keys dropped).
func (v *Verifier) fetch(ctx context.Context) (map[string]jwk.Key, error) {
	body, err := v.get(ctx, v.o.JWKSURL, maxJWKSBytes)
	if err != nil {
		return nil, err
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parsing JWK set: %w", err)
	}
	keys := make(map[string]jwk.Key, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		if use, ok := k.KeyUsage(); kid == "" || (ok && use != "sig") {
			continue
		}
		if _, ok := allowedKeyTypes[k.KeyType()]; !ok {
			continue
		}
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			continue
		}
		keys[kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("JWK set holds no usable signature key")
	}
	return keys, nil
}

var allowedKeyTypes = map[jwa.KeyType]struct{}{jwa.RSA(): {}, jwa.EC(): {}, jwa.OKP(): {}}

type ctxKey struct{}

// ClaimsFromContext returns the claims [Verifier.Middleware] stored in ctx.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// Middleware lets a request through to next only with a valid session JWT,
// taken as in Hanko's own session middleware (docs/compatibility.md "Authentication"): the
// "Authorization: Bearer <jwt>" header (scheme case-insensitive), else the
// session cookie (Options.CookieName); an invalid header does not hide a
// valid cookie. The claims are put in the request context
// ([ClaimsFromContext]). Any failure, including an unreachable JWKS, is
// answered 401 with {"code":401,"message":"Unauthorized"} and
// "WWW-Authenticate: Bearer" (RFC 6750 §3).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var candidates []string
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			candidates = append(candidates, strings.TrimSpace(h[7:]))
		}
		if ck, err := r.Cookie(v.o.CookieName); err == nil && ck.Value != "" {
			candidates = append(candidates, ck.Value)
		}
		for _, tok := range candidates {
			if c, err := v.Verify(r.Context(), tok); err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":401,"message":"Unauthorized"}`)
	})
}
