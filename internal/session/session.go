// Package session issues and verifies the session JWTs (RFC 7519; format of
// docs/compatibility.md "Session tokens") and keeps the server-side session rows that make them
// revocable (docs/compatibility.md "Authentication", "Issuing a session", "Session rows").
package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Keys is the source of signing and verification keys; *keys.Manager
// satisfies it.
type Keys interface {
	// SigningKey returns the private JWK that signs new tokens (kid and alg set).
	SigningKey(ctx context.Context) (jwk.Key, error)
	// VerificationKey returns the public JWK kid when it is currently
	// accepted for verification, ok=false when not.
	VerificationKey(ctx context.Context, kid string) (key jwk.Key, ok bool, err error)
	// Refresh re-reads the keys (called once when a token names an unknown kid).
	Refresh(ctx context.Context) error
}

// Defaults applied by New to zero Options fields (docs/compatibility.md "Configuration").
const (
	DefaultLifespan = 12 * time.Hour // session.lifespan
	DefaultLimit    = 5              // session.limit
	// MaxUserAgentBytes is the longest user agent stored in a session row;
	// longer ones are cut at a UTF-8 boundary.
	MaxUserAgentBytes = 1024
	// MaxTokenBytes bounds the size of a token Verify will parse.
	MaxTokenBytes = 16 << 10
	// TouchResolution is how stale a session's last_used may be before
	// Verify writes it again: a request within it of the last write reads
	// only (docs/performance.md "Budgets"). session.idle_timeout is
	// therefore exact to within TouchResolution, and errs early: a session
	// used without pause may end at most TouchResolution before
	// idle_timeout has passed since its last use, never after. When
	// idle_timeout is under ten minutes the resolution is a tenth of it.
	TouchResolution = time.Minute
)

// Options configures a Manager (config keys session.*; docs/compatibility.md "Configuration").
type Options struct {
	Lifespan         time.Duration // session.lifespan: exp = iat + Lifespan; default 12h
	Audience         []string      // aud claim (JSON array); omitted when empty. The app defaults it to [webauthn.relying_party.id]
	Issuer           string        // iss claim, only when non-empty
	Limit            int           // session.limit: sessions kept per user; default 5
	IdleTimeout      time.Duration // session.idle_timeout: 0 = off
	AcquireIPAddress bool          // session.acquire_ip_address: store Meta.IPAddress
	AcquireUserAgent bool          // session.acquire_user_agent: store Meta.UserAgent
	// Refresh configures refresh tokens (session.refresh_token.*); off
	// unless Refresh.Enabled.
	Refresh RefreshOptions
}

// EmailClaim is the "email" claim: the user's primary e-mail address
// (docs/compatibility.md "Session tokens").
type EmailClaim struct {
	Address    string `json:"address"`
	IsPrimary  bool   `json:"is_primary"`
	IsVerified bool   `json:"is_verified"`
}

// Claims are the verified claims of a session token. Times are UTC, whole
// seconds (NumericDate, RFC 7519 §2).
type Claims struct {
	Subject    uuid.UUID // sub: user id
	SessionID  uuid.UUID // session_id: sessions row id
	IssuedAt   time.Time // iat
	Expiration time.Time // exp
	Audience   []string  // aud
	Issuer     string    // iss, "" when absent
	Email      *EmailClaim
	// AMR is the amr claim (RFC 8176 §2): how the session was signed in;
	// omitted when empty.
	AMR []string
}

// Meta is what the request tells about the client, stored in the session
// row when the matching Acquire option is on.
type Meta struct {
	IPAddress string // the client IP (echo RealIP semantics, docs/compatibility.md "Conventions")
	UserAgent string // the User-Agent header
	// AsGiven stores IPAddress and UserAgent whatever the Acquire options
	// say (a session the admin API mints for values it was given).
	AsGiven bool
	// AMR are the RFC 8176 values of the sign-in (the amr claim, kept on
	// the row so that refreshed tokens carry them too).
	AMR []string
	// NoRefreshToken: no refresh token for this session even when they
	// are enabled (a session the admin API mints).
	NoRefreshToken bool
}

// Issued is a new session.
type Issued struct {
	Token  string // the session JWT
	Claims Claims // Token's claims
	// RefreshToken is the session's refresh token, "" when refresh tokens
	// are off or Meta.NoRefreshToken; RefreshExpiresAt its absolute end.
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// Manager issues, verifies and revokes sessions. It is safe for concurrent
// use.
type Manager struct {
	store Store
	keys  Keys
	opts  Options
	now   func() time.Time
}

// New returns a Manager. now is the clock (nil = time.Now; UTC is applied).
func New(store Store, keys Keys, o Options, now func() time.Time) *Manager {
	if o.Lifespan <= 0 {
		o.Lifespan = DefaultLifespan
	}
	if o.Limit < 1 {
		o.Limit = DefaultLimit
	}
	if o.Refresh.Lifespan <= 0 {
		o.Refresh.Lifespan = DefaultRefreshLifespan
	}
	if o.Refresh.IdleTimeout <= 0 {
		o.Refresh.IdleTimeout = DefaultRefreshIdleTimeout
	}
	if o.Refresh.ReuseGrace <= 0 {
		o.Refresh.ReuseGrace = DefaultRefreshReuseGrace
	}
	if now == nil {
		now = time.Now
	}
	return &Manager{store: store, keys: keys, opts: o, now: func() time.Time { return now().UTC() }}
}

const (
	claimSessionID = "session_id"
	claimEmail     = "email"
	claimAMR       = "amr"
)

// Issue creates a session for userID as Start does and returns its token
// and claims (no refresh token).
func (m *Manager) Issue(ctx context.Context, userID uuid.UUID, email *inkan.Email, meta Meta) (string, Claims, error) {
	meta.NoRefreshToken = true
	is, err := m.Start(ctx, userID, email, meta)
	return is.Token, is.Claims, err
}

// Start creates a session for userID (docs/compatibility.md "Issuing a session"): it signs a JWT with
// the current signing key — header {alg, kid, typ "JWT"}, claims sub, iat,
// exp = iat + Lifespan, aud, iss (when set), session_id (a new UUID v4),
// email (when email is non-nil) and amr (meta.AMR, when set) — and inserts
// the session row, evicting the user's oldest sessions beyond Limit. With
// refresh tokens enabled and meta.NoRefreshToken unset it also returns the
// session's first refresh token (see Refresh). Errors are KindInternal.
func (m *Manager) Start(ctx context.Context, userID uuid.UUID, email *inkan.Email, meta Meta) (Issued, error) {
	out, row, err := m.newSession(userID, meta)
	if err != nil {
		return Issued{}, err
	}
	out.Token, out.Claims, err = m.Sign(ctx, row, email)
	if err != nil {
		return Issued{}, err
	}
	if err := m.store.CreateSession(ctx, row, m.opts.Limit); err != nil {
		return Issued{}, internal("storing session", err)
	}
	return out, nil
}

// StartUnsigned is Start without the signature: it inserts the session row
// (evicting as Start does) and returns the refresh token, with no Token and
// with Claims holding only the session id, and the row, to be signed with
// Sign(ctx, row, email) once the caller's transaction committed. A sign-in
// that runs inside a transaction uses it so as not to hold the database's
// write lock for an RSA signature: SQLite has one writer at a time, and
// signing inside it halved how many logins per second it could commit
// (docs/performance.md "256 clients"). Errors are KindInternal.
func (m *Manager) StartUnsigned(ctx context.Context, userID uuid.UUID, meta Meta) (Issued, inkan.Session, error) {
	out, row, err := m.newSession(userID, meta)
	if err != nil {
		return Issued{}, inkan.Session{}, err
	}
	if err := m.store.CreateSession(ctx, row, m.opts.Limit); err != nil {
		return Issued{}, inkan.Session{}, internal("storing session", err)
	}
	out.Claims = Claims{Subject: userID, SessionID: row.ID}
	return out, row, nil
}

// newSession returns the row of a new session for userID (a new UUID v4,
// now, expiry after Lifespan, meta's amr and, as configured, its client
// address and user agent) and, when refresh tokens apply, its first
// refresh token in Issued.
func (m *Manager) newSession(userID uuid.UUID, meta Meta) (Issued, inkan.Session, error) {
	now := m.now()
	sid, err := uuid.NewRandom()
	if err != nil {
		return Issued{}, inkan.Session{}, internal("session id", err)
	}
	row := inkan.Session{
		ID:        sid,
		UserID:    userID,
		CreatedAt: now,
		UpdatedAt: now,
		LastUsed:  now,
		ExpiresAt: now.Add(m.opts.Lifespan),
		AMR:       meta.AMR,
	}
	if m.opts.AcquireIPAddress || meta.AsGiven {
		row.IPAddress = meta.IPAddress
	}
	if m.opts.AcquireUserAgent || meta.AsGiven {
		row.UserAgent = inkan.TruncateUTF8(meta.UserAgent, MaxUserAgentBytes)
	}
	var out Issued
	if m.opts.Refresh.Enabled && !meta.NoRefreshToken {
		tok, st, err := m.firstRefresh(sid, now)
		if err != nil {
			return Issued{}, inkan.Session{}, err
		}
		row.Refresh = &st
		row.EndsAt = m.endsAt(row.ExpiresAt, st)
		out.RefreshToken, out.RefreshExpiresAt = tok, st.ExpiresAt
	}
	return out, row, nil
}

// Sign signs a JWT for the session row s (docs/compatibility.md "Session
// tokens"): sub s.UserID, session_id s.ID, iat now, exp s.ExpiresAt, aud,
// iss, email (when non-nil) and amr (s.AMR, when set). It writes nothing.
// Errors are KindInternal.
func (m *Manager) Sign(ctx context.Context, s inkan.Session, email *inkan.Email) (string, Claims, error) {
	key, err := m.keys.SigningKey(ctx)
	if err != nil {
		return "", Claims{}, internal("signing key", err)
	}
	ka, ok := key.Algorithm()
	if !ok {
		return "", Claims{}, internal("signing key", errors.New("key has no alg"))
	}
	alg, ok := jwa.LookupSignatureAlgorithm(ka.String())
	if !ok {
		return "", Claims{}, internal("signing key", fmt.Errorf("alg %q is not a signature algorithm", ka))
	}

	c := Claims{
		Subject:    s.UserID,
		SessionID:  s.ID,
		IssuedAt:   m.now().Truncate(time.Second),
		Expiration: s.ExpiresAt.UTC().Truncate(time.Second),
		Audience:   append([]string(nil), m.opts.Audience...),
		Issuer:     m.opts.Issuer,
		AMR:        append([]string(nil), s.AMR...),
	}
	b := jwt.NewBuilder().
		Subject(s.UserID.String()).
		IssuedAt(c.IssuedAt).
		Expiration(c.Expiration).
		Claim(claimSessionID, s.ID.String())
	if len(c.Audience) > 0 {
		b = b.Audience(c.Audience)
	}
	if c.Issuer != "" {
		b = b.Issuer(c.Issuer)
	}
	if email != nil {
		c.Email = &EmailClaim{Address: email.Address, IsPrimary: email.Primary, IsVerified: email.Verified}
		b = b.Claim(claimEmail, *c.Email)
	}
	if len(c.AMR) > 0 {
		b = b.Claim(claimAMR, c.AMR)
	}
	tok, err := b.Build()
	if err != nil {
		return "", Claims{}, internal("building token", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		return "", Claims{}, internal("signing token", err)
	}
	return string(signed), c, nil
}

// Verify authenticates a request's token (docs/compatibility.md "Authentication"): signature, time
// claims, session row and idle timeout as Peek, then sets the row's
// last_used to now when the stored value is older than the touch
// resolution (TouchResolution, or a tenth of session.idle_timeout when that
// is shorter). A token that fails any check yields a KindUnauthorized
// error (cause kept for the log); a store or key-store failure is
// KindInternal.
func (m *Manager) Verify(ctx context.Context, token string) (Claims, error) {
	c, _, err := m.verify(ctx, token, true)
	return c, err
}

// Peek checks token exactly as Verify but leaves last_used unchanged (GET
// /sessions/validate, docs/compatibility.md "Session validation"). An idle-expired session is still
// deleted.
func (m *Manager) Peek(ctx context.Context, token string) (Claims, error) {
	c, _, err := m.verify(ctx, token, false)
	return c, err
}

// Logout revokes the session of c (POST /logout of api/openapi.yaml) and
// records user_logged_out, in one transaction; the actor is c's subject and
// e-mail claim. A session already gone is not an error (and records the
// event all the same: the user did log out).
func (m *Manager) Logout(ctx context.Context, c Claims) error {
	return inkan.Change(ctx, m.store, func(ctx context.Context) error {
		return m.revoke(ctx, c.SessionID, inkan.SessionEndLogout)
	}, func(ctx context.Context) inkan.Event {
		actor := inkan.Actor{UserID: c.Subject}
		if c.Email != nil {
			actor.Email = c.Email.Address
		}
		return inkan.NewEvent(ctx, inkan.EventUserLoggedOut, actor, m.now()).With("session_id", c.SessionID.String()).With("reason", string(inkan.SessionEndLogout))
	})
}

// revoke deletes the session row, so its token no longer passes Verify
// (logout, docs/compatibility.md "Users"), and lists it as revoked for why.
// Revoking a missing session is not an error.
func (m *Manager) revoke(ctx context.Context, sessionID uuid.UUID, why inkan.SessionEnd) error {
	if err := m.store.DeleteSession(ctx, sessionID, why); err != nil && !errors.Is(err, inkan.ErrNotFound) {
		return internal("deleting session", err)
	}
	return nil
}

// verify runs every check of Verify and returns the claims and the session
// row as it stands after the check (LastUsed = now when touched).
func (m *Manager) verify(ctx context.Context, token string, touch bool) (Claims, inkan.Session, error) {
	now := m.now()
	// 1. Signature: the kid names a published key whose alg equals the
	//    header's alg (RFC 8725 §3.1: never trust the header's alg alone).
	tok, err := m.parse(ctx, strings.TrimSpace(token), now)
	if err != nil {
		return Claims{}, inkan.Session{}, err
	}
	// 2. Claims: sub and session_id are UUIDs.
	c, err := claimsOf(tok)
	if err != nil {
		return Claims{}, inkan.Session{}, unauthorized(err)
	}
	// 3. Server-side session: exists, belongs to sub, not expired.
	s, err := m.store.GetSession(ctx, c.SessionID)
	if errors.Is(err, inkan.ErrNotFound) {
		return Claims{}, inkan.Session{}, unauthorized(errors.New("unknown session"))
	}
	if err != nil {
		return Claims{}, inkan.Session{}, internal("loading session", err)
	}
	if s.UserID != c.Subject {
		return Claims{}, inkan.Session{}, unauthorized(errors.New("session belongs to another user"))
	}
	if !now.Before(s.ExpiresAt) {
		return Claims{}, inkan.Session{}, unauthorized(errors.New("session expired"))
	}
	// 4. Idle timeout: the row is deleted, with its session_expired event
	//    ({session_id, reason: idle}) in the same transaction, and the token
	//    rejected. A row another request removed first is its event.
	if m.opts.IdleTimeout > 0 && now.Sub(s.LastUsed) > m.opts.IdleTimeout {
		err := m.store.Atomically(ctx, func(ctx context.Context) error {
			if err := m.store.DeleteSession(ctx, s.ID, inkan.SessionEndIdle); err != nil {
				return err
			}
			ev := inkan.NewEvent(ctx, inkan.EventSessionExpired, inkan.Actor{UserID: s.UserID}, now).
				With("session_id", s.ID.String()).With("reason", string(inkan.SessionEndIdle))
			return m.store.RecordEvent(ctx, ev)
		})
		if err != nil && !errors.Is(err, inkan.ErrNotFound) {
			return Claims{}, inkan.Session{}, internal("deleting idle session", err)
		}
		return Claims{}, inkan.Session{}, unauthorized(errors.New("session idle timeout"))
	}
	// 5. Touch, when last_used is older than the resolution: a read
	//    must not cost a write (docs/performance.md "Budgets").
	if touch && now.Sub(s.LastUsed) >= m.touchResolution() {
		err := m.store.TouchSession(ctx, s.ID, now)
		if errors.Is(err, inkan.ErrNotFound) {
			return Claims{}, inkan.Session{}, unauthorized(errors.New("session revoked"))
		}
		if err != nil {
			return Claims{}, inkan.Session{}, internal("touching session", err)
		}
		s.LastUsed = now
	}
	return c, s, nil
}

// touchResolution is TouchResolution, or a tenth of the idle timeout when
// that is shorter, so that a short idle_timeout keeps its precision.
func (m *Manager) touchResolution() time.Duration {
	if t := m.opts.IdleTimeout / 10; m.opts.IdleTimeout > 0 && t < TouchResolution {
		return t
	}
	return TouchResolution
}

// parse verifies the JWS signature and the exp/iat claims (no leeway) and
// returns the token.
func (m *Manager) parse(ctx context.Context, token string, now time.Time) (jwt.Token, error) {
	if token == "" {
		return nil, unauthorized(errors.New("no token"))
	}
	if len(token) > MaxTokenBytes {
		return nil, unauthorized(errors.New("token too large"))
	}
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil {
		return nil, unauthorized(err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, unauthorized(errors.New("want exactly one signature"))
	}
	hdr := sigs[0].ProtectedHeaders()
	kid, _ := hdr.KeyID()
	hdrAlg, ok := hdr.Algorithm()
	if kid == "" || !ok {
		return nil, unauthorized(errors.New("header lacks kid or alg"))
	}

	key, err := m.lookup(ctx, kid)
	if err != nil {
		return nil, err
	}
	ka, ok := key.Algorithm()
	if !ok || ka.String() != hdrAlg.String() {
		return nil, unauthorized(fmt.Errorf("header alg %q does not match key alg %v", hdrAlg, ka))
	}
	alg, ok := jwa.LookupSignatureAlgorithm(ka.String())
	if !ok {
		return nil, unauthorized(fmt.Errorf("key alg %q is not a signature algorithm", ka))
	}
	opts := []jwt.ParseOption{
		jwt.WithKey(alg, key),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(0),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(claimSessionID),
		jwt.WithTypedClaim(claimEmail, EmailClaim{}),
		jwt.WithTypedClaim(claimAMR, []string{}),
	}
	if m.opts.Issuer != "" {
		// RFC 7519 §4.1.1: our tokens name us; one from another issuer
		// sharing a key is not ours.
		opts = append(opts, jwt.WithIssuer(m.opts.Issuer))
	}
	tok, err := jwt.Parse([]byte(token), opts...)
	if err != nil {
		return nil, unauthorized(err)
	}
	if len(m.opts.Audience) > 0 {
		// RFC 7519 §4.1.3: a token must name one of the configured
		// audiences (all of them are written into every token, so a
		// token issued before an audience was added still passes).
		aud, _ := tok.Audience()
		if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(m.opts.Audience, a) }) {
			return nil, unauthorized(fmt.Errorf("aud %q names none of the configured audiences", aud))
		}
	}
	return tok, nil
}

// lookup finds the published key kid, refreshing the key cache once when it
// is unknown (another node may have rotated).
func (m *Manager) lookup(ctx context.Context, kid string) (jwk.Key, error) {
	for attempt := 0; ; attempt++ {
		k, ok, err := m.keys.VerificationKey(ctx, kid)
		if err != nil {
			return nil, internal("public keys", err)
		}
		if ok {
			return k, nil
		}
		if attempt > 0 {
			return nil, unauthorized(fmt.Errorf("unknown kid %q", kid))
		}
		if err := m.keys.Refresh(ctx); err != nil {
			return nil, internal("refreshing keys", err)
		}
	}
}

func claimsOf(tok jwt.Token) (Claims, error) {
	var c Claims
	sub, _ := tok.Subject()
	var err error
	if c.Subject, err = uuid.Parse(sub); err != nil {
		return Claims{}, fmt.Errorf("sub: %w", err)
	}
	var sid string
	if err := tok.Get(claimSessionID, &sid); err != nil {
		return Claims{}, fmt.Errorf("session_id: %w", err)
	}
	if c.SessionID, err = uuid.Parse(sid); err != nil {
		return Claims{}, fmt.Errorf("session_id: %w", err)
	}
	iat, _ := tok.IssuedAt()
	exp, _ := tok.Expiration()
	c.IssuedAt, c.Expiration = iat.UTC(), exp.UTC()
	c.Audience, _ = tok.Audience()
	c.Issuer, _ = tok.Issuer()
	if tok.Has(claimEmail) {
		var e EmailClaim
		if err := tok.Get(claimEmail, &e); err != nil {
			return Claims{}, fmt.Errorf("email: %w", err)
		}
		c.Email = &e
	}
	if tok.Has(claimAMR) {
		if err := tok.Get(claimAMR, &c.AMR); err != nil {
			return Claims{}, fmt.Errorf("amr: %w", err)
		}
	}
	return c, nil
}

func unauthorized(cause error) error {
	return inkan.Wrap(inkan.KindUnauthorized, "", cause)
}

func internal(what string, err error) error {
	return inkan.Wrap(inkan.KindInternal, "", fmt.Errorf("session: %s: %w", what, err))
}

// List returns the user's unexpired sessions, newest first (admin GET
// /users/{id}/sessions).
func (m *Manager) List(ctx context.Context, userID uuid.UUID) ([]inkan.Session, error) {
	return m.store.ListSessions(ctx, userID, m.now())
}

// RevokeOf deletes the session sessionID of userID, so that its token fails
// Verify on every node from now on (admin DELETE
// /users/{id}/sessions/{session_id}). KindNotFound "session not found" when
// it is missing or belongs to another user.
func (m *Manager) RevokeOf(ctx context.Context, userID, sessionID uuid.UUID) error {
	err := inkan.Change(ctx, m.store, func(ctx context.Context) error {
		return m.store.DeleteUserSession(ctx, userID, sessionID, inkan.SessionEndAdminRevoked)
	}, func(ctx context.Context) inkan.Event {
		return inkan.NewEvent(ctx, inkan.EventUserLoggedOut, inkan.Actor{UserID: userID}, m.now()).
			With("session_id", sessionID.String()).With("reason", string(inkan.SessionEndAdminRevoked))
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "session not found", err)
	}
	return err
}
