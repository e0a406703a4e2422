package inkan

import (
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Webhook is a hook created through the admin API (Hanko's webhooks and
// webhook_events tables; api/admin.yaml "Webhooks"). Hooks of the
// configuration file are not stored.
type Webhook struct {
	ID       uuid.UUID
	Callback string   // http or https URL the events are POSTed to
	Events   []string // subscribed event names or prefixes (internal/webhook)
	// Secret is the Standard Webhooks signing secret sealed with AES-256-GCM
	// (12-byte nonce prepended); only internal/webhook opens it.
	Secret    []byte
	Enabled   bool
	Failures  int       // consecutive events whose delivery failed
	ExpiresAt time.Time // UTC; 30 days after the last change or success
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delivery states of a WebhookDelivery.
const (
	DeliveryPending   = "pending"   // due at NextAttemptAt
	DeliveryDelivered = "delivered" // the callback answered 2xx
	DeliveryFailed    = "failed"    // given up: retries exhausted or a final answer
)

// WebhookDelivery is one event on its way to one hook: written when a node
// fans the event out, taken by any node when due.
type WebhookDelivery struct {
	ID        uuid.UUID // the webhook-id header, stable across attempts
	WebhookID uuid.UUID // the stored hook; uuid.Nil for a hook of the configuration file
	Callback  string    // where it goes (a configuration hook is found by it)
	Event     string    // the webhook event name, e.g. user.create
	EventID   uuid.UUID // the inkan.Event it came from
	// Data is the JWT's data claim as JSON; cleared once the delivery
	// is finished.
	Data           []byte
	State          string
	Attempts       int // attempts started so far (the claim counts one)
	NextAttemptAt  time.Time
	EventCreatedAt time.Time // when the event happened, for the queue age
	CreatedAt      time.Time
}

// WebhookAttempt is the outcome of one attempt of a delivery, kept for the
// admin API's list of recent attempts.
type WebhookAttempt struct {
	ID         uuid.UUID
	DeliveryID uuid.UUID
	WebhookID  uuid.UUID // uuid.Nil for a configuration hook
	Callback   string
	Event      string
	Attempt    int    // 1 for the first
	Status     int    // HTTP status, 0 when no response arrived
	Error      string // "" on success; never the response body
	CreatedAt  time.Time
}

// WebhookOutcome is what an attempt decided for its delivery.
type WebhookOutcome struct {
	Attempt WebhookAttempt
	// State is the delivery's state after the attempt; NextAttemptAt is
	// set when it stays pending.
	State         string
	NextAttemptAt time.Time
	// MaxFailures disables a stored hook whose Failures reaches it when
	// State is DeliveryFailed (webhooks.max_failures); DeliveryDelivered
	// resets Failures and sets ExpiresAt to Renewed.
	MaxFailures int
	Renewed     time.Time
}

// WebhookEventNames are every event name a hook can receive (Hanko's
// names; docs/compatibility.md "Webhooks"; internal/webhook fires them).
var WebhookEventNames = []string{
	"user.create", "user.delete", "user.login", "user.update",
	"user.update.email.create", "user.update.email.delete", "user.update.email.primary",
	"user.update.password.update", "email.send",
	"session.create", "session.delete.explicit.logout", "session.delete.admin.revoke",
	"session.delete.passive.expire", "session.delete.passive.limit",
}

// ValidWebhookSubscription reports whether a hook may subscribe to s: an
// event name or a prefix of one that ends at a dot ("user", "user.update",
// "session.delete"), as Hanko's list of valid names has it.
func ValidWebhookSubscription(s string) bool {
	for _, n := range WebhookEventNames {
		if n == s || (len(n) > len(s) && n[:len(s)] == s && n[len(s)] == '.') {
			return true
		}
	}
	return false
}

// ValidWebhookCallback checks a callback URL: absolute http or https with a
// host and no user info (KindInvalid "callback must be an absolute http or
// https URL").
func ValidWebhookCallback(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return E(KindInvalid, "callback must be an absolute http or https URL")
	}
	return nil
}
