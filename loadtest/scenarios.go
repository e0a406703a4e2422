package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// scenario is one kind of closed-loop iteration. setup runs once per
// worker before the clock starts (its requests are not measured); run is
// one iteration, its requests measured step by step.
type scenario struct {
	name  string
	about string
	setup func(ctx context.Context, w *worker) error
	run   func(ctx context.Context, w *worker) error
}

// worker is one simulated client: its HTTP side, its software
// authenticator and the account it signed in with during setup.
type worker struct {
	id    int
	cfg   *runConfig
	c     *client
	auth  *webauthntest.Authenticator
	user  ids
	email string
}

type ids struct {
	UserID  string `json:"user_id"`
	EmailID string `json:"email_id"`
}

// newAddress returns an address no earlier run used (random tag of this
// process, serial number), under the configured domain.
func (w *worker) newAddress() string {
	return fmt.Sprintf("lt-%s-%d@%s", w.cfg.tag, w.cfg.serial.Add(1), w.cfg.emailDomain)
}

func randomTag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=-_"))
}

var scenarios = []scenario{
	{name: "signup", about: "POST /users with a new address", run: func(ctx context.Context, w *worker) error {
		_, err := w.c.call(ctx, "POST /users", "POST", "/users", map[string]string{"email": w.newAddress()}, 200, nil)
		return err
	}},
	{name: "lookup", about: "POST /user for the worker's (verified) address", setup: signIn, run: func(ctx context.Context, w *worker) error {
		_, err := w.c.call(ctx, "POST /user", "POST", "/user", map[string]string{"email": w.email}, 200, nil)
		return err
	}},
	{name: "me", about: "GET /me with the worker's session", setup: signIn, run: func(ctx context.Context, w *worker) error {
		_, err := w.c.call(ctx, "GET /me", "GET", "/me", nil, 200, nil)
		return err
	}},
	{name: "jwks", about: "GET /.well-known/jwks.json", run: func(ctx context.Context, w *worker) error {
		_, err := w.c.call(ctx, "GET /.well-known/jwks.json", "GET", "/.well-known/jwks.json", nil, 200, nil)
		return err
	}},
	{name: "passcode", about: "passcode login of the worker's user: initialize, wait for the mail in the SMTP sink, finalize", setup: signIn, run: func(ctx context.Context, w *worker) error {
		_, err := passcodeLogin(ctx, w, w.c, "")
		return err
	}},
	{name: "passkey", about: "passkey round trip: register (2 requests), log in (2), delete the passkey (1)", setup: signIn, run: passkeyRoundTrip},
}

// signIn gives the worker a user with a verified address and a session:
// POST /users, then (unless the server signed the user in at once, with
// email verification off) a passcode login through the SMTP sink.
func signIn(ctx context.Context, w *worker) error {
	w.email = w.newAddress()
	resp, err := w.c.call(ctx, "setup", "POST", "/users", map[string]string{"email": w.email}, 200, &w.user)
	if err != nil {
		return err
	}
	if w.c.keepSession(resp, w.cfg.cookieName) {
		return nil
	}
	resp, err = passcodeLogin(ctx, w, w.c, "setup")
	if err != nil {
		return err
	}
	if !w.c.keepSession(resp, w.cfg.cookieName) {
		return errors.New("passcode login answered without a session (neither X-Auth-Token nor the session cookie)")
	}
	return nil
}

// passcodeLogin asks for a passcode for the worker's user and address,
// takes it from the sink and finalizes it. step "" names the steps by
// route; otherwise all requests are recorded under step.
func passcodeLogin(ctx context.Context, w *worker, c *client, step string) (*http.Response, error) {
	if w.cfg.sink == nil {
		return nil, errors.New("passcode logins need the SMTP sink (-smtp-listen) and the server's email_delivery.smtp pointed at it")
	}
	name := func(route string) string {
		if step != "" {
			return step
		}
		return route
	}
	var pc struct {
		ID string `json:"id"`
	}
	if _, err := c.call(ctx, name("POST /passcode/login/initialize"), "POST", "/passcode/login/initialize", w.user, 200, &pc); err != nil {
		return nil, err
	}
	code, err := w.cfg.sink.code(ctx, strings.ToLower(w.email))
	if err != nil {
		return nil, err
	}
	return c.call(ctx, name("POST /passcode/login/finalize"), "POST", "/passcode/login/finalize", map[string]string{"id": pc.ID, "code": code}, 200, nil)
}

// passkeyRoundTrip registers a passkey with the software authenticator,
// logs in with it (discoverable: no user named) and deletes it.
func passkeyRoundTrip(ctx context.Context, w *worker) error {
	o := webauthntest.Options{Origin: w.cfg.origin, UV: true}
	creation, err := rawCall(ctx, w.c, "POST /webauthn/registration/initialize", "/webauthn/registration/initialize", nil)
	if err != nil {
		return err
	}
	cred, _, err := w.auth.Register(creation, o)
	if err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}
	var reg struct {
		CredentialID string `json:"credential_id"`
	}
	if _, err := w.c.call(ctx, "POST /webauthn/registration/finalize", "POST", "/webauthn/registration/finalize", cred, 200, &reg); err != nil {
		return err
	}
	opts, err := rawCall(ctx, w.c, "POST /webauthn/login/initialize", "/webauthn/login/initialize", nil)
	if err != nil {
		return err
	}
	assertion, err := w.auth.Login(opts, o)
	if err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}
	resp, err := w.c.call(ctx, "POST /webauthn/login/finalize", "POST", "/webauthn/login/finalize", assertion, 200, nil)
	if err != nil {
		return err
	}
	// The new session replaces the worker's: session.limit evicts the
	// oldest of the user's sessions as logins add more.
	w.c.keepSession(resp, w.cfg.cookieName)
	_, err = w.c.call(ctx, "DELETE /webauthn/credentials/{id}", "DELETE", "/webauthn/credentials/"+reg.CredentialID, nil, 204, nil)
	return err
}

// rawCall POSTs body and returns the raw JSON answer.
func rawCall(ctx context.Context, c *client, step, path string, body any) ([]byte, error) {
	var raw jsonRaw
	_, err := c.call(ctx, step, "POST", path, body, 200, &raw)
	return raw, err
}

type jsonRaw []byte

func (j *jsonRaw) UnmarshalJSON(b []byte) error { *j = append((*j)[:0], b...); return nil }
