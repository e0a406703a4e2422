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

// ready answers GET /health/ready: 200 {"ready":true} when the database
// answers within readyTimeout, else 503 (inkan checks the database, Hanko
// does not).
func (a *API) ready(w http.ResponseWriter, r *http.Request) error {
	if a.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := a.Ready(ctx); err != nil {
			return inkan.Wrap(inkan.KindUnavailable, "database unavailable", err)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

// jwks answers GET /.well-known/jwks.json with every published public key
// (Hanko API §2.8), cacheable for 600 s.
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

// wellKnownConfig answers GET /.well-known/config (Hanko API §2.8).
func (a *API) wellKnownConfig(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, a.Opts.WellKnown)
}
