package httpapi

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// credentialID decodes the {id} path value: base64url of the raw
// credential id, padding tolerated (docs/compatibility.md "Conventions"). Anything else names no
// credential: KindNotFound.
func credentialID(r *http.Request) ([]byte, error) {
	s := strings.TrimRight(r.PathValue("id"), "=")
	id, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(id) == 0 || len(id) > 1023 {
		return nil, inkan.E(inkan.KindNotFound, "webauthn credential not found")
	}
	return id, nil
}

// listCredentials is GET /webauthn/credentials (docs/compatibility.md "Passkeys"): 200 the
// caller's credentials, oldest first.
func (a *API) listCredentials(w http.ResponseWriter, r *http.Request) error {
	creds, err := a.Passkeys.Credentials(r.Context(), claimsFrom(r.Context()).Subject)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mapSlice(creds, a.toCredentialJSON))
}

type renameCredentialRequest struct {
	Name *string `json:"name"`
}

// renameCredential is PATCH /webauthn/credentials/{id} (docs/compatibility.md "Passkeys"):
// {"name"} — absent or null keeps the name — 200 with an empty body; 404
// for an unknown or another user's id; 400 for a name over 255 characters.
func (a *API) renameCredential(w http.ResponseWriter, r *http.Request) error {
	userID := claimsFrom(r.Context()).Subject
	id, err := credentialID(r)
	if err != nil {
		return err
	}
	var req renameCredentialRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name != nil {
		if err := a.Passkeys.Rename(r.Context(), userID, id, *req.Name); err != nil {
			return err
		}
	} else {
		creds, err := a.Passkeys.Credentials(r.Context(), userID)
		if err != nil {
			return err
		}
		found := false
		for _, c := range creds {
			found = found || bytes.Equal(c.ID, id)
		}
		if !found {
			return inkan.E(inkan.KindNotFound, "webauthn credential not found")
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteCredential is DELETE /webauthn/credentials/{id} (docs/compatibility.md "Passkeys"):
// 204; 404 for an unknown or another user's id. With "Prefer:
// return=representation" (RFC 7240) it answers 200
// {"signal_all_accepted_credentials": {rpId, userId,
// allAcceptedCredentialIds}} with the remaining credentials, for
// PublicKeyCredential.signalAllAcceptedCredentials (WebAuthn L3 §5.1.10).
func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	userID := claimsFrom(r.Context()).Subject
	id, err := credentialID(r)
	if err != nil {
		return err
	}
	if err := a.Passkeys.Delete(r.Context(), userID, id); err != nil {
		return err
	}
	if !preferRepresentation(w, r) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	creds, err := a.Passkeys.Credentials(r.Context(), userID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"signal_all_accepted_credentials": a.Passkeys.SignalAllAcceptedCredentials(userID, creds),
	})
}
