package app_test

import (
	"maps"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestPasskeyLoginReplayAndCounter: a replayed assertion is 401 and a sign
// count that goes backwards is 400 through the HTTP API, and neither
// creates a session nor moves the stored counter.
func TestPasskeyLoginReplayAndCounter(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true })
	_, _, token := h.signUp(t, "replay@example.test")
	origin := webauthntest.Options{Origin: "https://login.example.test"}
	auth := webauthntest.New()
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
	cred, _, err := auth.Register(r.Body, origin)
	if err != nil {
		t.Fatal(err)
	}
	if r = h.do(t, "POST", "/webauthn/registration/finalize", string(cred), "Authorization: Bearer "+token); r.Status != 200 {
		t.Fatalf("registration: %d %s", r.Status, r.Body)
	}
	login := func(o webauthntest.Options) string {
		r := h.do(t, "POST", "/webauthn/login/initialize", "")
		a, err := auth.Login(r.Body, o)
		if err != nil {
			t.Fatal(err)
		}
		return string(a)
	}
	assertion := login(origin) // sign count 1
	if r = h.do(t, "POST", "/webauthn/login/finalize", assertion); r.Status != 200 {
		t.Fatalf("first login: %d %s", r.Status, r.Body)
	}
	before := h.snapshot(t)
	if r = h.do(t, "POST", "/webauthn/login/finalize", assertion); r.Status != 401 {
		t.Fatalf("replayed assertion: %d %s, want 401", r.Status, r.Body)
	}
	if after := h.snapshot(t); !maps.Equal(before, after) {
		t.Errorf("a replayed assertion changed the database:\nbefore %v\nafter  %v", before, after)
	}
	zero := uint32(0)
	backwards := origin
	backwards.SignCount = &zero
	stale := login(backwards)
	mid := h.snapshot(t) // after the new ceremony row; finalize must add nothing
	if r = h.do(t, "POST", "/webauthn/login/finalize", stale); r.Status != 400 {
		t.Fatalf("sign count 0 after 1: %d %s, want 400", r.Status, r.Body)
	}
	if after := h.snapshot(t); !maps.Equal(mid, after) {
		t.Errorf("a refused assertion changed the database:\nbefore %v\nafter  %v", mid, after)
	}
}
