package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/login"
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
	a.deliverSession(w, res.Token)
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

// identities returns the user's identities when third-party sign-in is
// configured (Opts.ThirdParty); without it none is read, so the hot routes
// keep their statement budget.
func (a *API) identities(r *http.Request, userID uuid.UUID) ([]inkan.Identity, error) {
	if !a.Opts.ThirdParty {
		return nil, nil
	}
	return a.Accounts.Identities(r.Context(), userID)
}
