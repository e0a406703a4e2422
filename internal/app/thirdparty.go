package app

import (
	"context"
	"sort"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/thirdparty"
)

// providerEndpointsKey carries, in New's context, replacements of built-in
// providers' issuer and key-set URLs (tests point Apple and Google at an
// issuer running in the test; see export_test.go).
type providerEndpointsKey struct{}

// ProviderEndpoints replaces a built-in provider's real endpoints.
type ProviderEndpoints struct {
	Issuer, JWKSURL           string
	AuthURL, TokenURL, APIURL string
}

// thirdPartyOptions are the providers' options; tests shorten the least
// time between key-set fetches through New's context.
func thirdPartyOptions(ctx context.Context) thirdparty.Options {
	var o thirdparty.Options
	if d, ok := ctx.Value(minKeyRefreshKey{}).(time.Duration); ok {
		o.MinKeyRefresh = d
	}
	return o
}

type minKeyRefreshKey struct{}

// thirdPartyConfigs are the enabled providers of cfg (third_party.*), with
// the endpoints ctx replaces.
func thirdPartyConfigs(ctx context.Context, cfg config.Config) []thirdparty.Config {
	over, _ := ctx.Value(providerEndpointsKey{}).(map[string]ProviderEndpoints)
	var out []thirdparty.Config
	add := func(c thirdparty.Config) {
		if e, ok := over[c.ID]; ok {
			c.Issuer, c.JWKSURL, c.AuthURL, c.TokenURL, c.APIURL = e.Issuer, e.JWKSURL, e.AuthURL, e.TokenURL, e.APIURL
		}
		out = append(out, c)
	}
	tp := cfg.ThirdParty
	for _, b := range []struct {
		id string
		p  config.Provider
	}{{"apple", tp.Providers.Apple}, {"github", tp.Providers.GitHub}, {"google", tp.Providers.Google}} {
		if !b.p.Enabled {
			continue
		}
		add(thirdparty.Config{ID: b.id, ClientID: b.p.ClientID, Secret: b.p.Secret, Audiences: b.p.IDTokenAudiences, AllowLinking: b.p.AllowLinking, Prompt: b.p.Prompt})
	}
	keys := make([]string, 0, len(tp.CustomProviders))
	for k := range tp.CustomProviders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := tp.CustomProviders[k]
		if !p.Enabled {
			continue
		}
		add(thirdparty.Config{
			ID: "custom_" + k, DisplayName: p.DisplayName, Issuer: p.Issuer, ClientID: p.ClientID, Secret: p.Secret,
			Audiences: p.IDTokenAudiences, AllowLinking: p.Linking(), Prompt: p.Prompt, Scopes: p.Scopes,
		})
	}
	return out
}

// wellKnownProviders are GET /.well-known/config's providers: the enabled
// built-in providers by Hanko's names, in Hanko's order; nil (JSON null)
// when none. Custom providers are not listed, as in Hanko.
func wellKnownProviders(cfg config.Config) []string {
	var out []string
	p := cfg.ThirdParty.Providers
	for _, b := range []struct {
		name string
		on   bool
	}{{"Apple", p.Apple.Enabled}, {"GitHub", p.GitHub.Enabled}, {"Google", p.Google.Enabled}} {
		if b.on {
			out = append(out, b.name)
		}
	}
	return out
}

// webFlow reports whether a provider has an OAuth client (client_id and
// secret): the redirect flow is served then.
func webFlow(cfgs []thirdparty.Config) bool {
	for _, c := range cfgs {
		if c.ClientID != "" && c.Secret != "" {
			return true
		}
	}
	return false
}
