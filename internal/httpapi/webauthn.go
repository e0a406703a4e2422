package httpapi

import (
	"encoding/base64"
	"net/http"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
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
// (docs/compatibility.md "Passkeys"): creation options for the session's user.
func (a *API) webauthnRegistrationInitialize(w http.ResponseWriter, r *http.Request) error {
	b, err := a.Passkeys.BeginRegistration(r.Context(), claimsFrom(r.Context()).Subject)
	if err != nil {
		return err
	}
	return a.writeRawJSON(w, b)
}

// webauthnRegistrationFinalize is POST /webauthn/registration/finalize
// (docs/compatibility.md "Passkeys"): verifies the attestation and stores the credential.
func (a *API) webauthnRegistrationFinalize(w http.ResponseWriter, r *http.Request) error {
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
	a.deliverSession(w, res.Token)
	c := res.Credential
	return writeJSON(w, http.StatusOK, passkeyResult{CredentialID: base64.RawURLEncoding.EncodeToString(c.ID), UserID: c.UserID})
}
