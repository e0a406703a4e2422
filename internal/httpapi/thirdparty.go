package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/thirdparty"
)

// Longest accepted values of POST /thirdparty/id_token, in bytes.
const (
	maxIDTokenBytes = 16 << 10
	maxNonceBytes   = 512
	maxNameBytes    = 255
)

type idTokenRequest struct {
	Provider string `json:"provider"`
	IDToken  string `json:"id_token"`
	Nonce    string `json:"nonce"`
	// GivenName and FamilyName are the name Apple hands the app (not the
	// token) on the first authorization; optional.
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// idTokenSignIn is POST /thirdparty/id_token (api/openapi.yaml,
// docs/thirdparty.md "Native sign-in"): the rate limit
// rate_limiter.thirdparty_limits per client address, validation (400), then
// login.Service.IDToken: 401 naming the failed check of the token, 409
// user_conflict, 403 signup_disabled or unverified_email, 503 when the
// provider's keys cannot be fetched. 200 {"user_id"} and a session, as
// passcode finalize delivers it.
func (a *API) idTokenSignIn(w http.ResponseWriter, r *http.Request) error {
	if err := a.limitClient(w, r, a.Opts.ThirdPartyLimit, "thirdparty_limits"); err != nil {
		return err
	}
	var req idTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	p.required("provider", req.Provider)
	p.required("id_token", req.IDToken)
	p.required("nonce", req.Nonce)
	for _, f := range []struct {
		name, v string
		max     int
	}{{"provider", req.Provider, 64}, {"id_token", req.IDToken, maxIDTokenBytes}, {"nonce", req.Nonce, maxNonceBytes}, {"given_name", req.GivenName, maxNameBytes}, {"family_name", req.FamilyName, maxNameBytes}} {
		if len(f.v) > f.max {
			p = append(p, f.name+" is too long")
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	res, err := a.Login.IDToken(r.Context(), login.IDTokenRequest{
		Provider: req.Provider, Token: req.IDToken, Nonce: req.Nonce, GivenName: req.GivenName, FamilyName: req.FamilyName,
	})
	if inkan.KindOf(err) == inkan.KindNotFound {
		return inkan.E(inkan.KindInvalid, "provider is not enabled")
	}
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	return writeJSON(w, http.StatusOK, map[string]uuid.UUID{"user_id": res.UserID})
}

// identityJSON is an identity in GET /me and GET /emails: the provider's
// subject as id, the provider's display name, and the identity's own id.
type identityJSON struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	IdentityID uuid.UUID `json:"identity_id"`
}

func (a *API) toIdentityJSON(i inkan.Identity) identityJSON {
	name := i.Provider
	if a.ProviderNames != nil {
		if n := a.ProviderNames(i.Provider); n != "" {
			name = n
		}
	}
	return identityJSON{ID: i.Subject, Provider: name, IdentityID: i.ID}
}

// adminIdentityJSON is an identity in the admin user object.
type adminIdentityJSON struct {
	ID           uuid.UUID  `json:"id"`
	ProviderID   string     `json:"provider_id"`
	ProviderName string     `json:"provider_name"`
	EmailID      *uuid.UUID `json:"email_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func toAdminIdentity(i inkan.Identity) adminIdentityJSON {
	out := adminIdentityJSON{ID: i.ID, ProviderID: i.Subject, ProviderName: i.Provider, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt}
	if i.EmailID != uuid.Nil {
		id := i.EmailID
		out.EmailID = &id
	}
	return out
}

// shownIdentities returns the profile's identities when third-party
// sign-in is configured (Opts.ThirdParty), nil otherwise: GET /me and
// GET /emails show identities only then.
func (a *API) shownIdentities(p inkan.Profile) []inkan.Identity {
	if !a.Opts.ThirdParty {
		return nil
	}
	return p.Identities
}

// thirdPartyAuth is GET /thirdparty/auth?provider=&redirect_to= (Hanko's
// redirect flow, docs/thirdparty.md "Web redirect flow"): 307 to the
// provider's authorization URL with the sealed state, also set as the
// hanko_thirdparty_state cookie (Max-Age 300, SameSite Lax). A refusal is a
// 307 to the Referer when it is an allowed redirect URL, else to
// third_party.error_redirect_url, with ?error=invalid_request and
// error_description.
func (a *API) thirdPartyAuth(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	authURL, state, err := a.Flow.Begin(r.Context(), q.Get("provider"), q.Get("redirect_to"), time.Now())
	if err != nil {
		var fe *thirdparty.FlowError
		if !errors.As(err, &fe) {
			return err
		}
		if fe.Code == thirdparty.ErrorServerError {
			a.log.ErrorContext(r.Context(), "third-party authorization", "provider", fe.Provider, "error", fe.Unwrap())
		}
		target := a.Flow.ErrorRedirectURL()
		if ref := r.Referer(); ref != "" && a.Flow.AllowedRedirect(ref) {
			target = ref
		}
		http.Redirect(w, r, thirdparty.ErrorURL(target, fe.Code, fe.Description), http.StatusTemporaryRedirect)
		return nil
	}
	http.SetCookie(w, a.stateCookie(state, int(thirdparty.StateTTL.Seconds())))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusTemporaryRedirect)
	return nil
}

// stateCookie is the hanko_thirdparty_state cookie: Path /, SameSite Lax
// (it must come along when the provider sends the browser back), Domain,
// Secure and HttpOnly as the session cookie's.
func (a *API) stateCookie(value string, maxAge int) *http.Cookie {
	o := a.Opts.Cookie
	return &http.Cookie{Name: thirdparty.StateCookie, Value: value, Path: "/", Domain: o.Domain, MaxAge: maxAge,
		Secure: o.Secure, HttpOnly: o.HTTPOnly, SameSite: http.SameSiteLaxMode}
}

// callbackParams are the parameters a provider sends to the callback.
var callbackParams = []string{"code", "state", "error", "error_description", "user"}

// thirdPartyCallbackPost is POST /thirdparty/callback: providers answering
// with response_mode=form_post (Apple) post the parameters; 303 to GET
// /thirdparty/callback with them in the query, so that the state cookie
// (SameSite Lax) comes along on the redirected navigation.
func (a *API) thirdPartyCallbackPost(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return inkan.E(inkan.KindInvalid, "the body is not a form")
	}
	q := url.Values{}
	for _, k := range callbackParams {
		if v := r.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, "/thirdparty/callback?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// thirdPartyCallback is GET /thirdparty/callback: the flow's checks and the
// code exchange (thirdparty.Flow.Finish), then the identity and a one-time
// token (login.Service.ThirdPartyRedirect); 307 to redirect_to with
// hanko_token=<token>. Every refusal is a 307 to redirect_to (or
// third_party.error_redirect_url when the state cannot be read) with
// ?error=<code>&error_description=…; the state cookie is cleared either way.
func (a *API) thirdPartyCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	cb := thirdparty.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"), User: q.Get("user")}
	if c, err := r.Cookie(thirdparty.StateCookie); err == nil {
		cb.Cookie = c.Value
	}
	http.SetCookie(w, a.stateCookie("", -1))
	w.Header().Set("Cache-Control", "no-store")
	fin, fe := a.Flow.Finish(r.Context(), cb, time.Now())
	target := fin.RedirectTo
	if target == "" {
		target = a.Flow.ErrorRedirectURL()
	}
	if fe != nil {
		if fe.Code == thirdparty.ErrorServerError {
			a.log.ErrorContext(r.Context(), "third-party callback", "provider", fe.Provider, "error", fe.Unwrap())
		} else if err := a.Login.ThirdPartyRefused(r.Context(), fe.Provider, inkan.Wrap(inkan.KindInvalid, fe.Code+": "+fe.Description, fe)); inkan.KindOf(err) == inkan.KindInternal {
			a.log.ErrorContext(r.Context(), "recording a refused third-party callback", "error", err)
		}
		http.Redirect(w, r, thirdparty.ErrorURL(target, fe.Code, fe.Description), http.StatusTemporaryRedirect)
		return nil
	}
	res, err := a.Login.ThirdPartyRedirect(r.Context(), fin.User, fin.AllowLinking)
	if err != nil {
		code, desc := redirectError(err)
		if code == thirdparty.ErrorServerError {
			a.log.ErrorContext(r.Context(), "third-party sign-in", "provider", fin.User.Provider, "error", err)
		}
		http.Redirect(w, r, thirdparty.ErrorURL(target, code, desc), http.StatusTemporaryRedirect)
		return nil
	}
	u, perr := url.Parse(target)
	if perr != nil {
		return perr // Finish only returns redirect URLs that parsed
	}
	v := u.Query()
	v.Set("hanko_token", res.Token)
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	return nil
}

// redirectError maps a refused sign-in to the flow's error code and
// description.
func redirectError(err error) (string, string) {
	switch {
	case errors.Is(err, account.ErrUserConflict):
		return thirdparty.ErrorUserConflict, "the address belongs to another user"
	case errors.Is(err, account.ErrSignupDisabled):
		return thirdparty.ErrorSignupDisabled, "sign-up is disabled"
	case errors.Is(err, account.ErrUnverifiedEmail):
		return thirdparty.ErrorUnverifiedEmail, "the provider did not verify the address"
	case inkan.KindOf(err) == inkan.KindInvalid || inkan.KindOf(err) == inkan.KindConflict:
		return thirdparty.ErrorInvalidRequest, inkan.MessageOf(err)
	}
	return thirdparty.ErrorServerError, "an internal error has occurred"
}

type tokenRequest struct {
	Value string `json:"value"`
}

// exchangeToken is POST /token (Hanko's one-time token exchange): the rate
// limit rate_limiter.token_limits per client address before the body is
// read, then login.Service.ExchangeToken: 200 {"user_id"} and a session;
// 404 "token not found" (unknown or used), 422 "token has expired".
func (a *API) exchangeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.limitClient(w, r, a.Opts.TokenLimit, "token_limits"); err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	p.required("value", req.Value)
	if len(req.Value) > 128 {
		p = append(p, "value is too long")
	}
	if err := p.err(); err != nil {
		return err
	}
	res, err := a.Login.ExchangeToken(r.Context(), req.Value)
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	return writeJSON(w, http.StatusOK, map[string]uuid.UUID{"user_id": res.UserID})
}
