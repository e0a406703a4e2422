// Package inkan is the vocabulary shared by every other package: users,
// e-mail addresses, passcodes, WebAuthn credentials and ceremonies, sessions,
// signing keys, the event vocabulary (Event, EventType: Hanko's audit log
// type names; Journal, the way a change records its event), error kinds and
// pure validation.
//
// It imports nothing but the standard library and github.com/google/uuid.
package inkan

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Sentinels returned by storage implementations and domain services. Compare
// with errors.Is; storage wraps driver errors into these so that no caller
// ever matches a database message text.
var (
	// ErrNotFound: the addressed row does not exist (or belongs to another
	// user, which callers must not be able to tell apart).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule was violated (e-mail address taken,
	// credential id registered twice, …).
	ErrConflict = errors.New("conflict")
	// ErrStale: a conditional update matched no row because another request
	// changed it first (passcode already consumed, attempt limit reached,
	// ceremony already used, sign count not increasing).
	ErrStale = errors.New("stale")
	// ErrUnavailable: the database refused or dropped the connection, or
	// is shutting down or overloaded; nothing was decided, and the same
	// request may succeed a little later. The HTTP layer answers 503 with
	// Retry-After.
	ErrUnavailable = errors.New("database unavailable")
)

// Kind classifies an error for the HTTP layer. Each kind maps to exactly one
// status code in internal/httpapi; a Kind never carries an internal cause to
// the client.
type Kind int

// Error kinds, named after the HTTP status each maps to (docs/compatibility.md "Errors").
const (
	KindInternal             Kind = iota // 500, opaque to the client
	KindInvalid                          // 400 Bad Request
	KindUnauthorized                     // 401 Unauthorized
	KindForbidden                        // 403 Forbidden
	KindNotFound                         // 404 Not Found
	KindTimeout                          // 408 Request Timeout (expired passcode)
	KindConflict                         // 409 Conflict
	KindGone                             // 410 Gone (attempts exhausted)
	KindTooLarge                         // 413 Request Entity Too Large
	KindUnsupportedMediaType             // 415 Unsupported Media Type
	KindUnprocessable                    // 422 Unprocessable Entity
	KindTooManyRequests                  // 429 Too Many Requests
	KindBadGateway                       // 502 Bad Gateway (mail delivery failed)
	KindUnavailable                      // 503 Service Unavailable
)

// Error is a classified error. Message is safe to show to a client (it never
// contains a secret); Err is the cause, for the log only.
type Error struct {
	Kind    Kind   // the class, mapped to one HTTP status by internal/httpapi
	Message string // for the client; "" means the status text
	Err     error  // the cause, for the log only; may be nil
}

// Error returns the message and, when there is one, the cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return fmt.Sprintf("%s: %v", e.Message, e.Err)
}

// Unwrap returns the cause, so errors.Is/As see through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// E returns an *Error of kind k whose client message is msg. An empty msg
// means "use the status text" (e.g. "Unauthorized").
func E(k Kind, msg string) error { return &Error{Kind: k, Message: msg} }

// Wrap returns an *Error of kind k with client message msg and the cause err
// kept for the log.
func Wrap(k Kind, msg string, err error) error { return &Error{Kind: k, Message: msg, Err: err} }

// KindOf returns the Kind of the first *Error in err's chain. Without one it
// maps the storage sentinels (ErrNotFound → KindNotFound, ErrConflict →
// KindConflict, ErrUnavailable → KindUnavailable) and everything else to
// KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.Is(err, ErrConflict):
		return KindConflict
	case errors.Is(err, ErrUnavailable):
		return KindUnavailable
	}
	return KindInternal
}

// MessageOf returns the client message of the first *Error in err's chain,
// or "" when there is none (the HTTP layer then uses the status text).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// UnknownCredentialError is the cause of a refused WebAuthn assertion
// whose credential id no user holds, so that the client can tell the
// authenticator to forget the credential (WebAuthn L3 §5.1.10,
// PublicKeyCredential.signalUnknownCredential({rpId, credentialId})). It
// is never used for a credential that exists. The HTTP layer adds both
// fields to the error body (credential_id as base64url, rp_id).
type UnknownCredentialError struct {
	CredentialID []byte // raw credential id
	RPID         string // the relying party id the credential was asserted for
}

func (e *UnknownCredentialError) Error() string { return "no user holds the credential" }

// String is the reason phrase of the status the kind maps to (RFC 9110
// §15), e.g. "Unauthorized": the message of an error without its own.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "Bad Request"
	case KindUnauthorized:
		return "Unauthorized"
	case KindForbidden:
		return "Forbidden"
	case KindNotFound:
		return "Not Found"
	case KindTimeout:
		return "Request Timeout"
	case KindConflict:
		return "Conflict"
	case KindGone:
		return "Gone"
	case KindTooLarge:
		return "Request Entity Too Large"
	case KindUnsupportedMediaType:
		return "Unsupported Media Type"
	case KindUnprocessable:
		return "Unprocessable Entity"
	case KindTooManyRequests:
		return "Too Many Requests"
	case KindBadGateway:
		return "Bad Gateway"
	case KindUnavailable:
		return "Service Unavailable"
	}
	return "Internal Server Error"
}

// TruncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RetryAfter is the cause of a KindTooManyRequests error that knows when
// the caller may try again; the HTTP layer sends it as Retry-After (whole
// seconds, rounded up). Find it with errors.As.
type RetryAfter struct {
	After time.Duration // until the limit lets the next attempt through
	Limit string        // the configuration key of the limit, e.g. rate_limiter.passcode_failure_limits
}

func (r *RetryAfter) Error() string {
	return fmt.Sprintf("%s spent; retry after %s", r.Limit, r.After)
}
