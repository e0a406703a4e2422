// Package login is the one place where every sign-in ends. Each way to sign
// in has one function here (Passcode, Passkey, Password) that proves who
// the user is with its domain service and then calls complete, the shared
// completion step: resolve the e-mail claim (the user's primary address),
// create the session and record the method's *_succeeded event. The proof's
// own writes (a consumed passcode, a used WebAuthn ceremony), the claim of
// the address, the session row and the events are one database transaction
// (inkan.Journal.Atomically): if any step fails, nothing is written and the
// passcode or ceremony can be used again. A failed attempt records the
// method's *_failed event on its own, after the rollback.
//
// The package knows nothing of HTTP or SQL: the handlers in
// internal/httpapi decode the request, call one function here and deliver
// Result.Token as a cookie or X-Auth-Token header.
//
// # Adding a way to sign in
//
// A new method (refresh token, native ID token, admin-minted session,
// one-time token, …) adds one exported function in its own file:
//
//  1. declare the small interface of the domain service that proves the
//     user (next to the other interfaces in deps.go) and add it to Deps;
//  2. in the function, call s.journal.Atomically and, inside it, do the
//     proof's writes (consume the token, rotate the refresh token) and
//     then return s.complete(ctx, completion{…}) with the user, the
//     address the proof established (if any), its *_succeeded event type
//     and details;
//  3. when the attempt fails, return s.failed(ctx, <its *_failed type>,
//     actor, err, details) after Atomically returned; when it succeeded,
//     sign the token with s.sign(ctx, &result) before returning it (the
//     signature is made after the commit, outside the write lock);
//  4. pass the method's RFC 8176 amr values in completion.amr; the
//     completion step issues the refresh token (Result.RefreshToken) when
//     session.refresh_token.enabled, unless completion.noRefreshToken.
//
// The event types are inkan's (inkan.EventType): add a new one there, with
// Hanko's audit name when Hanko has one.
package login

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/session"
)

// Service signs users in. It is safe for concurrent use.
type Service struct {
	journal   inkan.Journal
	accounts  Accounts
	passcodes Passcodes
	passkeys  Passkeys
	passwords Passwords
	sessions  Sessions
	third     ThirdParty
	tokens    OneTimeTokens
	now       func() time.Time
}

// New returns a Service over d. A nil Now is time.Now; a nil Passwords
// makes Password answer KindNotFound (the route is not served without
// password.enabled).
func New(d Deps) *Service {
	s := &Service{
		journal: d.Journal, accounts: d.Accounts, passcodes: d.Passcodes, passkeys: d.Passkeys,
		passwords: d.Passwords, sessions: d.Sessions, third: d.ThirdParty, tokens: d.Tokens, now: d.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Result is what every completed sign-in returns.
type Result struct {
	// UserID is the user signed in.
	UserID uuid.UUID
	// Token is the session JWT (RFC 7519) to deliver to the client.
	Token string
	// Claims are Token's claims; Claims.SessionID names the sessions row.
	Claims session.Claims
	// Email is the address in the token's email claim: the user's primary
	// address, nil when the user has none.
	Email *inkan.Email
	// RefreshToken is the session's refresh token ("" when
	// session.refresh_token.enabled is off, or for an admin-minted
	// session); RefreshExpiresAt is its absolute end.
	RefreshToken     string
	RefreshExpiresAt time.Time

	// unsigned is the session row complete stored, whose token sign makes
	// once the transaction committed; nil once signed.
	unsigned *inkan.Session
}

// The amr values (RFC 8176 §2) each sign-in method puts in the session
// token (docs/compatibility.md "Refresh tokens and signed-in devices").
var (
	// AMRPasscode: a one-time code mailed to the user (RFC 8176 "otp").
	AMRPasscode = []string{"otp"}
	// AMRPasskey: a WebAuthn assertion proves possession of a key
	// ("pop": hardware or synced, inkan cannot tell) after a user
	// presence test ("user").
	AMRPasskey = []string{"pop", "user"}
	// AMRPassword: a password ("pwd").
	AMRPassword = []string{"pwd"}
)

// completion is what a sign-in method hands to complete.
type completion struct {
	userID uuid.UUID
	// known is an address of the user the method already read (nil when
	// none); when it is the primary one no second read is needed.
	known *inkan.Email
	// event is the method's *_succeeded type ("" for a sign-up, whose
	// user_created event the account service records); details its facts.
	event   inkan.EventType
	details map[string]any
	// meta, when set, is stored in the session row instead of the
	// request's client address and user agent.
	meta *session.Meta
	// amr are the RFC 8176 values of the method (the token's amr claim).
	amr []string
	// noRefreshToken: the session gets no refresh token even when they
	// are enabled (an admin-minted session).
	noRefreshToken bool
}

// complete is the completion step every sign-in ends in, called inside the
// method's Atomically: it resolves the email claim (the user's primary
// address: known when that is it, else read; none for a user without one),
// creates the session (evicting the oldest beyond session.limit) with the
// method's amr and, when enabled and not refused by c.noRefreshToken, a
// refresh token, and records c.event with the user and the primary address as actor.
// The token is not signed yet: the caller signs it with sign after
// Atomically returned, so that the transaction does not hold the
// database's write lock (SQLite's only writer) for an RSA signature; until
// then Token is "" and Claims carry only the subject and session id.
func (s *Service) complete(ctx context.Context, c completion) (Result, error) {
	primary := c.known
	if primary == nil || !primary.Primary || primary.UserID != c.userID {
		e, ok, err := s.accounts.PrimaryEmail(ctx, c.userID)
		if err != nil {
			return Result{}, err
		}
		primary = nil
		if ok {
			primary = &e
		}
	}
	m := inkan.RequestMetaFrom(ctx)
	meta := session.Meta{IPAddress: m.ClientIP, UserAgent: m.UserAgent}
	if c.meta != nil {
		meta = *c.meta
	}
	meta.AMR, meta.NoRefreshToken = c.amr, c.noRefreshToken
	is, row, err := s.sessions.StartUnsigned(ctx, c.userID, meta)
	if err != nil {
		return Result{}, err
	}
	claims := is.Claims
	res := Result{
		UserID: c.userID, Claims: claims, Email: primary,
		RefreshToken: is.RefreshToken, RefreshExpiresAt: is.RefreshExpiresAt,
		unsigned: &row,
	}
	if c.event == "" {
		return res, nil
	}
	actor := inkan.Actor{UserID: c.userID}
	if primary != nil {
		actor.Email = primary.Address
	}
	ev := inkan.NewEvent(ctx, c.event, actor, s.now())
	for k, v := range c.details {
		ev = ev.With(k, v)
	}
	ev = ev.With("session_id", claims.SessionID.String())
	if err := s.journal.RecordEvent(ctx, ev); err != nil {
		return Result{}, err
	}
	return res, nil
}

// sign signs the session token of r, which complete stored inside a
// transaction that has committed since: it fills r.Token and r.Claims.
// The session row and the *_succeeded event are committed already; when
// the signature fails (the signing key cannot be read) r is cleared and the
// error (KindInternal) is returned: the client gets no token, and the row
// lapses unused.
func (s *Service) sign(ctx context.Context, r *Result) error {
	if r.unsigned == nil {
		return nil
	}
	tok, claims, err := s.sessions.Sign(ctx, *r.unsigned, r.Email)
	if err != nil {
		*r = Result{}
		return err
	}
	r.Token, r.Claims, r.unsigned = tok, claims, nil
	return nil
}

// failed records a failed attempt's event on its own (outside the rolled
// back transaction) and returns cause, the error the caller answers with
// (joined with the recording error when the event could not be written,
// so that it reaches the log; inkan.Refused).
func (s *Service) failed(ctx context.Context, t inkan.EventType, actor inkan.Actor, cause error, details map[string]any) error {
	ev := inkan.FailedEvent(ctx, t, actor, cause, s.now())
	for k, v := range details {
		ev = ev.With(k, v)
	}
	return inkan.Refused(ctx, s.journal, ev, cause)
}
