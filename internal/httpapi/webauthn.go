package httpapi

import (
	"encoding/base64"
	"net/http"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/passkey"
)

// writeRawJSON writes a body that a domain service already encoded.
func (a *API) writeRawJSON(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(b)
	logWriteError(a.log, err)
	return nil
}

type passkeyResult struct {
	CredentialID string    `json:"credential_id"`
	UserID       uuid.UUID `json:"user_id"`
}

// webauthnRegistrationInitialize is POST /webauthn/registration/initialize
// (docs/compatibility.md "Passkeys"): creation options for the session's
// user; a request that carries no session token but {"email"} starts a
// passkey-first sign-up instead (webauthnSignUpInitialize).
func (a *API) webauthnRegistrationInitialize(w http.ResponseWriter, r *http.Request) error {
	if len(a.tokenCandidates(r)) == 0 {
		return a.webauthnSignUpInitialize(w, r)
	}
	return a.requireSession(func(w http.ResponseWriter, r *http.Request) error {
		b, err := a.Passkeys.BeginRegistration(r.Context(), claimsFrom(r.Context()).Subject)
		if err != nil {
			return err
		}
		return a.writeRawJSON(w, b)
	})(w, r)
}

// webauthnRegistrationFinalize is POST /webauthn/registration/finalize
// (docs/compatibility.md "Passkeys"): verifies the attestation and stores
// the credential of the session's user; without a session token it
// finishes a passkey-first sign-up (webauthnSignUpFinalize).
func (a *API) webauthnRegistrationFinalize(w http.ResponseWriter, r *http.Request) error {
	if len(a.tokenCandidates(r)) == 0 {
		return a.webauthnSignUpFinalize(w, r)
	}
	return a.requireSession(func(w http.ResponseWriter, r *http.Request) error {
		body, err := readRaw(r)
		if err != nil {
			return err
		}
		if len(body) == 0 {
			return inkan.E(inkan.KindInvalid, "Parse error for Registration")
		}
		c, err := a.Passkeys.FinishRegistration(r.Context(), claimsFrom(r.Context()).Subject, body)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, passkeyResult{CredentialID: base64.RawURLEncoding.EncodeToString(c.ID), UserID: c.UserID})
	})(w, r)
}

// signUpRequest is the body of a passkey-first sign-up's initialize.
type signUpRequest struct {
	Email *string `json:"email"`
}

// webauthnSignUpInitialize starts a passkey-first sign-up (api/openapi.yaml
// POST /webauthn/registration/initialize without a session): {"email"}
// under the rules of POST /users (account.allow_signup, 403 when off;
// 409 when a user owns the address), limited per client address by
// rate_limiter.signup_limits, the bucket POST /users spends. No body, or
// one without "email", is the 401 of a request without a session.
func (a *API) webauthnSignUpInitialize(w http.ResponseWriter, r *http.Request) error {
	var req signUpRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Email == nil {
		return inkan.E(inkan.KindUnauthorized, "")
	}
	if err := a.Accounts.SignUpAllowed(); err != nil {
		return err
	}
	if err := a.limitClient(w, r, a.Opts.SignupLimit, "signup_limits"); err != nil {
		return err
	}
	var p problems
	p.required("email", *req.Email)
	if err := p.err(); err != nil {
		return err
	}
	addr, err := a.Accounts.CheckSignUp(r.Context(), *req.Email)
	if err != nil {
		return err
	}
	b, err := a.Passkeys.BeginSignUp(r.Context(), addr)
	if err != nil {
		return err
	}
	return a.writeRawJSON(w, b)
}

// signUpResult is the body of a finished passkey-first sign-up: Hanko's
// registration result and the new address row, whose passcode verifies
// it when email.require_verification is on.
type signUpResult struct {
	passkeyResult
	EmailID uuid.UUID `json:"email_id"`
}

// webauthnSignUpFinalize finishes a passkey-first sign-up
// (login.Service.PasskeySignUp): the user, the address, the passkey and
// the session in one transaction; the session is delivered as every
// sign-in's. An empty body is the 401 of a request without a session.
func (a *API) webauthnSignUpFinalize(w http.ResponseWriter, r *http.Request) error {
	body, err := readRaw(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return inkan.E(inkan.KindUnauthorized, "")
	}
	if err := a.Accounts.SignUpAllowed(); err != nil {
		return err
	}
	res, err := a.Login.PasskeySignUp(r.Context(), body)
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	return writeJSON(w, http.StatusOK, signUpResult{
		passkeyResult: passkeyResult{CredentialID: base64.RawURLEncoding.EncodeToString(res.Credential.ID), UserID: res.UserID},
		EmailID:       res.Address.ID,
	})
}

type loginInitRequest struct {
	UserID *string `json:"user_id"`
}

// webauthnLoginInitialize is POST /webauthn/login/initialize (see
// docs/compatibility.md "Passkeys"): discoverable options without user_id, allowCredentials with one;
// limited per client address (rate_limiter.webauthn_limits), since every
// call stores a ceremony.
func (a *API) webauthnLoginInitialize(w http.ResponseWriter, r *http.Request) error {
	if err := a.limitClient(w, r, a.Opts.WebauthnLimit, "webauthn_limits"); err != nil {
		return err
	}
	var req loginInitRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	userID := uuid.Nil
	if req.UserID != nil && *req.UserID != "" {
		id, err := parseUUID(*req.UserID)
		if err != nil {
			return inkan.E(inkan.KindInvalid, "failed to parse UserID as uuid")
		}
		userID = id
	}
	b, err := a.Passkeys.BeginLogin(r.Context(), userID)
	if err != nil {
		return err
	}
	return a.writeRawJSON(w, b)
}

// webauthnLoginFinalize is POST /webauthn/login/finalize (docs/compatibility.md "Passkeys"):
// verifies the assertion and issues a session.
func (a *API) webauthnLoginFinalize(w http.ResponseWriter, r *http.Request) error {
	body, err := readRaw(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return inkan.E(inkan.KindInvalid, "Parse error for Assertion")
	}
	res, err := a.Login.Passkey(r.Context(), body)
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	c := res.Credential
	return writeJSON(w, http.StatusOK, passkeyResult{CredentialID: base64.RawURLEncoding.EncodeToString(c.ID), UserID: c.UserID})
}

// relatedOrigins is GET /.well-known/webauthn (WebAuthn L3 §5.11, Related
// Origin Requests): {"origins": […]} from webauthn.related_origins, the
// other domains whose pages may use this relying party's passkeys. Browsers
// fetch it from https://<rp id>/.well-known/webauthn without credentials;
// it may be cached for an hour, as the mobile association files.
func (a *API) relatedOrigins(w http.ResponseWriter, _ *http.Request) error {
	b, err := passkey.RelatedOriginsDocument(a.Opts.RelatedOrigins)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(b)
	logWriteError(a.log, err)
	return nil
}
