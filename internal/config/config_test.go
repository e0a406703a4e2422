package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	return ve.Problems
}

func hasProblem(ps []Problem, key string) bool {
	for _, p := range ps {
		if p.Key == key {
			return true
		}
	}
	return false
}

func TestDefaults(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load with no file and no env differs from Default():\n got %+v\nwant %+v", c, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"public address", c.Server.Public.Address, "127.0.0.1:8000"},
		{"admin address", c.Server.Admin.Address, "127.0.0.1:8001"},
		{"lifespan", c.Session.Lifespan, 12 * time.Hour},
		{"same_site", c.Session.Cookie.SameSite, "strict"},
		{"passcode ttl", c.Email.PasscodeTTL, 5 * time.Minute},
		{"registration timeout", c.Webauthn.Timeouts.Registration, 10 * time.Minute},
		{"origins", c.Webauthn.RelyingParty.Origins, []string{"http://localhost:8888"}},
		{"passcode limit", c.RateLimiter.PasscodeLimits, Limit{Tokens: 3, Interval: time.Minute}},
		{"implicit tls", c.SMTPImplicitTLS(), true},
		{"max body", c.Server.MaxRequestBodyBytes, int64(65536)},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestLayers(t *testing.T) {
	file := writeYAML(t, `
server:
  public:
    address: "0.0.0.0:9000"
    trusted_proxies: ["10.0.0.0/8", "192.168.1.1"]
session:
  lifespan: 1h
  limit: 7
  audience: [app]
  cookie:
    same_site: lax
email:
  passcode_ttl: 600
webauthn:
  relying_party:
    id: example.com
    origins: ["https://login.example.com", "https://example.com:8443"]
  timeouts:
    login: 30000
    registration: 2m
rate_limiter:
  store: redis
  redis_config:
    address: "redis:6379"
  password_limits:
    tokens: 9
    interval: 30s
email_delivery:
  smtp:
    port: 587
database:
  auto_migrate: false
mobile:
  android:
    - package_name: com.example.app
      sha256_cert_fingerprints: ["`+strings.Repeat("AB:", 31)+`CD"]
  apple:
    - team_id: ABCDE12345
      bundle_id: com.example.app
webhooks:
  enabled: false
`)
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"file only", nil, func(t *testing.T, c Config) {
			eq(t, c.Server.Public.Address, "0.0.0.0:9000")
			eq(t, c.Session.Lifespan, time.Hour)
			eq(t, c.Session.Limit, 7)
			eq(t, c.Session.Audience, []string{"app"})
			eq(t, c.Session.Cookie.SameSite, "lax")
			eq(t, c.Session.Cookie.Name, "hanko") // untouched default
			eq(t, c.Email.PasscodeTTL, 10*time.Minute)
			eq(t, c.Webauthn.Timeouts.Login, 30*time.Second)
			eq(t, c.Webauthn.Timeouts.Registration, 2*time.Minute)
			eq(t, c.RateLimiter.Redis.Address, "redis:6379")
			eq(t, c.RateLimiter.PasswordLimits, Limit{9, 30 * time.Second})
			eq(t, c.EmailDelivery.SMTP.Port, "587")
			eq(t, c.SMTPImplicitTLS(), false)
			eq(t, *c.Database.AutoMigrate, false)
			eq(t, len(c.TrustedProxyPrefixes()), 2)
			eq(t, c.TrustedProxyPrefixes()[1].String(), "192.168.1.1/32")
			eq(t, c.Mobile.Android[0].PackageName, "com.example.app")
			eq(t, c.Mobile.Apple[0].TeamID, "ABCDE12345")
			eq(t, len(c.IgnoredKeys), 0)
			eq(t, c.Webhooks.Enabled, false)
			eq(t, c.Webhooks.MaxFailures, 5)
		}},
		{"env overrides file", []string{
			"SESSION_LIFESPAN=2h", "SESSION_COOKIE_SAME_SITE=none", "EMAIL_DELIVERY_SMTP_PORT=465",
			"WEBAUTHN_RELYING_PARTY_ORIGINS=https://a.example.com, https://b.example.com",
			"SERVER_PUBLIC_TRUSTED_PROXIES=", "RATE_LIMITER_REDIS_ADDRESS=other:6379",
			"DATABASE_AUTO_MIGRATE=true", "PATH=/usr/bin", "HOME=/root",
		}, func(t *testing.T, c Config) {
			eq(t, c.Session.Lifespan, 2*time.Hour)
			eq(t, c.Session.Cookie.SameSite, "none")
			eq(t, c.SMTPImplicitTLS(), true)
			eq(t, c.Webauthn.RelyingParty.Origins, []string{"https://a.example.com", "https://b.example.com"})
			eq(t, c.Server.Public.TrustedProxies, []string{}) // set but empty overrides the file
			eq(t, c.RateLimiter.Redis.Address, "other:6379")
			eq(t, *c.Database.AutoMigrate, true)
			eq(t, c.Session.Limit, 7) // file value kept
		}},
		{"hanko irregular names", []string{
			"SESSION_ENABLE_AUTH_TOKEN_HEADER=true", "SESSION_ACQUIREIPADDRESS=false",
			"SESSION_ACQUIREUSERAGENT=false", "EMAIL_PASSCODETTL=120", "EMAIL_USEFORAUTHENTICATION=false", "EMAIL_REQUIRE_VERIFICATION=false",
			"ACCOUNT_ALLOWDELETION=true", "ACCOUNT_ALLOWSIGNUP=false", "SECRETS_KEYMANAGEMENT_TYPE=local",
			"AUDIT_LOG_CONSOLE_OUTPUT_OUTPUT_STREAM=stderr", "LOG_LOGHEALTHANDMETRICS=false",
			"SECRETS_KEYS=0123456789abcdef,fedcba9876543210x", "EMAIL_DELIVERY_SMTP_HOST=mail.example.com",
			"WEBAUTHN_TIMEOUTS_LOGIN=1000",
		}, func(t *testing.T, c Config) {
			eq(t, c.Session.EnableAuthTokenHeader, true)
			eq(t, c.Session.AcquireIPAddress, false)
			eq(t, c.Session.AcquireUserAgent, false)
			eq(t, c.Email.PasscodeTTL, 2*time.Minute)
			eq(t, c.Email.UseForAuthentication, false)
			eq(t, c.Account.AllowDeletion, true)
			eq(t, c.Account.AllowSignup, false)
			eq(t, c.AuditLog.ConsoleOutput.Output, "stderr")
			eq(t, c.Log.LogHealthAndMetrics, false)
			eq(t, c.Secrets.Keys, []string{"0123456789abcdef", "fedcba9876543210x"})
			eq(t, c.EmailDelivery.SMTP.Host, "mail.example.com")
			eq(t, c.Webauthn.Timeouts.Login, time.Second)
		}},
		{"hanko name wins over regular name", []string{"SESSION_ACQUIREIPADDRESS=false", "SESSION_ACQUIRE_IP_ADDRESS=true"}, func(t *testing.T, c Config) {
			eq(t, c.Session.AcquireIPAddress, false)
		}},
		{"mobile from env JSON", []string{`MOBILE_APPLE=[{"team_id":"ZZZZZ00000","bundle_id":"a.b"}]`}, func(t *testing.T, c Config) {
			eq(t, c.Mobile.Apple, []AppleApp{{TeamID: "ZZZZZ00000", BundleID: "a.b"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(file, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestBadValues(t *testing.T) {
	apk := "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name string
		yaml string
		env  []string
		keys []string // every one must be reported
	}{
		{"malformed duration", "session:\n  lifespan: abc\n", nil, []string{"session.lifespan"}},
		{"bare nanoseconds", "session:\n  lifespan: 3600\n", nil, []string{"session.lifespan"}},
		{"malformed duration from env", "", []string{"SESSION_IDLE_TIMEOUT=soon"}, []string{"session.idle_timeout"}},
		{"non-number port", "email_delivery:\n  smtp:\n    port: abc\n", nil, []string{"email_delivery.smtp.port"}},
		{"int is a list", "session:\n  limit: [1]\n", nil, []string{"session.limit"}},
		{"bool from env", "", []string{"PASSKEY_ENABLED=maybe"}, []string{"passkey.enabled"}},
		{"passcode ttl not a number", "", []string{"EMAIL_PASSCODETTL=five"}, []string{"email.passcode_ttl"}},
		{"enums", "session:\n  cookie:\n    same_site: loose\n    retention: forever\npasskey:\n  user_verification: maybe\n  attestation_preference: all\nlog:\n  level: trace\n  format: xml\npassword:\n  hash: md5\n",
			nil, []string{"session.cookie.same_site", "session.cookie.retention", "passkey.user_verification", "passkey.attestation_preference", "log.level", "log.format", "password.hash"}},
		{"same_site none needs secure", "session:\n  cookie:\n    same_site: none\n    secure: false\n", nil, []string{"session.cookie.secure"}},
		{"short secret", "secrets:\n  keys: [short]\n", nil, []string{"secrets.keys[0]"}},
		{"kms", "secrets:\n  key_management:\n    type: aws_kms\n", nil, []string{"secrets.key_management.type"}},
		{"rsa size", "secrets:\n  rsa_key_size: 1024\n  signing_algorithm: HS256\n", nil, []string{"secrets.rsa_key_size", "secrets.signing_algorithm"}},
		{"limits", "session:\n  limit: 0\nrate_limiter:\n  token_limits:\n    tokens: 0\n    interval: 0\n", nil, []string{"session.limit", "rate_limiter.token_limits.tokens", "rate_limiter.token_limits.interval"}},
		{"cors wildcard", "server:\n  public:\n    cors:\n      allow_origins: ['*', 'https://x.com/path']\n", nil, []string{"server.public.cors.allow_origins[0]", "server.public.cors.allow_origins[1]"}},
		{"trusted proxies", "", []string{"SERVER_PUBLIC_TRUSTED_PROXIES=10.0.0.0/8,nonsense"}, []string{"server.public.trusted_proxies[1]"}},
		{"addresses", "server:\n  public:\n    address: ''\n  admin:\n    address: 'localhost'\n", nil, []string{"server.public.address", "server.admin.address"}},
		{"service name", "service:\n  name: ' '\n", nil, []string{"service.name"}},
		{"web origins", "webauthn:\n  relying_party:\n    origins: ['localhost:8888', 'https://example.com/', 'ftp://localhost', 'https://evil.com', 'https://localhost?x=1']\n", nil,
			[]string{"webauthn.relying_party.origins[0]", "webauthn.relying_party.origins[1]", "webauthn.relying_party.origins[2]", "webauthn.relying_party.origins[3]", "webauthn.relying_party.origins[4]"}},
		{"android origins", "webauthn:\n  relying_party:\n    origins: ['" + apk + "=', 'android:apk-key-hash:AAAA', 'android:apk-key-hash:" + base64.RawStdEncoding.EncodeToString(append(make([]byte, 30), 0xfb, 0xff)) + "', 'android:foo']\n", nil,
			[]string{"webauthn.relying_party.origins[0]", "webauthn.relying_party.origins[1]", "webauthn.relying_party.origins[2]", "webauthn.relying_party.origins[3]"}},
		{"no origins", "", []string{"WEBAUTHN_RELYING_PARTY_ORIGINS="}, []string{"webauthn.relying_party.origins"}},
		{"rp id", "webauthn:\n  relying_party:\n    id: 'https://example.com'\n", nil, []string{"webauthn.relying_party.id"}},
		{"timeouts", "webauthn:\n  timeouts:\n    login: 0\n    registration: -5\n", nil, []string{"webauthn.timeouts.login", "webauthn.timeouts.registration"}},
		{"mobile", "mobile:\n  android:\n    - package_name: ''\n      sha256_cert_fingerprints: ['AB:CD']\n      extra: 1\n    - 5\n  apple:\n    - team_id: abc\n      bundle_id: ''\n", nil,
			[]string{"mobile.android[0].package_name", "mobile.android[0].sha256_cert_fingerprints[0]", "mobile.android[0].extra", "mobile.android[1]", "mobile.apple[0].team_id", "mobile.apple[0].bundle_id"}},
		{"from address", "email_delivery:\n  from_address: 'not an address'\n", nil, []string{"email_delivery.from_address"}},
		{"audit output", "audit_log:\n  console_output:\n    output: file\n", nil, []string{"audit_log.console_output.output"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeYAML(t, tc.yaml)
			}
			_, err := Load(path, tc.env)
			ps := problemsOf(t, err)
			for _, k := range tc.keys {
				if !hasProblem(ps, k) {
					t.Errorf("no problem for %s; got %v", k, ps)
				}
			}
			if len(ps) != len(tc.keys) {
				t.Errorf("got %d problems, want %d: %v", len(ps), len(tc.keys), ps)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, ": ") {
					t.Errorf("error line %q is not key: message", line)
				}
			}
		})
	}
}

func TestGoodOrigins(t *testing.T) {
	apk := "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(append(make([]byte, 30), 0xfb, 0xff))
	c := Default()
	c.Webauthn.RelyingParty.ID = "example.com"
	c.Webauthn.RelyingParty.Origins = []string{"https://example.com", "https://login.example.com:8443", apk}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSeveralProblemsAtOnce(t *testing.T) {
	path := writeYAML(t, "session:\n  lifespan: abc\n  limit: 0\nservice:\n  name: ''\n")
	_, err := Load(path, []string{"EMAIL_DELIVERY_SMTP_PORT=x"})
	ps := problemsOf(t, err)
	want := []string{"email_delivery.smtp.port", "service.name", "session.lifespan", "session.limit"}
	var got []string
	for _, p := range ps {
		got = append(got, p.Key)
	}
	eq(t, got, want)
	if !strings.Contains(err.Error(), "session.lifespan: ") || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("error text: %q", err.Error())
	}
	if !strings.Contains(ps[2].Message, path) {
		t.Errorf("decode problem does not name its source: %q", ps[2].Message)
	}
}

// TestKeyJudgement: Load judges every key of a file once — unknown keys (with the nearest known key)
// and keys that turn on missing features are problems, Hanko's ignored keys are listed, Hanko's
// alias spellings are read.
func TestKeyJudgement(t *testing.T) {
	path := writeYAML(t, "session:\n  lifespn: 1h\n  allow_revocation: true\nfoo: 1\nrate_limiter:\n  redis_config:\n    address: x:1\nmfa:\n  enabled: true\nlog:\n  formatt: json\nsaml:\n  enabled: true\nthird_party:\n  providers:\n    discord:\n      enabled: true\n    facebook:\n      enabled: false\n    apple:\n      enabled: false\nwebhooks:\n  enabled: false\n")
	c, err := Load(path, nil)
	ps := problemsOf(t, err)
	eq(t, ps, []Problem{
		{"foo", "unknown key"},
		{"log.formatt", "unknown key; did you mean log.format?"},
		{"saml.enabled", "SAML is not supported (remove the key or set it to false)"},
		{"session.lifespn", "unknown key; did you mean session.lifespan?"},
		{"third_party.providers.discord.enabled", "this provider is not built in (apple, github and google are): configure it as an OpenID Connect provider under third_party.custom_providers.<key> (remove the key or set it to false)"},
	})
	eq(t, c.IgnoredKeys, []string{"session.allow_revocation", "third_party.providers.facebook.enabled"})
	eq(t, c.RateLimiter.Redis.Address, "x:1")

	c, err = Load(writeYAML(t, "session:\n  limit: 3\nwebhooks:\n  hooks: []\n"), nil)
	if err != nil {
		t.Errorf("clean file: %v", err)
	}
	eq(t, len(c.IgnoredKeys), 0)
	ps = problemsOf(t, func() error { _, err := Load(writeYAML(t, "bogus: 1\nsession:\n  limit: 0\n"), nil); return err }())
	eq(t, len(ps), 2)
}

// TestKnownKeysFollowTheStruct: every leaf field of Config is a known key without a second list, so a
// field added by any change passes the unknown-key check.
func TestKnownKeysFollowTheStruct(t *testing.T) {
	var walk func(reflect.Type, string) []string
	walk = func(t reflect.Type, prefix string) []string {
		var out []string
		for i := 0; i < t.NumField(); i++ {
			tag := t.Field(i).Tag.Get("koanf")
			if tag == "" || tag == "-" {
				continue
			}
			if t.Field(i).Type.Kind() == reflect.Struct {
				out = append(out, walk(t.Field(i).Type, prefix+tag+".")...)
				continue
			}
			out = append(out, prefix+tag)
		}
		return out
	}
	keys := walk(reflect.TypeOf(Config{}), "")
	if len(keys) < 50 {
		t.Fatalf("only %d keys found", len(keys))
	}
	known := map[string]bool{}
	for _, k := range knownKeys() {
		known[k] = true
	}
	for _, k := range keys {
		if !known[k] {
			t.Errorf("%s is a field but not a known key", k)
		}
		if _, err := Load(writeYAML(t, nest(k)), nil); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					if p.Key == k && strings.HasPrefix(p.Message, "unknown key") {
						t.Errorf("%s: %s", k, p.Message)
					}
				}
			}
		}
	}
}

// nest returns a YAML file setting key to null ("key:" leaves the default).
func nest(key string) string {
	var b strings.Builder
	for i, s := range strings.Split(key, ".") {
		b.WriteString(strings.Repeat("  ", i) + s + ":\n")
	}
	return b.String()
}

// TestShowRedacts: config show prints every key with the effective value and never a secret.
func TestShowRedacts(t *testing.T) {
	c, err := Load(writeYAML(t, "secrets:\n  keys: [0123456789abcdef-secret]\nemail_delivery:\n  smtp:\n    password: smtp-pass-123\nsession:\n  lifespan: 2h\n"),
		[]string{"DATABASE_URL=postgres://inkan:db-pass-456@db/inkan", "RATE_LIMITER_REDIS_PASSWORD=redis-pass-789"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Show()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"0123456789abcdef-secret", "smtp-pass-123", "db-pass-456", "redis-pass-789"} {
		if strings.Contains(out, secret) {
			t.Errorf("show prints the secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"lifespan: 2h0m0s", "passcode_ttl: 300", "url: postgres://inkan:" + Redacted + "@db/inkan", "- " + Redacted, "password: " + Redacted, "address: 127.0.0.1:8000"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// what show prints loads back to the same configuration (secrets aside)
	back, err := Load(writeYAML(t, strings.ReplaceAll(out, Redacted, "0123456789abcdef-secret")), nil)
	if err != nil {
		t.Fatalf("show output does not load: %v\n%s", err, out)
	}
	eq(t, back.Session.Lifespan, 2*time.Hour)
	eq(t, back.Email.PasscodeTTL, c.Email.PasscodeTTL)
}

func TestIgnoredEnvVars(t *testing.T) {
	ig := IgnoredEnvVars()
	for name, key := range map[string]string{"MFA_ENABLED": "mfa.enabled", "WEBHOOKS_ALLOW_TIME_EXPIRATION": "webhooks.allow_time_expiration", "SESSION_ALLOW_REVOCATION": "session.allow_revocation"} {
		if ig[name] != key {
			t.Errorf("%s → %q, want %q", name, ig[name], key)
		}
	}
	for name := range ig {
		if _, read := EnvVars()[name]; read {
			t.Errorf("%s is both read and ignored", name)
		}
	}
}

func TestFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, f := range []func() error{
		func() error { _, err := Load(missing, nil); return err },
	} {
		err := f()
		var ve *ValidationError
		if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), missing) {
			t.Errorf("missing explicit file: got %v", err)
		}
	}
	for _, body := range []string{"", "# only a comment\n", "session:\n  lifespan:\nserver:\n"} {
		c, err := Load(writeYAML(t, body), nil)
		if err != nil || !reflect.DeepEqual(c, Default()) {
			t.Errorf("file %q: got %v, config differs from defaults: %v", body, err, !reflect.DeepEqual(c, Default()))
		}
	}
	if _, err := Load(writeYAML(t, "session: [unclosed\n"), nil); err == nil {
		t.Error("malformed YAML accepted")
	}
}

func TestEnvVars(t *testing.T) {
	vars := EnvVars()
	for name, key := range map[string]string{
		"SESSION_ENABLE_AUTH_TOKEN_HEADER": "session.enable_auth_token_header",
		"SESSION_ACQUIREIPADDRESS":         "session.acquire_ip_address",
		"EMAIL_PASSCODETTL":                "email.passcode_ttl",
		"EMAIL_DELIVERY_SMTP_HOST":         "email_delivery.smtp.host",
		"WEBAUTHN_RELYING_PARTY_ORIGINS":   "webauthn.relying_party.origins",
		"SECRETS_KEYS":                     "secrets.keys",
		"DATABASE_URL":                     "database.url",
		"RATE_LIMITER_REDIS_ADDRESS":       "rate_limiter.redis.address",
		"ACCOUNT_ALLOWDELETION":            "account.allow_deletion",
		"SESSION_COOKIE_SAME_SITE":         "session.cookie.same_site",
		"SERVER_PUBLIC_TRUSTED_PROXIES":    "server.public.trusted_proxies",
		"DATABASE_MAX_OPEN_CONNS":          "database.max_open_conns",
		"EMAIL_DELIVERY_SMTP_IMPLICIT_TLS": "email_delivery.smtp.implicit_tls",
	} {
		if vars[name] != key {
			t.Errorf("%s → %q, want %q", name, vars[name], key)
		}
	}
	if _, ok := vars["PATH"]; ok {
		t.Error("PATH is mapped")
	}
	// every regular name is unique: no two keys collapse onto one variable
	if n := len(fields) - 1 + len(hankoEnvNames); len(vars) != n { // -1: mfa.enabled is not read
		t.Errorf("%d variables, want %d (a collision?)", len(vars), n)
	}
}

func TestShowRedactsAdminAPIKeys(t *testing.T) {
	c := Default()
	c.Server.Admin.APIKeys = []string{strings.Repeat("k", 40)}
	out, err := c.Show()
	if err != nil || strings.Contains(out, strings.Repeat("k", 40)) {
		t.Fatalf("show prints the admin API key (%v):\n%s", err, out)
	}
}

// TestThirdParty: Hanko's third_party keys, the built-in providers' id_token_audiences and custom
// OpenID Connect providers from the file and from THIRD_PARTY_CUSTOM_PROVIDERS, their problems, and
// their secrets redacted by Show.
func TestThirdParty(t *testing.T) {
	path := writeYAML(t, `third_party:
  redirect_url: https://auth.example.com/thirdparty/callback
  error_redirect_url: https://app.example.com/error
  allowed_redirect_urls: ["https://app.example.com/**"]
  providers:
    apple:
      enabled: true
      id_token_audiences: [com.example.app]
    google:
      enabled: true
      client_id: web.apps.googleusercontent.com
      secret: g-secret
      allow_linking: false
  custom_providers:
    keycloak:
      enabled: true
      display_name: Keycloak
      issuer: https://id.example.com/realms/x
      client_id: kc
      secret: kc-secret
      scopes: [openid, email]
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp := c.ThirdParty
	eq(t, tp.Providers.Apple.IDTokenAudiences, []string{"com.example.app"})
	eq(t, tp.Providers.Apple.AllowLinking, true)
	eq(t, tp.Providers.Google.AllowLinking, false)
	kc := tp.CustomProviders["keycloak"]
	eq(t, kc.Issuer, "https://id.example.com/realms/x")
	eq(t, kc.Scopes, []string{"openid", "email"})
	eq(t, kc.Linking(), true)
	eq(t, tp.EnabledProviders(), []string{"apple", "google", "custom_keycloak"})
	out, err := c.Show()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "kc-secret") || strings.Contains(out, "g-secret") {
		t.Errorf("Show prints a provider secret:\n%s", out)
	}

	c, err = Load("", []string{`THIRD_PARTY_CUSTOM_PROVIDERS={"zitadel":{"enabled":true,"issuer":"http://127.0.0.1:9/","id_token_audiences":["a"],"allow_linking":false}}`, "THIRD_PARTY_PROVIDERS_GOOGLE_ENABLED=true", "THIRD_PARTY_PROVIDERS_GOOGLE_ID_TOKEN_AUDIENCES=a,b"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.ThirdParty.CustomProviders["zitadel"].Linking(), false)
	eq(t, c.ThirdParty.Providers.Google.IDTokenAudiences, []string{"a", "b"})

	ps := problemsOf(t, func() error {
		_, err := Load(writeYAML(t, "third_party:\n  custom_providers:\n    Bad!:\n      enabled: false\n    ok:\n      enabled: true\n      issuer: http://id.example.com\n      client_id: x\n      secret: y\n      scope: [openid]\n"), nil)
		return err
	}())
	eq(t, ps, []Problem{
		{"third_party.custom_providers.Bad!", `the key must be 1-32 lower-case letters, digits, "_" or "-"`},
		{"third_party.custom_providers.ok.issuer", `must use https (http only on a loopback host), got "http://id.example.com"`},
		{"third_party.custom_providers.ok.scope", "unknown key"},
		{"third_party.error_redirect_url", "must be set when a provider has client_id and secret (the redirect flow)"},
		{"third_party.redirect_url", "must be set when a provider has client_id and secret (the redirect flow)"},
	})
}

// TestWebhooksConfig: webhooks.* is read from the file and the
// environment (WEBHOOKS_HOOKS as a JSON array), and every bad hook is a
// problem naming its key.
func TestWebhooksConfig(t *testing.T) {
	c, err := Load(writeYAML(t, "webhooks:\n  enabled: true\n  max_failures: 3\n  hooks:\n    - callback: https://app.example.com/hooks\n      events: [user, email.send]\n      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Webhooks.Enabled, true)
	eq(t, c.Webhooks.MaxFailures, 3)
	eq(t, c.Webhooks.Hooks, []WebhookHook{{Callback: "https://app.example.com/hooks", Events: []string{"user", "email.send"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})

	c, err = Load("", []string{`WEBHOOKS_HOOKS=[{"callback":"http://127.0.0.1:9/h","events":["session.delete"]}]`, "WEBHOOKS_ENABLED=true"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Webhooks.Hooks, []WebhookHook{{Callback: "http://127.0.0.1:9/h", Events: []string{"session.delete"}}})

	ps := problemsOf(t, func() error {
		_, err := Load(writeYAML(t, "webhooks:\n  max_failures: 0\n  hooks:\n    - callback: ftp://x/y\n      events: [user.logi, user.update.email]\n    - callback: https://x/y\n"), nil)
		return err
	}())
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	eq(t, keys, []string{"webhooks.hooks[0].callback", "webhooks.hooks[0].events[0]", "webhooks.hooks[1].events", "webhooks.max_failures"})
}
