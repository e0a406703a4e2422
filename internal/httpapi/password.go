package httpapi

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/ratelimit"
)

type passwordRequest struct {
	UserID   string `json:"user_id"`
	Password string `json:"password"`
}

// validate checks the body of both password routes (docs/compatibility.md "Validation"): the
// password is required but not trimmed (spaces are characters).
func (req passwordRequest) validate() (uuid.UUID, error) {
	var p problems
	userID := p.uuidField("user_id", req.UserID, true)
	if req.Password == "" {
		p = append(p, "password is a required field")
	}
	return userID, p.err()
}

// decodePassword reads and validates the {user_id, password} body of PUT
// /password and POST /password/login.
func decodePassword(r *http.Request) (passwordRequest, uuid.UUID, error) {
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, uuid.Nil, err
	}
	userID, err := req.validate()
	return req, userID, err
}

// setPassword is PUT /password (docs/compatibility.md "Passwords"): 201 null for a first
// password, 200 null for a replaced one; 400 length rules, 401 unknown
// user, 403 another user's id.
func (a *API) setPassword(w http.ResponseWriter, r *http.Request) error {
	req, userID, err := decodePassword(r)
	if err != nil {
		return err
	}
	// Each set costs an argon2id hash: limited per user like a login.
	if err := a.rateLimit(w, r, a.Opts.PasswordLimit, "password_limits", ratelimit.Key("PUT /password", claimsFrom(r.Context()).Subject.String())); err != nil {
		return err
	}
	created, err := a.Passwords.Set(r.Context(), claimsFrom(r.Context()).Subject, userID, req.Password)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, nil)
}

// passwordLogin is POST /password/login (docs/compatibility.md "Passwords"): validation, then
// the rate limit rate_limiter.password_limits keyed route/user/client IP
// (docs/compatibility.md "Rate limits"), then the password check (401 for an unknown user, no password or
// a wrong one). 200 null and a session.
func (a *API) passwordLogin(w http.ResponseWriter, r *http.Request) error {
	req, userID, err := decodePassword(r)
	if err != nil {
		return err
	}
	// Per user and address (docs/compatibility.md "Rate limits"), and per user alone, so that
	// guesses spread over many client addresses still meet a limit.
	if err := a.rateLimit(w, r, a.Opts.PasswordLimit, "password_limits",
		ratelimit.Key("/password/login", userID.String(), clientIP(r.Context())),
		ratelimit.Key("/password/login", userID.String())); err != nil {
		return err
	}
	res, err := a.Login.Password(r.Context(), userID, req.Password)
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	return writeJSON(w, http.StatusOK, nil)
}
