package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/session"
)

// tokenCandidate is a session token a request carries and whether it came
// in the session cookie (which a browser attaches by itself, also to
// requests another site makes it send).
type tokenCandidate struct {
	token      string
	fromCookie bool
}

// tokenCandidates returns the session tokens a request carries, in the
// order they are tried (docs/compatibility.md "Authentication"): the Authorization Bearer value,
// then the session cookie.
func (a *API) tokenCandidates(r *http.Request) []tokenCandidate {
	var out []tokenCandidate
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		if t := strings.TrimSpace(h[7:]); t != "" {
			out = append(out, tokenCandidate{token: t})
		}
	}
	if c, err := r.Cookie(a.Opts.Cookie.Name); err == nil && c.Value != "" {
		out = append(out, tokenCandidate{token: c.Value, fromCookie: true})
	}
	return out
}

// authenticate verifies the request's session with check (Verify, which
// touches last_used, or Peek, which does not); the first candidate that
// verifies wins, so a stale header does not block a valid cookie. It
// returns KindUnauthorized when none verifies, and whether the winning
// token was the cookie.
func (a *API) authenticate(r *http.Request, check func(context.Context, string) (session.Claims, error)) (session.Claims, bool, error) {
	var last error = inkan.E(inkan.KindUnauthorized, "")
	for _, t := range a.tokenCandidates(r) {
		c, err := check(r.Context(), t.token)
		if err == nil {
			return c, t.fromCookie, nil
		}
		if inkan.KindOf(err) != inkan.KindUnauthorized {
			return session.Claims{}, false, err
		}
		last = err
	}
	return session.Claims{}, false, last
}

// requireSession wraps a handler that needs a logged-in user; the claims
// are in the context (claimsFrom). A request refused while it carried the
// session cookie (expired, idled out, logged out) also gets the deletion
// cookie (docs/compatibility.md "Authentication").
//
// A state-changing request (any method but GET, HEAD, OPTIONS)
// authenticated by the cookie must declare a JSON body (Content-Type
// application/json or +json), body or not; otherwise it is refused with
// 415 before the handler runs. A browser sends such a content type
// cross-site only after a CORS preflight, so another site cannot make a
// victim's browser log out or change the account with a plain form post,
// whatever the cookie's SameSite attribute.
func (a *API) requireSession(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, fromCookie, err := a.authenticate(r, a.Sessions.Verify)
		if err != nil {
			if _, cerr := r.Cookie(a.Opts.Cookie.Name); cerr == nil && inkan.KindOf(err) == inkan.KindUnauthorized {
				a.clearSession(w)
			}
			return err
		}
		if fromCookie && !safeMethod(r.Method) && !isJSONContentType(r.Header.Get("Content-Type")) {
			return inkan.E(inkan.KindUnsupportedMediaType, "")
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), ctxClaims, c)))
	}
}

// safeMethod reports whether method is safe (RFC 9110 §9.2.1).
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// claimsFrom returns the claims put in the context by requireSession.
func claimsFrom(ctx context.Context) session.Claims {
	c, _ := ctx.Value(ctxClaims).(session.Claims)
	return c
}

// optionalSession returns the claims of a valid session if the request
// carries one, else ok=false, without touching the session's last_used
// (the request is not made with the session; docs/compatibility.md "Passcodes" only compares
// its subject). Errors other than "unauthorized" are returned.
func (a *API) optionalSession(r *http.Request) (session.Claims, bool, error) {
	if len(a.tokenCandidates(r)) == 0 {
		return session.Claims{}, false, nil
	}
	c, _, err := a.authenticate(r, a.Sessions.Peek)
	if err != nil {
		if inkan.KindOf(err) == inkan.KindUnauthorized {
			return session.Claims{}, false, nil
		}
		return session.Claims{}, false, err
	}
	return c, true, nil
}

// deliverSession hands a new session JWT to the client (docs/compatibility.md "Issuing a session"):
// X-Session-Lifetime in whole seconds, and either X-Auth-Token (header
// mode) or the session cookie. Responses holding a token are never cached.
func (a *API) deliverSession(w http.ResponseWriter, token, refreshToken string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Session-Lifetime", strconv.FormatInt(int64(a.Opts.Lifespan.Seconds()), 10))
	if a.Opts.AuthTokenHeader {
		h.Set("X-Auth-Token", token)
		if refreshToken != "" {
			// session.refresh_token.enabled (docs/compatibility.md
			// "Refresh tokens and signed-in devices").
			h.Set("X-Refresh-Token", refreshToken)
		}
		return
	}
	c := a.cookie(token)
	if a.Opts.Cookie.Persistent {
		c.MaxAge = int(a.Opts.Lifespan.Seconds())
	}
	http.SetCookie(w, c)
}

// clearSession sets the deletion cookie: same name, domain, path and flags,
// empty value, Max-Age=0 (docs/compatibility.md "Issuing a session").
func (a *API) clearSession(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	c := a.cookie("")
	c.MaxAge = -1 // net/http writes Max-Age=0
	http.SetCookie(w, c)
}

func (a *API) cookie(value string) *http.Cookie {
	o := a.Opts.Cookie
	return &http.Cookie{
		Name:     o.Name,
		Value:    value,
		Path:     "/",
		Domain:   o.Domain,
		HttpOnly: o.HTTPOnly,
		Secure:   o.Secure,
		SameSite: o.SameSite,
	}
}
