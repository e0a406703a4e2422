package app_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

const rpOrigin = "https://login.example.test"

// passkeyUser signs up address, registers a passkey with its own software
// authenticator, and returns the authenticator.
func (h *harness) passkeyUser(t *testing.T, address string) *webauthntest.Authenticator {
	t.Helper()
	_, _, token := h.signUp(t, address)
	r := h.do(t, "POST", "/webauthn/registration/initialize", "", "Authorization: Bearer "+token)
	if r.Status != 200 {
		t.Fatalf("registration initialize: %d %s", r.Status, r.Body)
	}
	auth := webauthntest.New()
	cred, _, err := auth.Register(r.Body, webauthntest.Options{Origin: rpOrigin, UV: true})
	if err != nil {
		t.Fatalf("authenticator Register: %v", err)
	}
	if r := h.do(t, "POST", "/webauthn/registration/finalize", string(cred), "Authorization: Bearer "+token); r.Status != 200 {
		t.Fatalf("registration finalize: %d %s", r.Status, r.Body)
	}
	return auth
}

// assertion starts a discoverable passkey login and signs it with auth.
func (h *harness) assertion(t *testing.T, auth *webauthntest.Authenticator) string {
	t.Helper()
	r := h.do(t, "POST", "/webauthn/login/initialize", "")
	if r.Status != 200 {
		t.Fatalf("login initialize: %d %s", r.Status, r.Body)
	}
	a, err := auth.Login(r.Body, webauthntest.Options{Origin: rpOrigin, UV: true})
	if err != nil {
		t.Fatalf("authenticator Login: %v", err)
	}
	return string(a)
}

// TestStallUnderPoolOf5: 200 concurrent finalize requests (100 passcode,
// 100 passkey login) against a node whose pool holds 5 connections all
// finish, each with 200 or a clear 503; none hangs. The overall deadline is
// a hang detector, not a timing assertion; the duration is logged.
func TestStallUnderPoolOf5(t *testing.T) {
	if testing.Short() {
		t.Skip("stall test skipped in -short mode")
	}
	const perKind = 100
	h := newHarness(t, func(c *config.Config) {
		c.Database.MaxOpenConns = 5
		c.Database.MaxIdleConns = 5
		c.Session.EnableAuthTokenHeader = true
		c.Log.Level = "info"
		c.RateLimiter.Enabled = false // setup sends many requests from one client
	})
	type call struct{ path, body, kind string }
	var calls []call
	for i := range perKind {
		address := fmt.Sprintf("stall-%d-%d@example.test", i, time.Now().UnixNano())
		auth := h.passkeyUser(t, address)
		id := h.initPasscodeForLogin(t, address)
		calls = append(calls,
			call{"/passcode/login/finalize", `{"id":"` + id + `","code":"` + h.code(t, address) + `"}`, "passcode"},
			call{"/webauthn/login/finalize", h.assertion(t, auth), "passkey"})
	}

	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * perKind}}
	type result struct {
		kind, status, body string
		token, cache       string
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Post(h.URL+c.path, "application/json", strings.NewReader(c.body))
			if err != nil {
				results[i] = result{kind: c.kind, status: "error: " + err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results[i] = result{kind: c.kind, status: fmt.Sprint(resp.StatusCode), body: string(b),
				token: resp.Header.Get("X-Auth-Token"), cache: resp.Header.Get("Cache-Control")}
		}()
	}
	done := make(chan struct{})
	began := time.Now()
	close(start)
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("requests still running after 3 minutes (hang):\n%s", buf[:runtime.Stack(buf, true)])
	}
	elapsed := time.Since(began)

	counts := map[string]int{}
	for _, r := range results {
		counts[r.kind+" "+r.status]++
		switch r.status {
		case "200":
			if r.token == "" || r.cache != "no-store" {
				t.Errorf("%s 200 without token or no-store (Cache-Control %q)", r.kind, r.cache)
			}
		case "503":
			if !strings.Contains(r.body, `"code":503`) || r.cache != "no-store" {
				t.Errorf("%s 503 body %q", r.kind, r.body)
			}
		default:
			t.Errorf("%s: %s %s", r.kind, r.status, r.body)
		}
	}
	var summary []string
	for k, v := range counts {
		summary = append(summary, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(summary)
	t.Logf("%d concurrent finalize requests, pool of 5: all done in %s (%s)", len(calls), elapsed.Round(time.Millisecond), strings.Join(summary, ", "))
}

// initPasscodeForLogin asks for a passcode for the existing user of
// address (looked up with POST /user).
func (h *harness) initPasscodeForLogin(t *testing.T, address string) string {
	t.Helper()
	r := h.do(t, "POST", "/user", `{"email":"`+address+`"}`)
	if r.Status != 200 {
		t.Fatalf("POST /user: %d %s", r.Status, r.Body)
	}
	var u struct {
		ID      string `json:"id"`
		EmailID string `json:"email_id"`
	}
	r.json(t, &u)
	r = h.initPasscodeFrom(t, [2]string{u.ID, u.EmailID})
	if r.Status != 200 {
		t.Fatalf("passcode init: %d %s", r.Status, r.Body)
	}
	var pc struct{ ID string }
	r.json(t, &pc)
	return pc.ID
}
