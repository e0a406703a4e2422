package thirdparty

import (
	"context"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Sign in with Google (Google Identity "Authenticate with a backend
// server"): issuer https://accounts.google.com (older tokens:
// accounts.google.com without the scheme), key set at
// https://www.googleapis.com/oauth2/v3/certs; Credential Manager puts the
// app's nonce into the token as it is.
const (
	googleIssuer = "https://accounts.google.com"
	googleJWKS   = "https://www.googleapis.com/oauth2/v3/certs"
)

type google struct {
	c     Config
	o     Options
	keys  *keySet
	rules idTokenRules
}

func newGoogle(c Config, o Options) *google {
	c.DisplayName = or(c.DisplayName, "Google")
	issuers := []string{googleIssuer, "accounts.google.com"}
	if c.Issuer != "" {
		issuers = []string{c.Issuer}
	}
	return &google{
		c: c, o: o,
		keys:  newKeySet(or(c.JWKSURL, googleJWKS), o),
		rules: idTokenRules{issuers: issuers, audiences: audiences(c)},
	}
}

func (g *google) config() Config { return g.c }

func (g *google) verifyIDToken(ctx context.Context, raw, nonce string) (inkan.ProviderUser, error) {
	return verifyWith(ctx, g.o, g.c.ID, g.keys, g.rules, raw, nonce)
}

// oauth: Google's OpenID Connect endpoints.
func (g *google) oauth(context.Context) (*oauth2.Config, []oauth2.AuthCodeOption, error) {
	ep := oauth2.Endpoint{AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token", AuthStyle: oauth2.AuthStyleInParams}
	return oauthConfig(g.c, ep, []string{oidc.ScopeOpenID, "email", "profile"}), nil, nil
}

func (g *google) exchange(ctx context.Context, oc *oauth2.Config, code, verifier, nonce string) (inkan.ProviderUser, error) {
	keys := func(context.Context) (oidc.KeySet, error) { return g.keys, nil }
	return exchangeIDToken(ctx, g.o, g.c, keys, g.rules, oc, code, verifier, nonce)
}
