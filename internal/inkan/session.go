package inkan

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
)

// SessionEnd says why a session row was removed. It is stored with the
// session's entry in the revocation list (GET /sessions/revoked of
// api/openapi.yaml) and named in the "reason" detail of session events, so
// that an audit log or webhook reader can tell a logout from an admin's
// revocation or an eviction by session.limit.
type SessionEnd string

// The reasons a session ends (docs/compatibility.md "Refresh tokens and
// signed-in devices").
const (
	SessionEndLogout        SessionEnd = "logout"         // POST /logout
	SessionEndUserRevoked   SessionEnd = "user_revoked"   // DELETE /sessions/{id}, DELETE /sessions
	SessionEndAdminRevoked  SessionEnd = "admin_revoked"  // admin DELETE /users/{id}/sessions/{sid}
	SessionEndLimit         SessionEnd = "limit"          // evicted by session.limit
	SessionEndIdle          SessionEnd = "idle"           // session.idle_timeout passed
	SessionEndUserDeleted   SessionEnd = "user_deleted"   // the account was deleted
	SessionEndAccessRevoked SessionEnd = "access_revoked" // user_access_revoked
	// SessionEndRefreshReuse: a retired refresh token was presented after
	// session.refresh_token.reuse_grace (RFC 9700 §4.14.2).
	SessionEndRefreshReuse SessionEnd = "refresh_token_reuse"
)

// EventSessionRevoked is a session ended by its user (DELETE
// /sessions/{id}, DELETE /sessions) or by refresh-token reuse detection;
// its details carry "session_id" and "reason" (a SessionEnd). inkan's; no
// Hanko audit type exists for it. A logout stays user_logged_out.
const EventSessionRevoked EventType = "session_revoked"

// RefreshState is the refresh token of a session (session.refresh_token.*;
// docs/compatibility.md "Refresh tokens and signed-in devices"). Only a
// keyed hash of the current token is kept.
type RefreshState struct {
	Hash       []byte    // KeyedHash of the current token
	Generation int64     // 1 for the token of the sign-in, +1 per rotation
	RotatedAt  time.Time // when the current token was issued (idle timeout, reuse grace), UTC
	ExpiresAt  time.Time // absolute end (session.refresh_token.lifespan after sign-in), UTC
}

// RevokedSession is an entry of the revocation list: a session removed
// before its last token expired.
type RevokedSession struct {
	SessionID uuid.UUID
	ExpiresAt time.Time // exp of the last token issued for it, UTC
	Reason    SessionEnd
}

// KeyedHash is HMAC-SHA256(secret, id ‖ value), the rule by which inkan
// keeps one-time secrets at rest (passcodes, refresh tokens): binding the
// row's id means a hash copied onto another row does not verify there.
// Compare results with hmac.Equal.
func KeyedHash(secret []byte, id uuid.UUID, value []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(id[:])
	m.Write(value)
	return m.Sum(nil)
}
