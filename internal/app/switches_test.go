package app_test

import (
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
)

// TestFeatureSwitches: passkey.enabled and email.enabled /
// email.use_for_authentication take their routes away (404 JSON);
// email_delivery.enabled false passes validation (serve then wants an
// email.send hook: TestAppDeliversMail).
func TestFeatureSwitches(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Passkey.Enabled = false })
	for _, p := range []string{"/webauthn/login/initialize", "/webauthn/registration/initialize"} {
		if r := h.do(t, "POST", p, ""); r.Status != 404 {
			t.Errorf("passkey.enabled false: POST %s = %d %s", p, r.Status, r.Body)
		}
	}
	if r := h.do(t, "POST", "/passcode/login/initialize", `{}`); r.Status != 400 {
		t.Errorf("passcodes stay on: %d %s", r.Status, r.Body)
	}

	for _, off := range []func(*config.Config){
		func(c *config.Config) { c.Email.Enabled = false; c.Email.RequireVerification = false },
		func(c *config.Config) { c.Email.UseForAuthentication = false; c.Email.RequireVerification = false },
	} {
		h := newHarness(t, off)
		for _, p := range []string{"/passcode/login/initialize", "/passcode/login/finalize"} {
			if r := h.do(t, "POST", p, `{}`); r.Status != 404 || !strings.Contains(string(r.Body), `"code":404`) {
				t.Errorf("passcodes off: POST %s = %d %s", p, r.Status, r.Body)
			}
		}
		if r := h.do(t, "POST", "/webauthn/login/initialize", ""); r.Status != 200 {
			t.Errorf("passkeys stay on: %d %s", r.Status, r.Body)
		}
	}

	c := config.Default()
	c.Email.Enabled = false
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "email.require_verification") {
		t.Errorf("passcodes off with required verification: %v", err)
	}
	c = config.Default()
	c.EmailDelivery.Enabled = false
	if err := c.Validate(); err != nil {
		t.Errorf("email_delivery.enabled false: %v", err)
	}
}

// TestIgnoredKeysAreNamed: Hanko keys inkan accepts but does not use are
// named in a warning at start, so an operator sees that e.g. webhook
// expiry does nothing.
func TestIgnoredKeysAreNamed(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.IgnoredKeys = []string{"webhooks.allow_time_expiration", "third_party.providers"}
	})
	if log := h.Log.String(); !strings.Contains(log, "webhooks.allow_time_expiration,third_party.providers") || !strings.Contains(log, `"level":"WARN"`) {
		t.Fatalf("start-up log does not warn about the ignored keys:\n%s", log)
	}
}
