package session_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
)

const secret = "session-test-secret-0123456789"

type fixture struct {
	st   *store.Store
	clk  *clocktest.Clock
	keys *keys.Manager
	m    *session.Manager
}

func setup(t testing.TB, alg string, o session.Options) *fixture {
	t.Helper()
	f := &fixture{st: dbtest.Open(t, "sqlite"), clk: clocktest.New(time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC))}
	var err error
	f.keys, err = keys.New(context.Background(), f.st, keys.Options{Secrets: []string{secret}, Algorithm: alg}, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.m = session.New(f.st, f.keys, o, f.clk.Now)
	return f
}

// newUser stores a user with a primary email and returns its ID: session
// rows reference users.
func (f *fixture) newUser(t testing.TB) uuid.UUID {
	t.Helper()
	now := f.clk.Now()
	u := inkan.User{ID: uuid.New(), CreatedAt: now, UpdatedAt: now}
	e := inkan.Email{ID: uuid.New(), UserID: u.ID, Address: u.ID.String() + "@example.com", Verified: true, CreatedAt: now, UpdatedAt: now}
	if _, err := f.st.CreateUser(context.Background(), u, e); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (f *fixture) issue(t testing.TB, user uuid.UUID) (string, session.Claims) {
	t.Helper()
	tok, c, err := f.m.Issue(context.Background(), user, nil, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

// mustReject asserts err is a 401 (docs/compatibility.md "Authentication").
func mustReject(t testing.TB, what string, _ session.Claims, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	if k := inkan.KindOf(err); k != inkan.KindUnauthorized {
		t.Fatalf("%s: kind %v (%v), want unauthorized", what, k, err)
	}
	t.Logf("%s: %v", what, err)
	if inkan.MessageOf(err) != "" {
		t.Fatalf("%s: client message %q leaks the cause", what, inkan.MessageOf(err))
	}
}

func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueAndVerify(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "RS256", session.Options{
		Lifespan: time.Hour, Audience: []string{"example.com"}, Issuer: "https://auth.example.com",
		AcquireIPAddress: true, AcquireUserAgent: true,
	})
	user := f.newUser(t)
	email := &inkan.Email{Address: "a@example.com", Primary: true, Verified: true}
	tok, c, err := f.m.Issue(ctx, user, email, session.Meta{IPAddress: "192.0.2.1", UserAgent: "UA/1"})
	if err != nil {
		t.Fatal(err)
	}
	issuedAt := f.clk.Now()

	// docs/compatibility.md "Session tokens" wire format.
	signing, _ := f.keys.SigningKey(ctx)
	kid, _ := signing.KeyID()
	if h := segment(t, tok, 0); !reflect.DeepEqual(h, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}) {
		t.Fatalf("header = %v", h)
	}
	p := segment(t, tok, 1)
	want := map[string]any{
		"sub":        user.String(),
		"iat":        float64(issuedAt.Unix()),
		"exp":        float64(issuedAt.Add(time.Hour).Unix()),
		"aud":        []any{"example.com"},
		"iss":        "https://auth.example.com",
		"session_id": c.SessionID.String(),
		"email":      map[string]any{"address": "a@example.com", "is_primary": true, "is_verified": true},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("payload = %v\nwant %v", p, want)
	}
	if c.SessionID.Version() != 4 {
		t.Fatalf("session id %s is not a v4 UUID", c.SessionID)
	}

	row, err := f.st.GetSession(ctx, c.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	wantRow := inkan.Session{ID: c.SessionID, UserID: user, UserAgent: "UA/1", IPAddress: "192.0.2.1",
		CreatedAt: issuedAt, UpdatedAt: issuedAt, LastUsed: issuedAt, ExpiresAt: issuedAt.Add(time.Hour), EndsAt: issuedAt.Add(time.Hour)}
	if !reflect.DeepEqual(row, wantRow) {
		t.Fatalf("row = %+v\nwant %+v", row, wantRow)
	}

	// Peek does not touch last_used; Verify does.
	f.clk.Advance(time.Minute)
	got, err := f.m.Peek(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("Peek claims = %+v\nIssue claims = %+v", got, c)
	}
	if row, _ := f.st.GetSession(ctx, c.SessionID); !row.LastUsed.Equal(issuedAt) {
		t.Fatal("Peek touched last_used")
	}
	got, err = f.m.Verify(ctx, " "+tok) // a leading space is tolerated (docs/compatibility.md "Authentication")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("Verify claims = %+v\nIssue claims = %+v", got, c)
	}
	if row, _ := f.st.GetSession(ctx, c.SessionID); !row.LastUsed.Equal(f.clk.Now()) {
		t.Fatal("Verify did not touch last_used")
	}
}

func TestOptionalClaimsAndMeta(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "ES256", session.Options{})
	long := strings.Repeat("ü", 600) // 1200 bytes
	tok, c, err := f.m.Issue(ctx, f.newUser(t), nil, session.Meta{IPAddress: "192.0.2.1", UserAgent: long})
	if err != nil {
		t.Fatal(err)
	}
	p := segment(t, tok, 1)
	for _, k := range []string{"iss", "email", "aud"} {
		if _, ok := p[k]; ok {
			t.Errorf("claim %q present: %v", k, p[k])
		}
	}
	if exp := p["exp"].(float64) - p["iat"].(float64); exp != (12 * time.Hour).Seconds() {
		t.Errorf("default lifespan = %vs", exp)
	}
	row, _ := f.st.GetSession(ctx, c.SessionID)
	if row.IPAddress != "" || row.UserAgent != "" {
		t.Errorf("meta stored without Acquire flags: %+v", row)
	}

	f.m = session.New(f.st, f.keys, session.Options{AcquireUserAgent: true}, f.clk.Now)
	_, c, err = f.m.Issue(ctx, f.newUser(t), nil, session.Meta{UserAgent: long})
	if err != nil {
		t.Fatal(err)
	}
	row, _ = f.st.GetSession(ctx, c.SessionID)
	if len(row.UserAgent) != 1024 || !utf8.ValidString(row.UserAgent) || !strings.HasPrefix(long, row.UserAgent) {
		t.Errorf("user agent stored as %d bytes, valid UTF-8 %v", len(row.UserAgent), utf8.ValidString(row.UserAgent))
	}
	f.m = session.New(f.st, f.keys, session.Options{AcquireUserAgent: true}, f.clk.Now)
	_, c, _ = f.m.Issue(ctx, f.newUser(t), nil, session.Meta{UserAgent: "x" + long})
	row, _ = f.st.GetSession(ctx, c.SessionID)
	if len(row.UserAgent) != 1023 || !utf8.ValidString(row.UserAgent) {
		t.Errorf("odd-offset user agent stored as %d bytes", len(row.UserAgent))
	}
}

func TestEveryAlgorithm(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := setup(t, alg, session.Options{})
			tok, _ := f.issue(t, f.newUser(t))
			if h := segment(t, tok, 0); h["alg"] != alg {
				t.Fatalf("header alg = %v", h["alg"])
			}
			if _, err := f.m.Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{Lifespan: time.Hour})
	tok, c := f.issue(t, f.newUser(t))
	// exp is a whole second; the token is valid strictly before it.
	f.clk.Advance(c.Expiration.Sub(f.clk.Now()) - time.Nanosecond)
	if _, err := f.m.Peek(ctx, tok); err != nil {
		t.Fatalf("just before exp: %v", err)
	}
	f.clk.Advance(time.Nanosecond)
	c2, err := f.m.Verify(ctx, tok)
	mustReject(t, "at exp", c2, err)
}

func TestIssuedInTheFuture(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{})
	tok, _ := f.issue(t, f.newUser(t))
	f.clk.Advance(-time.Second) // no leeway for iat
	c, err := f.m.Verify(ctx, tok)
	mustReject(t, "iat in the future", c, err)
}

func TestForgedTokens(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "RS256", session.Options{})
	user := f.newUser(t)
	tok, c := f.issue(t, user)
	parts := strings.Split(tok, ".")
	hdr := segment(t, tok, 0)
	kid := hdr["kid"].(string)

	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	hs256 := func(header, payload string, key []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(header + "." + payload))
		return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}

	// A key of another deployment, same store, so the session row exists.
	otherKeys, err := keys.New(ctx, dbtest.Open(t, "sqlite"), keys.Options{Secrets: []string{secret}}, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	other := session.New(f.st, otherKeys, session.Options{}, f.clk.Now)
	otherTok, _, err := other.Issue(ctx, user, nil, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	shared, _ := otherKeys.SigningKey(ctx)
	otherKey, err := shared.Clone() // SigningKey's result must not be modified
	if err != nil {
		t.Fatal(err)
	}
	if err := otherKey.Set("kid", kid); err != nil { // same kid as ours, wrong key
		t.Fatal(err)
	}
	claims := segment(t, tok, 1)
	jt := jwt.New()
	for k, v := range claims {
		_ = jt.Set(k, v)
	}
	otherAlg, _ := otherKey.Algorithm()
	sameKid, err := jwt.Sign(jt, jwt.WithKey(otherAlg, otherKey))
	if err != nil {
		t.Fatal(err)
	}

	jwks, _ := f.keys.JWKS(ctx)

	tampered := map[string]any{}
	for k, v := range claims {
		tampered[k] = v
	}
	tampered["sub"] = uuid.NewString()

	cases := map[string]string{
		"empty":                      "",
		"garbage":                    "not.a.jwt",
		"two parts":                  parts[0] + "." + parts[1],
		"other deployment key":       otherTok,
		"other key with our kid":     string(sameKid),
		"alg none":                   enc(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + parts[1] + ".",
		"alg none keeping signature": enc(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + parts[1] + "." + parts[2],
		"HS256 with JWKS as secret":  hs256(enc(map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}), parts[1], jwks),
		"HS256 with n as secret":     hs256(enc(map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}), parts[1], publicN(t, jwks)),
		"RS512 header":               enc(map[string]any{"alg": "RS512", "kid": kid, "typ": "JWT"}) + "." + parts[1] + "." + parts[2],
		"no kid":                     enc(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + parts[1] + "." + parts[2],
		"tampered payload":           parts[0] + "." + enc(tampered) + "." + parts[2],
		"tampered signature":         parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"JSON serialization":         `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
	}
	for name, forged := range cases {
		c, err := f.m.Verify(ctx, forged)
		mustReject(t, name, c, err)
	}
	// The genuine token still works and its row was never touched by the forgeries.
	if got, err := f.m.Verify(ctx, tok); err != nil || got.SessionID != c.SessionID {
		t.Fatalf("genuine token: %v", err)
	}
}

// publicN returns the RSA modulus of the first JWKS key, base64url-decoded.
func publicN(t testing.TB, jwks []byte) []byte {
	t.Helper()
	var doc struct {
		Keys []struct {
			N string `json:"n"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &doc); err != nil || len(doc.Keys) == 0 {
		t.Fatalf("JWKS: %v", err)
	}
	n, err := base64.RawURLEncoding.DecodeString(doc.Keys[0].N)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// flip changes the first character of a base64url segment.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// signClaims signs arbitrary claims with the deployment's own signing key,
// to reach the checks behind the signature.
func signClaims(t testing.TB, f *fixture, claims map[string]any) string {
	t.Helper()
	k, err := f.keys.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := k.Algorithm()
	jt := jwt.New()
	for name, v := range claims {
		if err := jt.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := jwt.Sign(jt, jwt.WithKey(alg, k))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSessionRowChecks(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{})
	user := f.newUser(t)
	_, c := f.issue(t, user)
	now := f.clk.Now()
	base := func(mod func(map[string]any)) string {
		m := map[string]any{"sub": user.String(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "session_id": c.SessionID.String()}
		mod(m)
		return signClaims(t, f, m)
	}
	if _, err := f.m.Verify(ctx, base(func(map[string]any) {})); err != nil {
		t.Fatalf("control token: %v", err)
	}
	cases := map[string]string{
		"unknown session_id":  base(func(m map[string]any) { m["session_id"] = uuid.NewString() }),
		"non-UUID session_id": base(func(m map[string]any) { m["session_id"] = "abc" }),
		"numeric session_id":  base(func(m map[string]any) { m["session_id"] = 7 }),
		"no session_id":       base(func(m map[string]any) { delete(m, "session_id") }),
		"sub of another user": base(func(m map[string]any) { m["sub"] = uuid.NewString() }),
		"non-UUID sub":        base(func(m map[string]any) { m["sub"] = "admin" }),
		"no sub":              base(func(m map[string]any) { delete(m, "sub") }),
		"no exp":              base(func(m map[string]any) { delete(m, "exp") }),
		"no iat":              base(func(m map[string]any) { delete(m, "iat") }),
	}
	for name, tok := range cases {
		got, err := f.m.Verify(ctx, tok)
		mustReject(t, name, got, err)
	}
	// The row expires (12h) before a token claiming a later exp.
	late := base(func(m map[string]any) { m["exp"] = now.Add(24 * time.Hour).Unix() })
	f.clk.Advance(12*time.Hour + time.Second)
	got, err := f.m.Verify(ctx, late)
	mustReject(t, "exp beyond the row's", got, err)
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{})
	tok, c := f.issue(t, f.newUser(t))
	if err := f.m.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := f.m.Verify(ctx, tok)
	mustReject(t, "revoked", got, err)
	got, err = f.m.Peek(ctx, tok)
	mustReject(t, "revoked (peek)", got, err)
	if err := f.m.Logout(ctx, c); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{IdleTimeout: 10 * time.Minute})
	tok, c := f.issue(t, f.newUser(t))
	f.clk.Advance(6 * time.Minute)
	if _, err := f.m.Verify(ctx, tok); err != nil { // touches: idle clock restarts
		t.Fatal(err)
	}
	f.clk.Advance(10 * time.Minute) // exactly the timeout: still fine
	if _, err := f.m.Peek(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second) // Peek did not touch: now idle
	got, err := f.m.Verify(ctx, tok)
	mustReject(t, "idle", got, err)
	if _, err := f.st.GetSession(ctx, c.SessionID); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("idle session row not deleted: %v", err)
	}
	// The deletion is recorded with it (webhook session.delete.passive.expire).
	evs, err := f.st.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var expired int
	for _, e := range evs {
		if e.Type == inkan.EventSessionExpired && e.Details["session_id"] == c.SessionID.String() && e.Details["reason"] == "idle" {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("%d session_expired {reason: idle} events for the idle session, want 1: %+v", expired, evs)
	}
	// A second request with the token finds no row and records nothing more.
	got, err = f.m.Verify(ctx, tok)
	mustReject(t, "idle, again", got, err)
	if again, _ := f.st.Events(ctx, 0, 100); len(again) != len(evs) {
		t.Fatalf("events after a second idle request: %d, want %d", len(again), len(evs))
	}
}

func TestLimitEviction(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "EdDSA", session.Options{Limit: 2})
	user, bystander := f.newUser(t), f.newUser(t)
	tokB, _ := f.issue(t, bystander)
	var toks []string
	for range 3 {
		tok, _ := f.issue(t, user)
		toks = append(toks, tok)
		f.clk.Advance(time.Second)
	}
	got, err := f.m.Verify(ctx, toks[0])
	mustReject(t, "evicted oldest", got, err)
	for i, tok := range append(toks[1:], tokB) {
		if _, err := f.m.Verify(ctx, tok); err != nil {
			t.Fatalf("token %d: %v", i+1, err)
		}
	}
}

func TestRotationOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "ES256", session.Options{})
	old, _ := f.issue(t, f.newUser(t))
	// Node B shares the store, rotates and issues with the new key.
	keysB, err := keys.New(ctx, f.st, keys.Options{Secrets: []string{secret}, Algorithm: "ES256", VerificationWindow: time.Hour}, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keysB.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	b := session.New(f.st, keysB, session.Options{}, f.clk.Now)
	fresh, _, err := b.Issue(ctx, f.newUser(t), nil, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	// Node A has not reached its refresh interval, but its keys are older
	// than keys.MinRefreshInterval: the unknown kid triggers a reload.
	f.clk.Advance(keys.MinRefreshInterval)
	for _, tok := range []string{fresh, old} {
		if _, err := f.m.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			// One user at the default limit: each Issue also evicts the
			// user's oldest session, as a busy account does.
			f := setup(b, alg, session.Options{})
			user := f.newUser(b)
			email := &inkan.Email{Address: "a@example.com", Primary: true, Verified: true}
			ctx := context.Background()
			for b.Loop() {
				if _, _, err := f.m.Issue(ctx, user, email, session.Meta{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			f := setup(b, alg, session.Options{})
			email := &inkan.Email{Address: "a@example.com", Primary: true, Verified: true}
			ctx := context.Background()
			tok, _, err := f.m.Issue(ctx, f.newUser(b), email, session.Meta{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := f.m.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAudienceAndIssuerChecked: a token signed with our key and backed by
// our session row, but naming another audience or issuer (another
// deployment sharing the key, or our configuration changed), is refused
// (RFC 7519 §4.1.1, §4.1.3); one naming any configured audience passes.
func TestAudienceAndIssuerChecked(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "ES256", session.Options{Audience: []string{"app.example", "api.example"}, Issuer: "https://login.example"})
	issuer := func(o session.Options) string {
		t.Helper()
		tok, _, err := session.New(f.st, f.keys, o, f.clk.Now).Issue(ctx, f.newUser(t), nil, session.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, o := range map[string]session.Options{
		"another audience": {Audience: []string{"other.example"}, Issuer: "https://login.example"},
		"no audience":      {Issuer: "https://login.example"},
		"another issuer":   {Audience: []string{"app.example"}, Issuer: "https://evil.example"},
		"no issuer":        {Audience: []string{"app.example"}},
	} {
		c, err := f.m.Verify(ctx, issuer(o))
		mustReject(t, name, c, err)
	}
	for name, o := range map[string]session.Options{
		"all audiences": {Audience: []string{"app.example", "api.example"}, Issuer: "https://login.example"},
		"one audience":  {Audience: []string{"api.example"}, Issuer: "https://login.example"},
	} {
		if _, err := f.m.Verify(ctx, issuer(o)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestTouchResolution checks that Verify writes last_used only when the
// stored value is at least session.TouchResolution old (a tenth of a
// shorter idle_timeout), and that idle_timeout then errs early by at most
// that resolution, never late.
func TestTouchResolution(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		idle, res time.Duration
	}{{0, session.TouchResolution}, {time.Hour, session.TouchResolution}, {5 * time.Minute, 30 * time.Second}} {
		f := setup(t, "EdDSA", session.Options{IdleTimeout: c.idle})
		tok, claims := f.issue(t, f.newUser(t))
		lastUsed := func() time.Time {
			row, err := f.st.GetSession(ctx, claims.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			return row.LastUsed
		}
		written := f.clk.Now()
		f.clk.Advance(c.res - time.Second)
		if _, err := f.m.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(written) {
			t.Fatalf("idle %v: Verify %v after the last write wrote last_used = %v", c.idle, c.res-time.Second, got)
		}
		f.clk.Advance(time.Second)
		if _, err := f.m.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(f.clk.Now()) {
			t.Fatalf("idle %v: Verify %v after the last write left last_used = %v", c.idle, c.res, got)
		}
		if c.idle == 0 {
			continue
		}
		// Used just before the resolution runs out (not written), then
		// silent: the session ends idle_timeout after the last write,
		// which is less than the resolution before idle_timeout after the
		// last use.
		written = f.clk.Now()
		f.clk.Advance(c.res - time.Second)
		if _, err := f.m.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		f.clk.Set(written.Add(c.idle))
		if _, err := f.m.Peek(ctx, tok); err != nil {
			t.Fatalf("idle %v: rejected at exactly idle_timeout after the last write: %v", c.idle, err)
		}
		f.clk.Advance(time.Second)
		got, err := f.m.Verify(ctx, tok)
		mustReject(t, "idle after the resolution", got, err)
	}
}
