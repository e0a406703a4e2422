package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// adminOpenPaths are the admin routes that need no API key: the probes of
// orchestrators and load balancers.
var adminOpenPaths = map[string]bool{"/health/alive": true, "/health/ready": true}

// withAdminAuth requires "Authorization: Bearer <key>" with one of keys
// (server.admin.api_keys) on every admin path except adminOpenPaths, and
// answers 401 {"code":401,"message":"Unauthorized"} (WWW-Authenticate:
// Bearer, RFC 6750 §3) otherwise — unknown paths included, so that the
// route table is not revealed. The presented key and every configured key
// are compared as SHA-256 digests with subtle.ConstantTimeCompare, all of
// them on every request, so neither a key's content nor its length nor
// which key matched shows in the timing. No keys: every request passes.
func withAdminAuth(keys []string, next http.Handler) http.Handler {
	if len(keys) == 0 {
		return next
	}
	digests := make([][sha256.Size]byte, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if adminOpenPaths[r.URL.Path] || validAdminKey(digests, r.Header.Get("Authorization")) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="inkan admin"`)
		writeErrorStatus(w, r, http.StatusUnauthorized, "")
	})
}

// validAdminKey reports whether the Authorization header value carries a
// Bearer token whose digest equals one of digests.
func validAdminKey(digests [][sha256.Size]byte, header string) bool {
	if len(header) < 7 || !strings.EqualFold(header[:7], "bearer ") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(header[7:])))
	match := 0
	for i := range digests {
		match |= subtle.ConstantTimeCompare(got[:], digests[i][:])
	}
	return match == 1
}

// withAdminMeta marks the request's inkan.RequestMeta as the admin API's,
// so that the events of admin changes carry the detail "api": "admin".
func withAdminMeta(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := inkan.RequestMetaFrom(r.Context())
		m.API = "admin"
		next.ServeHTTP(w, r.WithContext(inkan.WithRequestMeta(r.Context(), m)))
	})
}
