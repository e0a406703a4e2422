// Package httpapi is inkan's HTTP layer: the public and admin route tables
// (routes_public.go, routes_admin.go), thin handlers that decode, call a
// domain service and encode, one error writer, and middleware. It speaks
// Hanko's legacy REST API (api/openapi.yaml; the rules it keeps and where it
// differs: docs/compatibility.md).
//
// It never imports the store, SQL drivers, the mail transport or the config
// loader: the composition root (internal/app) hands it built services.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/audit"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/password"
	"github.com/inkan-auth/inkan/internal/ratelimit"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/thirdparty"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// CookieOptions are the session cookie's attributes (session.cookie.*,
// docs/compatibility.md "Session transport").
type CookieOptions struct {
	Name     string        // default "hanko"
	Domain   string        // empty = host-only
	HTTPOnly bool          // default true
	Secure   bool          // default true
	SameSite http.SameSite // default Strict
	// Persistent: Max-Age = session lifespan; false = a browser-session
	// cookie without Max-Age (session.cookie.retention: session).
	Persistent bool
}

// WellKnownConfig is the body of GET /.well-known/config (docs/compatibility.md "Discovery").
type WellKnownConfig struct {
	Password struct {
		Enabled           bool `json:"enabled"`
		MinPasswordLength int  `json:"min_password_length"`
	} `json:"password"`
	Emails struct {
		RequireVerification bool `json:"require_verification"`
		MaxNumOfAddresses   int  `json:"max_num_of_addresses"`
	} `json:"emails"`
	Providers []string `json:"providers"`
	Account   struct {
		AllowDeletion bool `json:"allow_deletion"`
		AllowSignup   bool `json:"allow_signup"`
	} `json:"account"`
	UseEnterprise bool `json:"use_enterprise"`
}

// Options are the HTTP-level settings.
type Options struct {
	// AuthTokenHeader (session.enable_auth_token_header): deliver the JWT in
	// X-Auth-Token instead of a cookie.
	AuthTokenHeader bool
	Cookie          CookieOptions
	// Lifespan is session.lifespan; sent as X-Session-Lifetime in seconds.
	Lifespan time.Duration
	// MaxBodyBytes caps request bodies (server.max_request_body_bytes).
	MaxBodyBytes int64
	// RequestTimeout bounds every request's context, so a query waiting for
	// a pooled connection or a stalled database fails (503) instead of
	// hanging; zero means DefaultRequestTimeout, negative means none.
	RequestTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP are
	// believed (server.public.trusted_proxies).
	TrustedProxies []netip.Prefix
	// CORS is server.public.cors.
	CORS CORSOptions
	// PasscodeLimit is rate_limiter.passcode_limits; zero Tokens = no limit.
	PasscodeLimit ratelimit.Limit
	// PasscodeIPLimit (rate_limiter.passcode_ip_limits), SignupLimit
	// (rate_limiter.signup_limits), LookupLimit (rate_limiter.lookup_limits)
	// and WebauthnLimit (rate_limiter.webauthn_limits) cap, per client
	// address (an IPv6 client per /64), passcode initialize and finalize
	// together, POST /users (and passkey-first sign-up initialize, the same
	// bucket), POST /user and POST /webauthn/login/initialize;
	// zero Tokens = no limit.
	PasscodeIPLimit, SignupLimit, LookupLimit, WebauthnLimit ratelimit.Limit
	// PasswordEnabled (password.enabled) registers PUT /password and POST
	// /password/login (docs/compatibility.md "Route availability"); API.Passwords must then be set.
	PasswordEnabled bool
	// PasswordLimit is rate_limiter.password_limits for POST
	// /password/login, keyed route/user/client IP; zero Tokens = no limit.
	PasswordLimit ratelimit.Limit
	// RefreshEnabled (session.refresh_token.enabled in header mode)
	// registers POST /sessions/refresh; RefreshLimit
	// (rate_limiter.refresh_limits) caps it per session, RefreshIPLimit
	// (rate_limiter.refresh_ip_limits) per client address.
	RefreshEnabled               bool
	RefreshLimit, RefreshIPLimit ratelimit.Limit
	// RevocationMaxAge (session.revocation_list.max_age) is the
	// Cache-Control max-age of GET /sessions/revoked.
	RevocationMaxAge time.Duration
	// AllowDeletion (account.allow_deletion) registers DELETE /user;
	// without it the path answers 405 (Allow: POST).
	AllowDeletion bool
	// LogHealth logs /health/* requests at info level (log.log_health_and_metrics).
	LogHealth bool
	// PasscodesDisabled leaves out the passcode routes (email.enabled or
	// email.use_for_authentication false; docs/compatibility.md "Route availability").
	PasscodesDisabled bool
	// PasskeysDisabled leaves out every /webauthn/* route (passkey.enabled
	// false; docs/compatibility.md "Route availability").
	PasskeysDisabled bool
	// WellKnown is served at /.well-known/config.
	WellKnown WellKnownConfig
	// RelatedOrigins (webauthn.related_origins) are served as {"origins":
	// […]} at GET /.well-known/webauthn (WebAuthn L3 §5.11); empty = 404.
	RelatedOrigins []string
	// ThirdParty registers the third-party routes (a provider is enabled)
	// and shows identities in GET /me, GET /emails and the admin user
	// object.
	ThirdParty bool
	// ThirdPartyLimit is rate_limiter.thirdparty_limits: POST
	// /thirdparty/id_token per client address; zero Tokens = no limit.
	ThirdPartyLimit ratelimit.Limit
	// TokenLimit is rate_limiter.token_limits: POST /token per client
	// address; zero Tokens = no limit.
	TokenLimit ratelimit.Limit
	// AdminAPIKeys (server.admin.api_keys) protect the admin routes but
	// /health/*; empty = no authentication.
	AdminAPIKeys []string
	// Pprof (server.admin.pprof) serves Go's profiles under /debug/pprof/
	// on the admin listener (docs/performance.md "Profiles"); off by
	// default.
	Pprof bool
}

// CORSOptions configure cross-origin access (server.public.cors.*).
type CORSOptions struct {
	AllowOrigins []string // exact origins; "*" only with UnsafeWildcard
	// UnsafeWildcard lets "*" match any origin (then without credentials).
	UnsafeWildcard bool
}

// API holds the services the handlers call.
type API struct {
	Accounts  *account.Service  // users and addresses (/user, /users, /emails, /me)
	Passcodes *passcode.Service // /passcode/login/*
	Sessions  *session.Manager  // issues and verifies session JWTs
	Keys      *keys.Manager     // publishes /.well-known/jwks.json
	Passkeys  *passkey.Service  // /webauthn/*
	// Login ends every sign-in (passcode, passkey, password, sign-up
	// without verification): the handlers only deliver its token.
	Login *login.Service
	// Passwords handles the admin password routes and, with
	// Opts.PasswordEnabled, the public /password* routes.
	Passwords *password.Service
	// Flow runs the third-party web redirect flow; nil leaves out
	// /thirdparty/auth, /thirdparty/callback and /token (no provider has
	// client_id and secret).
	Flow *thirdparty.Flow
	// ProviderNames returns a provider id's display name ("" when
	// unknown); nil shows the ids.
	ProviderNames func(provider string) string
	// Limiter enforces rate limits; nil disables them.
	Limiter ratelimit.Limiter
	// Mobile serves /.well-known/assetlinks.json and
	// /.well-known/apple-app-site-association (internal/mobile); nil = 404.
	Mobile http.Handler
	// Ready reports readiness for /health/ready: nil when the database
	// answers; it is called with a short deadline.
	Ready func(ctx context.Context) error
	// Audit answers GET /audit_logs on the admin listener.
	Audit *audit.Log
	// Webhooks answers the admin listener's /webhooks routes.
	Webhooks *webhook.Service
	// Observer receives the measurements of every request and rate-limit
	// refusal (internal/metrics); nil = none.
	Observer Observer
	// Metrics serves GET /metrics on the admin listener (the Prometheus
	// exposition of the app's registry); nil = 404.
	Metrics http.Handler
	Opts    Options
	log     *slog.Logger
}

// New returns an API that logs to log.
func New(a API, log *slog.Logger) *API {
	a.log = log
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.Opts.Cookie.Name == "" {
		a.Opts.Cookie.Name = "hanko"
	}
	return &a
}

// Observer is what the HTTP layer reports to metrics.
type Observer interface {
	// Request records one answered request: listener "public" or
	// "admin", route the matched route pattern's path ("/users/{id}") or
	// "unmatched", the method, the status written and the time taken.
	Request(listener, route, method string, status int, elapsed time.Duration)
	// RateLimited records a 429 of the limit named limit
	// (rate_limiter.<limit>, e.g. "passcode_limits").
	RateLimited(limit string)
}

// chain wraps the route table in the middleware every listener shares,
// outermost first: request id, client address, the request metadata events
// carry (inkan.RequestMeta), access log, recover,
// security headers, body limit, request deadline.
func (a *API) chain(h http.Handler) http.Handler {
	h = withRequestTimeout(a.Opts.RequestTimeout, h)
	h = withBodyLimit(a.Opts.MaxBodyBytes, h)
	h = withSecurityHeaders(h)
	h = withRecover(a.log, h)
	h = withAccessLog(a.log, a.Opts.LogHealth, h)
	h = withRequestMeta(h)
	h = withClientIP(a.Opts.TrustedProxies, h)
	return withRequestID(h)
}
