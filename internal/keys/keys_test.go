package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/clocktest"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/store"
)

// newStore returns a migrated SQLite store in the test's temporary
// directory: the real keys.Store.
func newStore(t testing.TB) *store.Store { return dbtest.Open(t, "sqlite") }

// storedKeys lists the rows the Manager wrote, through the store.
func storedKeys(t testing.TB, st *store.Store) []inkan.SigningKey {
	t.Helper()
	rows, err := st.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
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
	st := newStore(t)
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
	rows := storedKeys(t, st)
	if len(rows) != 1 {
		t.Fatalf("want 1 stored key, got %d", len(rows))
	}
	row := rows[0]
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
	st := newStore(t)
	newManager(t, st, keys.Options{Secrets: []string{secretA}}, nil)
	rows := storedKeys(t, st)
	if len(rows) != 1 {
		t.Fatalf("want 1 stored key, got %d", len(rows))
	}
	data := rows[0].KeyData
	for _, clear := range []string{`"d"`, `"kty"`, rows[0].KID} {
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
	st := newStore(t)
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
	// Starting with [B, A] re-sealed the old key under B: A is retired.
	if _, err := keys.New(ctx, st, keys.Options{Secrets: []string{secretA}}, nil); !errors.Is(err, keys.ErrUndecryptable) {
		t.Fatalf("keys sealed under secretB opened with secretA only: err = %v", err)
	}
	m3, err := keys.New(ctx, st, keys.Options{Secrets: []string{secretB}}, nil)
	if err != nil {
		t.Fatalf("secretA removed after one start with [B, A]: %v", err)
	}
	if infos, _ := m3.List(ctx); len(infos) != 2 || infos[0].KID != kidOf(t, k) {
		t.Fatalf("keys after retiring secretA: %+v", infos)
	}

	bare := newStore(t) // New must reject the options before using the store
	for _, o := range []keys.Options{
		{},
		{Secrets: []string{"short"}},
		{Secrets: []string{secretA}, Algorithm: "HS256"},
		{Secrets: []string{secretA}, Algorithm: "none"},
		{Secrets: []string{secretA}, RSABits: 1024},
	} {
		if _, err := keys.New(ctx, bare, o, nil); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		}
	}
}

func TestAlgorithmsSignAndVerify(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			m := newManager(t, newStore(t), keys.Options{Secrets: []string{secretA}, Algorithm: alg}, nil)
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
	st := newStore(t)
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
	m := newManager(t, newStore(t), keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA"}, clk.Now)
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
	st := newStore(t)
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
	m := newManager(t, newStore(t), keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA", RefreshInterval: time.Nanosecond}, nil)
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

// countingStore is the real store, instrumented: it counts ListSigningKeys
// calls (each is one reload of the Manager's cache).
type countingStore struct {
	*store.Store
	lists atomic.Int64
}

func (s *countingStore) ListSigningKeys(ctx context.Context) ([]inkan.SigningKey, error) {
	s.lists.Add(1)
	return s.Store.ListSigningKeys(ctx)
}

func TestRefreshAtMostOncePerMinInterval(t *testing.T) {
	ctx := context.Background()
	clk := newClock() // frozen unless advanced: only the wait paces Refresh
	st := &countingStore{Store: newStore(t)}
	start := time.Now() // before New's own load
	// A long RefreshInterval: only Refresh reloads in this test.
	m := newManager(t, st, keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA", RefreshInterval: time.Hour}, clk.Now)
	base := st.lists.Load()

	// Sooner than MinRefreshInterval a caller waits; when its context ends
	// first it gives up without touching the store.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		if err := m.Refresh(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("Refresh right after load with a cancelled context: %v, want context.Canceled", err)
		}
	}
	if n := st.lists.Load() - base; n != 0 {
		t.Fatalf("Refresh right after load: %d reloads, want 0", n)
	}

	// 8 callers × 3 rounds of Refresh: a reload per call would be 24 store
	// reads; the limit allows one per MinRefreshInterval of wall time.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				if err := m.Refresh(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := st.lists.Load() - base
	if limit := int64(elapsed / keys.MinRefreshInterval); n < 1 || n > limit {
		t.Fatalf("24 Refresh calls in %v: %d reloads, want 1 to %d (one per %v)", elapsed, n, limit, keys.MinRefreshInterval)
	}
	t.Logf("24 Refresh calls in %v: %d reloads", elapsed, n)

	// Once MinRefreshInterval has passed since the last load, one Refresh
	// reloads once and picks up a rotation by another node.
	other := newManager(t, st.Store, keys.Options{Secrets: []string{secretA}, Algorithm: "EdDSA"}, clk.Now)
	row, err := other.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(keys.MinRefreshInterval)
	before := st.lists.Load()
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if st.lists.Load() != before+1 {
		t.Fatalf("Refresh after MinRefreshInterval: %d reloads, want 1", st.lists.Load()-before)
	}
	if k, _ := m.SigningKey(ctx); kidOf(t, k) != row.KID {
		t.Fatal("Refresh did not pick up the rotation")
	}
}

func TestServesCachedKeysWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := &countingStore{Store: newStore(t)}
	m := newManager(t, st, keys.Options{Secrets: []string{secretA}, Algorithm: "ES256", RefreshInterval: 10 * time.Second}, clk.Now)
	k1, err := m.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, m)
	jwks1, err := m.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The database goes away; the cache is past its refresh interval.
	if err := st.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.ListSigningKeys(ctx); err == nil {
		t.Fatal("closed store still lists keys")
	}
	clk.Advance(10 * time.Second)
	before := st.lists.Load()

	for round := range 3 {
		k, err := m.SigningKey(ctx)
		if err != nil {
			t.Fatalf("round %d: SigningKey with the store down: %v", round, err)
		}
		if kidOf(t, k) != kidOf(t, k1) {
			t.Fatalf("round %d: SigningKey returned another key", round)
		}
		set, err := m.PublicKeys(ctx)
		if err != nil {
			t.Fatalf("round %d: PublicKeys with the store down: %v", round, err)
		}
		if _, ok := set.LookupKeyID(kidOf(t, k1)); !ok || set.Len() != 1 {
			t.Fatalf("round %d: PublicKeys has %d keys, want the cached one", round, set.Len())
		}
		if _, err := verify(t, m, tok); err != nil {
			t.Fatalf("round %d: token signed before the outage: %v", round, err)
		}
		if raw, err := m.JWKS(ctx); err != nil || !bytes.Equal(raw, jwks1) {
			t.Fatalf("round %d: JWKS = %s, %v; want the cached set", round, raw, err)
		}
		// A forced reload fails too, and leaves the cache as it was.
		_ = m.Refresh(ctx)
		clk.Advance(10 * time.Second)
	}
	if st.lists.Load() == before {
		t.Fatal("the Manager never tried the store: the failure path was not exercised")
	}
}

// TestVerificationKey finds a published key by kid, and no key for an
// unknown kid or one whose verification window has passed.
func TestVerificationKey(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const window, refresh = time.Hour, time.Minute
	m := newManager(t, newStore(t), keys.Options{Secrets: []string{secretA}, Algorithm: "ES256", VerificationWindow: window, RefreshInterval: refresh}, clk.Now)
	first, err := m.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kid1, _ := first.KeyID()
	if k, ok, err := m.VerificationKey(ctx, kid1); err != nil || !ok {
		t.Fatalf("VerificationKey(signing kid) = %v, %v, %v", k, ok, err)
	} else if _, isPrivate := k.(jwk.ECDSAPrivateKey); isPrivate {
		t.Fatal("VerificationKey returned the private key")
	}
	if _, ok, err := m.VerificationKey(ctx, "no-such-kid"); err != nil || ok {
		t.Fatalf("VerificationKey(unknown) = %v, %v", ok, err)
	}
	if _, err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := m.VerificationKey(ctx, kid1); !ok {
		t.Fatal("the retired key must verify within its window")
	}
	clk.Advance(window + refresh)
	if _, ok, err := m.VerificationKey(ctx, kid1); err != nil || ok {
		t.Fatalf("VerificationKey(retired past its window) = %v, %v", ok, err)
	}
}

// TestResealUnderFirstSecret: a start with [B, A] re-seals every key A
// sealed under B (stored material changes, the key does not), once; a
// second start has nothing left to do, and a start with [B] alone opens
// every key.
func TestResealUnderFirstSecret(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	m := newManager(t, st, keys.Options{Secrets: []string{secretA}, Algorithm: keys.EdDSA}, nil)
	if _, err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	before := storedKeys(t, st)
	m2 := newManager(t, st, keys.Options{Secrets: []string{secretB, secretA}}, nil)
	after := storedKeys(t, st)
	if len(after) != 2 {
		t.Fatalf("%d keys", len(after))
	}
	for i := range after {
		if after[i].KID != before[i].KID || bytes.Equal(after[i].KeyData, before[i].KeyData) {
			t.Fatalf("key %s not re-sealed", after[i].KID)
		}
	}
	if n, err := m2.Reseal(ctx); err != nil || n != 0 {
		t.Fatalf("second Reseal = %d, %v; want nothing left", n, err)
	}
	mB := newManager(t, st, keys.Options{Secrets: []string{secretB}}, nil)
	signed := sign(t, m) // signed by the first manager's key, still the newest
	if _, err := verify(t, mB, signed); err != nil {
		t.Fatalf("token of the A era not verified with B only: %v", err)
	}
}

// TestRevoke: a revoked key leaves the JWKS and stops verifying at once on
// the revoking node and, after a refresh, on another; revoking the
// signing key makes a new one first; unknown kids are an error.
func TestRevoke(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clk := newClock()
	o := keys.Options{Secrets: []string{secretA}, Algorithm: keys.ES256, VerificationWindow: time.Hour}
	node1 := newManager(t, st, o, clk.Now)
	node2 := newManager(t, st, o, clk.Now)
	leaked := sign(t, node1)
	leakedKID, _ := node1.SigningKey(ctx)
	kid := kidOf(t, leakedKID)

	if err := node1.Revoke(ctx, kid); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, node1, leaked); err == nil {
		t.Fatal("a token of the revoked key still verifies on the revoking node")
	}
	if k, _ := node1.SigningKey(ctx); kidOf(t, k) == kid {
		t.Fatal("the revoked key still signs")
	}
	if _, ok, _ := node1.VerificationKey(ctx, kid); ok {
		t.Fatal("VerificationKey returns the revoked key")
	}
	fresh := sign(t, node1)
	clk.Advance(keys.DefaultRefreshInterval) // node2 reloads at its next use
	if _, err := verify(t, node2, leaked); err == nil {
		t.Fatal("a token of the revoked key still verifies on another node after its refresh")
	}
	if _, err := verify(t, node2, fresh); err != nil {
		t.Fatalf("the new key does not verify on another node: %v", err)
	}
	infos, err := node2.List(ctx)
	if err != nil || len(infos) != 2 || infos[0].KID != kid || !infos[0].Revoked || infos[0].Published || infos[0].Signing || !infos[1].Signing {
		t.Fatalf("List after revoke: %+v, %v", infos, err)
	}
	if err := node1.Revoke(ctx, kid); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	if err := node1.Revoke(ctx, "no-such-kid"); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("unknown kid: %v", err)
	}
	// A restart with the revoked key in the store neither uses nor needs it.
	if m := newManager(t, st, keys.Options{Secrets: []string{secretA}}, clk.Now); m == nil {
		t.Fatal("restart failed")
	}
}

// failingStore is the real store whose key listing can be made to fail.
type failingStore struct {
	*store.Store
	fail atomic.Bool
}

func (s *failingStore) ListSigningKeys(ctx context.Context) ([]inkan.SigningKey, error) {
	if s.fail.Load() {
		return nil, errors.New("store down")
	}
	return s.Store.ListSigningKeys(ctx)
}

// jwksKIDs decodes an encoded JWKS into its kids, in order.
func jwksKIDs(t testing.TB, raw []byte) []string {
	t.Helper()
	var doc struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("JWKS %s: %v", raw, err)
	}
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestJWKSCacheFollowsKeyChanges: the encoded JWKS is built once and then
// served from the cache, and no change of the key set is ever answered
// with the old bytes: a rotation and a revocation on this node at once,
// another node's rotation and revocation at this node's next reload (the
// same bytes and ETag on both nodes), and a retired key's window ending
// while the store cannot be read (no reload replaces the cache then).
func TestJWKSCacheFollowsKeyChanges(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const window, refresh = time.Hour, time.Minute
	st := &failingStore{Store: newStore(t)}
	o := keys.Options{Secrets: []string{secretA}, Algorithm: keys.EdDSA, VerificationWindow: window, RefreshInterval: refresh}
	node1 := newManager(t, st, o, clk.Now)
	node2 := newManager(t, st, o, clk.Now)
	encoded := func(m *keys.Manager) ([]byte, string) {
		t.Helper()
		b, etag, err := m.EncodedJWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		set, err := m.PublicKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, fresh) {
			t.Fatalf("cached JWKS %s differs from the key set %s", b, fresh)
		}
		if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
			t.Fatalf("ETag %q is not a strong entity tag", etag)
		}
		return b, etag
	}
	k1, _ := node1.SigningKey(ctx)
	kid1 := kidOf(t, k1)
	b1, e1 := encoded(node1)
	if again, e, _ := node1.EncodedJWKS(ctx); &again[0] != &b1[0] || e != e1 {
		t.Fatal("the second call encoded the JWKS again instead of serving the cached bytes")
	}
	if b, e := encoded(node2); !bytes.Equal(b, b1) || e != e1 {
		t.Fatalf("two nodes with the same keys: %s %s against %s %s", b, e, b1, e1)
	}

	// A rotation on node 1: node 1 publishes both keys at once.
	row2, err := node1.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b2, e2 := encoded(node1)
	if got := jwksKIDs(t, b2); !slices.Equal(got, []string{kid1, row2.KID}) || e2 == e1 {
		t.Fatalf("after Rotate: %v %s (before %s)", got, e2, e1)
	}
	// Node 2 learns of it at its next reload, not later.
	if b, _ := encoded(node2); !bytes.Equal(b, b1) {
		t.Fatalf("node 2 changed without a reload: %s", b)
	}
	clk.Advance(refresh)
	if b, e := encoded(node2); !bytes.Equal(b, b2) || e != e2 {
		t.Fatalf("node 2 after its reload: %v, want %v", jwksKIDs(t, b), jwksKIDs(t, b2))
	}

	// A revocation (inkan jwk revoke) of the retired key on node 2.
	if err := node2.Revoke(ctx, kid1); err != nil {
		t.Fatal(err)
	}
	b3, e3 := encoded(node2)
	if got := jwksKIDs(t, b3); !slices.Equal(got, []string{row2.KID}) || e3 == e2 {
		t.Fatalf("after Revoke: %v", got)
	}
	clk.Advance(refresh)
	if b, e := encoded(node1); !bytes.Equal(b, b3) || e != e3 {
		t.Fatalf("node 1 after its reload: %v, want %v", jwksKIDs(t, b), jwksKIDs(t, b3))
	}

	// A rotation, then the store goes away: no reload replaces node 1's
	// cache, yet the retired key leaves the JWKS when its window ends.
	row3, err := node1.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(t, mustBytes(encoded(node1))); !slices.Equal(got, []string{row2.KID, row3.KID}) {
		t.Fatalf("after the second Rotate: %v", got)
	}
	st.fail.Store(true)
	clk.Advance(window + refresh - time.Nanosecond)
	if got := jwksKIDs(t, mustBytes(encoded(node1))); !slices.Equal(got, []string{row2.KID, row3.KID}) {
		t.Fatalf("just before the window ends: %v", got)
	}
	clk.Advance(time.Nanosecond)
	if got := jwksKIDs(t, mustBytes(encoded(node1))); !slices.Equal(got, []string{row3.KID}) {
		t.Fatalf("at the end of the window: %v", got)
	}
}

func mustBytes(b []byte, _ string) []byte { return b }
