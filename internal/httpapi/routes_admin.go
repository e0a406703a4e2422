package httpapi

import "net/http"

// Admin returns the admin listener's handler (Hanko API §8). The admin API
// has no authentication: bind it to a private address.
func (a *API) Admin() http.Handler {
	mux := http.NewServeMux()
	h := a.handle

	mux.Handle("GET /health/alive", h(a.alive))
	mux.Handle("GET /health/ready", h(a.ready))

	return a.chain(jsonMux(mux))
}
