package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Defaults of session.refresh_token.* applied by New to zero RefreshOptions
// fields (docs/compatibility.md "Refresh tokens and signed-in devices").
const (
	DefaultRefreshLifespan    = 30 * 24 * time.Hour
	DefaultRefreshIdleTimeout = 7 * 24 * time.Hour
	DefaultRefreshReuseGrace  = 10 * time.Second
	// MaxReuseWalk bounds the generations Refresh steps forward from an
	// old token to recognise it as one of the session's retired tokens.
	MaxReuseWalk = 100_000
)

// RefreshOptions configure refresh tokens (session.refresh_token.*).
type RefreshOptions struct {
	Enabled bool
	// Lifespan is the absolute end of refreshing after the sign-in
	// (default 30 days); IdleTimeout ends a refresh token not used for
	// that long (default 7 days); ReuseGrace is how long a retired token
	// still gets its successor (default 10 s, RFC 9700 §4.14.2).
	Lifespan, IdleTimeout, ReuseGrace time.Duration
	// Secret keys the hash kept at rest (inkan.KeyedHash) and the
	// derivation of successors; at least 16 bytes. OldSecrets are earlier
	// secrets still accepted for the hash, as passcodes do.
	Secret     []byte
	OldSecrets [][]byte
}

// refreshTokenBytes is the decoded length of a refresh token: session id
// (16) ‖ generation (8, big endian) ‖ 32 bytes from crypto/rand (the
// first generation) or derived from the predecessor (later ones).
const refreshTokenBytes = 16 + 8 + 32

// Rotated is the outcome of a successful Refresh.
type Rotated struct {
	// Session is the row as it stands after the rotation (ExpiresAt is
	// the new token's exp).
	Session inkan.Session
	// RefreshToken is the successor; RefreshExpiresAt its absolute end.
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// refreshError is the 401 of a refresh token that does not refresh; the
// cause stays for the log only.
func refreshError(cause string) error {
	return inkan.Wrap(inkan.KindUnauthorized, "invalid refresh token", errors.New(cause))
}

// firstRefresh draws the first refresh token of session sid.
func (m *Manager) firstRefresh(sid uuid.UUID, now time.Time) (string, inkan.RefreshState, error) {
	raw := make([]byte, refreshTokenBytes)
	copy(raw, sid[:])
	binary.BigEndian.PutUint64(raw[16:24], 1)
	if _, err := rand.Read(raw[24:]); err != nil {
		return "", inkan.RefreshState{}, internal("refresh token", err)
	}
	st := inkan.RefreshState{
		Hash: m.refreshHash(m.opts.Refresh.Secret, sid, raw), Generation: 1,
		RotatedAt: now, ExpiresAt: now.Add(m.opts.Refresh.Lifespan),
	}
	return base64.RawURLEncoding.EncodeToString(raw), st, nil
}

// endsAt is when a session with token expiry exp and refresh state st may
// be purged: the later of exp and the refresh token's end (its idle end,
// capped at its absolute end).
func (m *Manager) endsAt(exp time.Time, st inkan.RefreshState) time.Time {
	end := st.RotatedAt.Add(m.opts.Refresh.IdleTimeout)
	if st.ExpiresAt.Before(end) {
		end = st.ExpiresAt
	}
	if exp.After(end) {
		return exp
	}
	return end
}

// refreshHash is the keyed hash kept at rest (inkan.KeyedHash, the rule
// passcodes follow), bound to the session id.
func (m *Manager) refreshHash(secret []byte, sid uuid.UUID, raw []byte) []byte {
	return inkan.KeyedHash(secret, sid, raw)
}

// refreshMatches reports whether raw is the token whose hash is stored,
// under the current or any old secret, in constant time (every secret is
// tried).
func (m *Manager) refreshMatches(sid uuid.UUID, raw, stored []byte) bool {
	ok := hmac.Equal(m.refreshHash(m.opts.Refresh.Secret, sid, raw), stored)
	for _, old := range m.opts.Refresh.OldSecrets {
		ok = hmac.Equal(m.refreshHash(old, sid, raw), stored) || ok
	}
	return ok
}

// successor derives the token that follows raw: same session id,
// generation + 1, and HMAC-SHA256(successor key, raw). Deriving instead of
// drawing means every node computes the same successor for the same token,
// so a retired token presented within the reuse grace gets the very token
// that replaced it, although only hashes are stored; without the server
// secret the successor cannot be computed.
func (m *Manager) successor(raw []byte) []byte {
	next := make([]byte, refreshTokenBytes)
	copy(next, raw[:16])
	binary.BigEndian.PutUint64(next[16:24], binary.BigEndian.Uint64(raw[16:24])+1)
	mac := hmac.New(sha256.New, m.opts.Refresh.Secret)
	mac.Write([]byte("inkan refresh successor\x00"))
	mac.Write(raw)
	copy(next[24:], mac.Sum(nil))
	return next
}

// Refresh exchanges a refresh token for its successor (POST
// /sessions/refresh of api/openapi.yaml; RFC 9700 §4.14.2 rotation with
// reuse detection; docs/compatibility.md "Refresh tokens and signed-in
// devices"). The session keeps its id; its token expiry moves to now +
// session.lifespan and last_used to now.
//
//  1. The token names its session and generation. An unknown session, one
//     without a refresh token, a token past its absolute end or unused for
//     longer than the idle timeout: KindUnauthorized.
//  2. The current token: one conditional UPDATE (RotateRefresh) moves the
//     session to the successor. A request that loses the race to another
//     one (another node) reads the row again and goes on with step 3.
//  3. The token just retired (the successor's hash is stored): within
//     session.refresh_token.reuse_grace of the rotation, the answer is that
//     same successor, so two racing requests of one app both succeed.
//  4. A retired token after the grace — the one just retired or any earlier
//     one of the session (recognised by deriving forward, at most
//     MaxReuseWalk steps) — revokes the whole session and records
//     session_revoked {reason: refresh_token_reuse} in the same
//     transaction; the answer is KindUnauthorized.
//
// Anything else — a token not derived from this session's chain — is
// KindUnauthorized and changes nothing, so that a guessed token cannot end
// somebody's session. Store failures are KindInternal.
func (m *Manager) Refresh(ctx context.Context, token string) (Rotated, error) {
	if !m.opts.Refresh.Enabled {
		return Rotated{}, inkan.E(inkan.KindNotFound, "")
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return Rotated{}, refreshError("malformed refresh token")
	}
	sid, _ := uuid.FromBytes(raw[:16])
	gen := int64(binary.BigEndian.Uint64(raw[16:24]))
	for attempt := 0; ; attempt++ {
		now := m.now()
		s, err := m.store.GetSession(ctx, sid)
		if errors.Is(err, inkan.ErrNotFound) {
			return Rotated{}, refreshError("unknown session")
		}
		if err != nil {
			return Rotated{}, internal("loading session", err)
		}
		st := s.Refresh
		if st == nil {
			return Rotated{}, refreshError("session has no refresh token")
		}
		if gen < 1 || gen > st.Generation {
			return Rotated{}, refreshError("unknown generation")
		}
		if gen < st.Generation {
			return m.retired(ctx, s, raw, gen, now)
		}
		if !m.refreshMatches(sid, raw, st.Hash) {
			return Rotated{}, refreshError("refresh token does not match")
		}
		if !now.Before(st.ExpiresAt) {
			return Rotated{}, refreshError("refresh token expired")
		}
		if now.Sub(st.RotatedAt) > m.opts.Refresh.IdleTimeout {
			return Rotated{}, refreshError("refresh token idle")
		}
		nextRaw := m.successor(raw)
		next := inkan.RefreshState{
			Hash: m.refreshHash(m.opts.Refresh.Secret, sid, nextRaw), Generation: gen + 1,
			RotatedAt: now, ExpiresAt: st.ExpiresAt,
		}
		exp := now.Add(m.opts.Lifespan)
		ends := m.endsAt(exp, next)
		err = m.store.RotateRefresh(ctx, sid, gen, next, exp, ends)
		switch {
		case err == nil:
			s.Refresh, s.ExpiresAt, s.EndsAt, s.LastUsed = &next, exp, ends, now
			return Rotated{Session: s, RefreshToken: base64.RawURLEncoding.EncodeToString(nextRaw), RefreshExpiresAt: next.ExpiresAt}, nil
		case errors.Is(err, inkan.ErrConflict) && attempt == 0:
			continue // another request rotated first: read again
		case errors.Is(err, inkan.ErrNotFound):
			return Rotated{}, refreshError("session revoked")
		default:
			return Rotated{}, internal("rotating refresh token", err)
		}
	}
}

// retired handles a token of generation gen below the session's current
// one (steps 3 and 4 of Refresh).
func (m *Manager) retired(ctx context.Context, s inkan.Session, raw []byte, gen int64, now time.Time) (Rotated, error) {
	st := s.Refresh
	steps := st.Generation - gen
	if steps > MaxReuseWalk {
		return Rotated{}, refreshError("generation too old")
	}
	cur := raw
	for range steps {
		cur = m.successor(cur)
	}
	if !m.refreshMatches(s.ID, cur, st.Hash) {
		return Rotated{}, refreshError("refresh token does not match")
	}
	if steps == 1 && now.Sub(st.RotatedAt) <= m.opts.Refresh.ReuseGrace && now.Before(st.ExpiresAt) {
		return Rotated{Session: s, RefreshToken: base64.RawURLEncoding.EncodeToString(cur), RefreshExpiresAt: st.ExpiresAt}, nil
	}
	err := inkan.Change(ctx, m.store, func(ctx context.Context) error {
		return m.revoke(ctx, s.ID, inkan.SessionEndRefreshReuse)
	}, func(ctx context.Context) inkan.Event {
		return inkan.NewEvent(ctx, inkan.EventSessionRevoked, inkan.Actor{UserID: s.UserID}, now).
			With("session_id", s.ID.String()).With("reason", string(inkan.SessionEndRefreshReuse)).
			With("generation", gen)
	})
	if err != nil {
		return Rotated{}, internal("revoking on reuse", err)
	}
	return Rotated{}, refreshError(fmt.Sprintf("retired refresh token of generation %d reused", gen))
}

// RevokedList is the revocation list: the sessions revoked before their
// last token expired, soonest expiry first (GET /sessions/revoked).
func (m *Manager) RevokedList(ctx context.Context) ([]inkan.RevokedSession, error) {
	l, err := m.store.RevokedSessions(ctx, m.now())
	if err != nil {
		return nil, internal("revocation list", err)
	}
	return l, nil
}

// RevokeOwn ends the session sessionID of userID at the user's request
// (DELETE /sessions/{id} of api/openapi.yaml) and records session_revoked
// {session_id, reason: user_revoked} in the same transaction.
// KindNotFound "session not found" when it is missing or another user's.
func (m *Manager) RevokeOwn(ctx context.Context, actor inkan.Actor, sessionID uuid.UUID) error {
	err := inkan.Change(ctx, m.store, func(ctx context.Context) error {
		return m.store.DeleteUserSession(ctx, actor.UserID, sessionID, inkan.SessionEndUserRevoked)
	}, func(ctx context.Context) inkan.Event {
		return inkan.NewEvent(ctx, inkan.EventSessionRevoked, actor, m.now()).
			With("session_id", sessionID.String()).With("reason", string(inkan.SessionEndUserRevoked))
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "session not found", err)
	}
	return err
}

// RevokeOthers ends every session of the actor's user but keep (DELETE
// /sessions of api/openapi.yaml) and records one session_revoked {session_id,
// reason: user_revoked} per ended session, in one transaction.
func (m *Manager) RevokeOthers(ctx context.Context, actor inkan.Actor, keep uuid.UUID) error {
	return m.store.Atomically(ctx, func(ctx context.Context) error {
		ids, err := m.store.DeleteOtherSessions(ctx, actor.UserID, keep, inkan.SessionEndUserRevoked)
		if err != nil {
			return err
		}
		for _, id := range ids {
			ev := inkan.NewEvent(ctx, inkan.EventSessionRevoked, actor, m.now()).
				With("session_id", id.String()).With("reason", string(inkan.SessionEndUserRevoked))
			if err := m.store.RecordEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// RefreshTokenSession returns the session a refresh token names (for rate
// limiting per session before any lookup); ok=false when token is not
// shaped like one. It proves nothing.
func RefreshTokenSession(token string) (uuid.UUID, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return uuid.Nil, false
	}
	id, err := uuid.FromBytes(raw[:16])
	return id, err == nil
}
