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
