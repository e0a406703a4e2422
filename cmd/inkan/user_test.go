package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserCommands: import reads Hanko's format (a bad file is refused
// naming the entry, nothing written), export writes it back (file mode
// 0600), and a second import skips what exists.
func TestUserCommands(t *testing.T) {
	env := baseEnv(t, "sqlite")
	startServer(t, env).stop(t) // the database exists once serve has run
	dir := t.TempDir()
	good := filepath.Join(dir, "users.json")
	if err := os.WriteFile(good, []byte(`[{"user_id":"a9ae6bc8-d829-43de-b672-f50230833877",
		"emails":[{"address":"cli@example.com","is_primary":true,"is_verified":true}],
		"password":{"password":"$2a$12$mFbud0mLsD/q.WG7/9pNQemlAHs3H4o8zAv44gsUF1v1awsdqTh7."},"otp_secret":null}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"emails":[{"address":"x@example.com","is_primary":false,"is_verified":true}],"password":null,"otp_secret":null}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, env, "user", "import", bad); err == nil || !strings.Contains(err.Error(), "entry 0: emails: exactly one address must be primary") {
		t.Fatalf("import of a bad file: %v", err)
	}
	out, _, err := runCmd(t, env, "user", "import", good)
	if err != nil || !strings.Contains(out, "1 imported, 0 skipped") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, _, err = runCmd(t, env, "user", "import", good); err != nil || !strings.Contains(out, "0 imported, 1 skipped") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	exported := filepath.Join(dir, "export.json")
	if _, _, err := runCmd(t, env, "user", "export", "--output", exported); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(exported)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", st, err)
	}
	b, _ := os.ReadFile(exported)
	for _, want := range []string{`"user_id": "a9ae6bc8-d829-43de-b672-f50230833877"`, `"address": "cli@example.com"`, `"$2a$12$mFbud0mLsD`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export lacks %s:\n%s", want, b)
		}
	}
	if out, _, err := runCmd(t, env, "user", "export"); err != nil || !strings.Contains(out, "cli@example.com") {
		t.Fatalf("export to stdout: %v %s", err, out)
	}
}
