package httpapi

import (
	"context"
	"net/http"
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
// (docs/compatibility.md "Discovery"), cacheable for 600 s.
func (a *API) jwks(w http.ResponseWriter, r *http.Request) error {
	b, err := a.Keys.JWKS(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=600")
	_, err = w.Write(b)
	logWriteError(a.log, err)
	return nil
}

// wellKnownConfig answers GET /.well-known/config (docs/compatibility.md "Discovery").
func (a *API) wellKnownConfig(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.Opts.WellKnown)
}
