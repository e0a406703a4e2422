package thirdparty

import (
	"context"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// GitHub is OAuth 2.0 without OpenID Connect: no ID tokens; the redirect
// flow reads the user and e-mail REST API.
type github struct {
	c Config
	o Options
}

func newGitHub(c Config, o Options) *github {
	c.DisplayName = or(c.DisplayName, "GitHub")
	return &github{c: c, o: o}
}

func (g *github) config() Config { return g.c }

func (g *github) verifyIDToken(context.Context, string, string) (inkan.ProviderUser, error) {
	return inkan.ProviderUser{}, inkan.E(inkan.KindNotFound, "provider not enabled: GitHub issues no ID tokens")
}
