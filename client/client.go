// Package client is a Go client for the public API of inkan, a Hanko-compatible
// passwordless authentication server (Hanko legacy REST API, docs/compatibility.md "Users").
// It imports nothing but the standard library, so it can be used from gomobile
// bindings, CLIs and tests alike.
//
// The native-app flow (docs/compatibility.md "Users") is a sequence of calls:
//
//  1. [Client.LookupUser] (POST /user); a 404 ([IsNotFound]) means a new user, so
//  2. [Client.CreateUser] (POST /users); a 409 ([IsConflict]) means someone
//     finished sign-up meanwhile: look the user up again;
//  3. [Client.InitPasscode] (POST /passcode/login/initialize), with the e-mail id
//     when the user has no verified address yet (fresh sign-up);
//  4. [Client.FinalizePasscode] (POST /passcode/login/finalize) with the code the
//     user typed: the client now holds a session token;
//  5. optionally [Client.BeginPasskeyRegistration] → platform API →
//     [Client.FinishPasskeyRegistration], and later [Client.BeginPasskeyLogin] →
//     platform API → [Client.FinishPasskeyLogin] to sign in without a code;
//  6. [Client.Me] for the profile, [Client.Logout] to end the session.
//
// # Session tokens
//
// A login response carries the session JWT either in the X-Auth-Token header
// (server option session.enable_auth_token_header, typical for apps) or in a
// Set-Cookie named "hanko" (cookie mode; the name is set with
// [WithCookieName]). The client reads both and keeps the token; every later
// request sends it as "Authorization: Bearer <jwt>" (docs/compatibility.md "Authentication", "Session transport").
// A deletion cookie (empty value or Max-Age=0) sent by the server clears it.
// The token is guarded by a mutex: one Client may be shared by goroutines.
//
// # Errors
//
// A non-2xx response becomes an [*APIError] carrying the HTTP status and the
// server's {"code","message"} body (docs/compatibility.md "Errors"); test it with
// [errors.As] or the helpers [IsNotFound], [IsConflict], [IsUnauthorized] and
// [IsRateLimited]. Transport failures are returned as they come from net/http.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultCookieName is the session cookie name Hanko and inkan use unless
// session.cookie.name is configured (docs/compatibility.md "Session transport").
const DefaultCookieName = "hanko"

// maxBody bounds every response body the client reads (1 MiB).
const maxBody = 1 << 20

// Client calls one inkan public API. Create it with [New]; the zero value is
// not usable. Its exported fields must not be changed once requests are made.
type Client struct {
	// BaseURL is the public API's root, e.g. "https://auth.example.com"
	// (a path prefix such as "https://example.com/auth" is kept).
	BaseURL string
	// HTTP sends the requests; http.DefaultClient unless [WithHTTPClient].
	HTTP *http.Client
	// CookieName is the session cookie read in cookie mode ("hanko").
	CookieName string

	header http.Header // extra headers sent with every request

	mu      sync.Mutex
	token   string
	refresh string // the session's refresh token ("" without one)

	refreshMu     sync.Mutex // one refresh at a time (see Refresh)
	refreshBefore time.Duration
	onTokens      func(Session)
}

// Option configures a [Client] in [New].
type Option func(*Client)

// WithHTTPClient makes the client send its requests with h (timeouts,
// transport, TLS settings). A cookie jar on h is not needed: session cookies
// are read and sent as a Bearer token by the client itself.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.HTTP = h }
}

// WithHeader adds a header sent with every request, e.g. "Origin" or
// "Accept-Language". It may be given several times, also for one key.
func WithHeader(key, value string) Option {
	return func(c *Client) { c.header.Add(key, value) }
}

// WithCookieName sets the session cookie name read in cookie mode, when the
// server's session.cookie.name is not the default "hanko".
func WithCookieName(name string) Option {
	return func(c *Client) { c.CookieName = name }
}

// WithToken starts the client with an existing session JWT (e.g. one kept in
// the platform key store since the last app start).
func WithToken(jwt string) Option {
	return func(c *Client) { c.token = jwt }
}

// WithRefreshToken starts the client with an existing refresh token (kept
// in the platform key store), so that it can refresh the session.
func WithRefreshToken(rt string) Option {
	return func(c *Client) { c.refresh = rt }
}

// WithRefreshBefore sets how long before the session JWT's exp a request
// refreshes it first (default one minute, DefaultRefreshBefore).
func WithRefreshBefore(d time.Duration) Option {
	return func(c *Client) { c.refreshBefore = d }
}

// WithOnTokens calls f with every new pair of tokens the client receives
// (a sign-in or a refresh), so the app can keep them in the platform key
// store: a refresh token works once, the previous one is retired. f runs
// on the goroutine that made the request, after the client stored them.
func WithOnTokens(f func(Session)) Option {
	return func(c *Client) { c.onTokens = f }
}

// DefaultRefreshBefore is how long before its exp a session JWT is
// refreshed when the client holds a refresh token.
const DefaultRefreshBefore = time.Minute

// New returns a client for the public API at baseURL.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		BaseURL:       strings.TrimRight(baseURL, "/"),
		HTTP:          http.DefaultClient,
		CookieName:    DefaultCookieName,
		header:        make(http.Header),
		refreshBefore: DefaultRefreshBefore,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Token returns the session JWT the client holds, or "" when logged out.
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken replaces the session JWT sent as Bearer token ("" forgets it).
func (c *Client) SetToken(jwt string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = jwt
}

// RefreshToken returns the refresh token the client holds ("" when none).
func (c *Client) RefreshToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refresh
}

// SetRefreshToken replaces the refresh token ("" forgets it).
func (c *Client) SetRefreshToken(rt string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh = rt
}

// APIError is a non-2xx answer of the server (docs/compatibility.md "Errors").
type APIError struct {
	// Status is the HTTP status code of the response.
	Status int
	// Code is the body's "code" (equal to Status on inkan and Hanko).
	Code int
	// Message is the body's "message", e.g. "passcode request timed out";
	// http.StatusText(Status) when the body is not the JSON error shape
	// (e.g. an HTML page from a proxy).
	Message string
	// RequestID is the X-Request-Id response header, to quote to the operator.
	RequestID string
	// RetryAfter is the Retry-After header of a 429 (docs/compatibility.md "Rate limits"); 0 if absent.
	RetryAfter time.Duration
	// CredentialID and RPID are set only when a passkey login was refused
	// because no user holds the credential (inkan): pass them to the
	// platform's signalUnknownCredential (WebAuthn Level 3 §5.1.10) so it
	// hides the dead passkey. CredentialID is base64url.
	CredentialID, RPID string
}

// Error returns "inkan: <status> <message>" plus the request id when known.
func (e *APIError) Error() string {
	s := fmt.Sprintf("inkan: %d %s", e.Status, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is an [*APIError] with status 404
// (e.g. POST /user for an unknown address).
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is an [*APIError] with status 409
// (e.g. POST /users for an address that already has a user).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsUnauthorized reports whether err is an [*APIError] with status 401
// (missing, expired or revoked session; wrong passcode).
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsUnknownCredential reports whether err is the refusal of a passkey login
// whose credential no user holds; the [*APIError] then carries
// CredentialID and RPID for signalUnknownCredential.
func IsUnknownCredential(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized && e.CredentialID != ""
}

// IsRateLimited reports whether err is an [*APIError] with status 429; its
// RetryAfter says when to try again.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// Session is a session issued by a login endpoint (docs/compatibility.md "Issuing a session").
type Session struct {
	// Token is the session JWT (also kept by the client and sent as Bearer).
	Token string
	// Lifetime is the X-Session-Lifetime header (sent in whole seconds); 0 if absent.
	Lifetime time.Duration
	// FromCookie is true when the token came from the session Set-Cookie
	// (cookie mode) rather than the X-Auth-Token header (header mode).
	FromCookie bool
	// RefreshToken is the X-Refresh-Token header (server option
	// session.refresh_token.enabled); "" when none was sent.
	RefreshToken string
}

// do sends one request. body, when not nil, is sent as JSON; out, when not
// nil, receives the decoded 2xx body. It returns the session the response
// carried, if any; a non-2xx answer is an *APIError.
//
// When the client holds a refresh token, an authenticated request first
// refreshes a session JWT that expires within the refresh margin, and a
// request answered 401 is sent once more after one refresh (see Refresh).
func (c *Client) do(ctx context.Context, method, path string, body, out any) (*Session, error) {
	return c.request(ctx, method, path, body, out, true)
}

// send is do; withToken false leaves the stored session token out of the
// request (a passkey-first sign-up must carry none) and never refreshes.
func (c *Client) send(ctx context.Context, method, path string, body, out any, withToken bool) (*Session, error) {
	return c.request(ctx, method, path, body, out, withToken)
}

func (c *Client) request(ctx context.Context, method, path string, body, out any, withToken bool) (*Session, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		payload = b
	}
	auto := withToken && path != refreshPath && c.RefreshToken() != ""
	if auto {
		if t := c.Token(); t != "" && expiresWithin(t, c.refreshBefore, time.Now()) {
			if err := c.refreshFrom(ctx, t); err != nil && !IsUnauthorized(err) {
				return nil, err
			}
		}
	}
	sent := c.Token()
	sess, err := c.exchange(ctx, method, path, payload, body != nil, out, withToken)
	if auto && sent != "" && IsUnauthorized(err) {
		if rerr := c.refreshFrom(ctx, sent); rerr == nil {
			return c.exchange(ctx, method, path, payload, body != nil, out, withToken)
		}
	}
	return sess, err
}

// exchange is one HTTP exchange of request; withToken sends the stored
// session token as Bearer.
func (c *Client) exchange(ctx context.Context, method, path string, payload []byte, hasBody bool, out any, withToken bool) (*Session, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if t := c.Token(); t != "" && withToken {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	sess := c.capture(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(resp, data)
	}
	if sess != nil && sess.Token != "" && c.onTokens != nil {
		c.onTokens(*sess)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return sess, fmt.Errorf("inkan: decoding %s %s response: %w", method, path, err)
		}
	}
	return sess, nil
}

// expiresWithin reports whether the JWT's exp (read, not verified) is less
// than d after now; a token whose exp cannot be read is not refreshed early.
func expiresWithin(jwt string, d time.Duration, now time.Time) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == 0 {
		return false
	}
	return time.Unix(claims.Exp, 0).Sub(now) < d
}

// capture takes a session token from X-Auth-Token (header mode) or from the
// session Set-Cookie (cookie mode) and stores it; a deletion cookie clears
// the stored token. It returns the new session, or nil.
func (c *Client) capture(resp *http.Response) *Session {
	var lifetime time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("X-Session-Lifetime")); err == nil && s > 0 {
		lifetime = time.Duration(s) * time.Second
	}
	if t := resp.Header.Get("X-Auth-Token"); t != "" {
		rt := resp.Header.Get("X-Refresh-Token")
		c.mu.Lock()
		c.token = t
		if rt != "" {
			c.refresh = rt
		}
		c.mu.Unlock()
		return &Session{Token: t, Lifetime: lifetime, RefreshToken: rt}
	}
	for _, ck := range resp.Cookies() {
		if ck.Name != c.CookieName {
			continue
		}
		if ck.Value == "" || ck.MaxAge < 0 {
			c.SetToken("")
			return nil
		}
		c.SetToken(ck.Value)
		return &Session{Token: ck.Value, Lifetime: lifetime, FromCookie: true}
	}
	return nil
}

func newAPIError(resp *http.Response, data []byte) *APIError {
	e := &APIError{
		Status:    resp.StatusCode,
		Code:      resp.StatusCode,
		Message:   http.StatusText(resp.StatusCode),
		RequestID: resp.Header.Get("X-Request-Id"),
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var body struct {
		Code         *int    `json:"code"`
		Message      *string `json:"message"`
		CredentialID string  `json:"credential_id"`
		RPID         string  `json:"rp_id"`
	}
	if json.Unmarshal(data, &body) == nil {
		if body.Code != nil {
			e.Code = *body.Code
		}
		e.CredentialID, e.RPID = body.CredentialID, body.RPID
		if body.Message != nil && *body.Message != "" {
			e.Message = *body.Message
		}
	}
	if e.Message == "" {
		e.Message = "HTTP status " + strconv.Itoa(resp.StatusCode)
	}
	return e
}

var errNoSession = errors.New("inkan: response carried no session token (neither X-Auth-Token nor session cookie)")

var errNoRefreshToken = errors.New("inkan: the client holds no refresh token")

// mustJSON encodes a map of strings, which cannot fail.
func mustJSON(v map[string]string) []byte {
	b, _ := json.Marshal(v)
	return b
}
