package httpapi

import (
	"net/http"
	"strings"
)

// preferRepresentation reports whether the request asks for the
// "return=representation" preference (RFC 7240 §4.2): a Prefer header
// (any of several, comma-separated, parameters after ";" ignored, the
// token case-insensitive) holding it. When it does, the response carries
// "Preference-Applied: return=representation" (§3). Either way the
// response varies on Prefer. Operations that answer 204 by default (Hanko's
// contract, kept for existing clients) then answer 200 with a body.
func preferRepresentation(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Prefer")
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if strings.EqualFold(strings.TrimSpace(name), "return") &&
				strings.EqualFold(strings.Trim(strings.TrimSpace(value), `"`), "representation") {
				w.Header().Set("Preference-Applied", "return=representation")
				return true
			}
		}
	}
	return false
}
