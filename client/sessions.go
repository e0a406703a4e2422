package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

const refreshPath = "/sessions/refresh"

// Refreshed is the answer of POST /sessions/refresh
// (docs/compatibility.md "Refresh tokens and signed-in devices").
type Refreshed struct {
	UserID                string    `json:"user_id"`
	SessionID             string    `json:"session_id"`
	ExpirationTime        time.Time `json:"expiration_time"`         // the new JWT's exp
	RefreshExpirationTime time.Time `json:"refresh_expiration_time"` // when refreshing ends
	// Session carries the new tokens (also kept by the client).
	Session Session `json:"-"`
}

// Refresh exchanges the refresh token the client holds for a new session
// JWT and a new refresh token: POST /sessions/refresh {"refresh_token"}
// (server option session.refresh_token.enabled). The client keeps both;
// the old refresh token is retired. Requests refresh by themselves (before
// the JWT expires and once after a 401) when the client holds a refresh
// token, so an app seldom calls this. Calls for one client never overlap:
// a refresh waits for one in flight. Errors: 401 for an expired, idle,
// reused or revoked refresh token (the client then forgets both tokens:
// sign in again), 404 when the server has refresh tokens off, 429.
func (c *Client) Refresh(ctx context.Context) (*Refreshed, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshLocked(ctx)
}

// refreshFrom refreshes unless another call already replaced the session
// JWT seen (stale) while this one waited: never two refreshes for one
// expiring token.
func (c *Client) refreshFrom(ctx context.Context, stale string) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.Token() != stale {
		return nil // refreshed meanwhile
	}
	_, err := c.refreshLocked(ctx)
	return err
}

func (c *Client) refreshLocked(ctx context.Context) (*Refreshed, error) {
	rt := c.RefreshToken()
	if rt == "" {
		return nil, errNoRefreshToken
	}
	var out Refreshed
	sess, err := c.exchange(ctx, http.MethodPost, refreshPath, mustJSON(map[string]string{"refresh_token": rt}), true, &out, false)
	if IsUnauthorized(err) {
		c.mu.Lock()
		if c.refresh == rt {
			c.refresh, c.token = "", ""
		}
		c.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errNoSession
	}
	out.Session = *sess
	return &out, nil
}

// Device is one entry of GET /sessions: a signed-in session of the user.
type Device struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
	// ExpiresAt is when it ends unless used (refreshing moves it).
	ExpiresAt time.Time `json:"expires_at"`
	IPAddress *string   `json:"ip_address"`
	UserAgent *string   `json:"user_agent"`
	// AMR is how it was signed in (RFC 8176: "otp" passcode, "pop"+"user"
	// passkey, "pwd" password).
	AMR []string `json:"amr"`
	// Current is true for the client's own session.
	Current bool `json:"current"`
}

// Sessions lists the user's signed-in devices: GET /sessions, newest
// first. Needs a session (401 otherwise).
func (c *Client) Sessions(ctx context.Context) ([]Device, error) {
	var out []Device
	if _, err := c.do(ctx, http.MethodGet, "/sessions", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeSession signs out one device: DELETE /sessions/{id}, 204. Its
// tokens, refresh token included, stop working. 404 for an unknown id or
// another user's.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/sessions/"+url.PathEscape(id), nil, nil)
	return err
}

// RevokeOtherSessions signs out every other device of the user: DELETE
// /sessions, 204.
func (c *Client) RevokeOtherSessions(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodDelete, "/sessions", nil, nil)
	return err
}
