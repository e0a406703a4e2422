package mobile

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// fp is a fingerprint with bytes 0xfb 0xff, which base64url encodes with '-' and '_'.
var fp = [32]byte{0: 0xAB, 1: 0xCD, 30: 0xFB, 31: 0xFF}

const fpColon = "AB:CD:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:FB:FF"

func TestParseFingerprint(t *testing.T) {
	good := []string{
		fpColon,
		strings.ToLower(fpColon),
		strings.ReplaceAll(fpColon, ":", ""),
		"  " + fpColon + "\n",
		"SHA256: " + fpColon,
		"sha-256:" + strings.ReplaceAll(fpColon, ":", ""),
	}
	for _, s := range good {
		got, err := ParseFingerprint(s)
		if err != nil || got != fp {
			t.Errorf("ParseFingerprint(%q) = %x, %v; want %x", s, got, err, fp)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"SHA256:", "empty"},
		{"AB:CD", "has 2 bytes, want 32"},
		{fpColon + ":00", "has 33 bytes"},
		{strings.Repeat("AB:", 19) + "AB", "SHA-1"},
		{"ZZ" + fpColon[2:], `part 1 ("ZZ") is not two hex digits`},
		{"A:BC" + fpColon[5:], "part 1"},
		{"AB::CD" + fpColon[5:], `part 2 ("")`},
		{fpColon + ":", "part 33"},
		{strings.Repeat("0", 63), "odd number"},
		{strings.Repeat("g", 64), "not hexadecimal"},
		{strings.Repeat("00", 33), "has 33 bytes"},
		{"AB CD" + fpColon[5:], "part 1"},
	}
	for _, c := range bad {
		_, err := ParseFingerprint(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFingerprint(%q) error = %v, want it to mention %q", c.in, err, c.want)
		}
	}
}

func TestFormatFingerprint(t *testing.T) {
	if got := FormatFingerprint(fp); got != fpColon {
		t.Fatalf("FormatFingerprint = %q, want %q", got, fpColon)
	}
}

func TestAndroidOrigin(t *testing.T) {
	if got, want := AndroidOrigin([32]byte{}), "android:apk-key-hash:"+strings.Repeat("A", 43); got != want {
		t.Errorf("AndroidOrigin(zero) = %q, want %q", got, want)
	}
	got := AndroidOrigin(fp)
	if !strings.HasSuffix(got, "-_8") || strings.ContainsAny(got, "+/=") {
		t.Errorf("AndroidOrigin = %q: want unpadded base64url ending in -_8", got)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(got, AndroidOriginPrefix))
	if err != nil || !bytes.Equal(b, fp[:]) {
		t.Errorf("AndroidOrigin does not decode back: %x, %v", b, err)
	}
}

func TestOriginsFor(t *testing.T) {
	other := strings.Repeat("11", 32)
	apps := []AndroidApp{
		{PackageName: "com.example.app", SHA256CertFingerprints: []string{fpColon, strings.ToLower(fpColon)}},
		{PackageName: "com.example.app.debug", SHA256CertFingerprints: []string{other, fpColon}},
	}
	got, err := OriginsFor(apps)
	if err != nil {
		t.Fatal(err)
	}
	var o [32]byte
	for i := range o {
		o[i] = 0x11
	}
	if want := []string{AndroidOrigin(fp), AndroidOrigin(o)}; !reflect.DeepEqual(got, want) {
		t.Errorf("OriginsFor = %q, want %q", got, want)
	}
	if got, err := OriginsFor(nil); err != nil || len(got) != 0 {
		t.Errorf("OriginsFor(nil) = %q, %v", got, err)
	}
	for _, c := range []struct {
		app  AndroidApp
		want string
	}{
		{AndroidApp{PackageName: "", SHA256CertFingerprints: []string{fpColon}}, "package name"},
		{AndroidApp{PackageName: "com.example.app"}, "no sha256_cert_fingerprints"},
		{AndroidApp{PackageName: "com.example.app", SHA256CertFingerprints: []string{"AB:CD"}}, "android app 1 (com.example.app): fingerprint"},
	} {
		_, err := OriginsFor([]AndroidApp{apps[0], c.app})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OriginsFor(%+v) error = %v, want %q", c.app, err, c.want)
		}
	}
}

// jsonEqual compares two JSON documents structurally.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON = %s\nwant %s", got, want)
	}
}

var androidApps = []AndroidApp{
	{PackageName: "com.example.app", SHA256CertFingerprints: []string{strings.ToLower(fpColon), fpColon, strings.Repeat("11", 32)}},
	{PackageName: " com.example.other ", SHA256CertFingerprints: []string{fpColon}},
}

// The statement list shape of Digital Asset Links (developers.google.com/digital-asset-links, "Declare
// website associations") with the relations Credential Manager requires for passkeys.
const wantAssetLinks = `[
  {"relation": ["delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"],
   "target": {"namespace": "android_app", "package_name": "com.example.app",
              "sha256_cert_fingerprints": ["` + fpColon + `", "11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11"]}},
  {"relation": ["delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"],
   "target": {"namespace": "android_app", "package_name": "com.example.other",
              "sha256_cert_fingerprints": ["` + fpColon + `"]}}
]`

var appleApps = []AppleApp{{TeamID: "ABCDE12345", BundleID: "com.example.app"}, {TeamID: "ABCDE12345", BundleID: "com.example.app"}, {TeamID: "FGHIJ67890", BundleID: "com.example.other"}}

// Apple "Supporting associated domains": the webcredentials service lists application identifiers
// <Team ID>.<bundle ID>.
const wantAASA = `{"webcredentials": {"apps": ["ABCDE12345.com.example.app", "FGHIJ67890.com.example.other"]}}`

func TestAssetLinks(t *testing.T) {
	b, err := AssetLinks(androidApps)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, b, wantAssetLinks)
	b, err = AssetLinks(nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, b, `[]`)
	if _, err := AssetLinks([]AndroidApp{{PackageName: "com.example.app", SHA256CertFingerprints: []string{"nope"}}}); err == nil {
		t.Error("AssetLinks accepted a bad fingerprint")
	}
}

func TestAppleAppSiteAssociation(t *testing.T) {
	b, err := AppleAppSiteAssociation(appleApps)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, b, wantAASA)
	b, err = AppleAppSiteAssociation(nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, b, `{"webcredentials": {"apps": []}}`)
	for _, app := range []AppleApp{
		{TeamID: "abcde12345", BundleID: "com.example.app"},
		{TeamID: "ABCDE1234", BundleID: "com.example.app"},
		{TeamID: "ABCDE12345", BundleID: ""},
		{TeamID: "ABCDE12345", BundleID: "com example"},
	} {
		if _, err := AppleAppSiteAssociation([]AppleApp{app}); err == nil {
			t.Errorf("AppleAppSiteAssociation accepted %+v", app)
		}
	}
}

func TestHandler(t *testing.T) {
	h, err := Handler(androidApps, appleApps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	empty, err := Handler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	emptySrv := httptest.NewServer(empty)
	defer emptySrv.Close()

	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("redirected") }
	do := func(method, url string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}

	for _, c := range []struct{ path, want string }{{AssetLinksPath, wantAssetLinks}, {AASAPath, wantAASA}} {
		res, body := do(http.MethodGet, srv.URL+c.path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("GET %s: %d %q %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
		jsonEqual(t, body, c.want)

		res, body = do(http.MethodHead, srv.URL+c.path)
		if res.StatusCode != 200 || len(body) != 0 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("HEAD %s: %d %q %q body %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), body)
		}

		res, body = do(http.MethodGet, emptySrv.URL+c.path)
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("unconfigured GET %s: %d %q", c.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		jsonEqual(t, body, `{"code":404,"message":"Not Found"}`)

		res, body = do(http.MethodPost, srv.URL+c.path)
		if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d Allow %q", c.path, res.StatusCode, res.Header.Get("Allow"))
		}
		jsonEqual(t, body, `{"code":405,"message":"Method Not Allowed"}`)
	}
	for _, p := range []string{"/.well-known/assetlinks", "/.well-known/apple-app-site-association.json", "/.well-known/assetlinks.json/"} {
		res, body := do(http.MethodGet, srv.URL+p)
		if res.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
		jsonEqual(t, body, `{"code":404,"message":"Not Found"}`)
	}

	// A later writer adding to a header must not change the shared precomputed values.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, AASAPath, nil))
	rec.Header().Add("Cache-Control", "no-transform")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, AASAPath, nil))
	if got := rec.Header().Values("Cache-Control"); len(got) != 1 {
		t.Errorf("Cache-Control after another request's Add = %q", got)
	}

	if _, err := Handler([]AndroidApp{{PackageName: "x"}}, nil); err == nil {
		t.Error("Handler accepted an app without fingerprints")
	}
	if _, err := Handler(nil, []AppleApp{{TeamID: "x", BundleID: "y"}}); err == nil {
		t.Error("Handler accepted a bad team ID")
	}
}
