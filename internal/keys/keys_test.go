package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
)

// memStore is an in-memory keys.Store. internal/store (and internal/dbtest)
// did not exist yet when this package was written; once they do, these
// tests should run on dbtest.Open(t, "sqlite") instead.
type memStore struct {
	mu   sync.Mutex
	rows []inkan.SigningKey
}

func (s *memStore) ListSigningKeys(context.Context) ([]inkan.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]inkan.SigningKey, len(s.rows))
	for i, r := range s.rows {
		r.KeyData = bytes.Clone(r.KeyData)
		out[i] = r
	}
	return out, nil
}

func (s *memStore) InsertSigningKey(_ context.Context, k inkan.SigningKey) (inkan.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.KID == k.KID {
			return inkan.SigningKey{}, inkan.ErrConflict
		}
	}
	k.ID = int64(len(s.rows) + 1)
	k.KeyData = bytes.Clone(k.KeyData)
	s.rows = append(s.rows, k)
	return k, nil
}

const (
	secretA = "first-secret-0123456789"
	secretB = "second-secret-0123456789"
)

func newClock() *clocktest.Clock { return clocktest.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) }

func newManager(t testing.TB, st keys.Store, o keys.Options, now func() time.Time) *keys.Manager {
	t.Helper()
	m, err := keys.New(context.Background(), st, o, now)
	if err != nil {
		t.Fatalf("keys.New: %v", err)
	}
	return m
}

func kidOf(t testing.TB, k jwk.Key) string {
	t.Helper()
	kid, ok := k.KeyID()
	if !ok || kid == "" {
		t.Fatal("key has no kid")
	}
	return kid
}

func TestKeyGeneratedOnceAndReused(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	m1 := newManager(t, st, keys.Options{Secrets: []string{secretA}}, nil)
	k1, err := m1.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newManager(t, st, keys.Options{Secrets: []string{secretA}}, nil)
	k2, err := m2.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, k1) != kidOf(t, k2) {
		t.Fatalf("second New generated another key: %s vs %s", kidOf(t, k1), kidOf(t, k2))
	}
	if len(st.rows) != 1 {
		t.Fatalf("want 1 stored key, got %d", len(st.rows))
	}
	row := st.rows[0]
	if row.KID != kidOf(t, k1) || row.Algorithm != "RS256" || row.CreatedAt.IsZero() {
		t.Fatalf("row = %+v", row)
	}
	if alg, _ := k1.Algorithm(); alg.String() != "RS256" {
		t.Fatalf("alg = %v", alg)
	}
	if priv, err := jwk.IsPrivateKey(k1); err != nil || !priv {
		t.Fatal("SigningKey is not a private key")
	}
}

func TestKeyDataIsSealed(t *testing.T) {
	st := &memStore{}
	newManager(t, st, keys.Options{Secrets: []string{secretA}}, nil)
	data := st.rows[0].KeyData
	for _, clear := range []string{`"d"`, `"kty"`, st.rows[0].KID} {
		if bytes.Contains(data, []byte(clear)) {
			t.Fatalf("stored key data contains %s in the clear", clear)
		}
	}
	if json.Valid(data) {
		t.Fatal("stored key data is JSON")
	}
	// nonce(12) + at least a JWK + tag(16)
	if len(data) < 12+16+100 {
		t.Fatalf("stored key data too short: %d bytes", len(data))
	}
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	m := newManager(t, st, keys.Options{Secrets: []string{secretA}}, nil)
	k, _ := m.SigningKey(ctx)

	_, err := keys.New(ctx, st, keys.Options{Secrets: []string{secretB}}, nil)
	if !errors.Is(err, keys.ErrUndecryptable) {
		t.Fatalf("wrong secret: err = %v, want ErrUndecryptable", err)
	}

	// secretB encrypts new keys, secretA still opens the old one.
	m2 := newManager(t, st, keys.Options{Secrets: []string{secretB, secretA}}, nil)
	k2, err := m2.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, k) != kidOf(t, k2) {
		t.Fatal("decryption with the second secret did not load the stored key")
	}
	if _, err := m2.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.New(ctx, st, keys.Options{Secrets: []string{secretA}}, nil); !errors.Is(err, keys.ErrUndecryptable) {
		t.Fatalf("key sealed under secretB opened with secretA only: err = %v", err)
	}
	if _, err := keys.New(ctx, st, keys.Options{Secrets: []string{secretB}}, nil); !errors.Is(err, keys.ErrUndecryptable) {
		t.Fatalf("key sealed under secretA opened with secretB only: err = %v", err)
	}

	for _, o := range []keys.Options{
		{},
		{Secrets: []string{"short"}},
		{Secrets: []string{secretA}, Algorithm: "HS256"},
		{Secrets: []string{secretA}, Algorithm: "none"},
		{Secrets: []string{secretA}, RSABits: 1024},
	} {
		if _, err := keys.New(ctx, &memStore{}, o, nil); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		}
	}
}

func TestAlgorithmsSignAndVerify(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, &memStore{}, keys.Options{Secrets: []string{secretA}, Algorithm: alg}, nil)
			signed := sign(t, m)
			if _, err := verify(t, m, signed); err != nil {
				t.Fatalf("verify: %v", err)
			}

			raw, err := m.JWKS(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Keys) != 1 {
				t.Fatalf("JWKS has %d keys", len(doc.Keys))
			}
			k := doc.Keys[0]
			if k["alg"] != alg || k["use"] != "sig" || k["kid"] == nil || k["kty"] == nil {
				t.Fatalf("JWKS entry = %v", k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Fatalf("JWKS entry publishes private parameter %q", private)
				}
			}
			// The published set parses and verifies the token.
			set, err := jwk.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jwt.Parse(signed, jwt.WithKeySet(set), jwt.WithValidate(false)); err != nil {
				t.Fatalf("token does not verify against JWKS: %v", err)
			}
		})
	}
}

func sign(t testing.TB, m *keys.Manager) []byte {
	t.Helper()
	k, err := m.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := k.Algorithm()
	tok, err := jwt.NewBuilder().Subject("s").Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, k))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func verify(t testing.TB, m *keys.Manager, signed []byte) (jwt.Token, error) {
	t.Helper()
	set, err := m.PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return jwt.Parse(signed, jwt.WithKeySet(set), jwt.WithValidate(false))
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const window, refresh = time.Hour, 2 * time.Minute
	st := &memStore{}
	o := keys.Options{Secrets: []string{secretA}, Algorithm: "ES256", VerificationWindow: window, RefreshInterval: refresh}
	m := newManager(t, st, o, clk.Now)
	other := newManager(t, st, o, clk.Now) // a second node
	k1, _ := m.SigningKey(ctx)
	tok1 := sign(t, m)

	clk.Advance(time.Minute)
	row, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := m.SigningKey(ctx)
	if kidOf(t, k2) != row.KID || kidOf(t, k2) == kidOf(t, k1) {
		t.Fatal("rotated key is not the signing key")
	}
	tok2 := sign(t, m)
	for i, tok := range [][]byte{tok1, tok2} {
		if _, err := verify(t, m, tok); err != nil {
			t.Fatalf("token %d: %v", i+1, err)
		}
	}

	// The other node still signs with key 1 until it refreshes (the injected
	// clock has not moved past its refresh interval), then follows.
	if k, _ := other.SigningKey(ctx); kidOf(t, k) != kidOf(t, k1) {
		t.Fatal("other node refreshed before its interval")
	}
	if _, err := verify(t, other, tok2); err == nil {
		t.Fatal("other node knows key 2 before refreshing")
	}
	if err := other.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := other.SigningKey(ctx); kidOf(t, k) != kidOf(t, k2) {
		t.Fatal("other node did not pick up the rotation on Refresh")
	}
	if _, err := verify(t, other, tok2); err != nil {
		t.Fatalf("other node rejects key 2 after Refresh: %v", err)
	}

	infos, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []keys.KeyInfo{
		{KID: kidOf(t, k1), Algorithm: "ES256", CreatedAt: clk.Now().Add(-time.Minute), Signing: false, Published: true},
		{KID: kidOf(t, k2), Algorithm: "ES256", CreatedAt: clk.Now(), Signing: true, Published: true},
	}
	if !slices.Equal(infos, want) {
		t.Fatalf("List = %+v\nwant %+v", infos, want)
	}

	// Just before the end of the window (+ refresh interval) key 1 verifies,
	// at the end it is gone from PublicKeys, JWKS and List.
	clk.Advance(window + refresh - time.Nanosecond)
	if _, err := verify(t, m, tok1); err != nil {
		t.Fatalf("key 1 left before the window ended: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := verify(t, m, tok1); err == nil {
		t.Fatal("key 1 still verifies after the window")
	}
	if _, err := verify(t, m, tok2); err != nil {
		t.Fatalf("key 2: %v", err)
	}
	set, _ := m.PublicKeys(ctx)
	if set.Len() != 1 {
		t.Fatalf("PublicKeys has %d keys after the window", set.Len())
	}
	if raw, _ := m.JWKS(ctx); bytes.Contains(raw, []byte(kidOf(t, k1))) {
		t.Fatal("JWKS still lists key 1")
	}
	infos, _ = m.List(ctx)
	if infos[0].Published || !infos[1].Published {
		t.Fatalf("List after window = %+v", infos)
	}
}

func TestZeroWindowKeepsEveryKey(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newManager(t, &memStore{}, keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA"}, clk.Now)
	tok1 := sign(t, m)
	if _, err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * 365 * 24 * time.Hour)
	if _, err := verify(t, m, tok1); err != nil {
		t.Fatalf("window 0 dropped a retired key: %v", err)
	}
}

func TestPeriodicRefresh(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := &memStore{}
	o := keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA", RefreshInterval: 10 * time.Second}
	a := newManager(t, st, o, clk.Now)
	b := newManager(t, st, o, clk.Now)
	row, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	k, err := b.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, k) != row.KID {
		t.Fatal("node b did not reload after its refresh interval")
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, &memStore{}, keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA", RefreshInterval: time.Nanosecond}, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if i == 0 {
					if _, err := m.Rotate(ctx); err != nil {
						t.Error(err)
					}
				}
				if _, err := m.SigningKey(ctx); err != nil {
					t.Error(err)
				}
				if _, err := m.JWKS(ctx); err != nil {
					t.Error(err)
				}
				if err := m.Refresh(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	infos, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 21 || !infos[20].Signing {
		t.Fatalf("List after concurrent rotations: %d keys", len(infos))
	}
}
