package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inkan-auth/inkan/internal/aaguid"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// Problem is one configuration problem: the key (Hanko's dotted name, list items as key[i]) and what
// is wrong with it. Messages never contain secret values.
type Problem struct {
	Key     string
	Message string
}

// ValidationError carries every problem found, sorted by key.
type ValidationError struct {
	Problems []Problem
}

// Error lists one "key: message" per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Key + ": " + p.Message)
	}
	return b.String()
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
}

type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) oneOf(key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	ps.add(key, "must be one of %s, got %q", strings.Join(allowed, "|"), value)
}

func (ps *problems) positive(key string, d time.Duration) {
	if d <= 0 {
		ps.add(key, "must be a positive duration, got %s", d)
	}
}

func (ps *problems) nonNegative(key string, d time.Duration) {
	if d < 0 {
		ps.add(key, "must not be negative, got %s", d)
	}
}

func (ps *problems) atLeast(key string, n, min int64) {
	if n < min {
		ps.add(key, "must be at least %d, got %d", min, n)
	}
}

func (ps *problems) address(key, addr string) {
	if addr == "" {
		ps.add(key, "must not be empty (host:port)")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ps.add(key, "must be host:port, got %q", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add(key, "has an invalid port %q", port)
	}
}

func (ps *problems) port(key, port string) {
	if n, err := strconv.Atoi(strings.TrimSpace(port)); err != nil || n < 1 || n > 65535 {
		ps.add(key, "must be a port number 1-65535, got %q", port)
	}
}

// Validate checks every value and reports every problem at once as a *ValidationError (nil when there
// are none). It reads no files and opens no connections.
func (c Config) Validate() error {
	var ps problems

	// server
	ps.address("server.public.address", c.Server.Public.Address)
	ps.address("server.admin.address", c.Server.Admin.Address)
	// Two listeners on port 0 get distinct ephemeral ports.
	if c.Server.Public.Address != "" && c.Server.Public.Address == c.Server.Admin.Address && !strings.HasSuffix(c.Server.Public.Address, ":0") {
		ps.add("server.admin.address", "must differ from server.public.address")
	}
	for i, k := range c.Server.Admin.APIKeys {
		if n := utf8.RuneCountInString(k); n < MinAdminAPIKeyLength {
			ps.add(fmt.Sprintf("server.admin.api_keys[%d]", i), "must be at least %d characters, got %d", MinAdminAPIKeyLength, n)
		}
	}
	for i, o := range c.Server.Public.CORS.AllowOrigins {
		key := fmt.Sprintf("server.public.cors.allow_origins[%d]", i)
		if o == "*" {
			if !c.Server.Public.CORS.UnsafeWildcardOriginAllowed {
				ps.add(key, `"*" requires server.public.cors.unsafe_wildcard_origin_allowed: true`)
			}
			continue
		}
		if err := checkWebOrigin(o); err != nil {
			ps.add(key, "%v", err)
		}
	}
	for i, p := range c.Server.Public.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			ps.add(fmt.Sprintf("server.public.trusted_proxies[%d]", i), "must be a CIDR prefix or IP address, got %q", p)
		}
	}
	ps.nonNegative("server.read_timeout", c.Server.ReadTimeout)
	ps.nonNegative("server.read_header_timeout", c.Server.ReadHeaderTimeout)
	ps.nonNegative("server.write_timeout", c.Server.WriteTimeout)
	ps.nonNegative("server.idle_timeout", c.Server.IdleTimeout)
	ps.positive("server.shutdown_timeout", c.Server.ShutdownTimeout)
	ps.positive("server.request_timeout", c.Server.RequestTimeout)
	ps.positive("account.unfinished_signup_retention", c.Account.UnfinishedSignupRetention)
	if c.Email.RequireVerification && (!c.Email.Enabled || !c.Email.UseForAuthentication) {
		ps.add("email.require_verification", "must be false when email.enabled or email.use_for_authentication is false: without passcodes no address could ever be verified")
	}
	ps.atLeast("server.max_request_body_bytes", c.Server.MaxRequestBodyBytes, 1)
	ps.atLeast("server.max_connections", int64(c.Server.MaxConnections), 0)

	// database: the address (dialect, url, host, port, user, password, database) is judged by
	// store.Resolve, the one place that builds connection strings; here only the pool.
	db := c.Database
	ps.atLeast("database.max_open_conns", int64(db.MaxOpenConns), 1)
	ps.atLeast("database.max_idle_conns", int64(db.MaxIdleConns), 0)
	ps.nonNegative("database.conn_max_lifetime", db.ConnMaxLifetime)
	ps.nonNegative("database.conn_max_idle_time", db.ConnMaxIdleTime)

	// secrets (docs/compatibility.md "Signing keys")
	for i, k := range c.Secrets.Keys {
		if len(k) < 16 {
			ps.add(fmt.Sprintf("secrets.keys[%d]", i), "must be at least 16 characters long")
		}
	}
	ps.oneOf("secrets.key_management.type", c.Secrets.KeyManagement.Type, "local")
	ps.oneOf("secrets.signing_algorithm", c.Secrets.SigningAlgorithm, "RS256", "ES256", "EdDSA")
	if n := c.Secrets.RSAKeySize; n != 2048 && n != 3072 && n != 4096 {
		ps.add("secrets.rsa_key_size", "must be 2048, 3072 or 4096, got %d", n)
	}

	if strings.TrimSpace(c.Service.Name) == "" {
		ps.add("service.name", "must not be empty")
	}

	// session
	s := c.Session
	ps.positive("session.lifespan", s.Lifespan)
	ps.atLeast("session.limit", int64(s.Limit), 1)
	ps.nonNegative("session.idle_timeout", s.IdleTimeout)
	ps.positive("session.refresh_token.lifespan", s.RefreshToken.Lifespan)
	ps.positive("session.refresh_token.idle_timeout", s.RefreshToken.IdleTimeout)
	ps.positive("session.refresh_token.reuse_grace", s.RefreshToken.ReuseGrace)
	ps.nonNegative("session.revocation_list.max_age", s.RevocationList.MaxAge)
	for i, a := range s.Audience {
		if strings.TrimSpace(a) == "" {
			ps.add(fmt.Sprintf("session.audience[%d]", i), "must not be empty")
		}
	}
	if s.Cookie.Name == "" || strings.ContainsAny(s.Cookie.Name, " \t\r\n\"(),/:;<=>?@[\\]{}") {
		ps.add("session.cookie.name", "must be a non-empty cookie name token (RFC 6265 §4.1.1), got %q", s.Cookie.Name)
	}
	ps.oneOf("session.cookie.same_site", s.Cookie.SameSite, "strict", "lax", "none")
	if s.Cookie.SameSite == "none" && !s.Cookie.Secure {
		ps.add("session.cookie.secure", "must be true when session.cookie.same_site is none")
	}
	ps.oneOf("session.cookie.retention", s.Cookie.Retention, "session", "persistent")

	// email
	ps.atLeast("email.limit", int64(c.Email.Limit), 1)
	ps.positive("email.passcode_ttl", c.Email.PasscodeTTL)
	if ed := c.EmailDelivery; ed.Enabled {
		if _, err := mail.ParseAddress(ed.FromAddress); err != nil || strings.ContainsAny(ed.FromAddress, "<>") {
			ps.add("email_delivery.from_address", "must be a plain e-mail address, got %q", ed.FromAddress)
		}
		ps.port("email_delivery.smtp.port", ed.SMTP.Port)
		ps.positive("email_delivery.smtp.timeout", ed.SMTP.Timeout)
		ps.oneOf("email_delivery.mailer", ed.Mailer, "", "smtp", "development")
		// With a server database a missing host is refused by
		// app.LoadConfig, which knows the resolved dialect.
		if strings.TrimSpace(ed.SMTP.Host) == "" && ed.Mailer == "smtp" {
			ps.add("email_delivery.smtp.host", "must be set when email_delivery.mailer is smtp")
		}
	}

	ps.atLeast("password.min_length", int64(c.Password.MinLength), 1)
	ps.oneOf("password.hash", c.Password.Hash, "argon2id", "bcrypt")
	ps.oneOf("passkey.user_verification", c.Passkey.UserVerification, "required", "preferred", "discouraged")
	ps.oneOf("passkey.attestation_preference", c.Passkey.AttestationPreference, "direct", "indirect", "none")
	if f := c.Passkey.AAGUIDMetadataFile; f != "" {
		if _, err := aaguid.Load(f); err != nil {
			ps.add("passkey.aaguid_metadata_file", "%v", err)
		}
	}

	// webauthn (WebAuthn §5.1.3, §13.4.9: the RP ID must be the origin's host or a suffix of it)
	rp := c.Webauthn.RelyingParty
	rpIDok := rp.ID != "" && !strings.ContainsAny(rp.ID, ":/ ") && rp.ID == strings.ToLower(rp.ID)
	if !rpIDok {
		ps.add("webauthn.relying_party.id", "must be a lower-case domain without scheme or port, got %q", rp.ID)
	}
	if strings.TrimSpace(rp.DisplayName) == "" {
		ps.add("webauthn.relying_party.display_name", "must not be empty")
	}
	if len(rp.Origins) == 0 {
		ps.add("webauthn.relying_party.origins", "must list at least one origin")
	}
	for i, o := range rp.Origins {
		key := fmt.Sprintf("webauthn.relying_party.origins[%d]", i)
		if strings.HasPrefix(o, "android:") {
			if err := checkAndroidOrigin(o); err != nil {
				ps.add(key, "%v", err)
			}
			continue
		}
		if err := checkWebOrigin(o); err != nil {
			ps.add(key, "%v", err)
			continue
		}
		u, _ := url.Parse(o)
		host := strings.ToLower(u.Hostname())
		if rpIDok && host != rp.ID && !strings.HasSuffix(host, "."+rp.ID) {
			ps.add(key, "host %q is not %q or a subdomain of it (webauthn.relying_party.id)", host, rp.ID)
		}
	}
	// Related origins (WebAuthn L3 §5.11): browsers fetch the list only over https and check only https
	// callers; the label limit needs the public suffix list and is judged by internal/app.
	for i, o := range c.Webauthn.RelatedOrigins {
		key := fmt.Sprintf("webauthn.related_origins[%d]", i)
		if err := checkWebOrigin(o); err != nil {
			ps.add(key, "%v", err)
		} else if !strings.HasPrefix(strings.ToLower(o), "https://") {
			ps.add(key, "must be an https origin (WebAuthn L3 §5.11), got %q", o)
		}
	}
	ps.positive("webauthn.timeouts.registration", c.Webauthn.Timeouts.Registration)
	ps.positive("webauthn.timeouts.login", c.Webauthn.Timeouts.Login)

	// rate limiter (docs/compatibility.md "Rate limits")
	rl := c.RateLimiter
	ps.oneOf("rate_limiter.store", rl.Store, "in_memory", "redis")
	// The Redis address (rate_limiter.redis.url / address) is judged by internal/ratelimit
	// (ratelimit.RedisOptions), where the client options are built.
	for name, l := range map[string]Limit{
		"passcode_limits": rl.PasscodeLimits, "password_limits": rl.PasswordLimits, "token_limits": rl.TokenLimits,
		"passcode_ip_limits": rl.PasscodeIPLimits, "signup_limits": rl.SignupLimits, "lookup_limits": rl.LookupLimits,
		"webauthn_limits": rl.WebauthnLimits, "passcode_failure_limits": rl.PasscodeFailureLimits,
		"thirdparty_limits": rl.ThirdPartyLimits,
		"refresh_limits":    rl.RefreshLimits, "refresh_ip_limits": rl.RefreshIPLimits,
	} {
		ps.atLeast("rate_limiter."+name+".tokens", int64(l.Tokens), 1)
		ps.positive("rate_limiter."+name+".interval", l.Interval)
	}

	ps.positive("audit_log.retention", c.AuditLog.Retention)
	ps.oneOf("audit_log.console_output.output", c.AuditLog.ConsoleOutput.Output, "stdout", "stderr")
	ps.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ps.oneOf("log.format", c.Log.Format, "text", "json")

	// mobile apps
	for i, a := range c.Mobile.Android {
		key := fmt.Sprintf("mobile.android[%d]", i)
		if strings.TrimSpace(a.PackageName) == "" {
			ps.add(key+".package_name", "must not be empty")
		}
		if len(a.SHA256CertFingerprints) == 0 {
			ps.add(key+".sha256_cert_fingerprints", "must list at least one fingerprint")
		}
		for j, fp := range a.SHA256CertFingerprints {
			if !validFingerprint(fp) {
				ps.add(fmt.Sprintf("%s.sha256_cert_fingerprints[%d]", key, j), "must be 32 colon-separated hex bytes (AB:CD:…), got %q", fp)
			}
		}
	}
	for i, a := range c.Mobile.Apple {
		key := fmt.Sprintf("mobile.apple[%d]", i)
		if !validTeamID(a.TeamID) {
			ps.add(key+".team_id", "must be a 10-character Apple team ID (A-Z, 0-9), got %q", a.TeamID)
		}
		if strings.TrimSpace(a.BundleID) == "" || strings.ContainsAny(a.BundleID, " /") {
			ps.add(key+".bundle_id", "must be a bundle identifier such as com.example.app, got %q", a.BundleID)
		}
	}

	c.validateThirdParty(&ps)
	// webhooks
	if c.Webhooks.MaxFailures < 1 {
		ps.add("webhooks.max_failures", "must be at least 1")
	}
	for i, h := range c.Webhooks.Hooks {
		key := fmt.Sprintf("webhooks.hooks[%d]", i)
		if inkan.ValidWebhookCallback(h.Callback) != nil {
			ps.add(key+".callback", "must be an absolute http or https URL, got %q", h.Callback)
		}
		if len(h.Events) == 0 {
			ps.add(key+".events", "must list at least one event")
		}
		for j, e := range h.Events {
			if !inkan.ValidWebhookSubscription(e) {
				ps.add(fmt.Sprintf("%s.events[%d]", key, j), "%q is not a webhook event (one of %s, or a prefix ending before a dot)", e, strings.Join(inkan.WebhookEventNames, ", "))
			}
		}
	}

	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return &ValidationError{Problems: ps}
}

// validateThirdParty checks third_party.* (docs/thirdparty.md): an enabled provider needs either an
// OAuth client (client_id and secret, for the redirect flow) or id_token_audiences (for POST
// /thirdparty/id_token; GitHub has no ID tokens, so it needs the client); a custom provider needs an
// http(s) issuer; the redirect flow needs redirect_url and error_redirect_url.
func (c Config) validateThirdParty(ps *problems) {
	t := c.ThirdParty
	web := false
	check := func(key string, enabled bool, clientID, secret string, audiences []string, idTokens bool) {
		if !enabled {
			return
		}
		hasClient := clientID != "" && secret != ""
		if clientID != "" || secret != "" {
			if clientID == "" {
				ps.add(key+".client_id", "must be set together with secret")
			}
			if secret == "" {
				ps.add(key+".secret", "must be set together with client_id")
			}
		}
		web = web || hasClient
		switch {
		case !idTokens && !hasClient:
			ps.add(key+".client_id", "must be set (with secret) when the provider is enabled")
		case idTokens && !hasClient && len(audiences) == 0 && clientID == "":
			ps.add(key+".id_token_audiences", "must list the client ids of your apps (or set client_id and secret) when the provider is enabled")
		}
		for i, a := range audiences {
			if strings.TrimSpace(a) == "" {
				ps.add(fmt.Sprintf("%s.id_token_audiences[%d]", key, i), "must not be empty")
			}
		}
	}
	p := t.Providers
	check("third_party.providers.apple", p.Apple.Enabled, p.Apple.ClientID, p.Apple.Secret, p.Apple.IDTokenAudiences, true)
	check("third_party.providers.google", p.Google.Enabled, p.Google.ClientID, p.Google.Secret, p.Google.IDTokenAudiences, true)
	check("third_party.providers.github", p.GitHub.Enabled, p.GitHub.ClientID, p.GitHub.Secret, nil, false)
	if len(p.GitHub.IDTokenAudiences) > 0 {
		ps.add("third_party.providers.github.id_token_audiences", "GitHub issues no ID tokens: remove the key")
	}
	for name, cp := range t.CustomProviders {
		key := "third_party.custom_providers." + name
		if !validProviderKey(name) {
			ps.add(key, "the key must be 1-32 lower-case letters, digits, \"_\" or \"-\"")
		}
		if !cp.Enabled {
			continue
		}
		if err := checkIssuer(cp.Issuer); err != nil {
			ps.add(key+".issuer", "%v", err)
		}
		check(key, true, cp.ClientID, cp.Secret, cp.IDTokenAudiences, true)
	}
	if !web {
		return
	}
	for _, u := range []struct{ key, v string }{{"third_party.redirect_url", t.RedirectURL}, {"third_party.error_redirect_url", t.ErrorRedirectURL}} {
		if u.v == "" {
			ps.add(u.key, "must be set when a provider has client_id and secret (the redirect flow)")
			continue
		}
		if pu, err := url.Parse(u.v); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			ps.add(u.key, "must be an absolute http(s) URL, got %q", u.v)
		} else if strings.HasSuffix(u.v, "/") {
			ps.add(u.key, "must not end in \"/\"")
		}
	}
}

// validProviderKey: a custom provider key is 1-32 of [a-z0-9_-].
func validProviderKey(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkIssuer accepts an https URL, or http on a loopback host (development and tests), without
// query or fragment (OpenID Connect Discovery 1.0 §2).
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if s == "" {
		return fmt.Errorf("must be set when the provider is enabled")
	}
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be an https URL without query or fragment, got %q", s)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		return fmt.Errorf("must use https (http only on a loopback host), got %q", s)
	}
	return nil
}

// checkWebOrigin accepts "http(s)://host[:port]" with no path, query, fragment or user info.
func checkWebOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("must be an http(s) origin such as https://example.com, got %q", o)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "/") {
		return fmt.Errorf("must be scheme://host[:port] without user, path, query or trailing slash, got %q", o)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has an invalid port in %q", o)
		}
	}
	return nil
}

// checkAndroidOrigin accepts "android:apk-key-hash:" + unpadded base64url of a 32-byte SHA-256 hash
// (the origin Android's Credential Manager reports for native apps).
func checkAndroidOrigin(o string) error {
	const prefix = "android:apk-key-hash:"
	if !strings.HasPrefix(o, prefix) {
		return fmt.Errorf("must be android:apk-key-hash:<base64url SHA-256>, got %q", o)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(o[len(prefix):])
	if err != nil || len(b) != 32 {
		return fmt.Errorf("must end in the unpadded base64url encoding of 32 bytes (the SHA-256 of the signing certificate), got %q", o)
	}
	return nil
}

func validFingerprint(fp string) bool {
	parts := strings.Split(fp, ":")
	if len(parts) != 32 {
		return false
	}
	for _, p := range parts {
		if len(p) != 2 {
			return false
		}
		if _, err := hex.DecodeString(p); err != nil {
			return false
		}
	}
	return true
}

func validTeamID(id string) bool {
	if len(id) != 10 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
