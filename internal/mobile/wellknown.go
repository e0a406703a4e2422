package mobile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Paths of the association files, fixed by the platforms: no extension, no redirect allowed.
const (
	AssetLinksPath = "/.well-known/assetlinks.json"
	AASAPath       = "/.well-known/apple-app-site-association"
)

// Relations granted to every Android app in assetlinks.json: App Links (handle_all_urls) and sharing
// sign-in credentials, which Credential Manager requires for passkeys (get_login_creds).
var assetLinkRelations = []string{
	"delegate_permission/common.handle_all_urls",
	"delegate_permission/common.get_login_creds",
}

type assetStatement struct {
	Relation []string    `json:"relation"`
	Target   assetTarget `json:"target"`
}

type assetTarget struct {
	Namespace              string   `json:"namespace"`
	PackageName            string   `json:"package_name"`
	SHA256CertFingerprints []string `json:"sha256_cert_fingerprints"`
}

// AssetLinks returns the Digital Asset Links statement list served at /.well-known/assetlinks.json:
// a JSON array with one statement per app,
//
//	{"relation": ["delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"],
//	 "target": {"namespace": "android_app", "package_name": "com.example.app",
//	            "sha256_cert_fingerprints": ["AB:CD:…"]}}
//
// with fingerprints normalised to upper-case colon hex and deduplicated. No apps gives "[]". It fails like
// OriginsFor on an app without package name or fingerprints, or with a malformed fingerprint.
func AssetLinks(apps []AndroidApp) ([]byte, error) {
	stmts := make([]assetStatement, 0, len(apps))
	for i, app := range apps {
		fps, err := app.fingerprints(i)
		if err != nil {
			return nil, err
		}
		hexes := make([]string, len(fps))
		for j, fp := range fps {
			hexes[j] = FormatFingerprint(fp)
		}
		stmts = append(stmts, assetStatement{
			Relation: assetLinkRelations,
			Target:   assetTarget{Namespace: "android_app", PackageName: strings.TrimSpace(app.PackageName), SHA256CertFingerprints: hexes},
		})
	}
	return json.MarshalIndent(stmts, "", "  ")
}

// AppleAppSiteAssociation returns the apple-app-site-association document that lets the apps use the
// domain's web credentials (passkeys, AutoFill): {"webcredentials": {"apps": ["TEAMID.com.example.app", …]}},
// application identifiers in config order without duplicates. No apps gives an empty list. It fails on a
// team ID that is not 10 characters A-Z/0-9 or an empty bundle ID or one containing space or '/'.
func AppleAppSiteAssociation(apps []AppleApp) ([]byte, error) {
	ids := make([]string, 0, len(apps))
	seen := make(map[string]bool)
	for i, app := range apps {
		if !validTeamID(app.TeamID) {
			return nil, fmt.Errorf("apple app %d: team ID %q must be 10 characters A-Z, 0-9", i, app.TeamID)
		}
		if app.BundleID == "" || strings.ContainsAny(app.BundleID, " \t/") {
			return nil, fmt.Errorf("apple app %d: bundle ID %q must be a bundle identifier such as com.example.app", i, app.BundleID)
		}
		if id := app.TeamID + "." + app.BundleID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	doc := struct {
		WebCredentials struct {
			Apps []string `json:"apps"`
		} `json:"webcredentials"`
	}{}
	doc.WebCredentials.Apps = ids
	return json.MarshalIndent(doc, "", "  ")
}

func validTeamID(id string) bool {
	if len(id) != 10 {
		return false
	}
	for _, r := range id {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// document is one precomputed response: body and header values, shared read-only by all requests.
type document struct {
	status int
	header http.Header
	body   []byte
}

func newDocument(status int, cacheControl string, body []byte) *document {
	h := http.Header{
		"Content-Type":           {"application/json"},
		"Content-Length":         {strconv.Itoa(len(body))},
		"X-Content-Type-Options": {"nosniff"},
	}
	if cacheControl != "" {
		h["Cache-Control"] = []string{cacheControl}
	}
	return &document{status: status, header: h, body: body}
}

func (d *document) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range d.header {
		h[k] = v[:len(v):len(v)] // full slice: an append by later code copies instead of writing into ours
	}
	w.WriteHeader(d.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(d.body)
	}
}

var (
	notFound         = newDocument(http.StatusNotFound, "", []byte(`{"code":404,"message":"Not Found"}`))
	methodNotAllowed = newDocument(http.StatusMethodNotAllowed, "", []byte(`{"code":405,"message":"Method Not Allowed"}`))
)

// Handler serves GET and HEAD of AssetLinksPath (from android) and AASAPath (from apple) with status 200,
// Content-Type application/json, Cache-Control "public, max-age=3600" (one hour) and no redirect. Either path
// answers 404 {"code":404,"message":"Not Found"} when no app of its kind is configured, as does any other
// path; other methods get 405 {"code":405,"message":"Method Not Allowed"} with Allow: GET, HEAD.
// Bodies are built once here; it fails as AssetLinks and AppleAppSiteAssociation do.
func Handler(android []AndroidApp, apple []AppleApp) (http.Handler, error) {
	const cache = "public, max-age=3600"
	h := &handler{assetLinks: notFound, aasa: notFound}
	if len(android) > 0 {
		b, err := AssetLinks(android)
		if err != nil {
			return nil, err
		}
		h.assetLinks = newDocument(http.StatusOK, cache, b)
	}
	if len(apple) > 0 {
		b, err := AppleAppSiteAssociation(apple)
		if err != nil {
			return nil, err
		}
		h.aasa = newDocument(http.StatusOK, cache, b)
	}
	return h, nil
}

type handler struct {
	assetLinks, aasa *document
}

var allowGetHead = []string{"GET, HEAD"}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d *document
	switch r.URL.Path {
	case AssetLinksPath:
		d = h.assetLinks
	case AASAPath:
		d = h.aasa
	default:
		notFound.write(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = allowGetHead[:1:1]
		methodNotAllowed.write(w, r)
		return
	}
	d.write(w, r)
}
