package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// Authorization is one request the authorization endpoint received.
type Authorization struct {
	Query url.Values // client_id, redirect_uri, state, nonce, code_challenge, response_mode, …
	Code  string     // the code it issued
}

// authz is the authorization-code grant of an Issuer (RFC 6749 §4.1 with
// PKCE S256, RFC 7636).
type authz struct {
	t              testing.TB
	clientID       string
	secret         string
	withoutIDToken bool

	mu     sync.Mutex
	next   Claims
	codes  map[string]grant
	last   Authorization
	tokens map[string]Claims // access token → the user's claims
}

type grant struct {
	claims    Claims
	challenge string
	nonce     string
	redirect  string
}

// EnableAuthorization serves /authorize and /token for the client
// (clientID, secret): /authorize signs in the user of SignInAs at once (no
// consent page) and sends the browser back to redirect_uri with code and
// state — or, with response_mode=form_post, answers an auto-submitting form
// (Apple); /token checks the client, the redirect_uri and the PKCE verifier
// and returns an access token and, unless withoutIDToken (GitHub), an ID
// token with the authorization's nonce. AccessTokenClaims maps access
// tokens back to users, for user-info APIs served with Handle.
func (i *Issuer) EnableAuthorization(t testing.TB, clientID, secret string, withoutIDToken bool) {
	a := &authz{t: t, clientID: clientID, secret: secret, withoutIDToken: withoutIDToken, codes: map[string]grant{}, tokens: map[string]Claims{}}
	i.mu.Lock()
	i.authz = a
	i.mu.Unlock()
	i.Handle("/authorize", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { i.authorize(w, r) }))
	i.Handle("/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { i.token(w, r) }))
}

// SignInAs sets the claims of the user the next authorizations sign in.
func (i *Issuer) SignInAs(c Claims) {
	i.authz.mu.Lock()
	defer i.authz.mu.Unlock()
	i.authz.next = c
}

// LastAuthorization returns the last authorization request.
func (i *Issuer) LastAuthorization() Authorization {
	i.authz.mu.Lock()
	defer i.authz.mu.Unlock()
	return i.authz.last
}

// AccessTokenClaims returns the user an access token was issued to.
func (i *Issuer) AccessTokenClaims(token string) (Claims, bool) {
	i.authz.mu.Lock()
	defer i.authz.mu.Unlock()
	c, ok := i.authz.tokens[token]
	return c, ok
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	a := i.authz
	q := r.URL.Query()
	if q.Get("client_id") != a.clientID || q.Get("response_type") != "code" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := random()
	a.mu.Lock()
	a.codes[code] = grant{claims: a.next, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	a.last = Authorization{Query: q, Code: code}
	a.mu.Unlock()
	if q.Get("response_mode") == "form_post" {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<form method="post" action="` + html.EscapeString(q.Get("redirect_uri")) + `"><input name="code" value="` + code +
			`"><input name="state" value="` + html.EscapeString(q.Get("state")) + `"></form>`))
		return
	}
	u, _ := url.Parse(q.Get("redirect_uri"))
	rq := u.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	a := i.authz
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != a.clientID || secret != a.secret {
		fail("invalid_client")
		return
	}
	a.mu.Lock()
	g, ok := a.codes[r.PostForm.Get("code")]
	delete(a.codes, r.PostForm.Get("code"))
	a.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect:
		fail("invalid_grant")
		return
	case g.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		fail("invalid_grant") // PKCE (RFC 7636 §4.6)
		return
	}
	access := random()
	a.mu.Lock()
	a.tokens[access] = g.claims
	a.mu.Unlock()
	out := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	if !a.withoutIDToken {
		c := Claims{"aud": a.clientID}
		for k, v := range g.claims {
			c[k] = v
		}
		if g.nonce != "" {
			c["nonce"] = g.nonce
		}
		out["id_token"] = i.Token(a.t, c)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
