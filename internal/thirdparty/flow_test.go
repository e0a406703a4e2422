package thirdparty

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"https://app.example.com/**", "https://app.example.com/a/b?c=d", true},
		{"https://app.example.com/*", "https://app.example.com/done", true},
		{"https://app.example.com/*", "https://app.example.com/a/b", false},
		{"https://*.example.com", "https://app.example.com", true},
		{"https://*.example.com", "https://evil.com/.example.com", false},
		{"https://*.example.com", "https://a.b.example.com", false},
		{"https://app.example.com", "https://app.example.com.evil.com", false},
		{"", "", true},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}

// TestFlowState: Begin's state opens only with this server's key, only
// with the browser's cookie, and only for five minutes.
func TestFlowState(t *testing.T) {
	p, err := New([]Config{{ID: "google", ClientID: "c", Secret: "s", AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewFlow(p, FlowOptions{Secret: "k1", RedirectURL: "https://auth.example/thirdparty/callback", ErrorRedirectURL: "https://app.example/error", AllowedRedirectURLs: []string{"https://app.example/**"}})
	other, _ := NewFlow(p, FlowOptions{Secret: "k2", RedirectURL: "https://auth.example/thirdparty/callback"})
	now := time.Now()
	authURL, state, err := f.Begin(context.Background(), "Google", "https://app.example/done/", now)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("state") != state || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != "https://auth.example/thirdparty/callback" || q.Get("client_id") != "c" {
		t.Errorf("authorization URL %s", authURL)
	}
	if strings.Contains(authURL, "done") {
		t.Error("redirect_to readable in the state")
	}
	for _, c := range []struct {
		name string
		f    *Flow
		cb   Callback
		at   time.Time
		want string
	}{
		{"another server's key", other, Callback{State: state, Cookie: state, Code: "x"}, now, "state is invalid"},
		{"no cookie", f, Callback{State: state, Code: "x"}, now, "cookie"},
		{"another browser's cookie", f, Callback{State: state, Cookie: state + "x", Code: "x"}, now, "cookie"},
		{"expired", f, Callback{State: state, Cookie: state, Code: "x"}, now.Add(StateTTL + time.Second), "expired"},
		{"no code", f, Callback{State: state, Cookie: state}, now, "code is a required field"},
		{"garbage state", f, Callback{State: "%%%", Cookie: "%%%"}, now, "state is invalid"},
	} {
		_, fe := c.f.Finish(context.Background(), c.cb, c.at)
		if fe == nil || fe.Code != ErrorInvalidRequest || !strings.Contains(fe.Description, c.want) {
			t.Errorf("%s: %v", c.name, fe)
		}
	}
	if _, fe := f.Finish(context.Background(), Callback{State: state, Cookie: state, Error: "access_denied"}, now); fe == nil || fe.Code != "access_denied" {
		t.Errorf("provider error: %v", fe)
	}
	for _, bad := range []struct{ provider, to, want string }{
		{"", "https://app.example/x", "provider is a required field"},
		{"facebook", "https://app.example/x", "provider is not enabled"},
		{"google", "", "redirect_to is a required field"},
		{"google", "/relative", "absolute"},
		{"google", "https://evil.example/x", "not allowed"},
	} {
		if _, _, err := f.Begin(context.Background(), bad.provider, bad.to, now); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Begin(%q, %q): %v", bad.provider, bad.to, err)
		}
	}
}
