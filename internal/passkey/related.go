package passkey

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// MaxRelatedOriginLabels is the number of distinct registrable-domain
// labels a browser reads from a relying party's related origins list:
// WebAuthn L3 §5.11 asks clients to support at least five and recommends
// five as the limit, and §5.11.1 ("Validating Related Origins") skips every
// origin whose label would be a sixth; Chrome, Safari and Firefox use five.
// The label of an origin is the first label of its registrable domain
// (example for https://www.example.co.uk), so example.com, example.de and
// example.co.uk count once.
const MaxRelatedOriginLabels = 5

// RelatedOriginLabel returns the registrable-domain label of an http(s)
// origin (WebAuthn L3 §5.11.1 step "registrable origin label"): the first
// label of its registrable domain by the public suffix list. It fails for
// an origin that does not parse, an IP address, or a host that is itself
// a public suffix (github.io): browsers skip such entries.
func RelatedOriginLabel(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("%q is not an origin", origin)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if strings.Contains(host, ":") || strings.Trim(host, "0123456789.") == "" {
		return "", fmt.Errorf("%q has an IP address, not a registrable domain", origin)
	}
	domain, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", fmt.Errorf("%q has no registrable domain (its host is a public suffix)", origin)
	}
	label, _, _ := strings.Cut(domain, ".")
	return label, nil
}

// RelatedOriginProblem is one reason a related origins list would not work
// as configured: Index is the list position (-1 for the list as a whole).
type RelatedOriginProblem struct {
	Index   int
	Message string
}

// CheckRelatedOrigins judges a webauthn.related_origins list (whose
// entries are already known to be https origins): every origin needs a
// registrable-domain label (RelatedOriginLabel), and the list may hold at
// most MaxRelatedOriginLabels distinct labels, since browsers ignore the
// origins of any further label (WebAuthn L3 §5.11.1). Nil when it is fine.
func CheckRelatedOrigins(origins []string) []RelatedOriginProblem {
	var out []RelatedOriginProblem
	var labels []string
	seen := map[string]bool{}
	for i, o := range origins {
		label, err := RelatedOriginLabel(o)
		if err != nil {
			out = append(out, RelatedOriginProblem{Index: i, Message: err.Error()})
			continue
		}
		if !seen[label] {
			seen[label] = true
			labels = append(labels, label)
		}
	}
	if len(labels) > MaxRelatedOriginLabels {
		out = append(out, RelatedOriginProblem{Index: -1, Message: fmt.Sprintf(
			"has %d distinct registrable-domain labels (%s); browsers read at most %d and ignore the origins of the others (WebAuthn L3 §5.11.1)",
			len(labels), strings.Join(labels, ", "), MaxRelatedOriginLabels)})
	}
	return out
}

// RelatedOriginsDocument is the body of GET /.well-known/webauthn (WebAuthn
// L3 §5.11): {"origins": [...]} with the origins in the given order.
func RelatedOriginsDocument(origins []string) ([]byte, error) {
	if origins == nil {
		origins = []string{}
	}
	return json.Marshal(struct {
		Origins []string `json:"origins"`
	}{origins})
}
