package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// User is the answer of POST /user (docs/compatibility.md "Users").
type User struct {
	// ID is the user's UUID.
	ID string `json:"id"`
	// EmailID is the UUID of the looked-up e-mail address.
	EmailID string `json:"email_id"`
	// Verified is the e-mail address's verified flag.
	Verified bool `json:"verified"`
	// HasWebauthnCredential is true when the user has any WebAuthn credential,
	// so [Client.BeginPasskeyLogin] with ID can offer it.
	HasWebauthnCredential bool `json:"has_webauthn_credential"`
}

// LookupUser finds the user owning email: POST /user {"email"} (docs/compatibility.md
// "Users"; README.md "The mobile flow with curl" step 1). An unknown address, or one whose sign-up was never
// finished, is an *APIError with status 404 ([IsNotFound]); an invalid
// address is a 400.
func (c *Client) LookupUser(ctx context.Context, email string) (*User, error) {
	var u User
	if _, err := c.do(ctx, http.MethodPost, "/user", map[string]string{"email": email}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreatedUser is the answer of POST /users (docs/compatibility.md "Users").
type CreatedUser struct {
	// UserID is the new user's UUID.
	UserID string `json:"user_id"`
	// EmailID is the UUID of the e-mail address; pass it to
	// [Client.InitPasscode] while the address is unverified.
	EmailID string `json:"email_id"`
	// Session is the session issued when the server does not require e-mail
	// verification (email.require_verification: false); nil otherwise.
	Session *Session `json:"-"`
}

// CreateUser signs up a user with email: POST /users {"email"} (docs/compatibility.md
// "Users"; README.md "The mobile flow with curl" step 2). Errors: 409 ([IsConflict]) when the address already
// has a user, 403 when sign-up is disabled, 400 for an invalid address. When
// the server issues a session right away, the client keeps its token.
func (c *Client) CreateUser(ctx context.Context, email string) (*CreatedUser, error) {
	var out struct {
		ID      string `json:"id"`
		UserID  string `json:"user_id"`
		EmailID string `json:"email_id"`
	}
	sess, err := c.do(ctx, http.MethodPost, "/users", map[string]string{"email": email}, &out)
	if err != nil {
		return nil, err
	}
	cu := &CreatedUser{UserID: out.UserID, EmailID: out.EmailID, Session: sess}
	if cu.UserID == "" {
		cu.UserID = out.ID // "id" is the deprecated duplicate of user_id
	}
	return cu, nil
}

// Passcode is an e-mailed one-time code's handle (docs/compatibility.md "Passcodes").
type Passcode struct {
	// ID is the passcode's UUID, passed to [Client.FinalizePasscode].
	ID string `json:"id"`
	// TTL is the code's validity in seconds, counted from CreatedAt.
	TTL int `json:"ttl"`
	// CreatedAt is when the code was issued (UTC).
	CreatedAt time.Time `json:"created_at"`
}

// InitPasscode sends a one-time code by e-mail: POST
// /passcode/login/initialize {"user_id", "email_id"?} (docs/compatibility.md "Passcodes", "Users"
// step 3). emailID "" is omitted: the server then mails the user's primary
// address. Errors: 400 (unknown user, "an emailId needs to be specified"),
// 403 (a session of another user is held), 429 ([IsRateLimited]).
func (c *Client) InitPasscode(ctx context.Context, userID, emailID string) (*Passcode, error) {
	in := struct {
		UserID  string `json:"user_id"`
		EmailID string `json:"email_id,omitempty"`
	}{userID, emailID}
	var p Passcode
	if _, err := c.do(ctx, http.MethodPost, "/passcode/login/initialize", in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// FinalizePasscode checks the code the user typed: POST
// /passcode/login/finalize {"id", "code"} (docs/compatibility.md "Passcodes", "Users" step 4) and
// keeps the issued session token. Errors: 401 wrong code or unknown
// passcode, 408 expired, 410 third wrong attempt, 403 address claimed by
// another user.
func (c *Client) FinalizePasscode(ctx context.Context, passcodeID, code string) (*Session, error) {
	in := map[string]string{"id": passcodeID, "code": code}
	sess, err := c.do(ctx, http.MethodPost, "/passcode/login/finalize", in, nil)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errNoSession
	}
	return sess, nil
}

// IDTokenSignIn is a native third-party sign-in: the ID token the platform
// handed the app and the nonce the app generated for it.
type IDTokenSignIn struct {
	// Provider is "apple", "google" or "custom_<key>".
	Provider string `json:"provider"`
	// IDToken is the token: ASAuthorizationAppleIDCredential.identityToken
	// (UTF-8), GoogleIdTokenCredential.idToken.
	IDToken string `json:"id_token"`
	// Nonce is the app's nonce as generated: for Apple, the app passes its
	// SHA-256 (lower-case hex) to ASAuthorizationAppleIDRequest.nonce and
	// sends the nonce itself here; for Google it passes the nonce as it is.
	Nonce string `json:"nonce"`
	// GivenName and FamilyName are ASAuthorizationAppleIDCredential.fullName,
	// which Apple gives only on the first authorization (optional).
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
}

// SignInWithIDToken signs in with a provider's ID token obtained natively:
// POST /thirdparty/id_token (api/openapi.yaml). It keeps the issued session
// token and returns the user's id. Errors: 400 (a missing field, a provider
// that is not enabled), 401 (the token is refused; the message names the
// check), 403 signup_disabled / unverified_email, 409 user_conflict, 429.
func (c *Client) SignInWithIDToken(ctx context.Context, in IDTokenSignIn) (*Session, string, error) {
	var out struct {
		UserID string `json:"user_id"`
	}
	sess, err := c.do(ctx, http.MethodPost, "/thirdparty/id_token", in, &out)
	if err != nil {
		return nil, "", err
	}
	if sess == nil {
		return nil, "", errNoSession
	}
	return sess, out.UserID, nil
}

// PasskeyResult is the answer of both WebAuthn finalize endpoints
// (docs/compatibility.md "Passkeys").
type PasskeyResult struct {
	// CredentialID is the credential id, base64url without padding.
	CredentialID string `json:"credential_id"`
	// UserID is the user's UUID.
	UserID string `json:"user_id"`
}

// BeginPasskeyRegistration starts a passkey registration for the logged-in
// user: POST /webauthn/registration/initialize (docs/compatibility.md "Passkeys"). It returns
// the raw {"publicKey": PublicKeyCredentialCreationOptions} JSON to hand to
// the platform API (navigator.credentials.create, Android Credential
// Manager, ASAuthorization). Needs a session (401 otherwise).
func (c *Client) BeginPasskeyRegistration(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodPost, "/webauthn/registration/initialize", nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// FinishPasskeyRegistration sends the platform's PublicKeyCredential JSON
// (id, rawId, type, response{clientDataJSON, attestationObject, transports?};
// base64url): POST /webauthn/registration/finalize (docs/compatibility.md "Passkeys"). Errors:
// 400 invalid attestation or challenge, 422 user verification missing.
func (c *Client) FinishPasskeyRegistration(ctx context.Context, credential json.RawMessage) (*PasskeyResult, error) {
	var r PasskeyResult
	if _, err := c.do(ctx, http.MethodPost, "/webauthn/registration/finalize", credential, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PasskeySignUp is the answer of a finished passkey-first sign-up.
type PasskeySignUp struct {
	PasskeyResult
	// EmailID is the new address row: with email.require_verification it
	// belongs to nobody until InitPasscode(UserID, EmailID) and
	// FinalizePasscode verify it.
	EmailID string `json:"email_id"`
}

// BeginPasskeySignUp starts a passkey-first sign-up for a new user with
// the address email: POST /webauthn/registration/initialize with
// {"email"} and no session token (the client's stored token, if any, is
// not sent; api/openapi.yaml). It returns the raw {"publicKey":
// PublicKeyCredentialCreationOptions} JSON for the platform API. Errors:
// 403 sign-up disabled (account.allow_signup), 409 a user owns the
// address, 400 invalid address, 429 rate_limiter.signup_limits.
func (c *Client) BeginPasskeySignUp(ctx context.Context, email string) (json.RawMessage, error) {
	in := struct {
		Email string `json:"email"`
	}{email}
	var raw json.RawMessage
	if _, err := c.send(ctx, http.MethodPost, "/webauthn/registration/initialize", in, &raw, false); err != nil {
		return nil, err
	}
	return raw, nil
}

// FinishPasskeySignUp sends the platform's PublicKeyCredential JSON of the
// sign-up BeginPasskeySignUp started: POST /webauthn/registration/finalize
// without a session token. The server creates the user, its address and
// the passkey, and signs the user in; the session token is kept. Errors:
// 400 invalid attestation or challenge, 403 sign-up disabled, 409 the
// address was taken meanwhile or the credential exists, 422 user
// verification missing.
func (c *Client) FinishPasskeySignUp(ctx context.Context, credential json.RawMessage) (*Session, *PasskeySignUp, error) {
	var r PasskeySignUp
	sess, err := c.send(ctx, http.MethodPost, "/webauthn/registration/finalize", credential, &r, false)
	if err != nil {
		return nil, nil, err
	}
	if sess == nil {
		return nil, nil, errNoSession
	}
	return sess, &r, nil
}

// BeginPasskeyLogin starts a passkey login: POST /webauthn/login/initialize
// (docs/compatibility.md "Passkeys"). userID "" sends {} and asks for discoverable-credential
// options; a user id gets options listing that user's credentials. It
// returns the raw {"publicKey": PublicKeyCredentialRequestOptions} JSON for
// the platform API. Errors: 400 unknown or malformed user id.
func (c *Client) BeginPasskeyLogin(ctx context.Context, userID string) (json.RawMessage, error) {
	in := struct {
		UserID string `json:"user_id,omitempty"`
	}{userID}
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodPost, "/webauthn/login/initialize", in, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// FinishPasskeyLogin sends the platform's assertion JSON (id, rawId, type,
// response{clientDataJSON, authenticatorData, signature, userHandle?}):
// POST /webauthn/login/finalize (docs/compatibility.md "Passkeys"), and keeps the issued
// session token. Errors: 400 malformed, 401 invalid assertion.
func (c *Client) FinishPasskeyLogin(ctx context.Context, assertion json.RawMessage) (*Session, *PasskeyResult, error) {
	var r PasskeyResult
	sess, err := c.do(ctx, http.MethodPost, "/webauthn/login/finalize", assertion, &r)
	if err != nil {
		return nil, nil, err
	}
	if sess == nil {
		return nil, nil, errNoSession
	}
	return sess, &r, nil
}

// Email is one address in the profile (docs/compatibility.md "Users" GET /me, §2.5).
type Email struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	IsVerified bool   `json:"is_verified"`
	IsPrimary  bool   `json:"is_primary"`
	// Identities are the third-party identities that vouched for the
	// address (nil when none).
	Identities []Identity `json:"identities,omitempty"`
}

// Identity is a third-party identity of the user (GET /me, GET /emails).
type Identity struct {
	// ID is the provider's subject (the ID token's sub).
	ID string `json:"id"`
	// Provider is the provider's display name ("Apple", "Google", …).
	Provider   string `json:"provider"`
	IdentityID string `json:"identity_id"`
}

// Passkey is a WebAuthn credential in the profile (docs/compatibility.md "Users" "cred").
type Passkey struct {
	// ID is the credential id, base64url without padding.
	ID string `json:"id"`
	// Name is the authenticator name ("" when unset).
	Name string `json:"name,omitempty"`
	// PublicKey is the COSE public key, base64url.
	PublicKey       string     `json:"public_key"`
	AttestationType string     `json:"attestation_type"`
	AAGUID          string     `json:"aaguid"`
	LastUsedAt      *time.Time `json:"last_used_at,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	Transports      []string   `json:"transports"`
	BackupEligible  bool       `json:"backup_eligible"`
	BackupState     bool       `json:"backup_state"`
	MFAOnly         bool       `json:"mfa_only"`
	// ProviderName names the passkey provider from the AAGUID, e.g.
	// "iCloud Keychain" (inkan; "" when unknown). The icons are data: URIs
	// or https URLs when the operator configured a metadata file.
	ProviderName      string `json:"provider_name,omitempty"`
	ProviderIconLight string `json:"provider_icon_light,omitempty"`
	ProviderIconDark  string `json:"provider_icon_dark,omitempty"`
	// RPID and UserHandle (base64url) are what the WebAuthn Signals API
	// takes as rpId and userId (inkan).
	RPID       string `json:"rp_id,omitempty"`
	UserHandle string `json:"user_handle,omitempty"`
}

// AllAcceptedCredentials is the argument of the platform's
// signalAllAcceptedCredentials (WebAuthn Level 3 §5.1.10), as inkan sends
// it: binary values base64url.
type AllAcceptedCredentials struct {
	RPID                     string   `json:"rpId"`
	UserID                   string   `json:"userId"`
	AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
}

// CurrentUserDetails is the argument of the platform's
// signalCurrentUserDetails (WebAuthn Level 3 §5.1.10).
type CurrentUserDetails struct {
	RPID        string `json:"rpId"`
	UserID      string `json:"userId"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// Me is the logged-in user's profile, GET /me (docs/compatibility.md "Users"). Servers
// older than Hanko v2.1.0 fill only ID.
type Me struct {
	// ID is the user's UUID (UserID repeats it).
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Emails    []Email   `json:"emails"`
	Passkeys  []Passkey `json:"passkeys"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// SignalAllAcceptedCredentials and SignalCurrentUserDetails are ready
	// for the platform's Signals API (inkan; nil from other servers, and
	// SignalCurrentUserDetails nil without a primary address).
	SignalAllAcceptedCredentials *AllAcceptedCredentials `json:"signal_all_accepted_credentials,omitempty"`
	SignalCurrentUserDetails     *CurrentUserDetails     `json:"signal_current_user_details,omitempty"`
	// Identities are the user's third-party identities (inkan; present
	// when a provider is enabled).
	Identities []Identity `json:"identities,omitempty"`
	// Name, GivenName, FamilyName and Picture are the profile ("" when
	// empty).
	Name       string `json:"name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	Picture    string `json:"picture,omitempty"`
}

// PrimaryEmail returns the primary address, or nil when there is none.
func (m *Me) PrimaryEmail() *Email {
	for i := range m.Emails {
		if m.Emails[i].IsPrimary {
			return &m.Emails[i]
		}
	}
	return nil
}

// Me fetches the logged-in user's profile: GET /me (docs/compatibility.md "Users").
// Errors: 401 without a valid session.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var m Me
	if _, err := c.do(ctx, http.MethodGet, "/me", nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Logout ends the session server-side: POST /logout, 204 (docs/compatibility.md "Users").
// The client forgets its tokens (the refresh token too) on success and on
// 401 (session already gone);
// other errors leave it in place so the call can be retried.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, "/logout", nil, nil)
	if err == nil || IsUnauthorized(err) {
		c.SetToken("")
		c.SetRefreshToken("")
	}
	return err
}

// JWKS fetches the public signing keys, GET /.well-known/jwks.json
// (docs/compatibility.md "Discovery", RFC 7517 JWK Set), as raw JSON.
func (c *Client) JWKS(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, "/.well-known/jwks.json", nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
