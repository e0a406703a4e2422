package thirdparty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// maxJWKSBytes caps a provider's JWK Set document.
const maxJWKSBytes = 1 << 20

// keySet is a provider's JWK Set (RFC 7517), fetched on first use, cached,
// fetched again when a token names an unknown kid (OpenID Connect Core §10.1.1,
// key rotation) or the copy is older than maxAge — but at most once per
// minRefresh, so that tokens with made-up kids cannot make inkan hammer the
// provider. It implements go-oidc's KeySet.
type keySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration

	fetchMu sync.Mutex // one fetch at a time
	mu      sync.RWMutex
	keys    map[string]jwk.Key
	fetched time.Time // of the cached keys
	tried   time.Time // of the last fetch attempt
}

// errSignature and errUnknownKID name the signature check's failures.
var (
	errSignature  = errors.New("signature: the token's signature does not verify")
	errUnknownKID = errors.New("signature: the token's kid is not in the provider's key set")
)

// VerifySignature checks the compact JWS jwt against the key its kid names
// and returns the payload (go-oidc's oidc.KeySet).
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	msg, err := jws.Parse([]byte(jwt))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("signature: the token is not a compact JWS")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	kid, _ := hdr.KeyID()
	alg, _ := hdr.Algorithm()
	if kid == "" {
		return nil, errors.New("signature: the token names no kid")
	}
	key, err := k.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if !keyFits(key, alg) {
		return nil, errSignature
	}
	payload, err := jws.Verify([]byte(jwt), jws.WithKey(alg, key))
	if err != nil {
		return nil, errSignature
	}
	return payload, nil
}

// keyFits reports whether alg is an asymmetric signature algorithm of key's
// type (no "none", no HMAC with a public key).
func keyFits(key jwk.Key, alg jwa.SignatureAlgorithm) bool {
	switch key.KeyType() {
	case jwa.RSA():
		return alg == jwa.RS256() || alg == jwa.RS384() || alg == jwa.RS512() || alg == jwa.PS256() || alg == jwa.PS384() || alg == jwa.PS512()
	case jwa.EC():
		return alg == jwa.ES256() || alg == jwa.ES384() || alg == jwa.ES512()
	case jwa.OKP():
		return alg == jwa.EdDSA()
	}
	return false
}

// key returns the public key kid, fetching the set when kid is unknown or
// the copy is stale.
func (k *keySet) key(ctx context.Context, kid string) (jwk.Key, error) {
	k.mu.RLock()
	key, ok := k.keys[kid]
	fresh := k.now().Sub(k.fetched) < k.maxAge
	k.mu.RUnlock()
	if ok && fresh {
		return key, nil
	}
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	key, ok = k.keys[kid]
	fresh = k.now().Sub(k.fetched) < k.maxAge
	k.mu.RUnlock()
	if ok && fresh {
		return key, nil // fetched meanwhile
	}
	if err := k.refreshLocked(ctx); err != nil && !ok {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	return nil, errUnknownKID
}

// errKeysUnavailable: the provider's key set could not be fetched.
var errKeysUnavailable = errors.New("the provider's key set cannot be fetched")

func (k *keySet) refreshLocked(ctx context.Context) error {
	now := k.now()
	if !k.tried.IsZero() && now.Sub(k.tried) < k.minRefresh {
		return nil // the cached copy is all there is for now
	}
	k.tried = now
	keys, err := k.fetch(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	k.mu.Lock()
	k.keys, k.fetched = keys, now
	k.mu.Unlock()
	return nil
}

// fetch downloads the JWK Set, keeping the public signature keys with a kid.
func (k *keySet) fetch(ctx context.Context) (map[string]jwk.Key, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", k.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, err
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("parsing the JWK set: %w", err)
	}
	keys := make(map[string]jwk.Key, set.Len())
	for i := range set.Len() {
		key, _ := set.Key(i)
		kid, _ := key.KeyID()
		if use, ok := key.KeyUsage(); kid == "" || (ok && use != "sig") {
			continue
		}
		pub, err := jwk.PublicKeyOf(key)
		if err != nil || pub.KeyType() == jwa.OctetSeq() {
			continue
		}
		keys[kid] = pub
	}
	return keys, nil
}
