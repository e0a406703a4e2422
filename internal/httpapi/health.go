package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// alive answers GET /health/alive: 200 {"alive":true} while the process runs.
func (a *API) alive(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]bool{"alive": true})
}

// readyTimeout bounds the readiness check.
const readyTimeout = 2 * time.Second

// degrader is implemented by a Limiter that can fall back to a weaker store
// (ratelimit.Fallback: Redis unreachable, in-memory limits per node).
type degrader interface{ Degraded() bool }

// readyBody is the body of GET /health/ready: Hanko's {"ready":true}, plus
// "rate_limiter":"degraded" while the shared (Redis) rate-limit store is
// unreachable and this node counts limits in memory only.
type readyBody struct {
	Ready       bool   `json:"ready"`
	RateLimiter string `json:"rate_limiter,omitempty"`
}

// ready answers GET /health/ready: 200 {"ready":true} when the database
// answers within readyTimeout (2 s), else 503 "database unavailable" (inkan
// checks the database, Hanko does not). A degraded rate limiter keeps the
// node ready (it still limits, per node) but is reported in the body.
func (a *API) ready(w http.ResponseWriter, r *http.Request) error {
	if a.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := a.Ready(ctx); err != nil {
			return inkan.Wrap(inkan.KindUnavailable, "database unavailable", err)
		}
	}
	body := readyBody{Ready: true}
	if d, ok := a.Limiter.(degrader); ok && d.Degraded() {
		body.RateLimiter = "degraded"
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, body)
}

// jwks answers GET /.well-known/jwks.json with every published public key
// (docs/compatibility.md "Discovery"), cacheable for 600 s, with a strong
// ETag; 304 without a body when If-None-Match names it (RFC 9110 §13.1.2).
// The document is encoded once per key-set change (keys.EncodedJWKS).
func (a *API) jwks(w http.ResponseWriter, r *http.Request) error {
	b, etag, err := a.Keys.EncodedJWKS(r.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=600")
	h.Set("ETag", etag)
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	_, err = w.Write(b)
	logWriteError(a.log, err)
	return nil
}

// noneMatch reports whether an If-None-Match field (its lines, each a
// comma-separated list of entity tags, or "*") names etag, with the weak
// comparison RFC 9110 §13.1.2 prescribes for it (W/ ignored). A malformed
// field matches nothing: the full answer is sent.
func noneMatch(lines []string, etag string) bool {
	for _, line := range lines {
		for _, t := range strings.Split(line, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// wellKnownConfig answers GET /.well-known/config (docs/compatibility.md "Discovery").
func (a *API) wellKnownConfig(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.Opts.WellKnown)
}
