// Command mobileflow runs the native-app sign-in flow (Hanko legacy API,
// docs/compatibility.md "Users") against a running inkan server from the terminal, the way
// an iOS or Android app would:
//
//  1. ask for an e-mail address, look the user up (POST /user) and sign up
//     when the address is unknown (POST /users);
//  2. send a one-time code (POST /passcode/login/initialize) and ask for it
//     (POST /passcode/login/finalize);
//  3. show the session and the profile (GET /me); with refresh tokens on,
//     refresh (POST /sessions/refresh) and list the signed-in devices
//     (GET /sessions);
//  4. register a passkey (POST /webauthn/registration/*) with a software
//     authenticator standing in for the phone's platform authenticator;
//  5. log out (POST /logout) and sign in again with the passkey as a
//     discoverable credential (POST /webauthn/login/*), then GET /me again.
//
// It talks to the server only through the public package
// github.com/inkan-auth/inkan/client.
//
// Usage:
//
//	go run ./examples/mobileflow [-server http://127.0.0.1:8000] [-origin http://localhost:8888] [-email jane@example.com]
//
// -origin is the WebAuthn origin the "app" puts into clientDataJSON
// (WebAuthn L3 §5.8.1). The default, http://localhost:8888, is inkan's
// default webauthn.relying_party.origins entry. A real Android app presents
// android:apk-key-hash:<base64url of its signing certificate's SHA-256>
// (print it with `inkan android-origin`); inkan accepts it when the app is
// listed in the mobile.android config section.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mobileflow:", err)
		}
		os.Exit(1)
	}
}

// tokenPrefix is how many characters of a session JWT are shown.
const tokenPrefix = 16

// run parses args, then runs the whole flow, reading the e-mail address
// (unless -email is given) and the passcode from stdin, one per line, and
// writing its progress to stdout. It returns the first failure.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("mobileflow", flag.ContinueOnError)
	fs.SetOutput(stdout)
	server := fs.String("server", "http://127.0.0.1:8000", "base URL of the inkan public API")
	origin := fs.String("origin", "http://localhost:8888",
		"WebAuthn origin the app presents (inkan's default webauthn.relying_party.origins entry; an Android app presents android:apk-key-hash:<base64url SHA-256 of its signing certificate>)")
	email := fs.String("email", "", "e-mail address to sign in with (prompted when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	f := &flow{
		c:      client.New(*server, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second})),
		auth:   webauthntest.New(),
		origin: *origin,
		in:     bufio.NewReader(stdin),
		out:    stdout,
	}
	f.say("inkan native-app flow against %s (WebAuthn origin %s)", *server, *origin)
	return f.run(ctx, *email)
}

// flow holds what one run of the flow shares between its steps.
type flow struct {
	c           *client.Client
	lastRefresh string // the refresh token held before logout
	auth        *webauthntest.Authenticator
	origin      string
	in          *bufio.Reader
	out         io.Writer
}

func (f *flow) say(format string, a ...any) {
	fmt.Fprintf(f.out, format+"\n", a...)
}

func (f *flow) step(n int, title string) {
	f.say("\n[%d] %s", n, title)
}

func (f *flow) ok(format string, a ...any) {
	f.say("    ✓ "+format, a...)
}

func (f *flow) info(format string, a ...any) {
	f.say("      "+format, a...)
}

// prompt writes label and reads one line; io.EOF before any input is
// reported as an error naming what was asked.
func (f *flow) prompt(label string) (string, error) {
	fmt.Fprintf(f.out, "    %s: ", label)
	line, err := f.in.ReadString('\n')
	line = strings.TrimSpace(line)
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s given (end of input)", label)
		}
		return "", err
	}
	return line, nil
}

func (f *flow) run(ctx context.Context, email string) error {
	// 1. Who is signing in?
	f.step(1, "E-mail address")
	var err error
	if email == "" {
		if email, err = f.prompt("E-mail address"); err != nil {
			return err
		}
	} else {
		f.info("using %s (from -email)", email)
	}
	userID, emailID, sess, err := f.findOrCreate(ctx, email)
	if err != nil {
		return err
	}

	// 2. One-time code, unless sign-up already issued a session.
	f.step(2, "Passcode")
	if sess == nil {
		if sess, err = f.passcode(ctx, userID, emailID, email); err != nil {
			return err
		}
	} else {
		f.ok("signed in by sign-up itself (server has email.require_verification: false)")
	}

	// 3. Session and profile.
	f.step(3, "Session")
	f.showSession(sess)
	if err := f.showMe(ctx, "profile"); err != nil {
		return err
	}
	// 3b. Refresh tokens and signed-in devices, when the server issues them.
	oldRefresh := f.c.RefreshToken()
	if oldRefresh != "" {
		f.say("\n[3b] Stay signed in: refresh and devices")
		if err := f.refreshAndDevices(ctx); err != nil {
			return err
		}
	} else {
		f.info("no refresh token (server without session.refresh_token.enabled in header mode)")
	}

	// 4. Passkey registration with the software authenticator.
	f.step(4, "Register a passkey")
	credID, err := f.registerPasskey(ctx)
	if err != nil {
		return err
	}

	// 5. Log out, prove the old token is dead.
	f.step(5, "Log out")
	if err := f.c.Logout(ctx); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	f.ok("logged out (POST /logout); the client forgot its token")
	old := sess.Token
	f.c.SetToken(old)
	_, err = f.c.Me(ctx)
	f.c.SetToken("")
	switch {
	case client.IsUnauthorized(err):
		f.ok("the old session token is rejected now (GET /me → 401)")
	case err == nil:
		return errors.New("the old session token still works after logout")
	default:
		return fmt.Errorf("GET /me with the old token: %w", err)
	}
	if oldRefresh != "" {
		// Logout ended the refresh token too.
		probe := client.New(f.c.BaseURL, client.WithRefreshToken(f.lastRefresh))
		_, err := probe.Refresh(ctx)
		switch {
		case client.IsUnauthorized(err):
			f.ok("its refresh token is rejected too (POST /sessions/refresh → 401)")
		case err == nil:
			return errors.New("the refresh token still works after logout")
		default:
			return fmt.Errorf("refresh after logout: %w", err)
		}
	}

	// 6. Sign in again with the passkey, no e-mail address given.
	f.step(6, "Sign in with the passkey")
	sess2, res, err := f.loginPasskey(ctx)
	if err != nil {
		return err
	}
	f.ok("signed in with passkey %s as user %s", res.CredentialID, res.UserID)
	f.showSession(sess2)
	if err := f.showMe(ctx, "profile again"); err != nil {
		return err
	}
	if res.UserID != userID {
		return fmt.Errorf("passkey login returned user %s, want %s", res.UserID, userID)
	}

	f.say("\nSummary")
	f.info("user %s <%s>", userID, email)
	f.info("signed in with an e-mailed passcode, registered passkey %s,", credID)
	f.info("logged out, and signed in again with the passkey (discoverable, no e-mail typed)")
	f.say("    ✓ flow complete")
	return nil
}

// refreshAndDevices exchanges the refresh token for new tokens (POST
// /sessions/refresh: the app does this before the JWT expires, the client
// also does it by itself) and lists the signed-in devices (GET /sessions).
func (f *flow) refreshAndDevices(ctx context.Context) error {
	f.info("refresh token received (X-Refresh-Token); an app keeps it in the Keychain / Android Keystore")
	r, err := f.c.Refresh(ctx)
	if err != nil {
		return fmt.Errorf("refreshing: %w", err)
	}
	f.ok("refreshed (POST /sessions/refresh): same session %s, new token until %s", r.SessionID, r.ExpirationTime.UTC().Format(time.RFC3339))
	f.info("refreshing possible until %s; the previous refresh token is retired", r.RefreshExpirationTime.UTC().Format(time.RFC3339))
	f.lastRefresh = f.c.RefreshToken()
	ds, err := f.c.Sessions(ctx)
	if err != nil {
		return fmt.Errorf("listing devices: %w", err)
	}
	f.ok("signed-in devices (GET /sessions): %d", len(ds))
	for _, d := range ds {
		mark := " "
		if d.Current {
			mark = "*"
		}
		ua := "unknown device"
		if d.UserAgent != nil {
			ua = *d.UserAgent
		}
		f.info("  %s %s  signed in with %s, last used %s, %s", mark, d.ID, strings.Join(d.AMR, "+"), d.LastUsed.UTC().Format(time.RFC3339), ua)
	}
	return nil
}

// findOrCreate looks the user up and signs them up when unknown (README.md "The
// mobile flow with curl" steps 1–2). It returns the e-mail id to pass to InitPasscode and,
// when sign-up issued one right away, the session.
func (f *flow) findOrCreate(ctx context.Context, email string) (userID, emailID string, sess *client.Session, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		u, err := f.c.LookupUser(ctx, email)
		if err == nil {
			f.ok("found user %s (POST /user): e-mail verified %t, has passkey %t", u.ID, u.Verified, u.HasWebauthnCredential)
			return u.ID, u.EmailID, nil, nil
		}
		if !client.IsNotFound(err) {
			return "", "", nil, fmt.Errorf("looking up %s: %w", email, err)
		}
		f.info("no user with that address yet (POST /user → 404); signing up")
		cu, err := f.c.CreateUser(ctx, email)
		if err == nil {
			f.ok("user created: %s (POST /users)", cu.UserID)
			return cu.UserID, cu.EmailID, cu.Session, nil
		}
		if !client.IsConflict(err) {
			return "", "", nil, fmt.Errorf("signing up %s: %w", email, err)
		}
		f.info("sign-up finished elsewhere meanwhile (POST /users → 409); looking up again")
	}
	return "", "", nil, fmt.Errorf("%s: user neither found nor created", email)
}

// passcode mails a code and reads it until the server accepts it or gives up
// (docs/compatibility.md "Passcodes": 401 wrong code, 410 third wrong attempt, 408 expired).
func (f *flow) passcode(ctx context.Context, userID, emailID, email string) (*client.Session, error) {
	p, err := f.c.InitPasscode(ctx, userID, emailID)
	if err != nil {
		if client.IsRateLimited(err) {
			return nil, fmt.Errorf("too many codes requested, try again later: %w", err)
		}
		return nil, fmt.Errorf("sending a passcode: %w", err)
	}
	ttl := time.Duration(p.TTL) * time.Second
	f.ok("code sent to %s (POST /passcode/login/initialize), valid for %s, until %s",
		email, ttl, p.CreatedAt.Add(ttl).UTC().Format("15:04:05 MST"))
	f.info("Where is it? With the development mailer (no email_delivery.smtp.host configured)")
	f.info("the server prints the mail in its own terminal: look for the line \"Passcode: …\".")
	f.info("Otherwise it is in the inbox of %s.", email)
	for {
		code, err := f.prompt("Code")
		if err != nil {
			return nil, err
		}
		sess, err := f.c.FinalizePasscode(ctx, p.ID, code)
		if err == nil {
			f.ok("signed in with the passcode (POST /passcode/login/finalize)")
			return sess, nil
		}
		var ae *client.APIError
		if !errors.As(err, &ae) {
			return nil, fmt.Errorf("checking the code: %w", err)
		}
		switch ae.Status {
		case http.StatusUnauthorized:
			f.info("✗ wrong code (401); try again")
		case http.StatusGone:
			return nil, fmt.Errorf("too many wrong codes (410 Gone): this passcode is dead, run again for a new one: %w", err)
		case http.StatusRequestTimeout:
			return nil, fmt.Errorf("the code has expired (408): run again for a new one: %w", err)
		case http.StatusTooManyRequests:
			return nil, fmt.Errorf("too many attempts, retry after %s: %w", ae.RetryAfter, err)
		default:
			return nil, fmt.Errorf("checking the code: %w", err)
		}
	}
}

// showSession prints how the session arrived, a prefix of its token and the
// claims read from the JWT payload.
func (f *flow) showSession(s *client.Session) {
	mode := "X-Auth-Token header"
	if s.FromCookie {
		mode = "session cookie; apps usually set session.enable_auth_token_header: true"
	}
	tok := s.Token
	if len(tok) > tokenPrefix {
		tok = tok[:tokenPrefix] + "…"
	}
	f.info("token:    %s (%d characters, via %s)", tok, len(s.Token), mode)
	if s.Lifetime > 0 {
		f.info("lifetime: %s (X-Session-Lifetime)", s.Lifetime)
	}
	c, err := decodeClaims(s.Token)
	if err != nil {
		f.info("claims:   not readable: %v", err)
		return
	}
	f.info("claims (payload decoded WITHOUT checking the signature; your backend must verify it, see package verify):")
	f.info("  sub   %s", c.Subject)
	if c.Expires > 0 {
		exp := time.Unix(c.Expires, 0).UTC()
		f.info("  exp   %s", exp.Format(time.RFC3339))
	}
	if c.Email != nil {
		f.info("  email %s (primary %t, verified %t)", c.Email.Address, c.Email.IsPrimary, c.Email.IsVerified)
	}
}

// claims are the JWT claims shown (docs/compatibility.md "Session tokens").
type claims struct {
	Subject string `json:"sub"`
	Expires int64  `json:"exp"` // NumericDate, seconds since the epoch
	Email   *struct {
		Address    string `json:"address"`
		IsPrimary  bool   `json:"is_primary"`
		IsVerified bool   `json:"is_verified"`
	} `json:"email"`
}

// decodeClaims base64url-decodes the payload of a compact JWS (RFC 7515
// §7.1) and reads its claims. It does not verify the signature.
func decodeClaims(jwt string) (*claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWT (%d parts)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return &c, nil
}

func (f *flow) showMe(ctx context.Context, what string) error {
	me, err := f.c.Me(ctx)
	if err != nil {
		return fmt.Errorf("GET /me: %w", err)
	}
	addr := "(no primary address)"
	if e := me.PrimaryEmail(); e != nil {
		addr = fmt.Sprintf("%s (verified %t)", e.Address, e.IsVerified)
	}
	f.ok("%s (GET /me): user %s, e-mail %s, %d passkey(s)", what, me.ID, addr, len(me.Passkeys))
	return nil
}

// platform are the flags a phone's platform authenticator sets: user
// verified by biometrics or screen lock, backup eligible and backed up
// (a synced passkey; WebAuthn L3 §6.1). Origin is filled in per call.
func (f *flow) platform() webauthntest.Options {
	return webauthntest.Options{Origin: f.origin, UV: true, BE: true, BS: true}
}

func (f *flow) registerPasskey(ctx context.Context) (string, error) {
	opts, err := f.c.BeginPasskeyRegistration(ctx)
	if err != nil {
		return "", fmt.Errorf("starting passkey registration: %w", err)
	}
	f.ok("creation options received (POST /webauthn/registration/initialize)")
	cred, _, err := f.auth.Register(opts, f.platform())
	if err != nil {
		return "", fmt.Errorf("software authenticator: %w", err)
	}
	f.info("software authenticator created an ES256 credential for origin %s", f.origin)
	res, err := f.c.FinishPasskeyRegistration(ctx, cred)
	if err != nil {
		return "", fmt.Errorf("finishing passkey registration: %w", err)
	}
	f.ok("passkey registered: %s (POST /webauthn/registration/finalize)", res.CredentialID)
	return res.CredentialID, nil
}

func (f *flow) loginPasskey(ctx context.Context) (*client.Session, *client.PasskeyResult, error) {
	opts, err := f.c.BeginPasskeyLogin(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("starting passkey login: %w", err)
	}
	f.ok("request options for a discoverable credential received (POST /webauthn/login/initialize)")
	assertion, err := f.auth.Login(opts, f.platform())
	if err != nil {
		return nil, nil, fmt.Errorf("software authenticator: %w", err)
	}
	f.info("software authenticator signed the challenge")
	sess, res, err := f.c.FinishPasskeyLogin(ctx, assertion)
	if err != nil {
		return nil, nil, fmt.Errorf("finishing passkey login: %w", err)
	}
	return sess, res, nil
}
