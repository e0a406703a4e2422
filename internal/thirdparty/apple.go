package thirdparty

import (
	"context"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Sign in with Apple (Apple's "Authenticating users with Sign in with
// Apple" and "Verifying a user"): issuer https://appleid.apple.com, key set
// at /auth/keys. The app passes the SHA-256 (lower-case hex) of its nonce to
// AuthenticationServices, so Apple's token carries the hash and the app
// sends the nonce itself to inkan. email_verified is a string; private relay
// addresses (@privaterelay.appleid.com) are ordinary addresses. Apple sends
// the user's name only to the app, on the first authorization: the app
// passes it along (POST /thirdparty/id_token given_name, family_name).
const (
	appleIssuer = "https://appleid.apple.com"
	appleJWKS   = "https://appleid.apple.com/auth/keys"
)

type apple struct {
	c     Config
	o     Options
	keys  *keySet
	rules idTokenRules
}

func newApple(c Config, o Options) *apple {
	c.DisplayName = or(c.DisplayName, "Apple")
	return &apple{
		c: c, o: o,
		keys:  newKeySet(or(c.JWKSURL, appleJWKS), o),
		rules: idTokenRules{issuers: []string{or(c.Issuer, appleIssuer)}, audiences: audiences(c), hashedNonce: true},
	}
}

func (a *apple) config() Config { return a.c }

func (a *apple) verifyIDToken(ctx context.Context, raw, nonce string) (inkan.ProviderUser, error) {
	return verifyWith(ctx, a.o, a.c.ID, a.keys, a.rules, raw, nonce)
}

// oauth: Sign in with Apple for the web ("Incorporating Sign in with Apple
// into other platforms"): the name and email scopes require
// response_mode=form_post, so Apple POSTs the callback.
func (a *apple) oauth(context.Context) (*oauth2.Config, []oauth2.AuthCodeOption, error) {
	ep := oauth2.Endpoint{AuthURL: "https://appleid.apple.com/auth/authorize", TokenURL: "https://appleid.apple.com/auth/token", AuthStyle: oauth2.AuthStyleInParams}
	return oauthConfig(a.c, ep, []string{"name", "email"}), []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "form_post")}, nil
}

func (a *apple) exchange(ctx context.Context, oc *oauth2.Config, code, verifier, nonce string) (inkan.ProviderUser, error) {
	keys := func(context.Context) (oidc.KeySet, error) { return a.keys, nil }
	return exchangeIDToken(ctx, a.o, a.c, keys, a.rules, oc, code, verifier, nonce)
}
