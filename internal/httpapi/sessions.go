package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/session"
)

// claimsJSON is the "claims" object of docs/compatibility.md "Session validation".
type claimsJSON struct {
	Subject    uuid.UUID           `json:"subject"`
	SessionID  uuid.UUID           `json:"session_id"`
	Expiration time.Time           `json:"expiration"`
	IssuedAt   *time.Time          `json:"issued_at,omitempty"`
	Audience   []string            `json:"audience,omitempty"`
	Issuer     string              `json:"issuer,omitempty"`
	Email      *session.EmailClaim `json:"email,omitempty"`
	AMR        []string            `json:"amr,omitempty"`
}

// validationJSON is the body of both /sessions/validate routes.
type validationJSON struct {
	IsValid        bool        `json:"is_valid"`
	Claims         *claimsJSON `json:"claims,omitempty"`
	ExpirationTime *time.Time  `json:"expiration_time,omitempty"`
	UserID         *uuid.UUID  `json:"user_id,omitempty"`
	IdleExpiresAt  *time.Time  `json:"idle_expires_at,omitempty"`
}

func toValidationJSON(v session.Validation) validationJSON {
	c := v.Claims
	out := validationJSON{
		IsValid: true,
		Claims: &claimsJSON{
			Subject: c.Subject, SessionID: c.SessionID, Expiration: c.Expiration,
			Audience: c.Audience, Issuer: c.Issuer, Email: c.Email, AMR: c.AMR,
		},
		ExpirationTime: &c.Expiration,
		UserID:         &c.Subject,
	}
	if !c.IssuedAt.IsZero() {
		out.Claims.IssuedAt = &c.IssuedAt
	}
	if !v.IdleExpiresAt.IsZero() {
		out.IdleExpiresAt = &v.IdleExpiresAt
	}
	return out
}

// validateSession is GET /sessions/validate (docs/compatibility.md "Session validation"): the token of
// the Authorization header or the session cookie (the first that verifies
// wins), checked without touching last_used. Always 200: {"is_valid":
// false} when no token is valid — and then a session cookie that was sent
// is cleared, since it can never work again (e.g. idle-expired, which
// deletes the row) — else {is_valid, claims, expiration_time, user_id,
// idle_expires_at?}.
func (a *API) validateSession(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	for _, t := range a.tokenCandidates(r) {
		v, err := a.Sessions.Validate(r.Context(), t.token, false)
		if err == nil {
			return writeJSON(w, http.StatusOK, toValidationJSON(v))
		}
		if inkan.KindOf(err) != inkan.KindUnauthorized {
			return err
		}
	}
	if c, err := r.Cookie(a.Opts.Cookie.Name); err == nil && c.Value != "" {
		a.clearSession(w)
	}
	return writeJSON(w, http.StatusOK, validationJSON{})
}

type validateSessionRequest struct {
	SessionToken string `json:"session_token"`
}

// validateSessionToken is POST /sessions/validate (docs/compatibility.md "Session validation"): body
// {"session_token"} (400 "session_token is a required field"; inkan drops
// Hanko's nested "code=400, message=" quirk). The check sets last_used.
// Always 200 otherwise, {"is_valid": false} for an invalid token.
func (a *API) validateSessionToken(w http.ResponseWriter, r *http.Request) error {
	var req validateSessionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	p.required("session_token", req.SessionToken)
	if err := p.err(); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	v, err := a.Sessions.Validate(r.Context(), req.SessionToken, true)
	if inkan.KindOf(err) == inkan.KindUnauthorized {
		return writeJSON(w, http.StatusOK, validationJSON{})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toValidationJSON(v))
}
