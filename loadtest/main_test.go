package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
)

// TestEveryScenario runs each scenario briefly against a real inkan node
// (SQLite, SMTP to the load generator's own sink, passkeys from the
// software authenticator) and checks that every iteration succeeded, the
// steps are the documented ones, and the JSON report holds the runs.
func TestEveryScenario(t *testing.T) {
	// The sink's port must be known before the node starts: take a free one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := l.Addr().(*net.TCPAddr)
	l.Close()

	cfg := config.Default()
	cfg.Database.Database = dbtest.Options(t, "sqlite").DSN
	cfg.Session.EnableAuthTokenHeader = true
	cfg.RateLimiter.Enabled = false
	cfg.EmailDelivery.SMTP.Host = "127.0.0.1"
	cfg.EmailDelivery.SMTP.Port = strconv.Itoa(smtpAddr.Port)
	off := false
	cfg.EmailDelivery.SMTP.ImplicitTLS = &off
	cfg.AuditLog.ConsoleOutput.Enabled = false
	cfg.Webauthn.RelyingParty.ID = "localhost"
	cfg.Webauthn.RelyingParty.Origins = []string{"http://localhost:8888"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.PublicHandler())
	t.Cleanup(func() { srv.Close(); a.Close() })

	out := filepath.Join(t.TempDir(), "runs.json")
	var table strings.Builder
	err = run([]string{"-target", srv.URL, "-concurrency", "1,2", "-duration", "150ms", "-repetitions", "2",
		"-smtp-listen", smtpAddr.String(), "-server-pid", strconv.Itoa(os.Getpid()), "-json", out}, &table)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	var report struct {
		Runs      []Run
		Summaries []Summary
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Runs) != len(scenarios)*2*2 || len(report.Summaries) != len(scenarios)*2 {
		t.Fatalf("%d runs and %d summaries, want %d and %d", len(report.Runs), len(report.Summaries), len(scenarios)*4, len(scenarios)*2)
	}
	wantSteps := map[string][]string{
		"signup":   {"POST /users"},
		"lookup":   {"POST /user"},
		"me":       {"GET /me"},
		"jwks":     {"GET /.well-known/jwks.json"},
		"passcode": {"POST /passcode/login/initialize", "POST /passcode/login/finalize"},
		"passkey": {"POST /webauthn/registration/initialize", "POST /webauthn/registration/finalize",
			"POST /webauthn/login/initialize", "POST /webauthn/login/finalize", "DELETE /webauthn/credentials/{id}"},
	}
	for _, r := range report.Runs {
		if r.Iterations == 0 || r.FailedIters != 0 {
			t.Errorf("%s c=%d: %d iterations, %d failed", r.Scenario, r.Concurrency, r.Iterations, r.FailedIters)
		}
		var steps []string
		for _, s := range r.Steps {
			steps = append(steps, s.Step)
			if s.Errors != 0 || s.Requests < r.Iterations || s.P50ms <= 0 || s.P50ms > s.P90ms || s.P90ms > s.P99ms {
				t.Errorf("%s c=%d %s: %+v", r.Scenario, r.Concurrency, s.Step, s)
			}
		}
		if strings.Join(steps, ",") != strings.Join(wantSteps[r.Scenario], ",") {
			t.Errorf("%s: steps %q, want %q", r.Scenario, steps, wantSteps[r.Scenario])
		}
		if r.Server == nil || r.Server.CPUPercent <= 0 || r.Server.MaxRSSMiB <= 0 || r.Server.Error != "" {
			t.Errorf("%s: server use %+v", r.Scenario, r.Server)
		}
	}
	if !strings.Contains(table.String(), "iterations/s") {
		t.Errorf("no table:\n%s", table.String())
	}
}

// TestLoopbackOnly: a non-loopback target is refused unless -allow-host
// names its host.
func TestLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		target, allow string
		ok            bool
	}{
		{"http://127.0.0.1:8000", "", true},
		{"http://[::1]:8000", "", true},
		{"http://localhost:8000", "", true},
		{"http://192.0.2.1:8000", "", false},
		{"http://192.0.2.1:8000", "192.0.2.1", true},
		{"http://192.0.2.1:8000", "192.0.2.2", false},
		{"ftp://127.0.0.1", "", false},
	} {
		err := checkTarget(c.target, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("checkTarget(%q, %q) = %v", c.target, c.allow, err)
		}
	}
	if err := run([]string{"-target", "http://192.0.2.1:8000", "-duration", "1ms"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-allow-host") {
		t.Errorf("run against a non-loopback target: %v", err)
	}
}

// TestMailCode: the sink finds the code in plain, quoted-printable and
// multipart messages.
func TestMailCode(t *testing.T) {
	for name, raw := range map[string]string{
		"plain": "Subject: x\r\nContent-Type: text/plain\r\n\r\nYour code is 123456.\r\n",
		"qp":    "Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour code=20is 123456=\r\n.\r\n",
		"multipart": "Subject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>999999</p>\r\n" +
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nWW91ciBjb2RlIGlzIDEyMzQ1Ni4=\r\n--b--\r\n",
	} {
		if c, err := mailCode([]byte(raw)); err != nil || c != "123456" {
			t.Errorf("%s: %q, %v", name, c, err)
		}
	}
	if _, err := mailCode([]byte("Subject: x\r\n\r\nno code here\r\n")); err == nil {
		t.Error("a message without a code gave one")
	}
}
