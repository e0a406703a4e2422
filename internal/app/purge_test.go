package app_test

import (
	"context"
	"testing"
	"time"
)

// TestPurgeUnfinishedSignupsAndCeremonies: anonymous writes do not stay.
// POST /users without ever finishing leaves a user and an unassigned
// address; the purge a day later removes both (and a passcode it asked
// for), while a user who finished signing up stays. A WebAuthn login
// ceremony is gone at the first purge after it expired.
func TestPurgeUnfinishedSignupsAndCeremonies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	abandoned := h.createUser(t, "abandoned@example.test")
	h.initPasscodeID(t, abandoned) // asked for a code, never used it
	finishedID, _, _ := h.signUp(t, "finished@example.test")
	for range 3 {
		if r := h.do(t, "POST", "/webauthn/login/initialize", ""); r.Status != 200 {
			t.Fatalf("webauthn init: %d %s", r.Status, r.Body)
		}
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := h.sqlDB(t).QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM webauthn_session_data`); n != 3 {
		t.Fatalf("%d ceremonies, want 3", n)
	}

	// Within the retention nothing of the sign-up goes; live ceremonies stay.
	p, err := h.App.Purge(ctx, time.Now().Add(time.Minute))
	if err != nil || p.Signups != 0 || p.Ceremonies != 0 || p.Emails != 0 {
		t.Fatalf("purge a minute later: %+v, %v", p, err)
	}
	// Just past the login timeout (10 minutes by default) the ceremonies go.
	if p, err := h.App.Purge(ctx, time.Now().Add(11*time.Minute)); err != nil || p.Ceremonies != 3 {
		t.Fatalf("purge past the ceremony timeout: %+v, %v", p, err)
	}
	// A day and more later the abandoned sign-up goes with its address.
	p, err = h.App.Purge(ctx, time.Now().Add(25*time.Hour))
	if err != nil || p.Signups != 1 || p.Emails != 1 {
		t.Fatalf("purge a day later: %+v, %v", p, err)
	}
	if n := count(`SELECT count(*) FROM users WHERE id = '` + abandoned[0] + `'`); n != 0 {
		t.Fatal("the abandoned user is still there")
	}
	if n := count(`SELECT count(*) FROM emails WHERE id = '` + abandoned[1] + `'`); n != 0 {
		t.Fatal("its unassigned address is still there")
	}
	if n := count(`SELECT count(*) FROM users WHERE id = '` + finishedID + `'`); n != 1 {
		t.Fatal("a finished sign-up was purged")
	}
	// The address is free: signing up with it again works.
	h.signUp(t, "abandoned@example.test")
}
