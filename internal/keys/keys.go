// Package keys manages the JWT signing keys: it generates them, keeps them
// encrypted at rest (AES-256-GCM), rotates them and publishes the public
// halves as a JWK Set (RFC 7517 §5) for GET /.well-known/jwks.json (see
// docs/compatibility.md "Discovery", "Signing keys").
//
// Every key is stored as one inkan.SigningKey row. The newest row (highest
// ID) that is not revoked signs; an older row is retired implicitly by its
// successor and stays published, so that tokens it signed still verify, for
// VerificationWindow after the successor was created. A revoked row (Revoke,
// `inkan jwk revoke`) is ignored altogether: not published, never accepted.
//
// Secret rotation (secrets.keys): rows are sealed under the first secret;
// every secret is tried to open them. New re-seals every row it opened with
// a later secret under the first one, so that after one start with
// [new, old] the old secret can be removed.
package keys

import (
	"bytes"
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Supported signing algorithms (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; the default, as in Hanko
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// Defaults applied by New to zero Options fields.
const (
	DefaultRSABits         = 2048
	DefaultRefreshInterval = 10 * time.Second
	// MinSecretLength is the minimum length in bytes of each secret
	// (docs/compatibility.md "Signing keys": secrets.keys entries are at least 16 characters).
	MinSecretLength = 16
)

// ErrUndecryptable is returned (wrapped) when a stored key cannot be opened
// with any configured secret, e.g. after its secret was removed from
// secrets.keys (docs/compatibility.md "Signing keys").
var ErrUndecryptable = errors.New("keys: stored key cannot be decrypted with any configured secret")

// Options configures a Manager.
type Options struct {
	// Secrets is secrets.keys (docs/compatibility.md "Signing keys"), each at least
	// MinSecretLength bytes, at least one. The AES-256-GCM key of each secret
	// is SHA-256(secret) (the same derivation as Hanko). Secrets[0] encrypts
	// new keys; decryption tries every secret in order, so a secret can be
	// replaced by prepending the new one and keeping the old one until the
	// keys it sealed have left the verification window.
	Secrets []string
	// Algorithm of newly generated keys: RS256 (default), ES256 or EdDSA.
	// Existing keys keep the algorithm they were generated with.
	Algorithm string
	// RSABits is the modulus size in bits of new RSA keys; default 2048,
	// at least 2048 (Hanko generates 4096).
	RSABits int
	// VerificationWindow is how long a retired key stays published and
	// verifying after its successor was created; the app sets it to
	// session.lifespan so that every token the old key signed can still be
	// verified until it expires. Zero keeps retired keys published forever
	// (Hanko's behaviour: every stored key is in the JWKS).
	VerificationWindow time.Duration
	// RefreshInterval is the longest time a node serves its in-memory key
	// cache before listing the store again to pick up a rotation by another
	// node; default 10s. Because a node may keep signing with the old key for
	// up to this long after a rotation elsewhere, a retired key stays
	// published for VerificationWindow + RefreshInterval.
	RefreshInterval time.Duration
}

// KeyInfo describes a stored key without its key material.
type KeyInfo struct {
	KID       string
	Algorithm string // RS256 | ES256 | EdDSA
	CreatedAt time.Time
	Signing   bool // the newest key: it signs new tokens
	Published bool // in the JWKS and accepted for verification now
	Revoked   bool // revoked (inkan jwk revoke): neither signs nor verifies
}

// Manager owns the signing keys. It is safe for concurrent use.
type Manager struct {
	store Store
	opts  Options
	now   func() time.Time
	aeads []cipher.AEAD // one per secret, in Options.Secrets order

	snap      atomic.Pointer[snapshot]
	refreshMu sync.Mutex // serialises reloads from the store
}

// snapshot is an immutable view of the stored keys, oldest first: keys
// holds the usable ones, revoked the rows of revoked keys (never opened).
// jwks caches the encoded JWK Set of these keys; it is the one mutable
// field and belongs to this snapshot only, so every change of the key set
// (reloadLocked: Rotate, Revoke, Reseal, Refresh and the periodic reload
// that sees another node's rotation or revocation) starts without it.
type snapshot struct {
	keys     []entry
	revoked  []inkan.SigningKey
	loadedAt time.Time
	jwks     atomic.Pointer[jwksDoc]
}

// jwksDoc is the encoded JWK Set of a snapshot and its entity tag, valid
// for clock times in [from, until): the span in which the same keys are
// published (a retired key leaves the set when its window ends). A zero
// until means no published key's window ends.
type jwksDoc struct {
	body        []byte
	etag        string
	from, until time.Time
}

func (d *jwksDoc) validAt(now time.Time) bool {
	return !now.Before(d.from) && (d.until.IsZero() || now.Before(d.until))
}

type entry struct {
	row  inkan.SigningKey
	priv jwk.Key // private JWK with kid, alg and use set
	pub  jwk.Key
	// sealedUnder is the index in Options.Secrets of the secret that
	// opened row.KeyData; > 0 means New re-seals it under Secrets[0].
	sealedUnder int
}

// New validates o, loads and decrypts every stored key and, when the store
// holds none, generates one and stores it. now is the clock (UTC is applied);
// nil means time.Now. It returns an error wrapping ErrUndecryptable when a
// stored key cannot be opened with any secret.
func New(ctx context.Context, store Store, o Options, now func() time.Time) (*Manager, error) {
	if now == nil {
		now = time.Now
	}
	if o.Algorithm == "" {
		o.Algorithm = RS256
	}
	switch o.Algorithm {
	case RS256, ES256, EdDSA:
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q (want RS256, ES256 or EdDSA)", o.Algorithm)
	}
	if o.RSABits == 0 {
		o.RSABits = DefaultRSABits
	}
	if o.RSABits < 2048 {
		return nil, fmt.Errorf("keys: RSA key size %d bits is below 2048", o.RSABits)
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.VerificationWindow < 0 {
		return nil, errors.New("keys: negative verification window")
	}
	if len(o.Secrets) == 0 {
		return nil, errors.New("keys: at least one secret is required")
	}
	m := &Manager{store: store, opts: o, now: func() time.Time { return now().UTC() }}
	for i, s := range o.Secrets {
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("keys: secret #%d is shorter than %d bytes", i+1, MinSecretLength)
		}
		sum := sha256.Sum256([]byte(s))
		block, err := aes.NewCipher(sum[:])
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		m.aeads = append(m.aeads, aead)
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	if len(m.snap.Load().keys) == 0 {
		if _, err := m.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := m.Reseal(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Reseal seals every key that was opened with a secret other than
// Secrets[0] under Secrets[0] again and stores it, so that older secrets
// can be dropped from secrets.keys. It returns how many keys it re-sealed.
// A key another node re-sealed meanwhile is skipped (its store write is
// conditional on the old material). New calls it at every start; it is
// not run by background reloads, so that during a rolling change of
// secrets.keys two nodes with different first secrets do not take turns
// re-sealing the same keys.
func (m *Manager) Reseal(ctx context.Context) (int, error) {
	n := 0
	for _, e := range m.snap.Load().keys {
		if e.sealedUnder == 0 {
			continue
		}
		plain, err := json.Marshal(e.priv)
		if err != nil {
			return n, fmt.Errorf("keys: encoding JWK %s: %w", e.row.KID, err)
		}
		sealed, err := m.seal(plain)
		clear(plain)
		if err != nil {
			return n, err
		}
		switch err := m.store.ResealSigningKey(ctx, e.row.ID, e.row.KeyData, sealed); {
		case errors.Is(err, inkan.ErrStale):
		case err != nil:
			return n, fmt.Errorf("keys: re-sealing key %s: %w", e.row.KID, err)
		default:
			n++
		}
	}
	if n > 0 {
		if err := m.reload(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Revoke retires the key kid at once (`inkan jwk revoke`, for a leaked
// key): it is no longer published and tokens it signed are refused — on
// this node now, on other nodes at their next reload (within
// RefreshInterval). When kid is the signing key, a new key is generated
// first, so there always is one. Errors: inkan.ErrNotFound (wrapped) for an
// unknown kid; revoking a revoked key again is not an error.
func (m *Manager) Revoke(ctx context.Context, kid string) error {
	if err := m.reload(ctx); err != nil {
		return err
	}
	s := m.snap.Load()
	if len(s.keys) > 0 && s.keys[len(s.keys)-1].row.KID == kid {
		if _, err := m.Rotate(ctx); err != nil {
			return err
		}
	}
	if err := m.store.RevokeSigningKey(ctx, kid, m.now()); err != nil {
		return fmt.Errorf("keys: revoking %s: %w", kid, err)
	}
	return m.reload(ctx)
}

// SigningKey returns the private JWK of the newest key, with kid, alg and
// use "sig" set. The returned key is shared: callers must not modify it.
func (m *Manager) SigningKey(ctx context.Context) (jwk.Key, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	if len(s.keys) == 0 {
		return nil, errors.New("keys: no signing key")
	}
	return s.keys[len(s.keys)-1].priv, nil
}

// PublicKeys returns a new set holding the public JWK (kid, alg, use "sig")
// of every key still within its verification window: the signing key and
// each retired key whose successor is younger than VerificationWindow +
// RefreshInterval.
func (m *Manager) PublicKeys(ctx context.Context) (jwk.Set, error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	set, _, _, err := m.publicSet(s, m.now())
	return set, err
}

// publicSet builds the set of s's keys published at now and the span
// [from, until) around now in which exactly these keys are published
// (until zero: no published key's window ends).
func (m *Manager) publicSet(s *snapshot, now time.Time) (set jwk.Set, from, until time.Time, err error) {
	set = jwk.NewSet()
	for i, e := range s.keys {
		end, ends := m.windowEnd(s, i)
		if ends && !now.Before(end) {
			if end.After(from) {
				from = end
			}
			continue
		}
		if ends && (until.IsZero() || end.Before(until)) {
			until = end
		}
		if err := set.AddKey(e.pub); err != nil {
			return nil, from, until, fmt.Errorf("keys: %w", err)
		}
	}
	return set, from, until, nil
}

// VerificationKey returns the public key kid when it is published (within
// its verification window), ok=false otherwise. It is PublicKeys for one
// kid without building a set: the per-request path of token verification.
func (m *Manager) VerificationKey(ctx context.Context, kid string) (key jwk.Key, ok bool, err error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, false, err
	}
	now := m.now()
	for i, e := range s.keys {
		if e.row.KID == kid && m.published(s, i, now) {
			return e.pub, true, nil
		}
	}
	return nil, false, nil
}

// JWKS returns the JSON JWK Set {"keys":[…]} of PublicKeys (RFC 7517 §5;
// docs/compatibility.md "Discovery"): public parameters only, each with kid, alg, use "sig"
// and kty. The returned slice is shared: callers must not modify it.
func (m *Manager) JWKS(ctx context.Context) ([]byte, error) {
	b, _, err := m.EncodedJWKS(ctx)
	return b, err
}

// EncodedJWKS returns JWKS's document and its strong entity tag (RFC 9110
// §8.8.3: a quoted base64url SHA-256 prefix of the bytes, so equal
// documents get equal tags on every node). The document is encoded once
// per key-set change and cached with the snapshot it was built from:
// whatever replaces the snapshot (a rotation, a revocation, a reload that
// sees another node's change) drops the cache with it, and the cached
// bytes are also rebuilt when a retired key's verification window ends.
// The returned slice is shared: callers must not modify it.
func (m *Manager) EncodedJWKS(ctx context.Context) (body []byte, etag string, err error) {
	s, err := m.current(ctx)
	if err != nil {
		return nil, "", err
	}
	now := m.now()
	if d := s.jwks.Load(); d != nil && d.validAt(now) {
		return d.body, d.etag, nil
	}
	set, from, until, err := m.publicSet(s, now)
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, "", fmt.Errorf("keys: encoding JWKS: %w", err)
	}
	sum := sha256.Sum256(b)
	d := &jwksDoc{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, from: from, until: until}
	s.jwks.Store(d)
	return d.body, d.etag, nil
}

// Rotate generates a key with Options.Algorithm, stores it sealed under
// Secrets[0] and makes it the signing key; older keys keep verifying until
// VerificationWindow (+ RefreshInterval) after now. It returns the stored
// row (KeyData sealed).
func (m *Manager) Rotate(ctx context.Context) (inkan.SigningKey, error) {
	priv, err := generate(m.opts.Algorithm, m.opts.RSABits)
	if err != nil {
		return inkan.SigningKey{}, err
	}
	plain, err := json.Marshal(priv)
	if err != nil {
		return inkan.SigningKey{}, fmt.Errorf("keys: encoding JWK: %w", err)
	}
	sealed, err := m.seal(plain)
	clear(plain)
	if err != nil {
		return inkan.SigningKey{}, err
	}
	kid, _ := priv.KeyID()
	row, err := m.store.InsertSigningKey(ctx, inkan.SigningKey{
		KID:       kid,
		Algorithm: m.opts.Algorithm,
		KeyData:   sealed,
		CreatedAt: m.now(),
	})
	if err != nil {
		return inkan.SigningKey{}, fmt.Errorf("keys: storing key: %w", err)
	}
	if err := m.reload(ctx); err != nil {
		return inkan.SigningKey{}, err
	}
	return row, nil
}

// List reloads the keys from the store and describes each, revoked ones
// included, oldest first.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	s := m.snap.Load()
	now := m.now()
	type row struct {
		id   int64
		info KeyInfo
	}
	rows := make([]row, 0, len(s.keys)+len(s.revoked))
	for i, e := range s.keys {
		rows = append(rows, row{e.row.ID, KeyInfo{
			KID:       e.row.KID,
			Algorithm: e.row.Algorithm,
			CreatedAt: e.row.CreatedAt,
			Signing:   i == len(s.keys)-1,
			Published: m.published(s, i, now),
		}})
	}
	for _, r := range s.revoked {
		rows = append(rows, row{r.ID, KeyInfo{KID: r.KID, Algorithm: r.Algorithm, CreatedAt: r.CreatedAt, Revoked: true}})
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	out := make([]KeyInfo, len(rows))
	for i, r := range rows {
		out[i] = r.info
	}
	return out, nil
}

// Refresh lists the store again and decrypts keys not yet cached. Callers
// use it when a token names an unknown kid (another node rotated).
// Concurrent calls are coalesced into one store read.
//
// Reloads are at most one per MinRefreshInterval, so tokens with unknown
// kids (anyone can send them) cost at most that in store reads: a caller
// that comes sooner waits out the rest of the interval (or ctx) and then
// shares the next reload with every other waiting caller. A key rotated in
// on another node is thus seen after at most MinRefreshInterval.
func (m *Manager) Refresh(ctx context.Context) error {
	before := m.snap.Load()
	if wait := MinRefreshInterval - m.now().Sub(before.loadedAt); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	if m.snap.Load() != before {
		return nil // another caller reloaded while we waited
	}
	return m.reloadLocked(ctx)
}

// MinRefreshInterval is the shortest time between two reloads forced by
// Refresh (in wall time; the wait uses a real timer).
const MinRefreshInterval = 250 * time.Millisecond

// published reports whether s.keys[i] is within its verification window.
func (m *Manager) published(s *snapshot, i int, now time.Time) bool {
	end, ends := m.windowEnd(s, i)
	return !ends || now.Before(end)
}

// windowEnd is when s.keys[i] stops being published: VerificationWindow +
// RefreshInterval after its successor was created; ends=false for the
// signing key, and for every key when VerificationWindow is zero.
func (m *Manager) windowEnd(s *snapshot, i int) (end time.Time, ends bool) {
	if i == len(s.keys)-1 || m.opts.VerificationWindow == 0 {
		return time.Time{}, false
	}
	return s.keys[i+1].row.CreatedAt.Add(m.opts.VerificationWindow + m.opts.RefreshInterval), true
}

// current returns the cache, reloading it when older than RefreshInterval.
func (m *Manager) current(ctx context.Context) (*snapshot, error) {
	s := m.snap.Load()
	if m.now().Sub(s.loadedAt) < m.opts.RefreshInterval {
		return s, nil
	}
	// One caller reloads; the others keep using the keys they have rather
	// than queue behind a database read.
	if !m.refreshMu.TryLock() {
		return s, nil
	}
	defer m.refreshMu.Unlock()
	if s2 := m.snap.Load(); s2 != s {
		return s2, nil
	}
	if err := m.reloadLocked(ctx); err != nil {
		// The store is unreachable: the cached keys are still the keys.
		// The next call past the interval tries again.
		return s, nil
	}
	return m.snap.Load(), nil
}

func (m *Manager) reload(ctx context.Context) error {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	return m.reloadLocked(ctx)
}

// reloadLocked lists the store and replaces the snapshot; refreshMu held.
func (m *Manager) reloadLocked(ctx context.Context) error {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: listing keys: %w", err)
	}
	cached := map[string]entry{}
	if old := m.snap.Load(); old != nil {
		for _, e := range old.keys {
			cached[e.row.KID] = e
		}
	}
	next := &snapshot{keys: make([]entry, 0, len(rows)), loadedAt: m.now()}
	for _, row := range rows {
		if !row.RevokedAt.IsZero() {
			// Never opened: a revoked key whose secret was removed
			// does not stop start-up.
			next.revoked = append(next.revoked, row)
			continue
		}
		if e, ok := cached[row.KID]; ok && e.row.ID == row.ID && bytes.Equal(e.row.KeyData, row.KeyData) {
			next.keys = append(next.keys, e)
			continue
		}
		e, err := m.open(row)
		if err != nil {
			return err
		}
		next.keys = append(next.keys, e)
	}
	m.snap.Store(next)
	return nil
}

// seal encrypts plain with AES-256-GCM under Secrets[0]: nonce(12) ‖ ciphertext ‖ tag(16).
func (m *Manager) seal(plain []byte) ([]byte, error) {
	aead := m.aeads[0]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plain, nil), nil
}

// open decrypts row.KeyData with each secret in turn and parses the JWK; the
// JWK's kid and alg must match the row's.
func (m *Manager) open(row inkan.SigningKey) (entry, error) {
	var plain []byte
	under := 0
	for i, aead := range m.aeads {
		n := aead.NonceSize()
		if len(row.KeyData) < n+aead.Overhead() {
			break
		}
		p, err := aead.Open(nil, row.KeyData[:n], row.KeyData[n:], nil)
		if err == nil {
			plain, under = p, i
			break
		}
	}
	if plain == nil {
		return entry{}, fmt.Errorf("%w (kid %s)", ErrUndecryptable, row.KID)
	}
	defer clear(plain)
	priv, err := jwk.ParseKey(plain)
	if err != nil {
		return entry{}, fmt.Errorf("keys: parsing stored key %s: %w", row.KID, err)
	}
	kid, _ := priv.KeyID()
	alg, _ := priv.Algorithm()
	if kid != row.KID || alg == nil || alg.String() != row.Algorithm {
		return entry{}, fmt.Errorf("keys: stored key %s does not match its row (kid %q, alg %v)", row.KID, kid, alg)
	}
	if ok, err := jwk.IsPrivateKey(priv); err != nil || !ok {
		return entry{}, fmt.Errorf("keys: stored key %s is not a private key", row.KID)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return entry{}, fmt.Errorf("keys: public key of %s: %w", row.KID, err)
	}
	return entry{row: row, priv: priv, pub: pub, sealedUnder: under}, nil
}

// generate makes a private JWK for alg with a random UUID v4 kid, alg and
// use "sig" set.
func generate(alg string, rsaBits int) (jwk.Key, error) {
	var raw any
	var sa jwa.SignatureAlgorithm
	var err error
	switch alg {
	case RS256:
		sa = jwa.RS256()
		raw, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		sa = jwa.ES256()
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		sa = jwa.EdDSA()
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generating %s key: %w", alg, err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	kid, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("keys: kid: %w", err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid.String(), jwk.AlgorithmKey: sa, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("keys: setting %s: %w", name, err)
		}
	}
	return k, nil
}
