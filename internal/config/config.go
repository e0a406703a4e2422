// Package config loads inkan's configuration: Hanko's key names and units (docs/compatibility.md "Configuration"),
// inkan's own defaults, a YAML file and environment variables, and reports every problem at once.
//
// Loading order (docs/compatibility.md "Configuration"): built-in defaults (Default) → YAML file → environment variables →
// validation (Config.Validate). A value that cannot be decoded (session.lifespan: "abc", a list where a
// number belongs) becomes a Problem naming the key; loading never panics on input.
//
// Units. Durations are time.Duration. Keys that Hanko documents as plain integers keep Hanko's unit:
// email.passcode_ttl is integer SECONDS and webauthn.timeouts.{registration,login} are integer
// MILLISECONDS; those keys also accept a Go duration string ("5m"). Every other duration key takes a Go
// duration string such as "12h" or "90s" (a bare 0 is accepted as "off").
//
// Environment variables. Only variables whose name maps to a known key are read (see EnvVars). Every key
// has a regular name: the key upper-cased with "." replaced by "_" (session.cookie.same_site →
// SESSION_COOKIE_SAME_SITE, database.max_open_conns → DATABASE_MAX_OPEN_CONNS). Where Hanko v2.7.0 uses an
// irregular name (docs/compatibility.md "Configuration", e.g. SESSION_ACQUIREIPADDRESS, EMAIL_PASSCODETTL, ACCOUNT_ALLOWDELETION,
// SECRETS_KEYMANAGEMENT_TYPE, AUDIT_LOG_CONSOLE_OUTPUT_OUTPUT_STREAM, LOG_LOGHEALTHANDMETRICS) that name is
// read as well, and wins when both are set. A variable that is set, even to "", overrides the file. Lists
// are comma-separated ("a, b" → ["a","b"]; "" → []). mobile.android and mobile.apple take a JSON array.
//
// Keys. The set of known keys is derived from Config's koanf tags (and the tags of the structs it
// nests): adding a field with a `koanf:"name"` tag is all it takes for the key to be read from the file,
// from its environment variable, printed by `inkan config show` and accepted by the unknown-key check —
// there is no second list to update. Mark a secret field `secret:"true"` (fields whose last key segment
// is or ends in password, secret, token, private_key or api_key are treated as secrets anyway) so that Show redacts it.
//
// One judgement for every command. Load judges every key of the file the same way for `inkan serve`,
// `inkan config check` and the maintenance commands: Hanko keys that inkan accepts and ignores
// (webhooks, third_party, flow-API-only keys, legacy keys such as passcode.ttl, …) are listed in
// Config.IgnoredKeys, which the commands print as warnings; mfa.enabled is accepted and ignored as well:
// inkan serves the legacy passcode routes whatever its value. A Hanko key that turns on a feature inkan
// lacks (webhooks.enabled: true, saml.enabled: true, …) is a problem, and so is any other key ("unknown
// key; did you mean …?"). The database address keys are judged by internal/store (store.Resolve), which
// alone builds connection strings; internal/app joins both judgements (app.LoadConfig).
package config

import (
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Config is inkan's complete configuration. The koanf tags are Hanko's key names (docs/compatibility.md "Configuration"); keys
// marked "inkan" in the field comments are inkan's own additions.
type Config struct {
	Server        Server        `koanf:"server"`
	Database      Database      `koanf:"database"`
	Secrets       Secrets       `koanf:"secrets"`
	Service       Service       `koanf:"service"`
	Session       Session       `koanf:"session"`
	Email         Email         `koanf:"email"`
	EmailDelivery EmailDelivery `koanf:"email_delivery"`
	Password      Password      `koanf:"password"`
	Passkey       Passkey       `koanf:"passkey"`
	Webauthn      Webauthn      `koanf:"webauthn"`
	MFA           MFA           `koanf:"mfa"`
	RateLimiter   RateLimiter   `koanf:"rate_limiter"`
	Account       Account       `koanf:"account"`
	AuditLog      AuditLog      `koanf:"audit_log"`
	Log           Log           `koanf:"log"`
	Mobile        Mobile        `koanf:"mobile"`
	ThirdParty    ThirdParty    `koanf:"third_party"`
	Webhooks      Webhooks      `koanf:"webhooks"`

	// IgnoredKeys lists, sorted, the keys present in the YAML file that inkan does not use: Hanko keys
	// inkan accepts and ignores, and unknown keys. It is filled by Load (never from the environment) so
	// that `serve` can warn about them.
	IgnoredKeys []string `koanf:"-"`
}

// Server configures the two HTTP listeners (server.*).
type Server struct {
	Public Public `koanf:"public"`
	Admin  Admin  `koanf:"admin"`

	// ReadTimeout is http.Server.ReadTimeout (inkan; default 10s; 0 = none).
	ReadTimeout time.Duration `koanf:"read_timeout"`
	// ReadHeaderTimeout is http.Server.ReadHeaderTimeout (inkan; default 5s; 0 = none).
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	// WriteTimeout is http.Server.WriteTimeout (inkan; default 30s; 0 = none).
	WriteTimeout time.Duration `koanf:"write_timeout"`
	// IdleTimeout is http.Server.IdleTimeout (inkan; default 120s; 0 = none).
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// ShutdownTimeout bounds graceful shutdown (inkan; default 15s; must be > 0).
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// RequestTimeout bounds each request's work, database waits included;
	// past it the request answers 503 instead of hanging (inkan; default
	// 10s; must be > 0).
	RequestTimeout time.Duration `koanf:"request_timeout"`
	// MaxRequestBodyBytes caps every request body, in bytes (inkan; default 65536).
	MaxRequestBodyBytes int64 `koanf:"max_request_body_bytes"`
	// MaxConnections caps the connections each listener holds open at once
	// (inkan; default 0 = sized for the process's file-descriptor limit:
	// half of it minus 128 reserved for the database pool, Redis and SMTP,
	// at least 64). Past the cap new connections wait in the kernel's
	// accept queue instead of exhausting file descriptors.
	MaxConnections int `koanf:"max_connections"`
}

// Public is the public listener (server.public.*).
type Public struct {
	// Address is host:port (default "127.0.0.1:8000").
	Address string `koanf:"address"`
	CORS    CORS   `koanf:"cors"`
	// TrustedProxies lists CIDR prefixes (or single IPs) of reverse proxies whose X-Forwarded-For is
	// believed (inkan; default none). See Config.TrustedProxyPrefixes.
	TrustedProxies []string `koanf:"trusted_proxies"`
	// TLS serves HTTPS on Address (inkan; default off: plain HTTP, for a TLS-terminating proxy).
	TLS TLS `koanf:"tls"`
}

// TLS is server.public.tls.* / server.admin.tls.*: HTTPS on a listener without a proxy in front.
type TLS struct {
	// CertFile is a PEM certificate chain (leaf first) and KeyFile its PEM private key; both or neither.
	// The pair is re-read when either file changes (checked at each TLS handshake), so a renewed
	// certificate (certbot, cert-manager) takes effect without a restart.
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
}

// CORS configures CORS on the public listener (docs/compatibility.md "CORS").
type CORS struct {
	// AllowOrigins lists allowed origins (scheme://host[:port]); "*" needs UnsafeWildcardOriginAllowed.
	AllowOrigins []string `koanf:"allow_origins"`
	// UnsafeWildcardOriginAllowed permits "*" in AllowOrigins.
	UnsafeWildcardOriginAllowed bool `koanf:"unsafe_wildcard_origin_allowed"`
}

// Admin is the admin listener (server.admin.*).
type Admin struct {
	// Address is host:port (default "127.0.0.1:8001").
	Address string `koanf:"address"`
	// APIKeys (inkan) protect every admin route but /health/*: a request must send
	// "Authorization: Bearer <key>" with one of them. Each is at least MinAdminAPIKeyLength
	// characters; several allow rotation. Empty = no authentication (Hanko's behaviour), which serve
	// accepts only on a loopback address or with AllowUnauthenticated.
	APIKeys []string `koanf:"api_keys"`
	// AllowUnauthenticated (inkan, default false) lets serve bind the admin listener to a non-loopback
	// address without APIKeys, for set-ups that rely on a private network.
	AllowUnauthenticated bool `koanf:"allow_unauthenticated"`
	// TLS serves HTTPS on Address (inkan; default off).
	TLS TLS `koanf:"tls"`
	// Pprof (inkan, default false) serves Go's runtime profiles (net/http/pprof) under /debug/pprof/
	// on this listener, behind APIKeys like every admin route.
	Pprof bool `koanf:"pprof"`
}

// MinAdminAPIKeyLength is the shortest accepted server.admin.api_keys entry, in characters.
const MinAdminAPIKeyLength = 32

// Database selects and reaches the database (database.*). Dialect, URL, Host, Port, User, Password and
// Database form the address that internal/store resolves into a connection string (store.Resolve
// documents the accepted forms); this package only carries them.
type Database struct {
	// Dialect is sqlite|postgres|cockroach|mysql|mariadb (default "sqlite").
	Dialect string `koanf:"dialect"`
	// URL, when set, overrides the fields below; its scheme may imply the dialect (postgres://,
	// postgresql://, mysql://, sqlite://, file: or a bare file path).
	URL string `koanf:"url"`
	// Host is the server host (default "localhost").
	Host string `koanf:"host"`
	// Port is the server port as a string; "" means the dialect's default (5432 postgres, 26257
	// cockroach, 3306 mysql/mariadb).
	Port string `koanf:"port"`
	// User and Password authenticate to the server.
	User     string `koanf:"user"`
	Password string `koanf:"password"`
	// Database is the database name; for sqlite it is the file path (default "data/inkan.db").
	Database string `koanf:"database"`
	// MaxOpenConns is sql.DB.SetMaxOpenConns (inkan; default 10).
	MaxOpenConns int `koanf:"max_open_conns"`
	// MaxIdleConns is sql.DB.SetMaxIdleConns (inkan; default 0: as many as MaxOpenConns, so the
	// pool never closes and reopens connections under load; docs/performance.md).
	MaxIdleConns int `koanf:"max_idle_conns"`
	// ConnMaxLifetime is sql.DB.SetConnMaxLifetime (inkan; default 30m).
	ConnMaxLifetime time.Duration `koanf:"conn_max_lifetime"`
	// ConnMaxIdleTime is sql.DB.SetConnMaxIdleTime (inkan; default 5m).
	ConnMaxIdleTime time.Duration `koanf:"conn_max_idle_time"`
	// AutoMigrate is tri-state (inkan): nil means true for sqlite only (decided where the dialect is
	// resolved, in internal/app).
	AutoMigrate *bool `koanf:"auto_migrate"`
}

// Secrets holds the key-encryption secrets (secrets.*, docs/compatibility.md "Signing keys").
type Secrets struct {
	// Keys are the secrets, each at least 16 characters; the first encrypts new signing keys, all are
	// tried for decryption. Empty means: use a secret file generated beside the sqlite database (only
	// allowed with sqlite, since several nodes must share the secret).
	Keys          []string      `koanf:"keys"`
	KeyManagement KeyManagement `koanf:"key_management"`
	// SigningAlgorithm is the JWT signing algorithm for new keys: RS256|ES256|EdDSA (inkan; default RS256).
	SigningAlgorithm string `koanf:"signing_algorithm"`
	// RSAKeySize is the modulus size in bits for new RS256 keys: 2048|3072|4096 (inkan; default 2048).
	RSAKeySize int `koanf:"rsa_key_size"`
}

// KeyManagement is secrets.key_management.
type KeyManagement struct {
	// Type must be "local" (Hanko's aws_kms is not supported).
	Type string `koanf:"type"`
}

// Service is service.*.
type Service struct {
	// Name is used in mails (default "inkan"; must be non-empty).
	Name string `koanf:"name"`
}

// Session is session.* (docs/compatibility.md "Issuing a session", "Session tokens").
type Session struct {
	// Lifespan is the JWT and session lifetime (default 12h).
	Lifespan time.Duration `koanf:"lifespan"`
	// EnableAuthTokenHeader also returns the JWT in the X-Auth-Token response header.
	EnableAuthTokenHeader bool `koanf:"enable_auth_token_header"`
	// Issuer is the JWT "iss" claim; "" omits it.
	Issuer string `koanf:"issuer"`
	// Audience is the JWT "aud" claim; empty means [webauthn.relying_party.id].
	Audience []string `koanf:"audience"`
	// Limit is the maximum number of server-side sessions per user (default 5, ≥1).
	Limit int `koanf:"limit"`
	// IdleTimeout ends a session unused for this long; 0 = off (default).
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// AcquireIPAddress and AcquireUserAgent store the client's IP / User-Agent with the session.
	AcquireIPAddress bool   `koanf:"acquire_ip_address"`
	AcquireUserAgent bool   `koanf:"acquire_user_agent"`
	Cookie           Cookie `koanf:"cookie"`
	// RefreshToken is session.refresh_token.* (inkan; docs/compatibility.md
	// "Refresh tokens and signed-in devices").
	RefreshToken RefreshToken `koanf:"refresh_token"`
	// RevocationList is session.revocation_list.* (inkan).
	RevocationList RevocationList `koanf:"revocation_list"`
}

// RefreshToken is session.refresh_token.*: opt-in refresh tokens for
// native apps, delivered in X-Refresh-Token in header mode
// (session.enable_auth_token_header; without it they are not issued).
type RefreshToken struct {
	// Enabled turns them on (default false).
	Enabled bool `koanf:"enabled"`
	// Lifespan is the absolute end of refreshing after a sign-in (default 720h = 30 days).
	Lifespan time.Duration `koanf:"lifespan"`
	// IdleTimeout ends a refresh token unused for this long (default 168h = 7 days).
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// ReuseGrace is how long a retired refresh token still gets its
	// successor before presenting it revokes the session (default 10s;
	// RFC 9700 §4.14.2).
	ReuseGrace time.Duration `koanf:"reuse_grace"`
}

// RevocationList is session.revocation_list.*: GET /sessions/revoked.
type RevocationList struct {
	// MaxAge is the Cache-Control max-age of the list (default 10s).
	MaxAge time.Duration `koanf:"max_age"`
}

// Cookie is session.cookie.*.
type Cookie struct {
	// Name defaults to "hanko".
	Name string `koanf:"name"`
	// Domain is the cookie Domain attribute; "" = host-only.
	Domain   string `koanf:"domain"`
	HTTPOnly bool   `koanf:"http_only"`
	Secure   bool   `koanf:"secure"`
	// SameSite is strict|lax|none (default strict); none requires Secure.
	SameSite string `koanf:"same_site"`
	// Retention is session|persistent (default persistent): whether the cookie gets Max-Age.
	Retention string `koanf:"retention"`
}

// Email is email.* (docs/compatibility.md "Passcodes").
type Email struct {
	// Enabled and UseForAuthentication gate the passcode routes.
	Enabled              bool `koanf:"enabled"`
	UseForAuthentication bool `koanf:"use_for_authentication"`
	RequireVerification  bool `koanf:"require_verification"`
	// Limit is the maximum number of addresses per user (default 5).
	Limit int `koanf:"limit"`
	// PasscodeTTL is the passcode lifetime. In YAML/env it is integer SECONDS (Hanko; default 300 = 5m).
	PasscodeTTL time.Duration `koanf:"passcode_ttl" unit:"s"`
	// PasscodeInSubject puts the code in the mail subject as Hanko does (inkan; default false).
	PasscodeInSubject bool `koanf:"passcode_in_subject"`
	// TemplatesDir overrides the built-in mail templates (inkan; "" = built-in).
	TemplatesDir string `koanf:"templates_dir"`
}

// EmailDelivery is email_delivery.*.
type EmailDelivery struct {
	// Enabled false sends no mail: the app delivers passcodes from the
	// email.send webhook, and serve refuses to start unless a hook
	// subscribes to it (README "Webhooks").
	Enabled     bool   `koanf:"enabled"`
	FromAddress string `koanf:"from_address"`
	FromName    string `koanf:"from_name"`
	SMTP        SMTP   `koanf:"smtp"`
	// Mailer chooses the delivery (inkan): "smtp" (email_delivery.smtp.host
	// must be set), "development" (print passcode mails to standard output;
	// never for real users), or "" (default): SMTP when a host is set,
	// otherwise the development mailer on SQLite only — with PostgreSQL or
	// MySQL a missing host is an error, so a production node never prints
	// passcodes by accident. Read it via Config.DevelopmentMailer.
	Mailer string `koanf:"mailer"`
}

// SMTP is email_delivery.smtp.*.
type SMTP struct {
	// Host is the SMTP server. "" selects the development mailer on SQLite
	// (see EmailDelivery.Mailer).
	Host string `koanf:"host"`
	// Port is a string as in Hanko (default "465").
	Port     string `koanf:"port"`
	User     string `koanf:"user"`
	Password string `koanf:"password"`
	// ImplicitTLS is tri-state (inkan): nil means true when Port is "465", else STARTTLS. Read it via
	// Config.SMTPImplicitTLS.
	ImplicitTLS *bool `koanf:"implicit_tls"`
	// Timeout bounds connecting and each SMTP exchange (inkan; default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// RequireTLS is tri-state (inkan): nil means true unless Host is a
	// loopback address or "localhost". When true and ImplicitTLS is off,
	// a server that does not offer STARTTLS (RFC 3207) is refused instead
	// of being sent the passcode in the clear. Read it via
	// Config.SMTPRequireTLS.
	RequireTLS *bool `koanf:"require_tls"`
}

// Password is password.*.
type Password struct {
	Enabled bool `koanf:"enabled"`
	// MinLength is in characters (default 8).
	MinLength int `koanf:"min_length"`
	// Hash is argon2id|bcrypt for new hashes (inkan; default argon2id).
	Hash string `koanf:"hash"`
}

// Passkey is passkey.* (docs/compatibility.md "Relying party").
type Passkey struct {
	// Enabled gates all /webauthn/* routes.
	Enabled bool `koanf:"enabled"`
	// UserVerification is required|preferred|discouraged (WebAuthn §5.8.6).
	UserVerification string `koanf:"user_verification"`
	// AttestationPreference is direct|indirect|none (WebAuthn §5.4.7).
	AttestationPreference string `koanf:"attestation_preference"`
	// AAGUIDMetadataFile is a JSON file in the community "passkey
	// authenticator AAGUIDs" list format whose entries add to or replace the
	// built-in provider names and bring icons (inkan; empty = built-in names
	// only). Checked at start: every bad entry is reported.
	AAGUIDMetadataFile string `koanf:"aaguid_metadata_file"`
}

// Webauthn is webauthn.*.
type Webauthn struct {
	RelyingParty RelyingParty `koanf:"relying_party"`
	Timeouts     Timeouts     `koanf:"timeouts"`
	// RelatedOrigins (inkan) are the https origins of other domains of the same app that may use the
	// relying party's passkeys (WebAuthn L3 §5.11, Related Origin Requests): served as
	// {"origins": […]} at GET /.well-known/webauthn and accepted as ceremony origins. At most
	// passkey.MaxRelatedOriginLabels distinct registrable-domain labels (checked by internal/app).
	RelatedOrigins []string `koanf:"related_origins"`
}

// RelyingParty is webauthn.relying_party.* (WebAuthn §5.4.2).
type RelyingParty struct {
	// ID is the RP ID, a domain (default "localhost"); also the default JWT audience.
	ID string `koanf:"id"`
	// DisplayName is rp.name (default "inkan").
	DisplayName string `koanf:"display_name"`
	// Origins are accepted clientData origins: "http(s)://host[:port]" (host equal to or below ID) or
	// "android:apk-key-hash:<base64url, unpadded, of the 32-byte SHA-256 of the signing cert>".
	Origins []string `koanf:"origins"`
}

// Timeouts is webauthn.timeouts.*: ceremony timeouts, sent in options and enforced.
type Timeouts struct {
	// Registration is in YAML/env integer MILLISECONDS (Hanko; default 600000 = 10m).
	Registration time.Duration `koanf:"registration" unit:"ms"`
	// Login is in YAML/env integer MILLISECONDS (Hanko; default 600000 = 10m).
	Login time.Duration `koanf:"login" unit:"ms"`
}

// MFA is mfa.*: accepted for compatibility and ignored; inkan serves the legacy passcode and password
// routes regardless of Enabled.
type MFA struct {
	Enabled bool `koanf:"enabled"`
}

// RateLimiter is rate_limiter.* (docs/compatibility.md "Rate limits").
type RateLimiter struct {
	Enabled bool `koanf:"enabled"`
	// Store is in_memory|redis.
	Store string `koanf:"store"`
	// Redis is also read from Hanko's rate_limiter.redis_config.*.
	Redis Redis `koanf:"redis"`
	// PasscodeLimits caps POST /passcode/login/initialize per user and
	// client address, and per target e-mail address (default 3 per 1m).
	PasscodeLimits Limit `koanf:"passcode_limits"`
	// PasswordLimits caps POST /password/login per user and client address
	// and per user, and PUT /password per user (default 5 per 1m).
	PasswordLimits Limit `koanf:"password_limits"`
	TokenLimits    Limit `koanf:"token_limits"`
	// PasscodeIPLimits caps POST /passcode/login/initialize and
	// /passcode/login/finalize together per client address, whatever the
	// user (inkan; default 100 per 1m). IPv6 clients are counted per /64.
	PasscodeIPLimits Limit `koanf:"passcode_ip_limits"`
	// SignupLimits caps POST /users per client address (inkan; default 30
	// per 1m).
	SignupLimits Limit `koanf:"signup_limits"`
	// LookupLimits caps POST /user per client address (inkan; default 100
	// per 1m).
	LookupLimits Limit `koanf:"lookup_limits"`
	// WebauthnLimits caps POST /webauthn/login/initialize per client
	// address (inkan; default 100 per 1m).
	WebauthnLimits Limit `koanf:"webauthn_limits"`
	// PasscodeFailureLimits caps the wrong passcodes per user, across all
	// of the user's passcodes and all nodes, counted in the database
	// (inkan; default 10 per 1h). Once spent, POST /passcode/login/finalize
	// for that user answers 429 even with the right code; passkeys and
	// passwords still work.
	PasscodeFailureLimits Limit `koanf:"passcode_failure_limits"`
	// ThirdPartyLimits caps POST /thirdparty/id_token per client address
	// (inkan; default 30 per 1m).
	ThirdPartyLimits Limit `koanf:"thirdparty_limits"`
	// RefreshLimits caps POST /sessions/refresh per session (inkan;
	// default 10 per 1m); RefreshIPLimits per client address (inkan;
	// default 100 per 1m).
	RefreshLimits   Limit `koanf:"refresh_limits"`
	RefreshIPLimits Limit `koanf:"refresh_ip_limits"`
}

// Redis is rate_limiter.redis.* (alias rate_limiter.redis_config.*). With store redis, URL or Address
// is required; internal/ratelimit (ratelimit.RedisOptions) judges them and builds the client options.
type Redis struct {
	// URL is redis://[user[:password]@]host[:port][/db] or rediss://… for TLS (inkan); it overrides
	// Address, Password and TLS.
	URL string `koanf:"url"`
	// Address is host:port (Hanko).
	Address  string `koanf:"address"`
	Password string `koanf:"password"`
	// TLS connects to Address with TLS, verifying the server against the system roots (inkan).
	TLS bool `koanf:"tls"`
}

// Limit allows Tokens requests per Interval.
type Limit struct {
	Tokens   int           `koanf:"tokens"`
	Interval time.Duration `koanf:"interval"`
}

// Account is account.*.
type Account struct {
	AllowSignup   bool `koanf:"allow_signup"`
	AllowDeletion bool `koanf:"allow_deletion"`
	// UnfinishedSignupRetention is how long a user who never finished
	// signing up (no assigned address, passkey, password, session or
	// metadata) is kept before the purge job deletes it, with the unassigned
	// addresses nobody verified (inkan; default 24h; must be > 0).
	UnfinishedSignupRetention time.Duration `koanf:"unfinished_signup_retention"`
}

// AuditLog is audit_log.*: where the audit entries (one per recorded event) go.
type AuditLog struct {
	ConsoleOutput ConsoleOutput `koanf:"console_output"`
	Storage       AuditStorage  `koanf:"storage"`
	// Mask (default true) masks e-mail addresses in stored and printed entries.
	Mask bool `koanf:"mask"`
	// Retention is how long stored entries are kept (default 720h); the purge job deletes older ones.
	Retention time.Duration `koanf:"retention"`
}

// ConsoleOutput is audit_log.console_output.*.
type ConsoleOutput struct {
	Enabled bool `koanf:"enabled"`
	// Output is stdout|stderr.
	Output string `koanf:"output"`
}

// AuditStorage is audit_log.storage.*.
type AuditStorage struct {
	// Enabled lists the recorded events as audit log entries (inkan's default: true; Hanko's: false).
	Enabled bool `koanf:"enabled"`
}

// Log is log.*.
type Log struct {
	// Level is debug|info|warn|error (inkan; default info).
	Level string `koanf:"level"`
	// Format is text|json (inkan; default text).
	Format string `koanf:"format"`
	// LogHealthAndMetrics false skips request logs for /health/* and / (Hanko).
	LogHealthAndMetrics bool `koanf:"log_health_and_metrics"`
}

// Mobile lists native apps for /.well-known/assetlinks.json and apple-app-site-association (inkan).
type Mobile struct {
	Android []AndroidApp `koanf:"android"`
	Apple   []AppleApp   `koanf:"apple"`
}

// AndroidApp is one mobile.android entry.
type AndroidApp struct {
	PackageName string `koanf:"package_name"`
	// SHA256CertFingerprints are colon-separated upper- or lower-case hex of 32 bytes ("AB:CD:…").
	SHA256CertFingerprints []string `koanf:"sha256_cert_fingerprints"`
}

// AppleApp is one mobile.apple entry.
type AppleApp struct {
	// TeamID is the 10-character Apple team identifier.
	TeamID   string `koanf:"team_id"`
	BundleID string `koanf:"bundle_id"`
}

// ThirdParty is third_party.*: sign-in with OpenID Connect / OAuth 2.0 providers (docs/thirdparty.md).
// Hanko's keys keep their meaning; id_token_audiences (per provider) and custom_providers.<key>.issuer,
// .scopes are inkan's additions.
type ThirdParty struct {
	// RedirectURL is the callback URL registered with the providers: this server's public
	// /thirdparty/callback (required when a provider is enabled, no trailing "/").
	RedirectURL string `koanf:"redirect_url"`
	// ErrorRedirectURL receives ?error=…&error_description=… when no redirect_to is known.
	ErrorRedirectURL string `koanf:"error_redirect_url"`
	// DefaultRedirectURL is used when GET /thirdparty/auth names no redirect_to.
	DefaultRedirectURL string `koanf:"default_redirect_url"`
	// AllowedRedirectURLs are globs ("*" any run of characters but "/" and ".", "**" anything) a
	// redirect_to must match after a trailing "/" is trimmed.
	AllowedRedirectURLs []string `koanf:"allowed_redirect_urls"`
	// Providers are the built-in providers.
	Providers Providers `koanf:"providers"`
	// CustomProviders are any OpenID Connect providers, signed in as provider "custom_<key>"
	// (the key: lower-case letters, digits, "_" and "-"). From the environment:
	// THIRD_PARTY_CUSTOM_PROVIDERS as a JSON object {"<key>": {"issuer": …}}.
	CustomProviders map[string]CustomProvider `koanf:"custom_providers"`
}

// Providers are third_party.providers.<name> for the built-in providers. Hanko's other names
// (discord, linkedin, microsoft, facebook) are not built in: enabling one is a problem that points to
// custom_providers.
type Providers struct {
	Apple  Provider `koanf:"apple"`
	Google Provider `koanf:"google"`
	GitHub Provider `koanf:"github"`
}

// Provider is one built-in provider (third_party.providers.<name>.*).
type Provider struct {
	Enabled bool `koanf:"enabled"`
	// ClientID and Secret are the OAuth 2.0 client registered with the provider (for Apple: the
	// Services ID and the client-secret JWT). Both are needed for the web redirect flow only.
	ClientID string `koanf:"client_id"`
	Secret   string `koanf:"secret" secret:"true"`
	// AllowLinking (default true) links a new identity to the existing user who owns the e-mail
	// address the provider says is verified; false refuses it with user_conflict.
	AllowLinking bool `koanf:"allow_linking"`
	// Prompt is sent as the authorization request's prompt parameter (OpenID Connect Core §3.1.2.1).
	Prompt string `koanf:"prompt"`
	// IDTokenAudiences are the aud values an ID token sent to POST /thirdparty/id_token may carry:
	// the iOS bundle id or Services ID, the Android and web client ids (inkan). client_id is
	// accepted as well.
	IDTokenAudiences []string `koanf:"id_token_audiences"`
}

// CustomProvider is third_party.custom_providers.<key>.*: any OpenID Connect provider found through
// OpenID Connect Discovery 1.0 at Issuer.
type CustomProvider struct {
	Enabled     bool   `koanf:"enabled"`
	DisplayName string `koanf:"display_name"`
	// Issuer is the provider's issuer URL (https, or http on a loopback host), whose
	// /.well-known/openid-configuration is read at start.
	Issuer   string `koanf:"issuer"`
	ClientID string `koanf:"client_id"`
	Secret   string `koanf:"secret" secret:"true"`
	// Scopes are requested in the redirect flow (default openid, email, profile).
	Scopes []string `koanf:"scopes"`
	// AllowLinking: see Provider (default true).
	AllowLinking *bool  `koanf:"allow_linking"`
	Prompt       string `koanf:"prompt"`
	// IDTokenAudiences: see Provider.
	IDTokenAudiences []string `koanf:"id_token_audiences"`
}

// Linking reports allow_linking (default true).
func (p CustomProvider) Linking() bool { return p.AllowLinking == nil || *p.AllowLinking }

// EnabledProviders returns the ids of the enabled providers: the built-in ones in Hanko's order
// (apple, github, google) and then "custom_<key>" sorted by key.
func (t ThirdParty) EnabledProviders() []string {
	var out []string
	for _, p := range []struct {
		id string
		p  Provider
	}{{"apple", t.Providers.Apple}, {"github", t.Providers.GitHub}, {"google", t.Providers.Google}} {
		if p.p.Enabled {
			out = append(out, p.id)
		}
	}
	keys := make([]string, 0, len(t.CustomProviders))
	for k, p := range t.CustomProviders {
		if p.Enabled {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, "custom_"+k)
	}
	return out
}

// Webhooks is webhooks.* (README "Webhooks"). Hooks created through the
// admin API are always delivered; the file's hooks only with Enabled.
type Webhooks struct {
	// Enabled turns on the hooks listed in Hooks (Hanko; default false).
	Enabled bool          `koanf:"enabled"`
	Hooks   []WebhookHook `koanf:"hooks"`
	// MaxFailures disables a hook created through the admin API after
	// that many consecutive events whose delivery failed for good (Hanko's
	// limit; default 5). The file's hooks are never disabled.
	MaxFailures int `koanf:"max_failures"`
}

// WebhookHook is one webhooks.hooks entry.
type WebhookHook struct {
	// Callback is the http or https URL the events are POSTed to.
	Callback string `koanf:"callback"`
	// Events are event names or prefixes of them (user, user.update, email.send, …).
	Events []string `koanf:"events"`
	// Secret signs the Standard Webhooks headers: whsec_ followed by base64 (inkan).
	Secret string `koanf:"secret" secret:"true"`
}

// Default returns inkan's built-in defaults (the first layer of Load). With them Validate passes.
func Default() Config {
	return Config{
		Server: Server{
			Public: Public{
				Address:        "127.0.0.1:8000",
				CORS:           CORS{AllowOrigins: []string{}},
				TrustedProxies: []string{},
			},
			Admin:               Admin{Address: "127.0.0.1:8001", APIKeys: []string{}},
			ReadTimeout:         10 * time.Second,
			ReadHeaderTimeout:   5 * time.Second,
			WriteTimeout:        30 * time.Second,
			IdleTimeout:         120 * time.Second,
			ShutdownTimeout:     15 * time.Second,
			RequestTimeout:      10 * time.Second,
			MaxRequestBodyBytes: 65536,
		},
		Database: Database{
			Dialect:         "sqlite",
			Host:            "localhost",
			Database:        "data/inkan.db",
			MaxOpenConns:    10,
			ConnMaxLifetime: 30 * time.Minute,
			ConnMaxIdleTime: 5 * time.Minute,
		},
		Secrets: Secrets{
			Keys:             []string{},
			KeyManagement:    KeyManagement{Type: "local"},
			SigningAlgorithm: "RS256",
			RSAKeySize:       2048,
		},
		Service: Service{Name: "inkan"},
		Session: Session{
			Lifespan:         12 * time.Hour,
			Audience:         []string{},
			Limit:            5,
			AcquireIPAddress: true,
			AcquireUserAgent: true,
			RefreshToken: RefreshToken{
				Lifespan:    30 * 24 * time.Hour,
				IdleTimeout: 7 * 24 * time.Hour,
				ReuseGrace:  10 * time.Second,
			},
			RevocationList: RevocationList{MaxAge: 10 * time.Second},
			Cookie: Cookie{
				Name:      "hanko",
				HTTPOnly:  true,
				Secure:    true,
				SameSite:  "strict",
				Retention: "persistent",
			},
		},
		Email: Email{
			Enabled:              true,
			UseForAuthentication: true,
			RequireVerification:  true,
			Limit:                5,
			PasscodeTTL:          300 * time.Second,
		},
		EmailDelivery: EmailDelivery{
			Enabled:     true,
			FromAddress: "noreply@localhost",
			FromName:    "inkan",
			SMTP:        SMTP{Port: "465", Timeout: 10 * time.Second},
		},
		Password: Password{MinLength: 8, Hash: "argon2id"},
		Passkey: Passkey{
			Enabled:               true,
			UserVerification:      "preferred",
			AttestationPreference: "direct",
		},
		Webauthn: Webauthn{
			RelyingParty: RelyingParty{
				ID:          "localhost",
				DisplayName: "inkan",
				Origins:     []string{"http://localhost:8888"},
			},
			Timeouts:       Timeouts{Registration: 600000 * time.Millisecond, Login: 600000 * time.Millisecond},
			RelatedOrigins: []string{},
		},
		RateLimiter: RateLimiter{
			Enabled:        true,
			Store:          "in_memory",
			PasscodeLimits: Limit{Tokens: 3, Interval: time.Minute},
			PasswordLimits: Limit{Tokens: 5, Interval: time.Minute},
			TokenLimits:    Limit{Tokens: 3, Interval: time.Minute},
			// Per client address: sized so that a mobile carrier's shared
			// (CGNAT) address, behind which thousands of subscribers may sit,
			// still gets about one sign-in a second (README "Limits and abuse").
			PasscodeIPLimits: Limit{Tokens: 100, Interval: time.Minute},
			SignupLimits:     Limit{Tokens: 30, Interval: time.Minute},
			LookupLimits:     Limit{Tokens: 100, Interval: time.Minute},
			WebauthnLimits:   Limit{Tokens: 100, Interval: time.Minute},
			// Per user: NIST SP 800-63B §5.2.2 asks for at most 100 failed
			// attempts per account; 10 an hour keeps the chance of
			// guessing a 6-digit code under 0.03 % a day.
			PasscodeFailureLimits: Limit{Tokens: 10, Interval: time.Hour},
			ThirdPartyLimits:      Limit{Tokens: 30, Interval: time.Minute},
			RefreshLimits:         Limit{Tokens: 10, Interval: time.Minute},
			RefreshIPLimits:       Limit{Tokens: 100, Interval: time.Minute},
		},
		Account: Account{AllowSignup: true, UnfinishedSignupRetention: 24 * time.Hour},
		AuditLog: AuditLog{
			ConsoleOutput: ConsoleOutput{Enabled: true, Output: "stdout"},
			Storage:       AuditStorage{Enabled: true},
			Mask:          true,
			Retention:     720 * time.Hour,
		},
		Log:    Log{Level: "info", Format: "text", LogHealthAndMetrics: true},
		Mobile: Mobile{Android: []AndroidApp{}, Apple: []AppleApp{}},
		ThirdParty: ThirdParty{
			AllowedRedirectURLs: []string{},
			Providers: Providers{
				Apple:  Provider{AllowLinking: true, IDTokenAudiences: []string{}},
				Google: Provider{AllowLinking: true, IDTokenAudiences: []string{}},
				GitHub: Provider{AllowLinking: true, IDTokenAudiences: []string{}},
			},
			CustomProviders: map[string]CustomProvider{},
		},
		Webhooks: Webhooks{Hooks: []WebhookHook{}, MaxFailures: 5},
	}
}

// SMTPImplicitTLS reports whether SMTP uses implicit TLS (RFC 8314) rather than STARTTLS:
// email_delivery.smtp.implicit_tls when set, otherwise true when the port is "465".
func (c Config) SMTPImplicitTLS() bool {
	if c.EmailDelivery.SMTP.ImplicitTLS != nil {
		return *c.EmailDelivery.SMTP.ImplicitTLS
	}
	return strings.TrimSpace(c.EmailDelivery.SMTP.Port) == "465"
}

// SMTPRequireTLS reports whether SMTP delivery must be encrypted:
// email_delivery.smtp.require_tls when set, otherwise true unless the host
// is "localhost" or a loopback IP address (a local relay).
func (c Config) SMTPRequireTLS() bool {
	if c.EmailDelivery.SMTP.RequireTLS != nil {
		return *c.EmailDelivery.SMTP.RequireTLS
	}
	return !isLoopbackHost(c.EmailDelivery.SMTP.Host)
}

func isLoopbackHost(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return err == nil && a.IsLoopback()
}

// DevelopmentMailer reports whether passcode mails go to the development
// mailer (standard output) rather than SMTP: email_delivery.mailer
// "development", or "" without an SMTP host (Validate refuses that with a
// server database).
func (c Config) DevelopmentMailer() bool {
	switch c.EmailDelivery.Mailer {
	case "development":
		return true
	case "smtp":
		return false
	}
	return strings.TrimSpace(c.EmailDelivery.SMTP.Host) == ""
}

// TrustedProxyPrefixes parses server.public.trusted_proxies; a single IP becomes a full-length prefix.
// Entries that do not parse are skipped (Validate reports them).
func (c Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.Server.Public.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
