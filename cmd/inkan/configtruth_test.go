package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/dbtest"
)

// TestCheckAndServeAgree runs `inkan config check` and `inkan serve` over a table of configurations —
// database addresses, typos, ignored Hanko keys, unsupported features — and asserts that both accept or
// both refuse each, with the same problem, that both name the ignored keys, and that a refused
// configuration writes nothing (no secret file, no database, no folder named "file:").
func TestCheckAndServeAgree(t *testing.T) {
	type tc struct {
		name    string
		yaml    string
		env     map[string]string
		problem string // "" = accepted; else a text both errors must contain
		warn    string // a key both must name as ignored
		dialect string // a server database from dbtest (skipped when its variable is unset)
	}
	cases := []tc{
		{name: "zero config", yaml: "log:\n  level: info\n"},
		{name: "sqlite file", yaml: "database:\n  database: data/x.db\n"},
		{name: "sqlite file: URI", yaml: "database:\n  url: \"file:data/x.db\"\n"},
		{name: "sqlite:// URL", yaml: "database:\n  url: sqlite://data/y.db\n"},
		{name: "sqlite bare path URL", yaml: "database:\n  url: data/z.db\n"},
		{name: "file: URI with parameters", yaml: "database:\n  url: \"file:data/x.db?mode=rwc\"\n", problem: "database.url: must be a plain sqlite file path"},
		{name: "file: alone", yaml: "database:\n  url: \"file:\"\n", problem: "database.url: names no sqlite file"},
		{name: "unsupported scheme", yaml: "database:\n  url: redis://h/0\n", problem: `database.url: has unsupported scheme "redis"`},
		{name: "unknown dialect", yaml: "database:\n  dialect: oracle\n", problem: "database.dialect: must be one of"},
		{name: "postgres URL without secret", yaml: "database:\n  url: postgres://u@127.0.0.1:1/d\n", problem: "secrets.keys: must list at least one secret with dialect postgres"},
		{name: "postgres without an SMTP host", yaml: "database:\n  url: postgres://u@127.0.0.1:1/d\nsecrets:\n  keys: [0123456789abcdef0123]\n", problem: "email_delivery.smtp.host: must be set with dialect postgres"},
		{name: "mysql URL conflicting with dialect", yaml: "database:\n  dialect: postgres\n  url: mysql://u@h/d\nsecrets:\n  keys: [0123456789abcdef0123]\n", problem: "database.url: a mysql URL conflicts"},
		{name: "mariadb URL with a bad parameter", yaml: "database:\n  url: mariadb://u@h/d?timeout=forever\nsecrets:\n  keys: [0123456789abcdef0123]\n", problem: "database.url: has a parameter the MySQL driver refuses"},
		{name: "postgres without host", yaml: "database:\n  dialect: postgres\n  host: ''\n  database: d\nsecrets:\n  keys: [0123456789abcdef0123]\n", problem: "database.host: must not be empty"},
		{name: "typo", yaml: "log:\n  formatt: json\n", problem: "log.formatt: unknown key; did you mean log.format?"},
		{name: "unknown section", yaml: "sesion:\n  lifespan: 1h\n", problem: "sesion.lifespan: unknown key; did you mean session.lifespan?"},
		{name: "ignored Hanko key", yaml: "session:\n  allow_revocation: true\n", warn: "session.allow_revocation"},
		{name: "feature turned off", yaml: "webhooks:\n  allow_time_expiration: false\n", warn: "webhooks.allow_time_expiration"},
		{name: "unsupported feature", yaml: "saml:\n  enabled: true\n", problem: "saml.enabled: SAML is not supported"},
		{name: "provider that is not built in", yaml: "third_party:\n  providers:\n    discord:\n      enabled: true\n", problem: "third_party.providers.discord.enabled: this provider is not built in"},
		{name: "provider without a client", yaml: "third_party:\n  providers:\n    github:\n      enabled: true\n", problem: "third_party.providers.github.client_id: must be set (with secret) when the provider is enabled"},
		{name: "native Sign in with Apple", yaml: "third_party:\n  providers:\n    apple:\n      enabled: true\n      id_token_audiences: [com.example.app]\n"},
		{name: "custom provider", yaml: "third_party:\n  custom_providers:\n    keycloak:\n      enabled: true\n      issuer: https://id.example.com/realms/x\n      id_token_audiences: [app]\n"},
		{name: "custom provider without an issuer", yaml: "third_party:\n  custom_providers:\n    keycloak:\n      enabled: true\n      client_id: a\n      secret: b\n", problem: "third_party.custom_providers.keycloak.issuer: must be set"},
		{name: "redis without an address", yaml: "rate_limiter:\n  store: redis\n", problem: "rate_limiter.redis.url: set it (or rate_limiter.redis.address)"},
		{name: "redis URL with a wrong scheme", yaml: "rate_limiter:\n  store: redis\n  redis:\n    url: http://h:6379\n", problem: "rate_limiter.redis.url: must start with redis://"},
		{name: "redis URL with a database", yaml: "rate_limiter:\n  store: redis\n  redis:\n    url: redis://127.0.0.1:1/4\n"},
		{name: "redis address with TLS", yaml: "rate_limiter:\n  store: redis\n  redis_config:\n    address: 127.0.0.1:1\n  redis:\n    tls: true\n"},
		{name: "TLS certificate without its key", env: map[string]string{"SERVER_PUBLIC_TLS_CERT_FILE": "/nonexistent/tls.crt"}, problem: "server.public.tls: cert_file and key_file must be set together"},
		{name: "TLS files missing", env: map[string]string{"SERVER_ADMIN_TLS_CERT_FILE": "/nonexistent/tls.crt", "SERVER_ADMIN_TLS_KEY_FILE": "/nonexistent/tls.key"}, problem: "server.admin.tls: cannot load the certificate: open /nonexistent/tls.crt"},
		{name: "related origins", yaml: "webauthn:\n  related_origins: [https://example.shop, https://shop.example.co.uk, https://example.de]\n"},
		{name: "related origin over http", yaml: "webauthn:\n  related_origins: [http://example.shop]\n", problem: "webauthn.related_origins[0]: must be an https origin"},
		{name: "related origins over the label limit", env: map[string]string{"WEBAUTHN_RELATED_ORIGINS": "https://a.example,https://b.example,https://c.example,https://d.example,https://e.example,https://f.example"}, problem: "webauthn.related_origins: has 6 distinct registrable-domain labels"},
		{name: "bad value from the environment", yaml: "log:\n  level: info\n", env: map[string]string{"DATABASE_URL": "file:x.db?cache=shared"}, problem: "database.url: must be a plain sqlite file path"},
	}
	for _, dialect := range []string{"postgres", "mysql"} {
		cases = append(cases, tc{name: dialect + " server", dialect: dialect, yaml: "secrets:\n  keys: [0123456789abcdef0123]\ndatabase:\n  dialect: " + dialect + "\n  auto_migrate: true\nemail_delivery:\n  mailer: development\n"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			file := filepath.Join(t.TempDir(), "inkan.yaml")
			body := "server:\n  public:\n    address: 127.0.0.1:0\n  admin:\n    address: 127.0.0.1:0\n" + c.yaml
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"LOG_FORMAT": "json"}
			for k, v := range c.env {
				env[k] = v
			}
			if c.dialect != "" {
				env["DATABASE_URL"] = dbtest.Options(t, c.dialect).DSN
			}
			checkOut, _, checkErr := runCmd(t, env, "config", "check", file)

			if c.problem != "" {
				_, serveLog, serveErr := runCmd(t, env, "serve", "--config", file)
				for name, err := range map[string]error{"config check": checkErr, "serve": serveErr} {
					if err == nil || !strings.Contains(err.Error(), c.problem) {
						t.Errorf("%s: got %v, want an error containing %q", name, err, c.problem)
					}
				}
				if entries, _ := os.ReadDir(dir); len(entries) > 0 {
					t.Errorf("a refused configuration wrote %s (serve log %s)", entries[0].Name(), serveLog)
				}
				return
			}
			if checkErr != nil {
				t.Fatalf("config check refused: %v", checkErr)
			}
			srv := startServerArgs(t, env, "serve", "--config", file)
			if c.warn != "" {
				if !strings.Contains(checkOut, "warning: "+c.warn) {
					t.Errorf("config check does not warn about %s:\n%s", c.warn, checkOut)
				}
				if !strings.Contains(srv.Stderr.String(), c.warn) {
					t.Errorf("serve does not warn about %s", c.warn)
				}
			}
		})
	}
}

// TestCommandsCreateNothing: the maintenance commands never create a database or a secret; they fail
// naming the missing path (and inkan.secret with the backup), and leave the folder as it was.
func TestCommandsCreateNothing(t *testing.T) {
	for _, args := range [][]string{
		{"jwk", "list"}, {"jwk", "rotate"}, {"migrate", "up"}, {"migrate", "status"}, {"migrate", "down", "--yes"}, {"user", "export"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			_, _, err := runCmd(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), "no SQLite database at data/inkan.db") {
				t.Errorf("got %v, want a refusal naming data/inkan.db", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("%v created %s", args, entries[0].Name())
			}
		})
	}

	// A database without its secret: jwk refuses and names inkan.secret and the backup; nothing new.
	dir := t.TempDir()
	t.Chdir(dir)
	env := map[string]string{"SERVER_PUBLIC_ADDRESS": "127.0.0.1:0", "SERVER_ADMIN_ADDRESS": "127.0.0.1:0", "LOG_FORMAT": "json"}
	srv := startServerArgs(t, env, "serve")
	srv.stop(t)
	secret := filepath.Join(dir, "data", "inkan.secret")
	good, err := os.ReadFile(secret)
	if err != nil {
		t.Fatalf("serve did not create the secret: %v", err)
	}
	if _, _, err := runCmd(t, env, "jwk", "list"); err != nil {
		t.Fatalf("jwk list with database and secret: %v", err)
	}
	os.Remove(secret)
	for _, args := range [][]string{{"jwk", "list"}, {"jwk", "rotate"}, {"serve"}} {
		_, _, err := runCmd(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), "inkan.secret") || !strings.Contains(err.Error(), "backup") {
			t.Errorf("%v without the secret: %v, want a message naming inkan.secret and the backup", args, err)
		}
		if _, err := os.Stat(secret); err == nil {
			t.Fatalf("%v created a new secret", args)
		}
	}
	// A wrong secret: named as such.
	os.WriteFile(secret, []byte(strings.Repeat("b", 64)+"\n"), 0o600)
	for _, args := range [][]string{{"jwk", "list"}, {"serve"}} {
		_, _, err := runCmd(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), "another secret") || !strings.Contains(err.Error(), "backup") {
			t.Errorf("%v with a wrong secret: %v", args, err)
		}
	}
	os.WriteFile(secret, good, 0o600)
	if _, _, err := runCmd(t, env, "jwk", "list"); err != nil {
		t.Errorf("jwk list with the restored secret: %v", err)
	}
}

// TestMigrateDownNeedsConfirmation: without a terminal, migrate down refuses unless --yes.
func TestMigrateDownNeedsConfirmation(t *testing.T) {
	env := baseEnv(t, "sqlite")
	if _, _, err := runCmd(t, env, "migrate", "up"); err == nil {
		t.Fatal("migrate up created a database")
	}
	startServerArgs(t, env, "serve").stop(t)
	_, _, err := runCmd(t, env, "migrate", "down")
	if err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("migrate down without --yes: %v", err)
	}
	out, _, _ := runCmd(t, env, "migrate", "status")
	if strings.Contains(out, "pending") {
		t.Fatalf("a refused migrate down changed the schema:\n%s", out)
	}
	out, _, err = runCmd(t, env, "migrate", "down", "--yes")
	if err != nil || !strings.Contains(out, "reverted") {
		t.Fatalf("migrate down --yes: %v\n%s", err, out)
	}
}

// TestUnknownSubcommandFails: a mistyped subcommand exits non-zero and suggests the right one.
func TestUnknownSubcommandFails(t *testing.T) {
	for _, args := range [][]string{{"jwk", "rotat"}, {"migrate", "upp"}, {"config", "chek"}, {"nosuch"}} {
		_, _, err := runCmd(t, nil, args...)
		if err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%v: %v, want an unknown-command error", args, err)
		}
	}
	_, _, err := runCmd(t, nil, "jwk", "rotat")
	if err == nil || !strings.Contains(err.Error(), "did you mean rotate") {
		t.Errorf("no suggestion: %v", err)
	}
	if _, _, err := runCmd(t, nil, "jwk"); err != nil {
		t.Errorf("a group without a subcommand prints its help: %v", err)
	}
}
