package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/oidctest"
)

const (
	callbackURL = "https://auth.example.test/thirdparty/callback"
	appDone     = "https://app.example.test/done"
	appError    = "https://app.example.test/error"
)

// webHarness is a node with the redirect flow for Google, Apple, GitHub
// (user and e-mail API in GitHub's shapes) and a custom provider, each
// served by its own issuer in the test.
type webHarness struct {
	*harness
	google, apple, github, kc *oidctest.Issuer
}

func newWebHarness(t *testing.T, mutate func(*config.Config)) *webHarness {
	t.Helper()
	x := &webHarness{google: oidctest.New(t), apple: oidctest.New(t), github: oidctest.New(t), kc: oidctest.New(t)}
	x.google.EnableAuthorization(t, "g-web", "g-secret", false)
	x.apple.EnableAuthorization(t, "com.example.web", "apple-client-secret-jwt", false)
	x.github.EnableAuthorization(t, "gh-client", "gh-secret", true)
	x.kc.EnableAuthorization(t, "kc-web", "kc-secret", false)
	gh := x.github
	// GitHub's REST API: GET /user and GET /user/emails, as documented.
	gh.Handle("/user", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := gh.AccessTokenClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"login": c["login"], "id": c["id"], "node_id": "MDQ6VXNlcjE=", "avatar_url": c["avatar_url"],
			"type": "User", "site_admin": false, "name": c["name"], "email": nil})
	}))
	gh.Handle("/user/emails", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := gh.AccessTokenClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok {
			w.WriteHeader(401)
			return
		}
		_ = json.NewEncoder(w).Encode(c["emails"])
	}))
	cfg := func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.RateLimiter.Enabled = false
		tp := &c.ThirdParty
		tp.RedirectURL, tp.ErrorRedirectURL = callbackURL, appError
		tp.AllowedRedirectURLs = []string{"https://app.example.test/**"}
		tp.Providers.Google = config.Provider{Enabled: true, ClientID: "g-web", Secret: "g-secret", AllowLinking: true}
		tp.Providers.Apple = config.Provider{Enabled: true, ClientID: "com.example.web", Secret: "apple-client-secret-jwt", AllowLinking: true}
		tp.Providers.GitHub = config.Provider{Enabled: true, ClientID: "gh-client", Secret: "gh-secret", AllowLinking: true}
		tp.CustomProviders = map[string]config.CustomProvider{"kc": {Enabled: true, Issuer: x.kc.URL, ClientID: "kc-web", Secret: "kc-secret"}}
		if mutate != nil {
			mutate(c)
		}
	}
	ends := func(i *oidctest.Issuer) app.ProviderEndpoints {
		return app.ProviderEndpoints{Issuer: i.URL, JWKSURL: i.JWKSURL(), AuthURL: i.URL + "/authorize", TokenURL: i.URL + "/token", APIURL: i.URL}
	}
	ctx := app.WithProviderEndpoints(context.Background(), map[string]app.ProviderEndpoints{"google": ends(x.google), "apple": ends(x.apple), "github": ends(x.github)})
	base := newHarnessOn(t, "sqlite", cfg)
	h := &harness{Dialect: base.Dialect, DSN: base.DSN, DBPath: base.DBPath, ctx: ctx}
	x.harness = h.start(t, base.Cfg)
	return x
}

// noFollow is a browser that shows every redirect instead of following it.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func browse(t *testing.T, method, u, form string, cookie *http.Cookie) *http.Response {
	t.Helper()
	var body *strings.Reader
	if form != "" {
		body = strings.NewReader(form)
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func stateCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "hanko_thirdparty_state" {
			return c
		}
	}
	return nil
}

// signIn runs the browser's part of the flow with provider for the user
// claims and returns where the callback sent the browser.
func (x *webHarness) signIn(t *testing.T, provider string, idp *oidctest.Issuer, claims oidctest.Claims) *url.URL {
	t.Helper()
	resp := browse(t, "GET", x.URL+"/thirdparty/auth?provider="+provider+"&redirect_to="+url.QueryEscape(appDone), "", nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	cookie := stateCookie(resp)
	if resp.StatusCode != 307 || cookie == nil || cookie.MaxAge != 300 || cookie.SameSite != http.SameSiteLaxMode || !strings.HasPrefix(loc.String(), idp.URL+"/authorize") {
		t.Fatalf("auth: %d %s cookie %+v", resp.StatusCode, loc, cookie)
	}
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("redirect_uri") != callbackURL || q.Get("state") != cookie.Value {
		t.Errorf("authorization request: %s", loc)
	}
	idp.SignInAs(claims)
	resp = browse(t, "GET", loc.String(), "", nil)
	var cb *http.Response
	if q.Get("response_mode") == "form_post" {
		// Apple posts the form from its own site: no cookie of ours comes along.
		a := idp.LastAuthorization()
		form := url.Values{"code": {a.Code}, "state": {a.Query.Get("state")}, "user": {`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.test"}`}}
		post := browse(t, "POST", x.URL+"/thirdparty/callback", form.Encode(), nil)
		if post.StatusCode != 303 {
			t.Fatalf("form_post callback: %d", post.StatusCode)
		}
		cb = browse(t, "GET", x.URL+post.Header.Get("Location"), "", cookie)
	} else {
		back, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || !strings.HasPrefix(back.String(), callbackURL) {
			t.Fatalf("provider: %d %s", resp.StatusCode, back)
		}
		cb = browse(t, "GET", x.URL+"/thirdparty/callback?"+back.RawQuery, "", cookie)
	}
	if c := stateCookie(cb); cb.StatusCode != 307 || c == nil || c.MaxAge >= 0 {
		t.Fatalf("callback: %d, state cookie %+v", cb.StatusCode, c)
	}
	out, _ := url.Parse(cb.Header.Get("Location"))
	return out
}

func (x *webHarness) exchange(t *testing.T, token string) response {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"value": token})
	return x.do(t, "POST", "/token", string(b))
}

// TestRedirectFlow: Hanko's web redirect flow end to end through HTTP with
// the state cookie and PKCE, for Google, Apple (form_post, the name kept),
// GitHub (its user and e-mail API) and a custom provider; the one-time
// token works once (second use 404) and not after 60 s (422).
func TestRedirectFlow(t *testing.T) {
	x := newWebHarness(t, nil)
	done := x.signIn(t, "google", x.google, oidctest.Claims{"sub": "g-1", "email": "g@example.test", "email_verified": true})
	tok := done.Query().Get("hanko_token")
	if !strings.HasPrefix(done.String(), appDone+"?") || len(tok) != 44 {
		t.Fatalf("callback sent the browser to %s", done)
	}
	r := x.exchange(t, tok)
	var body struct {
		UserID string `json:"user_id"`
	}
	r.json(t, &body)
	if r.Status != 200 || tokenOf(r) == "" || body.UserID == "" {
		t.Fatalf("POST /token: %d %s", r.Status, r.Body)
	}
	if r = x.exchange(t, tok); r.Status != 404 || !strings.Contains(string(r.Body), "token not found") {
		t.Errorf("second use: %d %s", r.Status, r.Body)
	}
	// The same Google account again: the same user.
	r = x.exchange(t, x.signIn(t, "google", x.google, oidctest.Claims{"sub": "g-1", "email": "g@example.test", "email_verified": true}).Query().Get("hanko_token"))
	var again struct {
		UserID string `json:"user_id"`
	}
	r.json(t, &again)
	if again.UserID != body.UserID {
		t.Errorf("the same identity signed in %s, then %s", body.UserID, again.UserID)
	}

	// Apple posts its answer (form_post) with the name of the first authorization.
	r = x.exchange(t, x.signIn(t, "apple", x.apple, oidctest.Claims{"sub": "001.a", "email": "ada@example.test", "email_verified": "true"}).Query().Get("hanko_token"))
	if r.Status != 200 {
		t.Fatalf("apple: %d %s", r.Status, r.Body)
	}
	me := x.do(t, "GET", "/me", "", "Authorization: Bearer "+tokenOf(r))
	if !strings.Contains(string(me.Body), `"given_name":"Ada"`) || !strings.Contains(string(me.Body), `"provider":"Apple"`) {
		t.Errorf("apple profile: %s", me.Body)
	}

	// GitHub: OAuth 2.0 and its REST API.
	r = x.exchange(t, x.signIn(t, "github", x.github, oidctest.Claims{"id": 583231, "login": "octocat", "name": "The Octocat", "avatar_url": "https://avatars.githubusercontent.com/u/583231",
		"emails": []map[string]any{{"email": "other@example.test", "primary": false, "verified": true, "visibility": nil}, {"email": "octocat@example.test", "primary": true, "verified": true, "visibility": "public"}}}).Query().Get("hanko_token"))
	if r.Status != 200 {
		t.Fatalf("github: %d %s", r.Status, r.Body)
	}
	me = x.do(t, "GET", "/me", "", "Authorization: Bearer "+tokenOf(r))
	if !strings.Contains(string(me.Body), `"address":"octocat@example.test"`) || !strings.Contains(string(me.Body), `"id":"583231"`) || !strings.Contains(string(me.Body), `"name":"The Octocat"`) {
		t.Errorf("github profile: %s", me.Body)
	}

	// A custom OpenID Connect provider through discovery.
	if r = x.exchange(t, x.signIn(t, "custom_kc", x.kc, oidctest.Claims{"sub": "kc-1", "email": "kc@example.test", "email_verified": true}).Query().Get("hanko_token")); r.Status != 200 {
		t.Fatalf("custom: %d %s", r.Status, r.Body)
	}

	// A token past its 60 seconds: 422, every time.
	tok = x.signIn(t, "google", x.google, oidctest.Claims{"sub": "g-1", "email": "g@example.test", "email_verified": true}).Query().Get("hanko_token")
	x.expireTokens(t)
	for range 2 {
		if r = x.exchange(t, tok); r.Status != 422 || !strings.Contains(string(r.Body), "token has expired") {
			t.Errorf("expired token: %d %s", r.Status, r.Body)
		}
	}
	types := x.eventTypes(t)
	for _, want := range []string{"thirdparty_signup_succeeded", "thirdparty_signin_succeeded", "token_exchange_succeeded", "token_exchange_failed"} {
		if !strings.Contains(types, want) {
			t.Errorf("no %s event in %s", want, types)
		}
	}
}

// expireTokens moves every one-time token's expiry into the past, as 60
// seconds passing would.
func (h *harness) expireTokens(t *testing.T) {
	t.Helper()
	db := openDB(t, h)
	if _, err := db.Exec(`UPDATE tokens SET expires_at = '2000-01-01 00:00:00+00:00'`); err != nil {
		t.Fatal(err)
	}
}

// eventTypes lists the recorded event types, oldest first, comma-joined.
func (h *harness) eventTypes(t *testing.T) string {
	t.Helper()
	rows, err := openDB(t, h).Query(`SELECT type FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// TestRedirectFlowErrors: every refusal of the redirect flow sends the
// browser back with Hanko's error codes and writes nothing but its failure
// event; bad input on the new routes is never a 500.
func TestRedirectFlowErrors(t *testing.T) {
	x := newWebHarness(t, func(c *config.Config) { c.ThirdParty.Providers.Google.AllowLinking = false })
	x.signUp(t, "taken@example.test")

	start := func(provider string) (*url.URL, *http.Cookie) {
		resp := browse(t, "GET", x.URL+"/thirdparty/auth?provider="+provider+"&redirect_to="+url.QueryEscape(appDone), "", nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc, stateCookie(resp)
	}
	callbackFor := func(idp *oidctest.Issuer, claims oidctest.Claims) (url.Values, *http.Cookie) {
		loc, cookie := start("google")
		idp.SignInAs(claims)
		back, _ := url.Parse(browse(t, "GET", loc.String(), "", nil).Header.Get("Location"))
		return back.Query(), cookie
	}
	type tc struct {
		name       string
		do         func() *http.Response
		to, errorC string
	}
	q, cookie := callbackFor(x.google, oidctest.Claims{"sub": "g-2", "email": "taken@example.test", "email_verified": true})
	conflict := func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/callback?"+q.Encode(), "", cookie) }
	q2, cookie2 := callbackFor(x.google, oidctest.Claims{"sub": "g-3", "email": "unverified@example.test", "email_verified": false})
	q3, _ := callbackFor(x.google, oidctest.Claims{"sub": "g-4", "email": "x@example.test", "email_verified": true})
	q4, cookie4 := callbackFor(x.google, oidctest.Claims{"sub": "g-5", "email": "y@example.test", "email_verified": true})
	_, cookie5 := start("google")
	cases := []tc{
		{"unknown provider", func() *http.Response {
			return browse(t, "GET", x.URL+"/thirdparty/auth?provider=facebook&redirect_to="+url.QueryEscape(appDone), "", nil)
		}, appError, "invalid_request"},
		{"no provider", func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/auth", "", nil) }, appError, "invalid_request"},
		{"redirect_to not allowed", func() *http.Response {
			return browse(t, "GET", x.URL+"/thirdparty/auth?provider=google&redirect_to="+url.QueryEscape("https://evil.example/x"), "", nil)
		}, appError, "invalid_request"},
		{"redirect_to relative", func() *http.Response {
			return browse(t, "GET", x.URL+"/thirdparty/auth?provider=google&redirect_to=/x", "", nil)
		}, appError, "invalid_request"},
		{"linking off", conflict, appDone, "user_conflict"},
		{"unverified address", func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/callback?"+q2.Encode(), "", cookie2) }, appDone, "unverified_email"},
		{"no state cookie", func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/callback?"+q3.Encode(), "", nil) }, appDone, "invalid_request"},
		{"another flow's cookie", func() *http.Response {
			return browse(t, "GET", x.URL+"/thirdparty/callback?"+q4.Encode(), "", cookie5)
		}, appDone, "invalid_request"},
		{"code refused by the provider", func() *http.Response {
			bad := url.Values{"code": {"forged"}, "state": {q4.Get("state")}}
			return browse(t, "GET", x.URL+"/thirdparty/callback?"+bad.Encode(), "", cookie4)
		}, appDone, "invalid_request"},
		{"provider error", func() *http.Response {
			e := url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {cookie5.Value}}
			return browse(t, "GET", x.URL+"/thirdparty/callback?"+e.Encode(), "", cookie5)
		}, appDone, "access_denied"},
		{"tampered state", func() *http.Response {
			return browse(t, "GET", x.URL+"/thirdparty/callback?code=x&state="+cookie5.Value[:20]+"AAAA", "", cookie5)
		}, appError, "invalid_request"},
		{"no state", func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/callback?code=x", "", nil) }, appError, "invalid_request"},
		{"empty form post", func() *http.Response { return browse(t, "GET", x.URL+"/thirdparty/callback", "", nil) }, appError, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := x.snapshot(t)
			resp := c.do()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != 307 || !strings.HasPrefix(loc.String(), c.to+"?") || loc.Query().Get("error") != c.errorC || loc.Query().Get("error_description") == "" || loc.Query().Get("hanko_token") != "" {
				t.Fatalf("%d → %s, want 307 to %s with error=%s", resp.StatusCode, loc, c.to, c.errorC)
			}
			if after := x.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("database changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	// The linking refusal is Hanko's thirdparty_signin_signup_failed.
	if !strings.Contains(x.eventTypes(t), "thirdparty_signin_signup_failed") {
		t.Error("no thirdparty_signin_signup_failed event")
	}

	// Bad input on POST /token and the form_post callback: 4xx, never 500, nothing written.
	for _, b := range []struct {
		name, method, path, body, ctype string
		status                          int
	}{
		{"token: not JSON", "POST", "/token", `{"value":`, "application/json", 400},
		{"token: missing value", "POST", "/token", `{}`, "application/json", 400},
		{"token: wrong type", "POST", "/token", `{"value":5}`, "application/json", 400},
		{"token: unknown", "POST", "/token", `{"value":"AAAA"}`, "application/json", 404},
		{"token: too long", "POST", "/token", `{"value":"` + strings.Repeat("A", 200) + `"}`, "application/json", 400},
		{"token: form body", "POST", "/token", `value=x`, "application/x-www-form-urlencoded", 415},
		{"form_post: bad form", "POST", "/thirdparty/callback", "%zz", "application/x-www-form-urlencoded", 400},
	} {
		t.Run(b.name, func(t *testing.T) {
			before := x.snapshot(t)
			r := x.do(t, b.method, b.path, b.body, "Content-Type: "+b.ctype)
			if r.Status != b.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, b.status)
			}
			if after := x.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Errorf("database changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

}

// openDB opens the node's SQLite file directly (closed with the test).
func openDB(t *testing.T, h *harness) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
