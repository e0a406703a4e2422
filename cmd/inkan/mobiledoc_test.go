package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// keysOf returns the sorted member names of the JSON object at path (dot-separated) in doc.
func keysOf(t *testing.T, doc []byte, path string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not JSON: %s", doc)
	}
	if path != "" {
		for _, p := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: not an object at %s in %s", path, p, doc)
			}
			v = m[p]
			if l, ok := v.([]any); ok && len(l) > 0 {
				v = l[0] // a list: the shape of its items
			}
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object in %s", path, doc)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// docShapes reads the shapes docs/mobile.md documents: every line "<!-- shape NAME: a, b, c -->".
func docShapes(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "mobile.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "<!-- shape ")
		if !ok {
			continue
		}
		name, list, _ := strings.Cut(strings.TrimSuffix(rest, " -->"), ": ")
		var keys []string
		for _, k := range strings.Split(list, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		out[name] = keys
	}
	return out
}

// post sends body (JSON) with the bearer token and returns status, header and body.
func post(t *testing.T, url, token string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// only keeps the members keep of the JSON object doc (and, under "response", those of responseKeep).
func only(t *testing.T, doc []byte, keep, responseKeep []string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, k := range keep {
		if v, ok := m[k]; ok {
			out[k] = v
		} else {
			t.Fatalf("the authenticator's credential lacks %q: %s", k, doc)
		}
	}
	var r map[string]json.RawMessage
	json.Unmarshal(m["response"], &r)
	rr := map[string]json.RawMessage{}
	for _, k := range responseKeep {
		if v, ok := r[k]; ok {
			rr[k] = v
		}
	}
	out["response"], _ = json.Marshal(rr)
	b, _ := json.Marshal(out)
	return b
}

// TestMobileDocShapes: every JSON shape docs/mobile.md shows is what inkan sends and accepts. The
// server runs in header mode with an Android app's origin; the initialize responses have exactly the
// documented members, and finalize accepts bodies made of exactly the documented members.
func TestMobileDocShapes(t *testing.T) {
	shapes := docShapes(t)
	origin := androidOrigin("mobile doc signing certificate")
	env := baseEnv(t, "sqlite")
	env["SESSION_ENABLE_AUTH_TOKEN_HEADER"] = "true"
	env["WEBAUTHN_RELYING_PARTY_ID"] = "login.example.test"
	env["WEBAUTHN_RELYING_PARTY_ORIGINS"] = "https://login.example.test," + origin
	srv := startServer(t, env)
	created, finalize := srv.signUpWithPasscode(t, client.New(srv.URL), uniqueEmail("mobile"))
	status, hdr, body := post(t, srv.URL+"/passcode/login/finalize", "", []byte(finalize))
	token := hdr.Get("X-Auth-Token")
	if status != 200 || token == "" || hdr.Get("X-Session-Lifetime") == "" {
		t.Fatalf("passcode finalize in header mode: %d %v %s", status, hdr, body)
	}
	check := func(name string, doc []byte, path string) {
		t.Helper()
		want, ok := shapes[name]
		if !ok {
			t.Errorf("docs/mobile.md documents no shape %q; inkan sends %v", name, keysOf(t, doc, path))
			return
		}
		if got := keysOf(t, doc, path); !slices.Equal(got, want) {
			t.Errorf("%s: inkan sends %v, docs/mobile.md says %v\n%s", name, got, want, doc)
		}
	}
	check("passcode-finalize", body, "")

	auth := webauthntest.New()
	status, _, regOpts := post(t, srv.URL+"/webauthn/registration/initialize", token, nil)
	if status != 200 {
		t.Fatalf("registration initialize: %d %s", status, regOpts)
	}
	check("registration-initialize", regOpts, "")
	check("registration-publicKey", regOpts, "publicKey")
	check("registration-rp", regOpts, "publicKey.rp")
	check("registration-user", regOpts, "publicKey.user")
	check("registration-authenticatorSelection", regOpts, "publicKey.authenticatorSelection")

	cred, _, err := auth.Register(regOpts, webauthntest.Options{Origin: origin, UV: true, BE: true, BS: true})
	if err != nil {
		t.Fatal(err)
	}
	sendReg := only(t, cred, shapes["registration-finalize-request"], shapes["registration-finalize-request-response"])
	check("registration-finalize-request", sendReg, "")
	check("registration-finalize-request-response", sendReg, "response")
	status, _, regRes := post(t, srv.URL+"/webauthn/registration/finalize", token, sendReg)
	if status != 200 {
		t.Fatalf("registration finalize with the documented members: %d %s", status, regRes)
	}
	check("registration-finalize", regRes, "")

	for _, tc := range []struct{ name, body string }{{"login-initialize", ""}, {"login-initialize-user", `{"user_id":"` + created.UserID + `"}`}} {
		status, _, reqOpts := post(t, srv.URL+"/webauthn/login/initialize", "", []byte(tc.body))
		if status != 200 {
			t.Fatalf("%s: %d %s", tc.name, status, reqOpts)
		}
		check(tc.name, reqOpts, "")
		check(tc.name+"-publicKey", reqOpts, "publicKey")
		if tc.name == "login-initialize-user" {
			check("login-allowCredentials", reqOpts, "publicKey.allowCredentials")
		}
		assertion, err := auth.Login(reqOpts, webauthntest.Options{Origin: origin, UV: true, BE: true, BS: true})
		if err != nil {
			t.Fatal(err)
		}
		send := only(t, assertion, shapes["login-finalize-request"], shapes["login-finalize-request-response"])
		check("login-finalize-request", send, "")
		check("login-finalize-request-response", send, "response")
		if tc.name == "login-initialize-user" {
			// Credential Manager adds members of its own; they are accepted.
			send = append(send[:len(send)-1], []byte(`,"authenticatorAttachment":"platform","clientExtensionResults":{}}`)...)
		}
		status, hdr, res := post(t, srv.URL+"/webauthn/login/finalize", "", send)
		if status != 200 || hdr.Get("X-Auth-Token") == "" {
			t.Fatalf("%s: login finalize with the documented members: %d %s", tc.name, status, res)
		}
		check("login-finalize", res, "")
	}
}
