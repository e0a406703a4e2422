package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
)

// TestSecretRotationInThreeStarts: secrets.keys [a], then [b, a], then
// [b]. Every start comes up and signs users in; a session token from the
// first start is still accepted after the third (its key was re-sealed
// under b at the second start), and a passcode mailed before the second
// start still finalizes after it.
func TestSecretRotationInThreeStarts(t *testing.T) {
	t.Parallel()
	const a, b = "secret-a-0123456789abcdef", "secret-b-0123456789abcdef"
	var dbPath string
	start := func(secrets ...string) *harness {
		t.Helper()
		h := newHarness(t, func(c *config.Config) {
			c.Secrets.Keys = secrets
			c.Session.EnableAuthTokenHeader = true
			if dbPath != "" {
				c.Database.Database = dbPath
			}
		})
		dbPath = h.Cfg.Database.Database
		return h
	}
	me := func(h *harness, token string) int {
		return h.do(t, "GET", "/me", "", "Authorization: Bearer "+token).Status
	}

	h1 := start(a)
	_, _, first := h1.signUp(t, "rotate1@example.test")
	ids := h1.createUser(t, "rotate2@example.test")
	pending := h1.initPasscodeID(t, ids)
	pendingCode := h1.code(t, "rotate2@example.test")
	h1.App.Close()

	h2 := start(b, a)
	if got := me(h2, first); got != 200 {
		t.Fatalf("start 2 ([b, a]): token of start 1: %d", got)
	}
	if r := h2.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pending+`","code":"`+pendingCode+`"}`); r.Status != 200 {
		t.Fatalf("start 2: passcode mailed under a: %d %s", r.Status, r.Body)
	}
	_, _, second := h2.signUp(t, "rotate3@example.test")
	h2.App.Close()

	h3 := start(b)
	for name, token := range map[string]string{"start 1": first, "start 2": second} {
		if got := me(h3, token); got != 200 {
			t.Fatalf("start 3 ([b]): token of %s: %d", name, got)
		}
	}
	_, _, third := h3.signUp(t, "rotate4@example.test")
	if got := me(h3, third); got != 200 {
		t.Fatalf("start 3: own token: %d", got)
	}

	// Without the re-seal at start 2, start 3 could not open the key.
	// Check the converse too: a itself no longer opens anything.
	cfg := config.Default()
	cfg.Database.Database = dbPath
	cfg.Secrets.Keys = []string{a}
	if a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard); err == nil {
		a.Close()
		t.Fatal("a start with the retired secret a alone succeeded: keys were not re-sealed under b")
	}
}
