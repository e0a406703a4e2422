package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/mobile"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// node is a real inkan node (SQLite file, development mailer) behind an
// httptest server, with default configuration unless mutate changes it.
type node struct {
	URL    string
	Outbox *outboxtest.Buffer
}

func newNode(t *testing.T, mutate func(*config.Config)) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Database.Database = filepath.Join(t.TempDir(), "inkan.db")
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	n := &node{Outbox: &outboxtest.Buffer{}}
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard), n.Outbox)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.PublicHandler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	n.URL = srv.URL
	return n
}

// typist feeds run's stdin line by line, then closes it. The line "CODE" waits for the
// passcode mail and is replaced by its code; "WRONG" also waits for it and
// is replaced by a six-digit code that differs from it.
func typist(t *testing.T, n *node, w *io.PipeWriter, lines ...string) <-chan error {
	done := make(chan error, 1)
	seen := n.Outbox.Count("")
	go func() {
		var code string
		for _, l := range lines {
			if l == "CODE" || l == "WRONG" {
				if code == "" {
					// Bounded, so a flow that never sends a mail fails
					// the test instead of hanging it.
					if code = n.Outbox.WaitCode(t, "", seen, 10*time.Second); code == "" {
						err := errors.New("no passcode mail in the outbox")
						w.CloseWithError(err)
						done <- err
						return
					}
				}
				if l == "CODE" {
					l = code
				} else {
					l = wrongCode(code)
				}
			}
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				done <- err
				return
			}
		}
		done <- w.Close() // end of input
	}()
	return done
}

// wrongCode returns a code of the same length that differs from code in
// its first digit.
func wrongCode(code string) string {
	d := '0'
	if code[0] == '0' {
		d = '1'
	}
	return string(d) + code[1:]
}

// drive runs the program with args against n, typing lines, and returns its
// output and error.
func drive(t *testing.T, n *node, args []string, lines ...string) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	typed := typist(t, n, pw, lines...)
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"-server", n.URL}, args...), pr, &out)
	// Unblock the typist if run stopped reading early.
	pr.CloseWithError(io.ErrClosedPipe)
	if terr := <-typed; terr != nil && err == nil {
		t.Errorf("typing: %v", terr)
	}
	t.Logf("output:\n%s", out.String())
	return out.String(), err
}

// wantInOrder fails unless every step appears in out, in this order.
func wantInOrder(t *testing.T, out string, steps ...string) {
	t.Helper()
	rest := out
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q (after the previous steps)", s)
		}
		rest = rest[i+len(s):]
	}
}

var fullFlow = []string{
	"✓ user created",
	"✓ code sent to",
	"✓ signed in with the passcode",
	"token:",
	"sub   ",
	"✓ profile (GET /me)",
	"✓ passkey registered",
	"✓ logged out",
	"✓ the old session token is rejected now",
	"✓ signed in with passkey",
	"✓ profile again (GET /me)",
	"1 passkey(s)",
	"✓ flow complete",
}

func TestFlow(t *testing.T) {
	n := newNode(t, nil)
	out, err := drive(t, n, nil, "jane@example.com", "CODE")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	wantInOrder(t, out, fullFlow...)
	wantInOrder(t, out, "email jane@example.com (primary true, verified true)")
	if strings.Contains(out, "wrong code") {
		t.Error("a right code was reported as wrong")
	}
	// The token is shown as a 16-character prefix only.
	if m := regexp.MustCompile(`token:\s+(\S+)`).FindAllStringSubmatch(out, -1); len(m) != 2 {
		t.Errorf("want two token lines, got %d", len(m))
	} else {
		for _, s := range m {
			if got := []rune(s[1]); len(got) != 17 || got[16] != '…' {
				t.Errorf("token shown as %q, want 16 characters and …", s[1])
			}
		}
	}

	// A second run with the same address finds the user instead of
	// creating it, and ends with two passkeys.
	out, err = drive(t, n, []string{"-email", "jane@example.com"}, "CODE")
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	wantInOrder(t, out, "✓ found user", "e-mail verified true, has passkey true",
		"✓ signed in with the passcode", "✓ passkey registered", "✓ signed in with passkey", "2 passkey(s)", "✓ flow complete")
	if strings.Contains(out, "user created") {
		t.Error("second run created the user again")
	}
}

func TestWrongCodeThenRight(t *testing.T) {
	n := newNode(t, nil)
	out, err := drive(t, n, nil, "wrong@example.com", "WRONG", "CODE")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	wantInOrder(t, out, "✓ user created", "✗ wrong code (401)", "✓ signed in with the passcode", "✓ flow complete")
}

func TestTooManyWrongCodes(t *testing.T) {
	n := newNode(t, nil)
	out, err := drive(t, n, nil, "gone@example.com", "WRONG", "WRONG", "WRONG", "CODE")
	if err == nil || !strings.Contains(err.Error(), "410") {
		t.Fatalf("run: err = %v, want the 410 reported", err)
	}
	wantInOrder(t, out, "✗ wrong code (401)", "✗ wrong code (401)")
	if strings.Contains(out, "signed in") {
		t.Error("signed in after the passcode died")
	}
}

func TestEndOfInput(t *testing.T) {
	n := newNode(t, nil)
	_, err := drive(t, n, nil)
	if err == nil || !strings.Contains(err.Error(), "E-mail address") {
		t.Fatalf("run: err = %v, want missing e-mail reported", err)
	}
}

// An Android app presents android:apk-key-hash:… as its origin; inkan
// accepts it when the app is in the mobile.android section, without the
// origin in webauthn.relying_party.origins.
func TestAndroidOrigin(t *testing.T) {
	fp := sha256.Sum256([]byte("test signing certificate"))
	n := newNode(t, func(c *config.Config) {
		c.Mobile.Android = []config.AndroidApp{{
			PackageName:            "com.example.app",
			SHA256CertFingerprints: []string{mobile.FormatFingerprint(fp)},
		}}
	})
	origin := mobile.AndroidOrigin(fp)
	out, err := drive(t, n, []string{"-origin", origin}, "android@example.com", "CODE")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	wantInOrder(t, out, "WebAuthn origin "+origin, "✓ passkey registered", "✓ signed in with passkey", "✓ flow complete")

	// An app that is not configured is refused.
	other := sha256.Sum256([]byte("someone else's certificate"))
	_, err = drive(t, n, []string{"-origin", mobile.AndroidOrigin(other)}, "android@example.com", "CODE")
	if err == nil || !strings.Contains(err.Error(), "finishing passkey registration") {
		t.Fatalf("unknown app: err = %v, want registration refused", err)
	}
}

// With refresh tokens on (header mode), the flow refreshes, lists the
// signed-in devices and shows that logout ended the refresh token.
func TestRefreshAndDevices(t *testing.T) {
	n := newNode(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Session.RefreshToken.Enabled = true
	})
	out, err := drive(t, n, nil, "refresh@example.com", "CODE")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	wantInOrder(t, out, "[3b] Stay signed in", "refresh token received (X-Refresh-Token)",
		"✓ refreshed (POST /sessions/refresh): same session", "✓ signed-in devices (GET /sessions): 1",
		"  * ", "signed in with otp", "its refresh token is rejected too (POST /sessions/refresh → 401)", "✓ flow complete")
}
