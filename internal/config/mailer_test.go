package config

import (
	"strings"
	"testing"
)

// TestMailerChoice: without an SMTP host the development mailer is used
// (on a server database app.LoadConfig refuses that unless it is asked for
// by name: see internal/app); "smtp" insists on a host.
func TestMailerChoice(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		problem    string // "" = valid
		dev        bool
	}{
		{"no host", "", "", true},
		{"host", "email_delivery:\n  smtp:\n    host: smtp.example.com\n", "", false},
		{"development by name with a host", "email_delivery:\n  mailer: development\n  smtp:\n    host: smtp.example.com\n", "", true},
		{"smtp by name without host", "email_delivery:\n  mailer: smtp\n", "email_delivery.smtp.host", false},
		{"unknown mailer", "email_delivery:\n  mailer: sendmail\n", "email_delivery.mailer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeYAML(t, tc.yaml)
			}
			c, err := Load(path, nil)
			if tc.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.DevelopmentMailer() != tc.dev {
					t.Fatalf("DevelopmentMailer() = %v, want %v", c.DevelopmentMailer(), tc.dev)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != tc.problem {
				t.Fatalf("problems %v, want one for %s", ps, tc.problem)
			}
		})
	}
}

// TestSMTPRequireTLSDefault: TLS is required unless the host is loopback
// (a local relay), and the key overrides either way.
func TestSMTPRequireTLSDefault(t *testing.T) {
	for host, want := range map[string]bool{
		"smtp.example.com": true, "192.0.2.25": true, "localhost": false, "127.0.0.1": false, "::1": false, "[::1]": false, "mail.localhost": false,
	} {
		c, err := Load("", []string{"EMAIL_DELIVERY_SMTP_HOST=" + host})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.SMTPRequireTLS(); got != want {
			t.Errorf("host %s: SMTPRequireTLS() = %v, want %v", host, got, want)
		}
	}
	for v, want := range map[string]bool{"true": true, "false": false} {
		for _, host := range []string{"smtp.example.com", "127.0.0.1"} {
			c, err := Load("", []string{"EMAIL_DELIVERY_SMTP_HOST=" + host, "EMAIL_DELIVERY_SMTP_REQUIRE_TLS=" + v})
			if err != nil || c.SMTPRequireTLS() != want {
				t.Errorf("host %s require_tls=%s: %v %v", host, v, c.SMTPRequireTLS(), err)
			}
		}
	}
	if err := (func() error { _, err := Load("", []string{"EMAIL_DELIVERY_SMTP_REQUIRE_TLS=maybe"}); return err })(); err == nil || !strings.Contains(err.Error(), "email_delivery.smtp.require_tls") {
		t.Fatalf("require_tls=maybe: %v", err)
	}
}
