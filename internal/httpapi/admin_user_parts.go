package httpapi

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/session"
)

// adminListEmails is admin GET /users/{user_id}/emails: the user's
// addresses, oldest first (400, 404 "user not found").
func (a *API) adminListEmails(w http.ResponseWriter, r *http.Request) error {
	u, err := a.adminPathUser(r, "user_id")
	if err != nil {
		return err
	}
	emails, err := a.Accounts.Emails(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mapSlice(emails, toAdminEmail))
}

type adminEmailRequest struct {
	Address    string `json:"address"`
	IsPrimary  bool   `json:"is_primary"` // ignored: see set_primary
	IsVerified bool   `json:"is_verified"`
}

// adminAddEmail is admin POST /users/{user_id}/emails: {"address",
// "is_verified"} assigned at once (the user's first address becomes
// primary). 201 the address; 400 invalid or owned by a user, 404, 409 at
// email.limit.
func (a *API) adminAddEmail(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return err
	}
	var req adminEmailRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := a.Accounts.AddEmailAsAdmin(r.Context(), id, req.Address, req.IsVerified)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAdminEmail(e))
}

// adminEmailIDs parses the path's user_id and email_id.
func adminEmailIDs(r *http.Request) (userID, emailID uuid.UUID, err error) {
	if userID, err = pathUUID(r, "user_id", "user"); err != nil {
		return
	}
	emailID, err = pathUUID(r, "email_id", "email")
	return
}

// adminGetEmail is admin GET /users/{user_id}/emails/{email_id} (400, 404
// "email not found").
func (a *API) adminGetEmail(w http.ResponseWriter, r *http.Request) error {
	userID, emailID, err := adminEmailIDs(r)
	if err != nil {
		return err
	}
	e, err := a.Accounts.Email(r.Context(), userID, emailID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAdminEmail(e))
}

// adminDeleteEmail is admin DELETE /users/{user_id}/emails/{email_id}: 204;
// 404, 409 for the primary address.
func (a *API) adminDeleteEmail(w http.ResponseWriter, r *http.Request) error {
	userID, emailID, err := adminEmailIDs(r)
	if err != nil {
		return err
	}
	if err := a.Accounts.DeleteEmail(r.Context(), userID, emailID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminSetPrimaryEmail is admin POST
// /users/{user_id}/emails/{email_id}/set_primary: 204; 404.
func (a *API) adminSetPrimaryEmail(w http.ResponseWriter, r *http.Request) error {
	userID, emailID, err := adminEmailIDs(r)
	if err != nil {
		return err
	}
	if err := a.Accounts.SetPrimaryEmail(r.Context(), userID, emailID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminListCredentials is admin GET /users/{user_id}/webauthn_credentials:
// the user's passkeys, oldest first (400, 404 "user not found").
func (a *API) adminListCredentials(w http.ResponseWriter, r *http.Request) error {
	u, err := a.adminPathUser(r, "user_id")
	if err != nil {
		return err
	}
	creds, err := a.Passkeys.Credentials(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mapSlice(creds, a.toCredentialJSON))
}

// adminCredentialIDs parses the path's user_id and credential_id (base64url
// without padding; one that does not decode names no credential: 404).
func adminCredentialIDs(r *http.Request) (uuid.UUID, []byte, error) {
	userID, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return uuid.Nil, nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.PathValue("credential_id"))
	if err != nil || len(raw) == 0 {
		return uuid.Nil, nil, inkan.E(inkan.KindNotFound, "webauthn credential not found")
	}
	return userID, raw, nil
}

// adminGetCredential is admin GET
// /users/{user_id}/webauthn_credentials/{credential_id} (404 "webauthn
// credential not found").
func (a *API) adminGetCredential(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := adminCredentialIDs(r)
	if err != nil {
		return err
	}
	c, err := a.Passkeys.Credential(r.Context(), userID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.toCredentialJSON(c))
}

// adminDeleteCredential is admin DELETE
// /users/{user_id}/webauthn_credentials/{credential_id}: 204; 404.
func (a *API) adminDeleteCredential(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := adminCredentialIDs(r)
	if err != nil {
		return err
	}
	if err := a.Passkeys.Delete(r.Context(), userID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminGetPassword is admin GET /users/{user_id}/password: {id,
// created_at, updated_at} (404 "user not found" / "password not found").
func (a *API) adminGetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return err
	}
	c, err := a.Passwords.Credential(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasswordJSON(c))
}

type adminPasswordRequest struct {
	Password string `json:"password"`
}

// adminSetPassword is admin POST (create: 409 when one exists) and PUT
// (replace: 404 when none exists) /users/{user_id}/password:
// {"password"} → 200 {id, created_at, updated_at}.
func (a *API) adminSetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return err
	}
	var req adminPasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	set := a.Passwords.Create
	if r.Method == http.MethodPut {
		set = a.Passwords.Replace
	}
	c, err := set(r.Context(), id, req.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasswordJSON(c))
}

// adminDeletePassword is admin DELETE /users/{user_id}/password: 204; 404.
func (a *API) adminDeletePassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return err
	}
	if err := a.Passwords.Remove(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminSessionJSON is a session row as the admin API shows it; user_agent
// and ip_address are null when not stored.
type adminSessionJSON struct {
	ID        uuid.UUID `json:"id"`
	UserID    uuid.UUID `json:"user_id"`
	UserAgent *string   `json:"user_agent"`
	IPAddress *string   `json:"ip_address"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"`
	LastUsed  time.Time `json:"last_used"`
}

func toAdminSession(s inkan.Session) adminSessionJSON {
	out := adminSessionJSON{ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, ExpiresAt: s.ExpiresAt, LastUsed: s.LastUsed}
	if s.UserAgent != "" {
		out.UserAgent = &s.UserAgent
	}
	if s.IPAddress != "" {
		out.IPAddress = &s.IPAddress
	}
	return out
}

// adminListSessions is admin GET /users/{user_id}/sessions: the user's
// unexpired sessions, newest first (400, 404 "user not found").
func (a *API) adminListSessions(w http.ResponseWriter, r *http.Request) error {
	u, err := a.adminPathUser(r, "user_id")
	if err != nil {
		return err
	}
	ss, err := a.Sessions.List(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mapSlice(ss, toAdminSession))
}

// adminDeleteSession is admin DELETE /users/{user_id}/sessions/{session_id}:
// the session's token stops working on every node at once. 204; 400, 404
// "session not found" (also for another user's session).
func (a *API) adminDeleteSession(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathUUID(r, "user_id", "user")
	if err != nil {
		return err
	}
	sid, err := pathUUID(r, "session_id", "session")
	if err != nil {
		return err
	}
	if err := a.Sessions.RevokeOf(r.Context(), userID, sid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type adminSessionRequest struct {
	UserID    string `json:"user_id"`
	UserAgent string `json:"user_agent"`
	IPAddress string `json:"ip_address"`
}

// adminCreateSession is admin POST /sessions: {"user_id", "user_agent"?,
// "ip_address"?} → 200 {"session_token"}, a session for the user whose row
// stores the given user agent and address. 400 bad input, 404 "user not
// found".
func (a *API) adminCreateSession(w http.ResponseWriter, r *http.Request) error {
	var req adminSessionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	userID := p.uuidField("user_id", req.UserID, true)
	if req.IPAddress != "" {
		if _, err := netip.ParseAddr(req.IPAddress); err != nil {
			p = append(p, "ip_address must be a valid IP address")
		}
	}
	if len(req.UserAgent) > session.MaxUserAgentBytes {
		p = append(p, "user_agent must not be longer than 1024 bytes")
	}
	if err := p.err(); err != nil {
		return err
	}
	if _, err := a.Accounts.User(r.Context(), userID); err != nil {
		return err
	}
	res, err := a.Login.AdminSession(r.Context(), userID, req.UserAgent, req.IPAddress)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]string{"session_token": res.Token})
}
