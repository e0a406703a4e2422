package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/ratelimit"
	"github.com/inkan-auth/inkan/internal/session"
)

// Signed-in devices, refresh tokens and the revocation list
// (docs/compatibility.md "Refresh tokens and signed-in devices").

// deviceJSON is one entry of GET /sessions. expires_at is when the session
// ends without further use: the token's exp, or the refresh token's end
// when one keeps it alive. ip_address and user_agent are null when not
// stored; amr is how it was signed in (RFC 8176 values, [] when unknown).
type deviceJSON struct {
	ID        uuid.UUID `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
	ExpiresAt time.Time `json:"expires_at"`
	IPAddress *string   `json:"ip_address"`
	UserAgent *string   `json:"user_agent"`
	AMR       []string  `json:"amr"`
	Current   bool      `json:"current"`
}

// listSessions is GET /sessions: the caller's live sessions, newest first,
// the calling one marked current.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r.Context())
	ss, err := a.Sessions.List(r.Context(), c.Subject)
	if err != nil {
		return err
	}
	out := make([]deviceJSON, 0, len(ss))
	for _, s := range ss {
		d := deviceJSON{
			ID: s.ID, CreatedAt: s.CreatedAt, LastUsed: s.LastUsed, ExpiresAt: s.ExpiresAt,
			AMR: s.AMR, Current: s.ID == c.SessionID,
		}
		if s.EndsAt.After(d.ExpiresAt) {
			d.ExpiresAt = s.EndsAt
		}
		if d.AMR == nil {
			d.AMR = []string{}
		}
		if s.IPAddress != "" {
			d.IPAddress = &s.IPAddress
		}
		if s.UserAgent != "" {
			d.UserAgent = &s.UserAgent
		}
		out = append(out, d)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}

// deleteSession is DELETE /sessions/{id}: ends one of the caller's
// sessions (the calling one too) and its refresh token: 204; 400 for an id
// that is not a UUID; 404 "session not found" for an unknown id or another
// user's session (nothing is revoked).
func (a *API) deleteSession(w http.ResponseWriter, r *http.Request) error {
	sid, err := pathUUID(r, "id", "session")
	if err != nil {
		return err
	}
	if err := a.Sessions.RevokeOwn(r.Context(), actorOf(claimsFrom(r.Context())), sid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteOtherSessions is DELETE /sessions: ends every session of the
// caller but the calling one: 204.
func (a *API) deleteOtherSessions(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r.Context())
	if err := a.Sessions.RevokeOthers(r.Context(), actorOf(c), c.SessionID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func actorOf(c session.Claims) inkan.Actor {
	a := inkan.Actor{UserID: c.Subject}
	if c.Email != nil {
		a.Email = c.Email.Address
	}
	return a
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshJSON is the body of POST /sessions/refresh.
type refreshJSON struct {
	UserID                uuid.UUID `json:"user_id"`
	SessionID             uuid.UUID `json:"session_id"`
	ExpirationTime        time.Time `json:"expiration_time"`
	RefreshExpirationTime time.Time `json:"refresh_expiration_time"`
}

// refreshSession is POST /sessions/refresh {"refresh_token"}: rotates the
// refresh token (session.Manager.Refresh) and answers 200 with X-Auth-Token,
// X-Refresh-Token, X-Session-Lifetime and {user_id, session_id,
// expiration_time, refresh_expiration_time}. 400 without refresh_token;
// 401 "invalid refresh token" for an unknown, expired, idle, reused or
// revoked one; 429 past rate_limiter.refresh_limits (per session) or
// refresh_ip_limits (per client address).
//
// Without Opts.RefreshEnabled it answers 404 whatever the request.
func (a *API) refreshSession(w http.ResponseWriter, r *http.Request) error {
	if !a.Opts.RefreshEnabled {
		return inkan.E(inkan.KindNotFound, "")
	}
	var req refreshRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	p.required("refresh_token", req.RefreshToken)
	if err := p.err(); err != nil {
		return err
	}
	if err := a.limitClient(w, r, a.Opts.RefreshIPLimit, "refresh_ip_limits"); err != nil {
		return err
	}
	if sid, ok := session.RefreshTokenSession(req.RefreshToken); ok {
		if err := a.rateLimit(w, r, a.Opts.RefreshLimit, "refresh_limits", ratelimit.Key("/sessions/refresh", sid.String())); err != nil {
			return err
		}
	}
	res, err := a.Login.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	return writeJSON(w, http.StatusOK, refreshJSON{
		UserID: res.UserID, SessionID: res.Claims.SessionID,
		ExpirationTime: res.Claims.Expiration, RefreshExpirationTime: res.RefreshExpiresAt,
	})
}

// revokedJSON is the body of GET /sessions/revoked.
type revokedJSON struct {
	// Sessions are the revoked sessions whose last token has not expired:
	// session_id and exp (NumericDate, RFC 7519 §2).
	Sessions []revokedEntryJSON `json:"sessions"`
}

type revokedEntryJSON struct {
	SessionID uuid.UUID `json:"session_id"`
	Exp       int64     `json:"exp"`
}

// revokedSessions is GET /sessions/revoked (public): the revocation list
// for verifiers that check tokens offline (the verify package polls it).
// Cacheable for session.revocation_list.max_age.
func (a *API) revokedSessions(w http.ResponseWriter, r *http.Request) error {
	l, err := a.Sessions.RevokedList(r.Context())
	if err != nil {
		return err
	}
	out := revokedJSON{Sessions: make([]revokedEntryJSON, len(l))}
	for i, e := range l {
		out.Sessions[i] = revokedEntryJSON{SessionID: e.SessionID, Exp: e.ExpiresAt.Unix()}
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(a.Opts.RevocationMaxAge/time.Second)))
	return writeJSON(w, http.StatusOK, out)
}
