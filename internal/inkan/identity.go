package inkan

import (
	"time"

	"github.com/google/uuid"
)

// Identity is a user's account at a third-party provider (docs/thirdparty.md
// "Accounts and linking"): the pair (Provider, Subject) signs in exactly one
// user.
type Identity struct {
	ID uuid.UUID
	// Provider is the provider id: "apple", "google", "github" or
	// "custom_<key>" (at most 64 bytes).
	Provider string
	// Subject is the provider's stable identifier of the account: the ID
	// token's sub claim (OpenID Connect Core §2), GitHub's numeric user id
	// (at most 255 bytes).
	Subject string
	UserID  uuid.UUID
	// EmailID is the address the provider vouched for when the identity was
	// created or last used; uuid.Nil when none or once it was deleted.
	EmailID uuid.UUID
	// Data is the provider's last profile claims (ProviderUser.Data) as a
	// JSON object; nil when none.
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProviderUser is what a provider vouched for after a verified ID token or
// an authorization-code exchange: the identity and its profile claims
// (OpenID Connect Core §5.1 names).
type ProviderUser struct {
	Provider      string
	Subject       string
	Email         string // raw, as the provider sent it; "" when none
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
}

// Event types of third-party sign-in (Hanko's audit names).
const (
	// EventThirdPartySignUpSucceeded: a new identity created a new user.
	EventThirdPartySignUpSucceeded EventType = "thirdparty_signup_succeeded"
	// EventThirdPartySignInSucceeded: a known identity signed its user in.
	EventThirdPartySignInSucceeded EventType = "thirdparty_signin_succeeded"
	// EventThirdPartyLinkingSucceeded: a new identity was linked to the
	// user owning its verified address, and signed that user in.
	EventThirdPartyLinkingSucceeded EventType = "thirdparty_linking_succeeded"
	// EventThirdPartySignInSignUpFailed: an ID token or callback was refused.
	EventThirdPartySignInSignUpFailed EventType = "thirdparty_signin_signup_failed"
)

// OneTimeToken is the token the third-party redirect flow hands the app
// (docs/thirdparty.md "Web redirect flow"): exchanged once, before
// ExpiresAt, for a session of UserID. Only ValueHash, the SHA-256 of the
// value, is stored.
type OneTimeToken struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	ValueHash string // lower-case hex SHA-256 of the value
	Provider  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OneTimeTokenTTL is how long a one-time token may be exchanged (Hanko's
// 60 seconds).
const OneTimeTokenTTL = 60 * time.Second

// Event types of the one-time token exchange (POST /token, Hanko's names).
const (
	EventTokenExchangeSucceeded EventType = "token_exchange_succeeded"
	EventTokenExchangeFailed    EventType = "token_exchange_failed"
)
