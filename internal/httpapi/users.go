package httpapi

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/passkey"
)

type emailRequest struct {
	Email string `json:"email"`
}

// decodeEmail reads the {"email": …} body of POST /user and POST /users;
// a missing or blank address is "email is a required field" (400).
func decodeEmail(r *http.Request) (string, error) {
	var req emailRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	var p problems
	p.required("email", req.Email)
	return req.Email, p.err()
}

// lookupUser is POST /user (docs/compatibility.md "Users"), limited per client address
// (rate_limiter.lookup_limits): 200 {id, email_id, verified,
// has_webauthn_credential}, 404 when no user owns the address.
func (a *API) lookupUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.limitClient(w, r, a.Opts.LookupLimit, "lookup_limits"); err != nil {
		return err
	}
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	res, err := a.Accounts.Lookup(r.Context(), email)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":                      res.UserID,
		"email_id":                res.EmailID,
		"verified":                res.Verified,
		"has_webauthn_credential": res.HasWebauthnCredential,
	})
}

// createUser is POST /users (docs/compatibility.md "Users"), limited per client address
// (rate_limiter.signup_limits): 200 {id, user_id, email_id};
// 409 when the address is taken. Without required verification the user is
// signed in at once, with a session row (fixing Hanko's missing row).
func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.limitClient(w, r, a.Opts.SignupLimit, "signup_limits"); err != nil {
		return err
	}
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	res, err := a.Login.SignUp(r.Context(), email)
	if err != nil {
		return err
	}
	if res.SignedIn {
		a.deliverSession(w, res.Token, res.RefreshToken)
	}
	u, e := res.User, res.Address
	// Hanko's hanko_email_id cookie for its web components: SameSite=None
	// as Hanko sets it, which browsers accept only with Secure; without
	// Secure (plain-HTTP development) Lax keeps it usable.
	sameSite := http.SameSiteNoneMode
	if !a.Opts.Cookie.Secure {
		sameSite = http.SameSiteLaxMode
	}
	http.SetCookie(w, &http.Cookie{
		Name: "hanko_email_id", Value: e.ID.String(), Path: "/",
		Domain: a.Opts.Cookie.Domain, Secure: a.Opts.Cookie.Secure,
		HttpOnly: a.Opts.Cookie.HTTPOnly, SameSite: sameSite,
	})
	return writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "user_id": u.ID, "email_id": e.ID})
}

// credentialJSON is the "cred" object of docs/compatibility.md "Users" (GET /me) and §2.4,
// with inkan's additions after mfa_only: the provider named by the AAGUID
// (omitted when unknown; icons only from passkey.aaguid_metadata_file),
// and the relying party id and user handle a client passes to the
// WebAuthn Signals API (WebAuthn L3 §5.1.10).
type credentialJSON struct {
	ID                string     `json:"id"`
	Name              string     `json:"name,omitempty"`
	PublicKey         string     `json:"public_key"`
	AttestationType   string     `json:"attestation_type"`
	AAGUID            uuid.UUID  `json:"aaguid"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	Transports        []string   `json:"transports"`
	BackupEligible    bool       `json:"backup_eligible"`
	BackupState       bool       `json:"backup_state"`
	MFAOnly           bool       `json:"mfa_only"`
	ProviderName      string     `json:"provider_name,omitempty"`
	ProviderIconLight string     `json:"provider_icon_light,omitempty"`
	ProviderIconDark  string     `json:"provider_icon_dark,omitempty"`
	RPID              string     `json:"rp_id"`
	UserHandle        string     `json:"user_handle"`
}

// toCredentialJSON is the one encoding of a credential, for the public
// and the admin API.
func (a *API) toCredentialJSON(c inkan.Credential) credentialJSON {
	out := credentialJSON{
		ID:              base64.RawURLEncoding.EncodeToString(c.ID),
		Name:            c.Name,
		PublicKey:       base64.RawURLEncoding.EncodeToString(c.PublicKey),
		AttestationType: c.AttestationType,
		AAGUID:          c.AAGUID,
		CreatedAt:       c.CreatedAt,
		Transports:      c.Transports,
		BackupEligible:  c.BackupEligible,
		BackupState:     c.BackupState,
		RPID:            a.Passkeys.RPID(),
		UserHandle:      base64.RawURLEncoding.EncodeToString(passkey.UserHandle(c.UserID)),
	}
	if p, ok := a.Passkeys.Provider(c.AAGUID); ok {
		out.ProviderName, out.ProviderIconLight, out.ProviderIconDark = p.Name, p.IconLight, p.IconDark
	}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

type emailJSON struct {
	ID         uuid.UUID `json:"id"`
	Address    string    `json:"address"`
	IsVerified bool      `json:"is_verified"`
	IsPrimary  bool      `json:"is_primary"`
	// Identities are the third-party identities that vouched for the
	// address (omitted when none).
	Identities []identityJSON `json:"identities,omitempty"`
}

// toEmailJSONs renders emails with the identities linked to each.
func (a *API) toEmailJSONs(emails []inkan.Email, ids []inkan.Identity) []emailJSON {
	return mapSlice(emails, func(e inkan.Email) emailJSON {
		out := emailJSON{ID: e.ID, Address: e.Address, IsVerified: e.Verified, IsPrimary: e.Primary}
		for _, i := range ids {
			if i.EmailID == e.ID {
				out.Identities = append(out.Identities, a.toIdentityJSON(i))
			}
		}
		return out
	})
}

// getUser is GET /users/{id} (docs/compatibility.md "Users"): only the session's own user
// (403 otherwise, also for a malformed id); 404 when missing.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	claims := claimsFrom(r.Context())
	id, err := parseUUID(r.PathValue("id"))
	if err != nil || id != claims.Subject {
		return inkan.E(inkan.KindForbidden, "")
	}
	p, err := a.Accounts.Profile(r.Context(), id)
	if err != nil {
		return err
	}
	u := p.User
	out := map[string]any{
		"id":                   u.ID,
		"webauthn_credentials": mapSlice(p.Credentials, a.toCredentialJSON),
		"created_at":           u.CreatedAt,
		"updated_at":           u.UpdatedAt,
	}
	if e, ok := p.Primary(); ok {
		out["email"] = e.Address
	}
	return writeJSON(w, http.StatusOK, out)
}

// me is GET /me (docs/compatibility.md "Users", v2.1.0+ profile shape).
func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	claims := claimsFrom(r.Context())
	// One read for the whole profile, identities included: with the
	// session's, two statements (docs/performance.md "Budgets").
	read := a.Accounts.Profile
	if a.Opts.ThirdParty {
		read = a.Accounts.ProfileWithIdentities
	}
	p, err := read(r.Context(), claims.Subject)
	if err != nil {
		return err
	}
	u, emails, creds := p.User, p.Emails, p.Credentials
	ids := a.shownIdentities(p)
	out := map[string]any{
		"id":         u.ID,
		"user_id":    u.ID,
		"created_at": u.CreatedAt,
		"updated_at": u.UpdatedAt,
		"mfa_config": map[string]bool{"auth_app_set_up": false, "totp_enabled": false, "security_keys_enabled": false},
	}
	if len(emails) > 0 {
		out["emails"] = a.toEmailJSONs(emails, ids)
	}
	if a.Opts.ThirdParty {
		out["identities"] = mapSlice(ids, a.toIdentityJSON)
	}
	for k, v := range map[string]string{"name": u.Name, "given_name": u.GivenName, "family_name": u.FamilyName, "picture": u.Picture} {
		if v != "" {
			out[k] = v // Hanko's profile fields, omitted when empty
		}
	}
	if len(creds) > 0 {
		out["passkeys"] = mapSlice(creds, a.toCredentialJSON)
	}
	// What the WebAuthn Signals API takes (WebAuthn L3 §5.1.10), ready to
	// pass: the accepted credentials ([] hides every passkey of this RP),
	// and the names shown for the account.
	out["signal_all_accepted_credentials"] = a.Passkeys.SignalAllAcceptedCredentials(u.ID, creds)
	primary := ""
	if e, ok := p.Primary(); ok {
		primary = e.Address
	}
	if details := a.Passkeys.SignalCurrentUserDetails(u.ID, primary); details != nil {
		out["signal_current_user_details"] = details
	}
	return writeJSON(w, http.StatusOK, out)
}

// logout is POST /logout (docs/compatibility.md "Users"): revokes the session row, sets
// the deletion cookie, 204.
func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	claims := claimsFrom(r.Context())
	if err := a.Sessions.Logout(r.Context(), claims); err != nil && inkan.KindOf(err) != inkan.KindNotFound {
		return err
	}
	a.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
