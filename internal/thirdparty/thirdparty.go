// Package thirdparty signs users in with OAuth 2.0 / OpenID Connect
// providers (docs/thirdparty.md): Apple, Google and GitHub built in (one
// file each) and any OpenID Connect provider found through Discovery
// (custom.go). A provider verifies ID tokens that apps obtained natively
// (VerifyIDToken) and runs the authorization-code flow of the web redirect.
// It answers with the identity the provider vouches for
// (inkan.ProviderUser); what that identity signs in is internal/login's and
// internal/account's business.
//
// It speaks HTTP only as a client (key sets, discovery, token and user-info
// endpoints) through Options.HTTPClient; it never touches storage.
package thirdparty

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Config is one enabled provider, built by internal/app from
// third_party.providers.<name> or third_party.custom_providers.<key>.
type Config struct {
	// ID is "apple", "google", "github" or "custom_<key>".
	ID string
	// DisplayName is shown to users (custom providers' display_name; the
	// built-ins' brand name when empty).
	DisplayName string
	// ClientID and Secret are the OAuth 2.0 client (redirect flow).
	ClientID string
	Secret   string
	// Audiences are the aud values accepted in native ID tokens
	// (id_token_audiences); ClientID is accepted as well.
	Audiences    []string
	AllowLinking bool
	Prompt       string
	// Scopes of the redirect flow; nil = the provider's default.
	Scopes []string
	// Issuer is a custom provider's issuer (Discovery). For a built-in
	// provider it replaces the real issuer and JWKSURL its key set — for
	// tests against an issuer running in the test.
	Issuer  string
	JWKSURL string
	// AuthURL, TokenURL and APIURL replace GitHub's endpoints (tests).
	AuthURL, TokenURL, APIURL string
}

// Options are shared by every provider.
type Options struct {
	// HTTPClient makes every outgoing request (default: a client with a
	// 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock of expiry checks (default time.Now).
	Now func() time.Time
	// MinKeyRefresh is the least time between two fetches of a key set
	// (default 10 s); MaxKeyAge the longest a fetched set is used (default
	// 1 hour).
	MinKeyRefresh, MaxKeyAge time.Duration
}

// Leeway is the clock skew allowed between inkan and a provider when
// checking exp and iat (RFC 7519 §4.1.4 "small leeway").
const Leeway = time.Minute

// provider is the behaviour each provider file supplies.
type provider interface {
	config() Config
	// verifyIDToken checks a native ID token and its nonce.
	verifyIDToken(ctx context.Context, raw, nonce string) (inkan.ProviderUser, error)
	// oauth returns the OAuth 2.0 client of the redirect flow (without
	// RedirectURL) and the provider's extra authorization parameters.
	oauth(ctx context.Context) (*oauth2.Config, []oauth2.AuthCodeOption, error)
	// exchange trades an authorization code for the identity.
	exchange(ctx context.Context, oc *oauth2.Config, code, verifier, nonce string) (inkan.ProviderUser, error)
}

// keyGetter returns a provider's key set (after discovery, for custom
// providers).
type keyGetter func(ctx context.Context) (oidc.KeySet, error)

// oauth2Context makes x/oauth2 use the providers' HTTP client.
func oauth2Context(ctx context.Context, o Options) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
}

// oauthConfig is the client of c with endpoint ep (each replaced by c's
// AuthURL/TokenURL when set) and scopes (c.Scopes when set).
func oauthConfig(c Config, ep oauth2.Endpoint, scopes []string) *oauth2.Config {
	if c.AuthURL != "" {
		ep.AuthURL = c.AuthURL
	}
	if c.TokenURL != "" {
		ep.TokenURL = c.TokenURL
	}
	if len(c.Scopes) > 0 {
		scopes = c.Scopes
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.Secret, Endpoint: ep, Scopes: scopes}
}

// Providers are the enabled providers by id. Safe for concurrent use.
type Providers struct {
	byID map[string]provider
	opts Options
}

// New builds the providers of cfgs. Errors name a configuration that cannot
// work (an unknown built-in id).
func New(cfgs []Config, o Options) (*Providers, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MinKeyRefresh == 0 {
		o.MinKeyRefresh = 10 * time.Second
	}
	if o.MaxKeyAge == 0 {
		o.MaxKeyAge = time.Hour
	}
	p := &Providers{byID: map[string]provider{}, opts: o}
	for _, c := range cfgs {
		var pr provider
		switch {
		case c.ID == "apple":
			pr = newApple(c, o)
		case c.ID == "google":
			pr = newGoogle(c, o)
		case c.ID == "github":
			pr = newGitHub(c, o)
		case strings.HasPrefix(c.ID, "custom_") && c.Issuer != "":
			pr = newCustom(c, o)
		default:
			return nil, fmt.Errorf("thirdparty: unknown provider %q", c.ID)
		}
		p.byID[c.ID] = pr
	}
	return p, nil
}

// IDs returns the enabled providers' ids, sorted.
func (p *Providers) IDs() []string {
	out := make([]string, 0, len(p.byID))
	for id := range p.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// get returns the enabled provider id (matched case-insensitively, as
// Hanko does); KindNotFound otherwise.
func (p *Providers) get(id string) (provider, error) {
	if p != nil {
		if pr, ok := p.byID[strings.ToLower(id)]; ok {
			return pr, nil
		}
	}
	return nil, inkan.E(inkan.KindNotFound, "provider not enabled")
}

// AllowLinking reports the provider's allow_linking (false when unknown).
func (p *Providers) AllowLinking(id string) bool {
	pr, err := p.get(id)
	return err == nil && pr.config().AllowLinking
}

// DisplayName returns the provider's display name ("" when unknown).
func (p *Providers) DisplayName(id string) string {
	pr, err := p.get(id)
	if err != nil {
		return ""
	}
	return pr.config().DisplayName
}

// VerifyIDToken checks rawToken, an ID token the app obtained natively from
// provider id, and nonce, the value the app generated for it
// (docs/thirdparty.md "Native sign-in"): signature against the provider's
// key set, iss, aud among the accepted audiences, exp and iat within
// Leeway, the nonce in the provider's form, and a subject. Errors:
// KindNotFound "provider not enabled" (also for GitHub, which has no ID
// tokens); KindUnauthorized whose message names the failed check ("iss: …",
// "aud: …", "exp: …", "nonce: …", "signature: …"); KindUnavailable when the
// provider's key set or discovery document cannot be fetched.
func (p *Providers) VerifyIDToken(ctx context.Context, id, rawToken, nonce string) (inkan.ProviderUser, error) {
	pr, err := p.get(id)
	if err != nil {
		return inkan.ProviderUser{}, err
	}
	return pr.verifyIDToken(ctx, rawToken, nonce)
}

// idTokenRules are what a provider's ID tokens must satisfy beyond the
// signature.
type idTokenRules struct {
	issuers   []string // accepted iss values
	audiences []string // accepted aud values
	// hashedNonce: the nonce claim is the lower-case hex SHA-256 of the
	// app's nonce (Apple), else the nonce itself.
	hashedNonce bool
}

// idClaims are the ID token claims inkan reads (OpenID Connect Core §2,
// §5.1). email_verified is a boolean, or the string "true"/"false" (Apple).
type idClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"`
	Name          string `json:"name"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Picture       string `json:"picture"`
}

func (c idClaims) verified() bool {
	switch v := c.EmailVerified.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// verifyWith checks raw against keys and rules; the nonce must match
// (required, compared in constant time).
func verifyWith(ctx context.Context, o Options, providerID string, keys oidc.KeySet, rules idTokenRules, raw, nonce string) (inkan.ProviderUser, error) {
	refuse := func(format string, args ...any) (inkan.ProviderUser, error) {
		return inkan.ProviderUser{}, inkan.E(inkan.KindUnauthorized, "id token refused: "+fmt.Sprintf(format, args...))
	}
	if nonce == "" {
		return refuse("nonce: the request carries no nonce")
	}
	v := oidc.NewVerifier("", keys, &oidc.Config{
		SkipClientIDCheck: true, SkipExpiryCheck: true, SkipIssuerCheck: true,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.ES256, oidc.ES384, oidc.EdDSA},
	})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		if strings.Contains(err.Error(), errKeysUnavailable.Error()) {
			return inkan.ProviderUser{}, inkan.Wrap(inkan.KindUnavailable, "the provider's keys cannot be fetched", err)
		}
		for _, known := range []error{errSignature, errUnknownKID} {
			if strings.Contains(err.Error(), known.Error()) {
				return refuse("%s", known.Error())
			}
		}
		if strings.Contains(err.Error(), "malformed jwt") {
			return refuse("signature: the token is not a compact JWS")
		}
		return refuse("signature: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	now := o.Now()
	switch {
	case !slices.Contains(rules.issuers, tok.Issuer):
		return refuse("iss: the token was issued by %q, not by the provider", tok.Issuer)
	case !anyOf(tok.Audience, rules.audiences):
		return refuse("aud: the token is for %q, not for a configured audience (id_token_audiences)", tok.Audience)
	case tok.Expiry.IsZero() || now.After(tok.Expiry.Add(Leeway)):
		return refuse("exp: the token has expired")
	case tok.IssuedAt.After(now.Add(Leeway)):
		return refuse("iat: the token is issued in the future")
	case tok.Subject == "":
		return refuse("sub: the token names no subject")
	case tok.Nonce == "":
		return refuse("nonce: the token carries no nonce")
	}
	got, want := tok.Nonce, nonce
	if rules.hashedNonce {
		sum := sha256.Sum256([]byte(nonce))
		got, want = strings.ToLower(got), hex.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return refuse("nonce: the token's nonce does not match the request's")
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		return refuse("claims: %v", err)
	}
	return inkan.ProviderUser{
		Provider: providerID, Subject: tok.Subject, Email: c.Email, EmailVerified: c.verified(),
		Name: c.Name, GivenName: c.GivenName, FamilyName: c.FamilyName, Picture: c.Picture,
	}, nil
}

func anyOf(have, want []string) bool {
	for _, h := range have {
		if h != "" && slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// audiences are a provider's accepted aud values: id_token_audiences and
// the client id.
func audiences(c Config) []string {
	out := slices.Clone(c.Audiences)
	if c.ClientID != "" {
		out = append(out, c.ClientID)
	}
	return out
}

func newKeySet(url string, o Options) *keySet {
	return &keySet{url: url, client: o.HTTPClient, now: o.Now, minRefresh: o.MinKeyRefresh, maxAge: o.MaxKeyAge}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
