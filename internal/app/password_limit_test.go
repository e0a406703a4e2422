package app_test

import (
	"fmt"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
)

// TestPasswordGuessesLimitedPerUser: guesses at one user's password from
// ever new client addresses (through a trusted proxy) still meet
// rate_limiter.password_limits, and PUT /password is limited per user.
func TestPasswordGuessesLimitedPerUser(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Password.Enabled = true
		c.Session.EnableAuthTokenHeader = true
		c.Server.Public.TrustedProxies = []string{"127.0.0.0/8"}
		c.RateLimiter.PasswordLimits = config.Limit{Tokens: 3, Interval: 60e9}
	})
	userID, _, token := h.signUp(t, "pw@example.test")
	statuses := map[int]int{}
	for i := 0; i < 6; i++ {
		r := h.do(t, "POST", "/password/login", `{"user_id":"`+userID+`","password":"wrong-password"}`,
			fmt.Sprintf("X-Forwarded-For: 198.51.100.%d", i+1))
		statuses[r.Status]++
	}
	if statuses[401] != 3 || statuses[429] != 3 {
		t.Fatalf("6 guesses from 6 addresses: %v, want 3×401 then 3×429", statuses)
	}
	statuses = map[int]int{}
	for i := 0; i < 4; i++ {
		r := h.do(t, "PUT", "/password", `{"user_id":"`+userID+`","password":"a-long-password-`+fmt.Sprint(i)+`"}`, "Authorization: Bearer "+token)
		statuses[r.Status]++
	}
	if statuses[429] != 1 || statuses[201]+statuses[200] != 3 {
		t.Fatalf("4 password sets: %v, want 3 accepted then 429", statuses)
	}
}
