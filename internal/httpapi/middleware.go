package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClaims
	ctxClientIP
	ctxRoute // *string: the matched route pattern's path, set by jsonMux
)

// requestID returns the request id stored by withRequestID ("" outside a
// request).
func requestID(ctx context.Context) string {
	s, _ := ctx.Value(ctxRequestID).(string)
	return s
}

// clientIP returns the client address resolved by withClientIP.
func clientIP(ctx context.Context) string {
	s, _ := ctx.Value(ctxClientIP).(string)
	return s
}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// made of safe characters, so it cannot inject into logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// withRequestID sets X-Request-Id (the caller's when valid, else 16 random
// bytes in hex) on the response and in the context.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

// withClientIP resolves the client address: the socket peer, unless the
// peer is inside one of trusted (server.public.trusted_proxies), in which
// case X-Forwarded-For is walked from the right past trusted hops (an
// unparsable hop stops the walk at the last trusted hop), and only without
// any X-Forwarded-For is X-Real-IP believed. A spoofed header from an
// untrusted peer is ignored.
func withClientIP(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := resolveClientIP(r, trusted)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxClientIP, ip)))
	})
}

func resolveClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = peer.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a.Unmap()
	} else {
		return r.RemoteAddr
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr.String()
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		// Walk from the right (the hop our peer appended) past trusted
		// proxies. A hop that does not parse ends the walk at the last
		// trusted hop before it: what lies left of it is unverifiable, and
		// X-Real-IP (a single header anyone could have set earlier in the
		// chain) must not decide instead.
		last := addr
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return last.String()
			}
			a = a.Unmap()
			if !isTrusted(a) || i == 0 {
				return a.String()
			}
			last = a
		}
		return last.String()
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap().String()
	}
	return addr.String()
}

// clientNetwork is the part of a client address that per-client limits
// count: the address itself for IPv4, its /64 prefix for IPv6 (one
// subscriber's network, RFC 6177: a customer gets at least a /64, so
// rotating addresses inside it must not give a fresh budget). Anything
// that is not an IP address is returned as is.
func clientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// statusRecorder remembers the status written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withAccessLog logs one line per request: method, path (never the query,
// which could hold a token), status, duration in milliseconds, request id.
// Health probes are logged at debug level unless logHealth.
func withAccessLog(log *slog.Logger, logHealth bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if !logHealth && strings.HasPrefix(r.URL.Path, "/health/") {
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "request",
			"method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"request_id", requestID(r.Context()), "client_ip", clientIP(r.Context()))
	})
}

// withObserver reports every request to o (nil: no-op) with the route
// pattern jsonMux matched ("unmatched" when none did, so raw paths never
// become labels), the status written and the time taken.
func withObserver(o Observer, listener string, next http.Handler) http.Handler {
	if o == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "unmatched"
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), ctxRoute, &route)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		o.Request(listener, route, r.Method, rec.status, time.Since(start))
	})
}

// withRecover turns a panic in a handler into an opaque 500 and a log line
// with the request id; the stack never reaches the client.
func withRecover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in handler", "request_id", requestID(r.Context()), "panic", v)
				writeErrorStatus(w, r, http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withSecurityHeaders sets headers suitable for a JSON API: no sniffing, no
// framing, no referrer, and a deny-all content security policy.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Resource-Policy", "same-site")
		next.ServeHTTP(w, r)
	})
}

// withBodyLimit caps every request body at max bytes (server.max_request_body_bytes).
func withBodyLimit(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if max > 0 && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// DefaultRequestTimeout is the request deadline used when
// Options.RequestTimeout is zero.
const DefaultRequestTimeout = 10 * time.Second

// withRequestTimeout puts a deadline of d on every request's context
// (DefaultRequestTimeout when d is zero, none when d < 0). Database calls
// waiting for a pooled connection or a stalled server then fail with
// context.DeadlineExceeded, which writeError answers with 503, so no
// request waits forever.
func withRequestTimeout(d time.Duration, next http.Handler) http.Handler {
	if d == 0 {
		d = DefaultRequestTimeout
	}
	if d < 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// jsonMux wraps a ServeMux so that its own 404 and 405 answers carry the
// JSON error body (with the Allow header kept) like every other error.
func jsonMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path that is not in canonical form ("//me", "/a/../me") would be
		// answered by the mux with an HTML redirect; no route has such a
		// path, so it is not found.
		if p := r.URL.Path; p == "" || path.Clean(p) != p {
			writeErrorStatus(w, r, http.StatusNotFound, "")
			return
		}
		h, pattern := mux.Handler(r)
		if rt, ok := r.Context().Value(ctxRoute).(*string); ok && pattern != "" {
			// "GET /users/{id}" → "/users/{id}"; the method is its own label.
			_, p, _ := strings.Cut(pattern, " ")
			*rt = p
		}
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status := probe.status
		if status == 0 || status == http.StatusOK {
			status = http.StatusNotFound
		}
		writeErrorStatus(w, r, status, "")
	})
}

// headerProbe captures what the mux's fallback handler would write.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

// withRequestMeta puts the request id, client address and user agent into
// the context as inkan.RequestMeta, which every event recorded for the
// request carries.
func withRequestMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := inkan.WithRequestMeta(r.Context(), inkan.RequestMeta{
			ID: requestID(r.Context()), ClientIP: clientIP(r.Context()), UserAgent: r.UserAgent(),
		})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
