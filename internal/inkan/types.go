package inkan

import (
	"time"

	"github.com/google/uuid"
)

// User is an account. Its id is a random (v4) UUID; the WebAuthn user handle
// is the 16 raw bytes of this UUID (docs/compatibility.md "WebAuthn options").
type User struct {
	ID        uuid.UUID
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
	// Profile, set through the admin API (PATCH /users/{id}); "" = absent.
	Name       string // at most 255 bytes
	GivenName  string // at most 255 bytes
	FamilyName string // at most 255 bytes
	Picture    string // an http(s) URL of at most 2048 bytes
}

// Email is an e-mail address row. An address belongs to at most one user;
// UserID is uuid.Nil while a sign-up with required verification is
// unfinished (docs/compatibility.md "Users" POST /users). Address is stored normalised
// (see NormalizeEmail).
type Email struct {
	ID        uuid.UUID
	UserID    uuid.UUID // uuid.Nil when unassigned
	Address   string
	Verified  bool
	Primary   bool // derived from primary_emails when read
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Passcode is a one-time e-mail code (docs/compatibility.md "Passcodes"). The code itself is
// never stored: CodeHash is HMAC-SHA256(server secret, id ‖ code), 32 bytes.
type Passcode struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	EmailID   uuid.UUID
	CodeHash  []byte
	TTL       time.Duration // email.passcode_ttl, whole seconds
	TryCount  int           // wrong codes so far; dead at MaxPasscodeAttempts
	CreatedAt time.Time     // UTC
	ExpiresAt time.Time     // CreatedAt + TTL, UTC
	// Email is the address row EmailID as read together with the
	// passcode (Primary filled in); nil when not read or gone.
	Email *Email
}

// MaxPasscodeAttempts is the number of wrong codes after which a passcode is
// dead (docs/compatibility.md "Passcodes": hard-coded 3; the third wrong code answers 410).
const MaxPasscodeAttempts = 3

// Credential is a registered WebAuthn public key credential (WebAuthn L3
// §4 "public key credential source", stored per docs/compatibility.md "WebAuthn options", "Session rows").
type Credential struct {
	ID              []byte // raw credential id, at most 1023 bytes (WebAuthn §5.1)
	UserID          uuid.UUID
	PublicKey       []byte // COSE_Key, as in the attested credential data
	AttestationType string // attestation statement format, e.g. "none", "packed"
	AAGUID          uuid.UUID
	SignCount       uint32    // signature counter of the last assertion (WebAuthn §6.1.1); 0 = no counter
	Name            string    // empty when unnamed
	Transports      []string  // hints reported at registration, e.g. "internal", "hybrid" (WebAuthn §5.8.4)
	BackupEligible  bool      // BE flag (WebAuthn §6.1)
	BackupState     bool      // BS flag
	UserVerified    bool      // UV flag at registration
	LastUsedAt      time.Time // zero when never used
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Ceremony operations (docs/compatibility.md "Ceremonies" webauthn_session_data.operation).
const (
	OperationRegistration   = "registration"
	OperationAuthentication = "authentication"
	// OperationSignUp is the registration of a passkey-first sign-up: its
	// UserID is the id the new user will get (no users row yet).
	OperationSignUp = "sign_up"
)

// Ceremony is the server-side state of a WebAuthn registration or
// authentication between its initialize and finalize calls. It lives in the
// database so that any node can finish it, and it is used once.
type Ceremony struct {
	ID                   uuid.UUID
	Challenge            string    // base64url without padding, 32 random bytes
	UserID               uuid.UUID // uuid.Nil for a discoverable login
	UserVerification     string    // required | preferred | discouraged
	Operation            string    // OperationRegistration | OperationAuthentication | OperationSignUp
	AllowedCredentialIDs [][]byte  // raw ids; empty for discoverable login
	SessionData          []byte    // go-webauthn SessionData as JSON
	CreatedAt            time.Time
	ExpiresAt            time.Time // UTC; webauthn.timeouts.*
}

// Session is a server-side session; its ID is the JWT's session_id claim.
type Session struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	UserAgent string // empty when not acquired
	IPAddress string // empty when not acquired
	CreatedAt time.Time
	UpdatedAt time.Time
	LastUsed  time.Time // last authenticated request, UTC (idle timeout, docs/compatibility.md "Authentication")
	ExpiresAt time.Time // the JWT's exp, UTC
	// AMR are the RFC 8176 method values of the sign-in that created it.
	AMR []string
	// EndsAt is when the row may go: ExpiresAt, or later while a refresh
	// token keeps the session alive. Zero means ExpiresAt.
	EndsAt time.Time
	// Refresh is the session's refresh token, nil when it has none.
	Refresh *RefreshState
}

// SigningKey is a stored JWT signing key. KeyData is the private JWK JSON
// sealed with AES-256-GCM (12-byte nonce prepended) under a key derived from
// a configured secret; it is never stored in the clear.
type SigningKey struct {
	ID        int64 // ascending; the newest key signs
	KID       string
	Algorithm string // RS256 | ES256 | EdDSA
	KeyData   []byte
	CreatedAt time.Time
	// RevokedAt is when the key was revoked (`inkan jwk revoke`), zero while
	// it is not: a revoked key neither signs nor verifies nor is published.
	// (A key retired by its successor needs no mark: it verifies until its
	// tokens have expired.)
	RevokedAt time.Time
}

// PasscodeMail is what a mailer needs to deliver a passcode (docs/compatibility.md "Passcodes").
// Code is the clear-text code: a mailer puts it in the message and nowhere
// else (never in a log line).
type PasscodeMail struct {
	To             string        // recipient address; never logged
	UserID         uuid.UUID     // the user the code is for; what logs name instead of To
	Code           string        // six digits
	TTL            time.Duration // validity, shown to the user in whole minutes
	ServiceName    string        // service.name
	Language       string        // X-Language request header, may be empty
	AcceptLanguage string        // Accept-Language request header, may be empty
}

// AccessRevoked counts what RevokeUserAccess removed from an account.
type AccessRevoked struct {
	Sessions  int64
	Passkeys  int64
	Passwords int64 // 0 or 1
}

// Any reports whether anything was removed.
func (a AccessRevoked) Any() bool { return a.Sessions+a.Passkeys+a.Passwords > 0 }
