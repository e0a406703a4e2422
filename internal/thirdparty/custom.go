package thirdparty

import (
	"context"
	"slices"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// custom is any OpenID Connect provider (third_party.custom_providers):
// its endpoints and key set come from OpenID Connect Discovery 1.0 at
// Issuer, read on first use (and again after a failure), so that a
// provider that is down does not keep inkan from starting.
type custom struct {
	c Config
	o Options

	mu       sync.Mutex
	provider *oidc.Provider
	keys     *keySet
}

func newCustom(c Config, o Options) *custom {
	c.DisplayName = or(c.DisplayName, c.ID)
	return &custom{c: c, o: o}
}

func (p *custom) config() Config { return p.c }

// discover returns the provider's discovery document and key set.
func (p *custom) discover(ctx context.Context) (*oidc.Provider, *keySet, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.keys, nil
	}
	pr, err := oidc.NewProvider(oidc.ClientContext(ctx, p.o.HTTPClient), p.c.Issuer)
	if err != nil {
		return nil, nil, inkan.Wrap(inkan.KindUnavailable, "the provider's discovery document cannot be read", err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := pr.Claims(&doc); err != nil || doc.JWKSURI == "" {
		return nil, nil, inkan.Wrap(inkan.KindUnavailable, "the provider's discovery document names no jwks_uri", err)
	}
	p.provider, p.keys = pr, newKeySet(doc.JWKSURI, p.o)
	return p.provider, p.keys, nil
}

// oauth: the endpoints of the discovery document; scopes default to openid,
// email and profile (openid is always requested).
func (p *custom) oauth(ctx context.Context) (*oauth2.Config, []oauth2.AuthCodeOption, error) {
	pr, _, err := p.discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	oc := oauthConfig(p.c, pr.Endpoint(), []string{oidc.ScopeOpenID, "email", "profile"})
	if !slices.Contains(oc.Scopes, oidc.ScopeOpenID) {
		oc.Scopes = append([]string{oidc.ScopeOpenID}, oc.Scopes...)
	}
	return oc, nil, nil
}

func (p *custom) exchange(ctx context.Context, oc *oauth2.Config, code, verifier, nonce string) (inkan.ProviderUser, error) {
	keys := func(ctx context.Context) (oidc.KeySet, error) {
		_, ks, err := p.discover(ctx)
		return ks, err
	}
	return exchangeIDToken(ctx, p.o, p.c, keys, idTokenRules{issuers: []string{p.c.Issuer}}, oc, code, verifier, nonce)
}

func (p *custom) verifyIDToken(ctx context.Context, raw, nonce string) (inkan.ProviderUser, error) {
	_, keys, err := p.discover(ctx)
	if err != nil {
		return inkan.ProviderUser{}, err
	}
	return verifyWith(ctx, p.o, p.c.ID, keys, idTokenRules{issuers: []string{p.c.Issuer}, audiences: audiences(p.c)}, raw, nonce)
}
