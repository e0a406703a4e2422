// Package webhook delivers recorded events (inkan.Event) to hooks:
// Hanko's webhook contract (a POST of {"token": JWT, "event": name}, the
// JWT signed with the session signing key; docs/compatibility.md
// "Webhooks") plus the Standard Webhooks headers
// (https://www.standardwebhooks.com/, "webhook-id", "webhook-timestamp",
// "webhook-signature"), durably: an event is fanned out to the matching
// hooks from the events table where its change's transaction wrote it,
// each delivery is retried with exponential backoff and jitter for about
// a day, and any node may take any due delivery (Store).
package webhook

import (
	"strings"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// The webhook event names (Hanko's; docs/compatibility.md "Webhooks").
const (
	UserCreate         = "user.create"
	UserDelete         = "user.delete"
	UserLogin          = "user.login"
	UserUpdate         = "user.update"
	UserEmailCreate    = "user.update.email.create"
	UserEmailDelete    = "user.update.email.delete"
	UserEmailPrimary   = "user.update.email.primary"
	UserPasswordUpdate = "user.update.password.update"
	EmailSend          = "email.send"
	SessionCreate      = "session.create"
	SessionLogout      = "session.delete.explicit.logout"
	SessionRevoke      = "session.delete.admin.revoke"
	SessionExpire      = "session.delete.passive.expire"
	SessionLimit       = "session.delete.passive.limit"
)

// Names are every event name a hook can receive
// (inkan.WebhookEventNames).
var Names = inkan.WebhookEventNames

// ValidSubscription is inkan.ValidWebhookSubscription.
func ValidSubscription(s string) bool { return inkan.ValidWebhookSubscription(s) }

// Matches reports whether a hook subscribed to subscription receives the
// event name: the subscription is a prefix of the name (Hanko: "user"
// receives every user.* event).
func Matches(subscription, name string) bool { return strings.HasPrefix(name, subscription) }

// mapping names the webhook events each inkan event type fires. A login
// fires user.login and session.create; the e-mail events user.update.email.*.
var mapping = map[inkan.EventType][]string{
	inkan.EventUserCreated:                          {UserCreate},
	inkan.EventUserDeleted:                          {UserDelete},
	inkan.EventEmailCreated:                         {UserEmailCreate},
	inkan.EventEmailVerified:                        {UserEmailCreate},
	inkan.EventEmailDeleted:                         {UserEmailDelete},
	inkan.EventPrimaryChanged:                       {UserEmailPrimary},
	inkan.EventUserAccessRevoked:                    {UserUpdate},
	inkan.EventPasswordSetSucceeded:                 {UserPasswordUpdate},
	inkan.EventPasswordDeleted:                      {UserUpdate},
	inkan.EventWebAuthnRegistrationFinalSucceeded:   {UserUpdate},
	inkan.EventWebAuthnCredentialUpdated:            {UserUpdate},
	inkan.EventWebAuthnCredentialDeleted:            {UserUpdate},
	inkan.EventPasscodeLoginFinalSucceeded:          {UserLogin, SessionCreate},
	inkan.EventPasswordLoginSucceeded:               {UserLogin, SessionCreate},
	inkan.EventWebAuthnAuthenticationFinalSucceeded: {UserLogin, SessionCreate},
	inkan.EventLoginSuccess:                         {UserLogin, SessionCreate},
	inkan.EventThirdPartySignUpSucceeded:            {UserLogin, SessionCreate}, // user_created fires user.create
	inkan.EventThirdPartySignInSucceeded:            {UserLogin, SessionCreate},
	inkan.EventThirdPartyLinkingSucceeded:           {UserUpdate, UserLogin, SessionCreate},
	// The web redirect flow signs in at POST /token, not at its callback
	// (namesOf leaves the callback's thirdparty_* event without a session).
	inkan.EventTokenExchangeSucceeded:     {UserLogin, SessionCreate},
	inkan.EventUserLoggedOut:              {SessionLogout},
	inkan.EventPasscodeLoginInitSucceeded: {EmailSend},
	inkan.EventSessionExpired:             {SessionExpire},
	inkan.EventSessionEvicted:             {SessionLimit},
	// A session its user ended from the device list (DELETE /sessions…);
	// one that refresh-token reuse detection ended is an admin-side
	// revocation (namesOf).
	inkan.EventSessionRevoked: {SessionLogout},
}

// Hooked reports whether a hook can receive events of type t (the store
// keeps such events for the fan-out).
func Hooked(t inkan.EventType) bool { return len(mapping[t]) > 0 }

// namesOf returns the webhook event names e fires: those of its type, with
// session.delete.admin.revoke for a logout the admin API made or a session
// that refresh-token reuse detection revoked (RFC 9700 §4.14.2), session.create
// for a sign-up that signed the user in (user.login too for a passkey
// sign-up), and email.send only when the
// event carries the mail. requireVerification (email.require_verification)
// leaves the public API's email_created out: the address is not the
// user's until verified, and its email_verified fires then.
func namesOf(e inkan.Event, requireVerification bool) []string {
	if e.Error != "" {
		return nil
	}
	switch e.Type {
	case inkan.EventUserLoggedOut:
		if e.Details["api"] == "admin" {
			return []string{SessionRevoke}
		}
	case inkan.EventSessionRevoked:
		if e.Details["reason"] == string(inkan.SessionEndRefreshReuse) {
			return []string{SessionRevoke}
		}
	case inkan.EventThirdPartySignUpSucceeded, inkan.EventThirdPartySignInSucceeded, inkan.EventThirdPartyLinkingSucceeded:
		// The redirect flow's callback resolves the identity but creates
		// no session (its event has no session_id): the sign-in fires
		// with token_exchange_succeeded, once POST /token made the session.
		if _, ok := e.Details["session_id"]; !ok {
			if e.Type == inkan.EventThirdPartyLinkingSucceeded {
				return []string{UserUpdate}
			}
			return nil
		}
	case inkan.EventEmailCreated:
		// The admin API assigns the address at once; POST /emails only
		// without email.require_verification.
		if requireVerification && e.Details["api"] != "admin" {
			return nil
		}
	case inkan.EventPasscodeLoginInitSucceeded:
		if e.HookData == nil {
			return nil
		}
	case inkan.EventUserCreated:
		if _, ok := e.Details["session_id"]; ok {
			return []string{UserCreate, SessionCreate}
		}
	case inkan.EventWebAuthnRegistrationFinalSucceeded:
		// A passkey sign-up ends in the completion step, which signs the
		// new user in (its user_created fires user.create).
		if _, ok := e.Details["session_id"]; ok {
			return []string{UserLogin, SessionCreate}
		}
	}
	return mapping[e.Type]
}
