package app_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
)

// TestEmailLimitHoldsThroughVerification: with required verification POST
// /emails leaves new addresses unassigned, so the limit must also hold when
// a passcode makes one of them the user's.
func TestEmailLimitHoldsThroughVerification(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Email.Limit = 2
		c.RateLimiter.Enabled = false
	})
	userID, _, token := h.signUp(t, "limit@example.test")
	bearer := "Authorization: Bearer " + token
	var ids []string
	for _, addr := range []string{"second@example.test", "third@example.test"} {
		r := h.do(t, "POST", "/emails", `{"address":"`+addr+`"}`, bearer)
		if r.Status != 200 {
			t.Fatalf("POST /emails %s: %d %s", addr, r.Status, r.Body)
		}
		var e struct{ ID string }
		r.json(t, &e)
		ids = append(ids, e.ID)
	}
	verify := func(emailID, addr string) response {
		r := h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`","email_id":"`+emailID+`"}`, bearer)
		if r.Status != 200 {
			t.Fatalf("init for %s: %d %s", addr, r.Status, r.Body)
		}
		var pc struct{ ID string }
		r.json(t, &pc)
		return h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+h.code(t, addr)+`"}`, bearer)
	}
	if r := verify(ids[0], "second@example.test"); r.Status != 200 {
		t.Fatalf("verifying the second address: %d %s", r.Status, r.Body)
	}
	if r := verify(ids[1], "third@example.test"); r.Status != 409 {
		t.Fatalf("verifying a third address with email.limit 2: %d %s, want 409", r.Status, r.Body)
	}
	r := h.do(t, "GET", "/emails", "", bearer)
	var emails []struct{ Address string }
	r.json(t, &emails)
	if len(emails) != 2 {
		t.Fatalf("GET /emails = %s, want two addresses", r.Body)
	}
}

// TestEmailLimitUnderConcurrentFinalize: five addresses verified at once
// by a user who may own two: one is accepted, four answer 409.
func TestEmailLimitUnderConcurrentFinalize(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Email.Limit = 2
		c.RateLimiter.Enabled = false
	})
	userID, _, token := h.signUp(t, "many@example.test")
	bearer := "Authorization: Bearer " + token
	type pending struct{ id, code string }
	var ps []pending
	for i := 0; i < 5; i++ {
		addr := fmt.Sprintf("many%d@example.test", i)
		r := h.do(t, "POST", "/emails", `{"address":"`+addr+`"}`, bearer)
		var e struct{ ID string }
		r.json(t, &e)
		r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`","email_id":"`+e.ID+`"}`, bearer)
		var pc struct{ ID string }
		r.json(t, &pc)
		ps = append(ps, pending{pc.ID, h.code(t, addr)})
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+p.id+`","code":"`+p.code+`"}`, bearer)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[409] != 4 {
		t.Fatalf("five concurrent verifications with email.limit 2: %v, want one 200 and four 409", statuses)
	}
	r := h.do(t, "GET", "/emails", "", bearer)
	var emails []struct{ Address string }
	r.json(t, &emails)
	if len(emails) != 2 {
		t.Fatalf("GET /emails = %s, want two addresses", r.Body)
	}
}
