package inkan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EventType names what happened. The values are the audit log type names
// Hanko's legacy and admin APIs emit (docs/compatibility.md, "Events"), so
// an audit log, a webhook deliverer or a dashboard built for Hanko reads
// them unchanged. A failed attempt has its own "_failed" type.
type EventType string

// The event types of the public API. Login outcomes come in pairs: the
// *Succeeded type is recorded in the transaction that signs the user in,
// the *Failed type on its own when the attempt fails.
const (
	EventUserCreated    EventType = "user_created"    // POST /users
	EventUserDeleted    EventType = "user_deleted"    // DELETE /user
	EventUserLoggedOut  EventType = "user_logged_out" // POST /logout
	EventEmailCreated   EventType = "email_created"   // POST /emails
	EventEmailVerified  EventType = "email_verified"  // a passcode claimed the address
	EventEmailDeleted   EventType = "email_deleted"   // DELETE /emails/{id}
	EventPrimaryChanged EventType = "primary_email_changed"
	// EventUserAccessRevoked: an address the account held unverified was
	// verified for the first time, and every session, passkey and password
	// the account had before was removed (inkan; no Hanko equivalent).
	EventUserAccessRevoked EventType = "user_access_revoked"

	EventPasswordSetSucceeded   EventType = "password_set_succeeded"
	EventPasswordSetFailed      EventType = "password_set_failed"
	EventPasswordLoginSucceeded EventType = "password_login_succeeded"
	EventPasswordLoginFailed    EventType = "password_login_failed"

	EventPasscodeLoginInitSucceeded  EventType = "passcode_login_init_succeeded"
	EventPasscodeLoginInitFailed     EventType = "passcode_login_init_failed"
	EventPasscodeLoginFinalSucceeded EventType = "passcode_login_final_succeeded"
	EventPasscodeLoginFinalFailed    EventType = "passcode_login_final_failed"

	EventWebAuthnRegistrationInitSucceeded    EventType = "webauthn_registration_init_succeeded"
	EventWebAuthnRegistrationInitFailed       EventType = "webauthn_registration_init_failed"
	EventWebAuthnRegistrationFinalSucceeded   EventType = "webauthn_registration_final_succeeded"
	EventWebAuthnRegistrationFinalFailed      EventType = "webauthn_registration_final_failed"
	EventWebAuthnAuthenticationInitSucceeded  EventType = "webauthn_authentication_init_succeeded"
	EventWebAuthnAuthenticationInitFailed     EventType = "webauthn_authentication_init_failed"
	EventWebAuthnAuthenticationFinalSucceeded EventType = "webauthn_authentication_final_succeeded"
	EventWebAuthnAuthenticationFinalFailed    EventType = "webauthn_authentication_final_failed"
	EventWebAuthnCredentialUpdated            EventType = "webauthn_credential_updated"
	EventWebAuthnCredentialDeleted            EventType = "webauthn_credential_deleted"

	// EventLoginSuccess is a session minted by the admin API (Hanko's
	// name for it); no public route records it.
	EventLoginSuccess EventType = "login_success"
	// EventPasswordDeleted is a password removed through the admin API
	// (Hanko's flow-API name).
	EventPasswordDeleted EventType = "password_deleted"

	// EventSessionEvicted: a new session pushed the user's oldest one out
	// beyond session.limit (detail session_id; inkan, for the webhook
	// session.delete.passive.limit).
	EventSessionEvicted EventType = "session_evicted"
	// EventSessionExpired: an expired session row was removed by the purge
	// job, or an idle one (session.idle_timeout) when its token was next
	// presented (details session_id, and reason "idle" for the latter;
	// inkan, for the webhook session.delete.passive.expire).
	EventSessionExpired EventType = "session_expired"
)

// Event is one recorded fact: a change of state or the outcome of a login
// attempt. Events are written to the events table by internal/store and
// read from there by the audit log, webhook deliveries and metrics.
//
// # Recording the event of a change
//
// A change and its event are written in one database transaction, so a
// rolled-back change leaves no event and a committed change always has
// one. A domain service does it with the Journal its Store embeds:
//
//	err := s.store.Atomically(ctx, func(ctx context.Context) error {
//		if err := s.store.DeleteEmail(ctx, userID, emailID); err != nil {
//			return err // rolled back: no event
//		}
//		return s.store.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventEmailDeleted, actor, now))
//	})
//
// Every store method called with the ctx that Atomically passes to fn joins
// the transaction. A failure is recorded on its own, after the failed
// change rolled back: RecordEvent(ctx, inkan.FailedEvent(ctx, typ, actor,
// err, now)) outside Atomically.
//
// A new kind of change adds its EventType constant above (Hanko's audit
// name where Hanko has one) and records it as shown; nothing else changes:
// readers see every type.
type Event struct {
	// Seq is the event's position in the log, assigned by the store when the
	// event is inserted: positive and increasing in insert order. Readers
	// remember the last Seq they processed and ask for the ones after it.
	// Seq values are allocated when a transaction inserts, not when it
	// commits, so a reader can see seq 7 before seq 6 commits; see
	// internal/store's Events for how to read without missing one.
	Seq int64
	// ID identifies the event everywhere (webhook deliveries, audit log).
	ID uuid.UUID
	// Type names what happened.
	Type EventType
	// Error is the client-facing reason of a *_failed event ("" on
	// success), e.g. "passcode not found"; never a secret or a cause.
	Error string
	// Actor is whom the event is about.
	Actor Actor
	// Request is the HTTP request that caused it (zero for jobs).
	Request RequestMeta
	// Details are type-specific facts (ids, the sign-in method), JSON
	// encodable; never a secret, passcode, token or password.
	Details map[string]any
	// CreatedAt is when it happened (UTC, microseconds).
	CreatedAt time.Time
	// HookData is what only webhook deliveries may read (the mail of
	// email.send, passcode included): JSON, stored with the event until a
	// node fans it out to the hooks, then removed; never part of the audit
	// log or Details. Nil for most events.
	HookData []byte
}

// Actor is the user an event is about: UserID is uuid.Nil and Email "" when
// unknown (a passcode id nobody owns, an unparsable assertion).
type Actor struct {
	UserID uuid.UUID
	Email  string // an address of the user (normally the primary), "" when unknown
}

// RequestMeta describes the HTTP request an event came from.
type RequestMeta struct {
	ID        string // the X-Request-Id the response carries
	ClientIP  string // the client address (trusted proxies resolved)
	UserAgent string // the User-Agent header
	// API is "admin" for a request to the admin API ("" for the public
	// one); NewEvent then adds the detail "api": "admin", so every change
	// the admin makes says so.
	API string
}

// MaxUserAgentBytes bounds the user agent kept in an event; NewEvent cuts
// longer ones at a UTF-8 boundary.
const MaxUserAgentBytes = 512

type requestMetaKey struct{}

// WithRequestMeta returns ctx carrying m; the HTTP layer sets it once per
// request, and events created from the context carry it.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey{}, m)
}

// RequestMetaFrom returns the RequestMeta in ctx (zero when none).
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(requestMetaKey{}).(RequestMeta)
	return m
}

// NewEvent returns an event of type t about actor at time at (UTC,
// microseconds), with a new random ID and the request metadata of ctx.
func NewEvent(ctx context.Context, t EventType, actor Actor, at time.Time) Event {
	m := RequestMetaFrom(ctx)
	m.UserAgent = TruncateUTF8(m.UserAgent, MaxUserAgentBytes)
	e := Event{
		ID:        uuid.New(),
		Type:      t,
		Actor:     actor,
		Request:   m,
		CreatedAt: at.UTC().Truncate(time.Microsecond),
	}
	if m.API != "" {
		e = e.With("api", m.API)
	}
	return e
}

// FailedEvent is NewEvent with Error set to err's client message (its
// status text when the message is empty).
func FailedEvent(ctx context.Context, t EventType, actor Actor, err error, at time.Time) Event {
	e := NewEvent(ctx, t, actor, at)
	e.Error = MessageOf(err)
	if e.Error == "" {
		e.Error = KindOf(err).String()
	}
	return e
}

// With returns e with details key = value added.
func (e Event) With(key string, value any) Event {
	d := make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		d[k] = v
	}
	d[key] = value
	e.Details = d
	return e
}

// Journal is where a change and its event are written together;
// internal/store implements it, and a domain package's Store embeds it when
// the package records events.
type Journal interface {
	// Atomically runs fn in one database transaction, committed when fn
	// returns nil and rolled back otherwise; fn's error is returned. Every
	// store call made with the ctx passed to fn is part of the transaction
	// (a call nested in another Atomically joins the outer one). fn may run
	// more than once when the database aborts the transaction to break a
	// deadlock, so it must have no effects outside the database.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error
	// RecordEvent writes e (Seq is assigned and ignored when given). Inside
	// Atomically it is part of the transaction.
	RecordEvent(ctx context.Context, e Event) error
}

// Change runs change and records the event ev returns in one transaction
// of j: both are written or neither. ev is called after change succeeded,
// with the transaction's ctx, so it can name what change produced and read
// what change wrote.
func Change(ctx context.Context, j Journal, change func(ctx context.Context) error, ev func(ctx context.Context) Event) error {
	return j.Atomically(ctx, func(ctx context.Context) error {
		if err := change(ctx); err != nil {
			return err
		}
		return j.RecordEvent(ctx, ev(ctx))
	})
}

// Refused records the failure event ev on its own — after the refused
// change rolled back, or when nothing was to be written — and returns
// cause, the error the caller answers with. When ev cannot be written the
// recording error is joined to cause (KindOf and MessageOf still report
// cause's), so it reaches the log.
func Refused(ctx context.Context, j Journal, ev Event, cause error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := j.RecordEvent(rctx, ev); err != nil {
		return errors.Join(cause, fmt.Errorf("recording %s: %w", ev.Type, err))
	}
	return cause
}
