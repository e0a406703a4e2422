package login

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/session"
)

// Deps are the services a Service composes; internal/app passes the real
// ones (internal/store is the Journal).
type Deps struct {
	Journal   inkan.Journal
	Accounts  Accounts
	Passcodes Passcodes
	Passkeys  Passkeys
	Passwords Passwords // nil without password.enabled
	Sessions  Sessions
	Now       func() time.Time // nil = time.Now; the time of events
	// ThirdParty verifies provider ID tokens (internal/thirdparty); nil
	// makes IDToken answer KindNotFound (no provider enabled).
	ThirdParty ThirdParty
	// Tokens keeps the one-time tokens of the redirect flow (internal/store).
	Tokens OneTimeTokens
}

// OneTimeTokens stores the one-time tokens of the third-party redirect flow.
type OneTimeTokens interface {
	// CreateOneTimeToken inserts t, in ctx's transaction.
	CreateOneTimeToken(ctx context.Context, t inkan.OneTimeToken) error
	// ConsumeOneTimeToken deletes and returns the unexpired token with the
	// hash (inkan.ErrNotFound when none, inkan.ErrStale when expired).
	ConsumeOneTimeToken(ctx context.Context, valueHash string, now time.Time) (inkan.OneTimeToken, error)
}

// Accounts is the part of *account.Service a sign-in needs.
type Accounts interface {
	// SignUp creates a user with its address and records user_created.
	SignUp(ctx context.Context, rawEmail string) (inkan.User, inkan.Email, error)
	// SignUpAs is SignUp with the user's id chosen (passkey-first sign-up).
	SignUpAs(ctx context.Context, userID uuid.UUID, rawEmail string) (inkan.User, inkan.Email, error)
	// CheckClaim decides whether userID may sign in with (and take) the
	// address emailID; sessionUser is the subject of a session sent along
	// (uuid.Nil when none). It returns the address as read.
	CheckClaim(ctx context.Context, userID, emailID, sessionUser uuid.UUID, known *inkan.Email) (inkan.Email, error)
	// Claim assigns e to userID as verified (primary when the user has
	// none) and records its events, in ctx's transaction.
	Claim(ctx context.Context, e inkan.Email, userID uuid.UUID) (inkan.Email, error)
	// ResolveIdentity finds or makes the user a provider's identity signs
	// in, with the linking rules (see account.Service.ResolveIdentity).
	ResolveIdentity(ctx context.Context, pu inkan.ProviderUser, allowLinking bool) (inkan.Identity, account.IdentityOutcome, error)
	// PrimaryEmail returns the user's primary address, ok=false when none.
	PrimaryEmail(ctx context.Context, userID uuid.UUID) (e inkan.Email, ok bool, err error)
}

// Passcodes is the part of *passcode.Service a passcode sign-in needs.
type Passcodes interface {
	// Finalize checks and consumes the passcode (see passcode.Service).
	Finalize(ctx context.Context, id uuid.UUID, code string, check func(inkan.Passcode) error) (inkan.Passcode, error)
}

// Passkeys is the part of *passkey.Service a passkey sign-in needs.
type Passkeys interface {
	// FinishLoginPrimary verifies an assertion, uses up its ceremony and
	// updates the credential, and returns the owner's primary address
	// (nil when none) read with the credentials (see passkey.Service).
	FinishLoginPrimary(ctx context.Context, body []byte) (inkan.Credential, *inkan.Email, error)
	// VerifySignUp verifies a passkey-first sign-up's attestation without
	// writing; FinishSignUp uses up its ceremony and stores the credential.
	VerifySignUp(ctx context.Context, body []byte) (passkey.SignUp, error)
	FinishSignUp(ctx context.Context, su passkey.SignUp) (inkan.Credential, error)
}

// Passwords is the part of *password.Service a password sign-in needs.
type Passwords interface {
	// Login checks the user's password (KindUnauthorized when wrong, the
	// user unknown or without a password).
	Login(ctx context.Context, userID uuid.UUID, password string) error
}

// ThirdParty is the part of *thirdparty.Providers a native sign-in needs.
type ThirdParty interface {
	// VerifyIDToken checks a provider's ID token and its nonce and returns
	// the identity it vouches for (KindNotFound for a provider that is not
	// enabled, KindUnauthorized naming the failed check).
	VerifyIDToken(ctx context.Context, provider, rawToken, nonce string) (inkan.ProviderUser, error)
	// AllowLinking is the provider's allow_linking.
	AllowLinking(provider string) bool
}

// Sessions is the part of *session.Manager the completion step needs.
type Sessions interface {
	// StartUnsigned stores a new session row for userID and issues its
	// refresh token (when enabled and not meta.NoRefreshToken); the row is
	// returned unsigned, for Sign once the transaction committed.
	StartUnsigned(ctx context.Context, userID uuid.UUID, meta session.Meta) (session.Issued, inkan.Session, error)
	// Refresh rotates a refresh token (see session.Manager.Refresh).
	Refresh(ctx context.Context, token string) (session.Rotated, error)
	// Sign signs a new JWT for an existing session row.
	Sign(ctx context.Context, s inkan.Session, email *inkan.Email) (string, session.Claims, error)
}
