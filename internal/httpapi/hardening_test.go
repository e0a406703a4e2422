package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/ratelimit"
)

// newTestAPI is an API without domain services: enough for the middleware,
// CORS, health and error paths.
func newTestAPI(opts Options) *API {
	return New(API{Opts: opts}, nil)
}

func serve(h http.Handler, method, path string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	return serveFrom(h, "", method, path, body, headers...)
}

// serveFrom is serve with the request coming from peer (host:port; ""
// keeps httptest's 192.0.2.1:1234). headers are "Name: value" lines.
func serveFrom(h http.Handler, peer, method, path string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if peer != "" {
		req.RemoteAddr = peer
	}
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCORS(t *testing.T) {
	exact := newTestAPI(Options{CORS: CORSOptions{AllowOrigins: []string{"https://example.test", "https://app.example.test/"}}}).Public()
	wild := newTestAPI(Options{CORS: CORSOptions{AllowOrigins: []string{"*"}, UnsafeWildcard: true}}).Public()
	wildNotAllowed := newTestAPI(Options{CORS: CORSOptions{AllowOrigins: []string{"*"}}}).Public()

	type want struct {
		origin      string // Access-Control-Allow-Origin; "" = absent
		credentials bool
	}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		origin string // "" = no Origin header
		want   want
	}{
		{"allowed", exact, "https://example.test", want{"https://example.test", true}},
		{"allowed, configured with trailing slash", exact, "https://app.example.test", want{"https://app.example.test", true}},
		{"suffix look-alike", exact, "https://example.test.evil.test", want{}},
		{"prefix look-alike", exact, "https://evilexample.test", want{}},
		{"other port", exact, "https://example.test:444", want{}},
		{"other scheme", exact, "http://example.test", want{}},
		{"null", exact, "null", want{}},
		// Browsers serialise origins in lower case; an upper-case Origin
		// is not from a browser and is not matched.
		{"upper case", exact, "HTTPS://EXAMPLE.TEST", want{}},
		{"trailing slash", exact, "https://example.test/", want{}},
		{"userinfo", exact, "https://example.test@evil.test", want{}},
		{"missing", exact, "", want{}},
		{"wildcard", wild, "https://anything.test", want{"*", false}},
		{"wildcard, null", wild, "null", want{}},
		{"wildcard, missing", wild, "", want{}},
		{"wildcard without unsafe flag", wildNotAllowed, "https://anything.test", want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.origin != "" {
				hdr = append(hdr, "Origin: "+tc.origin)
			}
			for _, preflight := range []bool{false, true} {
				var rec *httptest.ResponseRecorder
				if preflight {
					rec = serve(tc.h, "OPTIONS", "/passcode/login/finalize", nil, append(hdr,
						"Access-Control-Request-Method: POST",
						"Access-Control-Request-Headers: content-type, x-language")...)
				} else {
					rec = serve(tc.h, "GET", "/health/alive", nil, hdr...)
				}
				h := rec.Header()
				if got := h.Get("Access-Control-Allow-Origin"); got != tc.want.origin {
					t.Fatalf("preflight=%v: Allow-Origin = %q, want %q", preflight, got, tc.want.origin)
				}
				if got := h.Get("Access-Control-Allow-Credentials") == "true"; got != tc.want.credentials {
					t.Fatalf("preflight=%v: Allow-Credentials = %q", preflight, h.Get("Access-Control-Allow-Credentials"))
				}
				if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
					t.Fatalf("preflight=%v: Vary %q lacks Origin", preflight, h.Values("Vary"))
				}
				if tc.want.origin == "" {
					for _, k := range []string{"Access-Control-Expose-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
						if v := h.Get(k); v != "" {
							t.Fatalf("preflight=%v: %s = %q for a refused origin", preflight, k, v)
						}
					}
				}
				if preflight {
					if rec.Code != http.StatusNoContent {
						t.Fatalf("preflight status %d", rec.Code)
					}
					if tc.want.origin != "" {
						if got := h.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") || !strings.Contains(got, "DELETE") {
							t.Fatalf("Allow-Methods = %q", got)
						}
						if got := h.Get("Access-Control-Allow-Headers"); got != "content-type, x-language" {
							t.Fatalf("Allow-Headers = %q", got)
						}
						if got := h.Get("Access-Control-Max-Age"); got != "7200" {
							t.Fatalf("Max-Age = %q", got)
						}
					}
					continue
				}
				if rec.Code != http.StatusOK {
					t.Fatalf("GET status %d", rec.Code)
				}
				if tc.want.origin != "" {
					exp := h.Get("Access-Control-Expose-Headers")
					for _, name := range []string{"X-Auth-Token", "X-Session-Lifetime", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
						if !strings.Contains(exp, name) {
							t.Fatalf("Expose-Headers %q lacks %s", exp, name)
						}
					}
				}
			}
		})
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newTestAPI(Options{}).Public()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/health/alive"},
		{"GET", "/no/such/route"},
		{"PUT", "/health/alive"},
	} {
		rec := serve(h, tc.method, tc.path, nil)
		for k, v := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, k, got, v)
			}
		}
		if rec.Code >= 400 && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: error %d without Cache-Control: no-store", tc.method, tc.path, rec.Code)
		}
	}
}

// TestRequestDeadlineIs503: a backend call that outlives the request
// deadline answers 503 with the JSON error body, not a hang or an opaque
// 500; a client that cancels is not turned into 503.
func TestRequestDeadlineIs503(t *testing.T) {
	a := newTestAPI(Options{RequestTimeout: 50 * time.Millisecond})
	stalled := a.handle(func(w http.ResponseWriter, r *http.Request) error {
		<-r.Context().Done() // a query waiting for a pooled connection
		return fmt.Errorf("store: %w", r.Context().Err())
	})
	h := a.chain(stalled)
	rec := serve(h, "POST", "/passcode/login/finalize", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":503`) {
		t.Fatalf("stalled request: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("error without no-store")
	}

	// A driver error that does not wrap the context's error (SQLite's
	// "interrupted", MySQL's "invalid connection") after the deadline ran
	// out is the deadline too.
	interrupted := a.chain(a.handle(func(w http.ResponseWriter, r *http.Request) error {
		<-r.Context().Done()
		return errors.New("store: interrupted (9)")
	}))
	if rec := serve(interrupted, "POST", "/passcode/login/finalize", nil); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("driver error after the deadline: %d %s", rec.Code, rec.Body)
	}

	// A plain internal error stays an opaque 500.
	boom := a.chain(a.handle(func(w http.ResponseWriter, r *http.Request) error { return errors.New("boom") }))
	if rec := serve(boom, "GET", "/", nil); rec.Code != 500 || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("internal error: %d %s", rec.Code, rec.Body)
	}

	// Negative disables the deadline; zero means the default.
	if _, ok := requestDeadline(-1); ok {
		t.Fatal("negative timeout set a deadline")
	}
	if d, ok := requestDeadline(0); !ok || d > DefaultRequestTimeout {
		t.Fatalf("default deadline = %v, %v", d, ok)
	}
}

// requestDeadline returns how far away the deadline is that a handler
// behind withRequestTimeout(d) sees.
func requestDeadline(d time.Duration) (time.Duration, bool) {
	var left time.Duration
	var ok bool
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dl time.Time
		dl, ok = r.Context().Deadline()
		left = time.Until(dl)
	})
	serve(withRequestTimeout(d, probe), "GET", "/", nil)
	return left, ok
}

func TestBodyLimitIs413(t *testing.T) {
	a := newTestAPI(Options{MaxBodyBytes: 64})
	h := a.chain(a.handle(func(w http.ResponseWriter, r *http.Request) error {
		var v map[string]any
		if err := decodeJSON(r, &v); err != nil {
			return err
		}
		return writeJSON(w, 200, v)
	}))
	if rec := serve(h, "POST", "/", strings.NewReader(`{"a":"`+strings.Repeat("x", 100)+`"}`), "Content-Type: application/json"); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(h, "POST", "/", strings.NewReader(`{"a":"b"}`), "Content-Type: application/json"); rec.Code != 200 {
		t.Fatalf("small body: %d %s", rec.Code, rec.Body)
	}
}

// TestReadyReportsDegradedLimiter uses a real Fallback whose Redis is a
// closed port: after the first Take it is degraded, which /health/ready
// shows while staying 200.
func TestReadyReportsDegradedLimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	lim := ratelimit.NewFallback(ratelimit.NewRedis(client, "t:", []byte("0123456789abcdef")), ratelimit.NewMemory(time.Now), slog.New(slog.DiscardHandler))
	a := New(API{Limiter: lim, Ready: func(ctx context.Context) error { return nil }}, nil)
	h := a.Public()
	if rec := serve(h, "GET", "/health/ready", nil); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"ready":true}` {
		t.Fatalf("healthy: %d %s", rec.Code, rec.Body)
	}
	if res, err := lim.Take(context.Background(), "k", ratelimit.Limit{Tokens: 1, Interval: time.Minute}); err != nil || !res.Allowed {
		t.Fatalf("Take = %+v, %v", res, err)
	}
	if rec := serve(h, "GET", "/health/ready", nil); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"ready":true,"rate_limiter":"degraded"}` {
		t.Fatalf("degraded: %d %s", rec.Code, rec.Body)
	}
	a.Ready = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	if rec := serve(h, "GET", "/health/ready", nil); rec.Code != 503 || !strings.Contains(rec.Body.String(), "database unavailable") {
		t.Fatalf("database stalled: %d %s", rec.Code, rec.Body)
	}
}

// TestRateLimitKeyedByClientAddress drives a.rateLimit keyed by the client
// address (as the limited routes key it) through the real middleware and
// in-memory limiter: from an untrusted peer, rotating X-Forwarded-For /
// X-Real-IP never resets the bucket; from a trusted proxy, each forwarded
// address has its own bucket.
func TestRateLimitKeyedByClientAddress(t *testing.T) {
	limit := ratelimit.Limit{Tokens: 2, Interval: time.Minute}
	build := func(trusted ...string) http.Handler {
		var prefixes []netip.Prefix
		for _, p := range trusted {
			prefixes = append(prefixes, netip.MustParsePrefix(p))
		}
		a := New(API{Limiter: ratelimit.NewMemory(time.Now), Opts: Options{TrustedProxies: prefixes}}, slog.New(slog.DiscardHandler))
		return a.chain(a.handle(func(w http.ResponseWriter, r *http.Request) error {
			if err := a.rateLimit(w, r, limit, "test", ratelimit.Key("/t", "00000000-0000-0000-0000-000000000000", clientIP(r.Context()))); err != nil {
				return err
			}
			return writeJSON(w, 200, clientIP(r.Context()))
		}))
	}
	send := func(h http.Handler, peer string, headers ...string) *httptest.ResponseRecorder {
		return serveFrom(h, peer, "POST", "/t", nil, headers...)
	}

	untrusted := build()
	for i := range 6 {
		rec := send(untrusted, "192.0.2.7:5000",
			fmt.Sprintf("X-Forwarded-For: 203.0.113.%d", i), fmt.Sprintf("X-Real-IP: 198.51.100.%d", i))
		want := 200
		if i >= 2 {
			want = 429
		}
		if rec.Code != want {
			t.Fatalf("untrusted, request %d with a new spoofed address: %d, want %d", i+1, rec.Code, want)
		}
		if want == 429 && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}

	proxied := build("10.0.0.0/8")
	for _, client := range []string{"203.0.113.1", "203.0.113.2"} {
		for i := range 3 {
			rec := send(proxied, "10.1.2.3:443", "X-Forwarded-For: "+client+", 10.9.9.9")
			want := 200
			if i >= 2 {
				want = 429
			}
			if rec.Code != want {
				t.Fatalf("proxied client %s request %d: %d, want %d", client, i+1, rec.Code, want)
			}
			if want == 200 && !strings.Contains(rec.Body.String(), client) {
				t.Fatalf("client address = %s, want %s", rec.Body, client)
			}
		}
	}
	// X-Real-IP from the trusted proxy, no X-Forwarded-For.
	if rec := send(proxied, "10.1.2.3:443", "X-Real-IP: 198.51.100.9"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "198.51.100.9") {
		t.Fatalf("X-Real-IP via trusted proxy: %d %s", rec.Code, rec.Body)
	}
	// A trusted peer forwarding garbage is keyed by the peer itself.
	if rec := send(proxied, "10.1.2.3:443", "X-Forwarded-For: not-an-ip"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Fatalf("garbage X-Forwarded-For: %d %s", rec.Code, rec.Body)
	}
	// An unparsable hop behind trusted ones ends at the last trusted hop;
	// it never hands the decision to X-Real-IP.
	for _, xff := range []string{"not-an-ip, 10.9.9.9", "203.0.113.50, bad, 10.9.9.9"} {
		rec := send(proxied, "10.1.2.3:443", "X-Forwarded-For: "+xff, "X-Real-IP: 198.51.100.77")
		if rec.Code != 200 || strings.Contains(rec.Body.String(), "198.51.100.77") || !strings.Contains(rec.Body.String(), "10.9.9.9") {
			t.Fatalf("X-Forwarded-For %q with X-Real-IP: client %s, want 10.9.9.9", xff, rec.Body)
		}
	}
}

// Per-client limits count an IPv6 client by its /64, so rotating addresses
// inside one subscriber network gives no fresh budget.
func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"not an address":       "not an address",
	} {
		if got := clientNetwork(in); got != want {
			t.Errorf("clientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
