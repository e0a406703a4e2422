package app_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
)

// TestPasscodeFailureLimitAcrossNodes: wrong passcodes are capped per
// account (rate_limiter.passcode_failure_limits), counted in the database
// shared by two nodes: after the budget, finalize answers 429 with
// Retry-After on either node — even with the right code — and records a
// passcode_login_final_failed event; the user's passkey and password still
// sign in.
func TestPasscodeFailureLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	n1 := newHarness(t, func(c *config.Config) {
		c.RateLimiter.PasscodeFailureLimits = config.Limit{Tokens: 4, Interval: time.Hour}
		c.RateLimiter.PasscodeLimits = config.Limit{Tokens: 50, Interval: time.Minute} // several passcodes for one address
		c.Password.Enabled = true
		c.Session.EnableAuthTokenHeader = true
	})
	n2 := n1.peer(t)
	nodes := []*harness{n1, n2}
	address := uniqueAddress("guess")
	auth := n1.passkeyUser(t, address)
	var u struct {
		ID      string `json:"id"`
		EmailID string `json:"email_id"`
	}
	n1.do(t, "POST", "/user", `{"email":"`+address+`"}`).json(t, &u)
	ids := [2]string{u.ID, u.EmailID}
	// A password, set with a passkey session.
	r := n1.do(t, "POST", "/webauthn/login/finalize", n1.assertion(t, auth))
	if r.Status != 200 {
		t.Fatalf("passkey login: %d %s", r.Status, r.Body)
	}
	token := r.Header.Get("X-Auth-Token")
	if r := n1.do(t, "PUT", "/password", `{"user_id":"`+u.ID+`","password":"correct horse battery"}`, "Authorization: Bearer "+token); r.Status != 201 {
		t.Fatalf("set password: %d %s", r.Status, r.Body)
	}

	finalize := func(h *harness, id, code string) response {
		return h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+code+`"}`)
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "111111"
		}
		return "000000"
	}
	// Four wrong codes over two passcodes and both nodes.
	guesses := 0
	var id, code string
	for guesses < 4 {
		id = n1.initPasscodeID(t, ids)
		code = n1.code(t, address)
		for range min(2, 4-guesses) {
			if r := finalize(nodes[guesses%2], id, wrong(code)); r.Status != 401 {
				t.Fatalf("wrong code %d: %d %s", guesses+1, r.Status, r.Body)
			}
			guesses++
		}
	}
	// Spent: the right code is refused on both nodes.
	for _, h := range nodes {
		r := finalize(h, id, code)
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != 429 || strings.TrimSpace(string(r.Body)) != `{"code":429,"message":"Too Many Requests"}` || err != nil || ra < 1 || ra > 900 {
			t.Fatalf("right code with the budget spent: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	events := queryStrings(t, n1.sqlDB(t), `SELECT error || ' ' || details FROM events WHERE type = 'passcode_login_final_failed' AND actor_user_id = ? AND details LIKE '%rate_limiter.passcode_failure_limits%'`, u.ID)
	if len(events) != 2 {
		t.Fatalf("%d passcode_login_final_failed events naming the limit, want 2: %q", len(events), events)
	}
	// Other ways in still work.
	if r := n2.do(t, "POST", "/webauthn/login/finalize", n2.assertion(t, auth)); r.Status != 200 {
		t.Fatalf("passkey login with the passcode budget spent: %d %s", r.Status, r.Body)
	}
	if r := n2.do(t, "POST", "/password/login", `{"user_id":"`+u.ID+`","password":"correct horse battery"}`); r.Status != 200 {
		t.Fatalf("password login with the passcode budget spent: %d %s", r.Status, r.Body)
	}
}
