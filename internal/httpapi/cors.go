package httpapi

import (
	"net/http"
	"strings"
)

// corsExposed are the response headers a browser app may read (see
// docs/compatibility.md "CORS", plus X-Auth-Token and X-Refresh-Token).
const corsExposed = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Session-Lifetime, X-Auth-Token, X-Refresh-Token, X-Request-Id, Preference-Applied"

// cors applies server.public.cors: an Origin is allowed only when it equals
// a configured origin exactly (scheme, host and port; no suffix or prefix
// matching, "null" never matches). With the unsafe wildcard, any origin but
// "null" is allowed, answered with "*" and without credentials. Preflight
// requests for a route of mux are answered here (204); a preflight for a
// path or method mux does not serve goes on to next, which answers 404/405
// with the JSON body like any other request.
func (a *API) cors(mux *http.ServeMux, next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(a.Opts.CORS.AllowOrigins))
	wildcard := false
	for _, o := range a.Opts.CORS.AllowOrigins {
		if o == "*" {
			wildcard = a.Opts.CORS.UnsafeWildcard
			continue
		}
		allowed[strings.TrimSuffix(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		ok := origin != "" && origin != "null" && allowed[origin]
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		} else if wildcard && origin != "" && origin != "null" {
			h.Set("Access-Control-Allow-Origin", "*")
			ok = true
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			probe := r.Clone(r.Context())
			probe.Method = r.Header.Get("Access-Control-Request-Method")
			if _, pattern := mux.Handler(probe); pattern == "" {
				preflight = false
			}
		}
		if ok {
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		if preflight {
			if ok {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, PATCH, POST, DELETE")
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
				h.Set("Access-Control-Max-Age", "7200")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
