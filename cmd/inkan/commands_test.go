package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the inkan command line with env and returns stdout, stderr
// and the error.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), args, environ, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// TestMigrateCommands: serve refuses a schema that is behind when
// auto-migrate is off and names the command; migrate up/status/down/up
// manage it; serve then starts.
func TestMigrateCommands(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			env := baseEnv(t, dialect)
			env["DATABASE_AUTO_MIGRATE"] = "false"
			env["SECRETS_KEYS"] = "a-test-secret-that-is-long-enough"

			_, _, err := runCmd(t, env, "serve")
			if err == nil || !strings.Contains(err.Error(), "inkan migrate up") {
				t.Fatalf("serve on an empty schema: %v, want a hint to run `inkan migrate up`", err)
			}
			out, _, err := runCmd(t, env, "migrate", "status")
			if err != nil || !strings.Contains(out, "pending") || strings.Contains(out, "applied") {
				t.Fatalf("status before up: %v\n%s", err, out)
			}
			out, _, err = runCmd(t, env, "migrate", "up")
			if err != nil || !strings.Contains(out, "applied 0001") {
				t.Fatalf("migrate up: %v\n%s", err, out)
			}
			out, _, err = runCmd(t, env, "migrate", "up")
			if err != nil || !strings.Contains(out, "up to date") {
				t.Fatalf("second migrate up: %v\n%s", err, out)
			}
			out, _, err = runCmd(t, env, "migrate", "status")
			if err != nil || strings.Contains(out, "pending") {
				t.Fatalf("status after up: %v\n%s", err, out)
			}
			n := strings.Count(out, "applied")
			out, _, err = runCmd(t, env, "migrate", "down", "--steps", "100", "--yes")
			if err != nil || strings.Count(out, "reverted") != n {
				t.Fatalf("migrate down: %v\n%s", err, out)
			}
			if _, _, err = runCmd(t, env, "migrate", "up"); err != nil {
				t.Fatal(err)
			}
			startServer(t, env) // now it starts
		})
	}
}

// TestConfigCheck reports every problem of a file at once, each naming its
// key, and accepts a good file.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`
session:
  lifespan: soon
  cookie:
    same_site: sometimes
email:
  passcode_ttl: -5
webauthn:
  relying_party:
    origins: ["ftp://nope"]
no_such_section: true
`), 0o600)
	_, _, err := runCmd(t, nil, "config", "check", bad)
	if err == nil {
		t.Fatal("a bad file passed config check")
	}
	for _, key := range []string{"session.lifespan", "session.cookie.same_site", "email.passcode_ttl", "webauthn.relying_party.origins", "no_such_section"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("config check output does not name %s:\n%v", key, err)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("session:\n  enable_auth_token_header: true\n"), 0o600)
	out, _, err := runCmd(t, nil, "config", "check", good)
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("good file: %v %s", err, out)
	}
	if out, _, err := runCmd(t, nil, "--config", good, "config", "check"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("config check with --config: %v %s", err, out)
	}
	if _, _, err := runCmd(t, nil, "config", "check"); err == nil {
		t.Fatal("config check without a file passed")
	}

	// serve with a bad file stops with a message naming the key.
	_, _, err = runCmd(t, map[string]string{"SESSION_LIMIT": "0"}, "serve")
	if err == nil || !strings.Contains(err.Error(), "session.limit") {
		t.Fatalf("serve with session.limit 0: %v", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, err := runCmd(t, nil, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"serve", "migrate", "config", "jwk", "version"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help does not list %s", c)
		}
	}
	if out, _, err := runCmd(t, nil, "version"); err != nil || !strings.HasPrefix(out, "inkan ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

// TestJWKCommands: list shows the generated key as the signer; rotate adds
// one that signs while the first stays published.
func TestJWKCommands(t *testing.T) {
	env := baseEnv(t, "sqlite")
	startServer(t, env).stop(t) // the database and its secret exist once serve has run
	out, _, err := runCmd(t, env, "jwk", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "RS256") || !strings.Contains(lines[1], "true") {
		t.Fatalf("jwk list on a database serve created:\n%s", out)
	}
	first := strings.Fields(lines[1])[0]
	out, _, err = runCmd(t, env, "jwk", "rotate")
	if err != nil || !strings.HasPrefix(out, "new signing key ") {
		t.Fatalf("jwk rotate: %v %s", err, out)
	}
	out, _, err = runCmd(t, env, "jwk", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("jwk list after rotate:\n%s", out)
	}
	var second string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		signing, published, revoked := f[len(f)-3], f[len(f)-2], f[len(f)-1]
		if f[0] == first && (signing != "false" || published != "true" || revoked != "false") {
			t.Errorf("the old key must verify, not sign: %s", l)
		}
		if f[0] != first && (signing != "true" || published != "true" || revoked != "false") {
			t.Errorf("the new key must sign: %s", l)
		}
		if f[0] != first {
			second = f[0]
		}
	}

	// Revoking the signing key makes a third key sign; the revoked one is
	// listed as such, neither signing nor published.
	out, _, err = runCmd(t, env, "jwk", "revoke", second)
	if err != nil || strings.TrimSpace(out) != "revoked signing key "+second {
		t.Fatalf("jwk revoke: %v %s", err, out)
	}
	out, _, _ = runCmd(t, env, "jwk", "list")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasSuffix(strings.Join(strings.Fields(lines[2]), " "), "false false true") ||
		!strings.HasSuffix(strings.Join(strings.Fields(lines[3]), " "), "true true false") {
		t.Fatalf("jwk list after revoke:\n%s", out)
	}
	if _, _, err := runCmd(t, env, "jwk", "revoke", "no-such-kid"); err == nil {
		t.Fatal("revoking an unknown kid succeeded")
	}
}
