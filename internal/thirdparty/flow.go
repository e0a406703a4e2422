package thirdparty

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// The error codes of the redirect flow, sent to the app as ?error= (Hanko's
// codes; docs/thirdparty.md "Web redirect flow"). A provider's own error
// code is passed through as it is.
const (
	ErrorInvalidRequest  = "invalid_request"
	ErrorServerError     = "server_error"
	ErrorUserConflict    = "user_conflict"
	ErrorUnverifiedEmail = "unverified_email"
	ErrorEmailMaxNum     = "email_maxnum"
	ErrorSignupDisabled  = "signup_disabled"
)

// serverErrorDescription is the only description a server_error carries.
const serverErrorDescription = "an internal error has occurred"

// StateCookie is the cookie that binds a redirect flow to the browser that
// started it (Hanko's name).
const StateCookie = "hanko_thirdparty_state"

// StateTTL is how long a started redirect flow may take.
const StateTTL = 5 * time.Minute

// FlowError is a refusal of the redirect flow: Code and Description go to
// the app as ?error=&error_description=.
type FlowError struct {
	Code        string
	Description string
	// Provider is the provider named by the request or the state ("" when
	// unknown).
	Provider string
	cause    error
}

func (e *FlowError) Error() string { return e.Code + ": " + e.Description }
func (e *FlowError) Unwrap() error { return e.cause }

func invalid(provider, format string, args ...any) *FlowError {
	return &FlowError{Code: ErrorInvalidRequest, Description: fmt.Sprintf(format, args...), Provider: provider}
}

func serverError(provider string, cause error) *FlowError {
	return &FlowError{Code: ErrorServerError, Description: serverErrorDescription, Provider: provider, cause: cause}
}

// FlowOptions configure the redirect flow (third_party.*).
type FlowOptions struct {
	// Secret is secrets.keys[0]; the state is sealed with AES-256-GCM under
	// its SHA-256.
	Secret string
	// RedirectURL is this server's /thirdparty/callback as registered with
	// the providers (third_party.redirect_url).
	RedirectURL string
	// ErrorRedirectURL receives errors when no redirect_to is known.
	ErrorRedirectURL string
	// DefaultRedirectURL is used when the request names no redirect_to.
	DefaultRedirectURL string
	// AllowedRedirectURLs are globs a redirect_to must match.
	AllowedRedirectURLs []string
}

// Flow runs Hanko's web redirect flow over Providers: Begin builds the
// provider's authorization URL and the sealed state, Finish checks the
// callback and exchanges the code (RFC 6749 §4.1 with PKCE, RFC 7636).
type Flow struct {
	p    *Providers
	o    FlowOptions
	aead cipher.AEAD
}

// NewFlow returns the flow of p under o.
func NewFlow(p *Providers, o FlowOptions) (*Flow, error) {
	key := sha256.Sum256([]byte(o.Secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Flow{p: p, o: o, aead: aead}, nil
}

// ErrorRedirectURL is third_party.error_redirect_url.
func (f *Flow) ErrorRedirectURL() string { return f.o.ErrorRedirectURL }

// state is the sealed content of the state parameter and cookie.
type state struct {
	Provider     string    `json:"provider"`
	RedirectTo   string    `json:"redirect_to"`
	IssuedAt     time.Time `json:"issued_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Nonce        string    `json:"nonce"`
	CodeVerifier string    `json:"code_verifier"`
}

func (f *Flow) seal(s state) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, f.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(f.aead.Seal(nonce, nonce, plain, nil)), nil
}

func (f *Flow) open(s string) (state, error) {
	var out state
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < f.aead.NonceSize() {
		return out, errors.New("malformed")
	}
	plain, err := f.aead.Open(nil, b[:f.aead.NonceSize()], b[f.aead.NonceSize():], nil)
	if err != nil {
		return out, errors.New("not sealed by this server")
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return out, errors.New("malformed")
	}
	return out, nil
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AllowedRedirect reports whether u may receive the flow's result: it
// matches a glob of allowed_redirect_urls (or is error_redirect_url) after
// a trailing "/" is trimmed.
func (f *Flow) AllowedRedirect(u string) bool {
	u = strings.TrimSuffix(u, "/")
	if u == strings.TrimSuffix(f.o.ErrorRedirectURL, "/") && u != "" {
		return true
	}
	for _, g := range f.o.AllowedRedirectURLs {
		if globMatch(strings.TrimSuffix(g, "/"), u) {
			return true
		}
	}
	return false
}

// globMatch matches s against pattern: "**" is any run of characters, "*"
// any run without "." and "/", every other character itself.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	if strings.HasPrefix(pattern, "**") {
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[2:], s[i:]) {
				return true
			}
		}
		return false
	}
	if pattern[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
			if i < len(s) && (s[i] == '.' || s[i] == '/') {
				return false
			}
		}
		return false
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

// Begin starts a redirect flow (GET /thirdparty/auth): it checks provider
// and redirectTo ("" = default_redirect_url) and returns the provider's
// authorization URL (with state, nonce and the PKCE S256 challenge) and the
// sealed state, which the caller also sets as StateCookie. Errors:
// *FlowError invalid_request (unknown or disabled provider, a redirect_to
// that is not an absolute URL or not allowed), server_error.
func (f *Flow) Begin(ctx context.Context, provider, redirectTo string, now time.Time) (authURL, sealed string, err error) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	if provider == "" {
		return "", "", invalid("", "provider is a required field")
	}
	pr, err := f.p.get(provider)
	if err != nil {
		return "", "", invalid(provider, "provider is not enabled")
	}
	if redirectTo == "" {
		redirectTo = f.o.DefaultRedirectURL
	}
	if redirectTo == "" {
		return "", "", invalid(provider, "redirect_to is a required field")
	}
	if u, err := url.Parse(redirectTo); err != nil || !u.IsAbs() || u.Host == "" {
		return "", "", invalid(provider, "redirect_to must be an absolute URL")
	}
	if !f.AllowedRedirect(redirectTo) {
		return "", "", invalid(provider, "redirect_to is not allowed")
	}
	oc, opts, err := pr.oauth(ctx)
	if err != nil {
		return "", "", serverError(provider, err)
	}
	oc.RedirectURL = f.o.RedirectURL
	s := state{Provider: provider, RedirectTo: redirectTo, IssuedAt: now.UTC(), ExpiresAt: now.Add(StateTTL).UTC(), Nonce: randomString(), CodeVerifier: oauth2.GenerateVerifier()}
	sealed, err = f.seal(s)
	if err != nil {
		return "", "", serverError(provider, err)
	}
	opts = append(opts, oauth2.S256ChallengeOption(s.CodeVerifier), oauth2.SetAuthURLParam("nonce", s.Nonce))
	if p := pr.config().Prompt; p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	return oc.AuthCodeURL(sealed, opts...), sealed, nil
}

// Callback are the parameters of GET /thirdparty/callback.
type Callback struct {
	State, Code, Error, ErrorDescription string
	// User is Apple's "user" parameter (JSON with the name, first
	// authorization only).
	User string
	// Cookie is the StateCookie the browser sent ("" when none).
	Cookie string
}

// Finished is a checked callback: the identity, where the result goes and
// the provider's allow_linking.
type Finished struct {
	User         inkan.ProviderUser
	RedirectTo   string
	AllowLinking bool
}

// Finish checks a callback and exchanges its code: the state must be
// sealed by this server, unexpired, and equal to the browser's StateCookie
// (the flow started in this browser); a provider error is passed on; the
// code is exchanged with the PKCE verifier and the ID token (OpenID Connect
// providers, nonce from the state) or the user API (GitHub) names the
// identity. Errors: *FlowError, with RedirectTo filled (empty when the
// state could not be read).
func (f *Flow) Finish(ctx context.Context, c Callback, now time.Time) (Finished, *FlowError) {
	if c.State == "" {
		return Finished{}, invalid("", "state is a required field")
	}
	s, err := f.open(c.State)
	if err != nil {
		return Finished{}, invalid("", "state is invalid: %v", err)
	}
	out := Finished{RedirectTo: s.RedirectTo}
	fail := func(e *FlowError) (Finished, *FlowError) {
		e.Provider = s.Provider
		return out, e
	}
	switch {
	case c.Cookie == "" || subtle.ConstantTimeCompare([]byte(c.Cookie), []byte(c.State)) != 1:
		return fail(invalid(s.Provider, "the state does not belong to this browser (no matching %s cookie)", StateCookie))
	case now.After(s.ExpiresAt):
		return fail(invalid(s.Provider, "the state has expired"))
	case c.Error != "":
		desc := c.ErrorDescription
		if desc == "" {
			desc = "the provider refused the authorization"
		}
		return fail(&FlowError{Code: c.Error, Description: desc})
	case c.Code == "":
		return fail(invalid(s.Provider, "code is a required field"))
	}
	pr, err := f.p.get(s.Provider)
	if err != nil {
		return fail(invalid(s.Provider, "provider is not enabled"))
	}
	oc, _, err := pr.oauth(ctx)
	if err != nil {
		return fail(serverError(s.Provider, err))
	}
	oc.RedirectURL = f.o.RedirectURL
	pu, err := pr.exchange(ctx, oc, c.Code, s.CodeVerifier, s.Nonce)
	if err != nil {
		var fe *FlowError
		if errors.As(err, &fe) {
			return fail(fe)
		}
		return fail(serverError(s.Provider, err))
	}
	if c.User != "" && pu.GivenName == "" && pu.FamilyName == "" {
		var u struct {
			Name struct {
				FirstName string `json:"firstName"`
				LastName  string `json:"lastName"`
			} `json:"name"`
		}
		if json.Unmarshal([]byte(c.User), &u) == nil {
			pu.GivenName, pu.FamilyName = u.Name.FirstName, u.Name.LastName
			pu.Name = strings.TrimSpace(u.Name.FirstName + " " + u.Name.LastName)
		}
	}
	out.User, out.AllowLinking = pu, pr.config().AllowLinking
	return out, nil
}

// ErrorURL appends error and error_description to base's query.
func ErrorURL(base, code, description string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", description)
	u.RawQuery = q.Encode()
	return u.String()
}

// exchangeIDToken is the code exchange of an OpenID Connect provider: the
// token response's id_token is verified like a native one, its audience
// the client id and its nonce the state's (as sent).
func exchangeIDToken(ctx context.Context, o Options, c Config, keys keyGetter, rules idTokenRules, oc *oauth2.Config, code, verifier, nonce string) (inkan.ProviderUser, error) {
	tok, err := oc.Exchange(oauth2Context(ctx, o), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return inkan.ProviderUser{}, &FlowError{Code: ErrorInvalidRequest, Description: "the provider refused the code: " + re.ErrorCode, cause: err}
		}
		return inkan.ProviderUser{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return inkan.ProviderUser{}, errors.New("the token response carries no id_token")
	}
	ks, err := keys(ctx)
	if err != nil {
		return inkan.ProviderUser{}, err
	}
	rules.audiences, rules.hashedNonce = []string{c.ClientID}, false
	pu, err := verifyWith(ctx, o, c.ID, ks, rules, raw, nonce)
	if err != nil {
		if inkan.KindOf(err) == inkan.KindUnauthorized {
			return inkan.ProviderUser{}, &FlowError{Code: ErrorInvalidRequest, Description: inkan.MessageOf(err), cause: err}
		}
		return inkan.ProviderUser{}, err
	}
	return pu, nil
}
