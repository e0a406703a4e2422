package webhook

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// TestSignMatchesTheSpecificationVector: the signature of the Standard
// Webhooks specification's published example (the reference libraries'
// test: secret, msg id, timestamp 1614265330, body {"test": 2432232314})
// comes out exactly, so receivers' libraries accept ours.
func TestSignMatchesTheSpecificationVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	body := []byte(`{"test": 2432232314}`)
	if got := Sign(secret, id, ts, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify(secret, id, ts, body, "v1,bm9wZQ== "+want) {
		t.Fatal("Verify rejects the vector among other signatures")
	}
	for name, tc := range map[string]struct {
		id   string
		ts   int64
		body string
	}{
		"other id":        {"msg_other", ts, string(body)},
		"other timestamp": {id, ts + 1, string(body)},
		"other body":      {id, ts, `{"test": 2432232315}`},
	} {
		if Verify(secret, tc.id, tc.ts, []byte(tc.body), want) {
			t.Errorf("%s: Verify accepts the vector's signature", name)
		}
	}
}

func TestNewSecretIsAStandardWebhooksSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || len(secretKey(a)) != 32 || a[:6] != "whsec_" {
		t.Fatalf("secrets %q %q", a, b)
	}
}

func TestSealOpensWithAnyConfiguredKey(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	rand.Read(k1)
	rand.Read(k2)
	sealed, err := seal(k1, "whsec_abc")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open([][]byte{k2, k1}, sealed); err != nil || got != "whsec_abc" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := open([][]byte{k2}, sealed); err == nil {
		t.Fatal("opened with the wrong key")
	}
}

// TestRetrySchedule: the first retry within 10 s even with jitter, the
// delays grow, and all retries together take about a day (README
// "Webhooks" lists the schedule).
func TestRetrySchedule(t *testing.T) {
	if d := MaxRetryDelay(1); d > 10*time.Second {
		t.Fatalf("first retry after up to %v", d)
	}
	var total, minTotal time.Duration
	for n := 1; n < MaxAttempts; n++ {
		if n > 1 && RetryDelay(n) < RetryDelay(n-1) {
			t.Fatalf("retry %d waits less than retry %d", n, n-1)
		}
		for range 50 {
			if d := retryDelay(n); d < RetryDelay(n)*8/10 || d > MaxRetryDelay(n) {
				t.Fatalf("retry %d: jittered delay %v outside ±20%% of %v", n, d, RetryDelay(n))
			}
		}
		total += RetryDelay(n)
		minTotal += RetryDelay(n) * 8 / 10
	}
	if total < 20*time.Hour || total > 26*time.Hour || minTotal < 18*time.Hour {
		t.Fatalf("retries span %v (at least %v with jitter), want about 24 h", total, minTotal)
	}
	want := []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 135 * time.Second, 405 * time.Second,
		1215 * time.Second, 3645 * time.Second, 10935 * time.Second, 6 * time.Hour, 6 * time.Hour, 6 * time.Hour}
	for i, w := range want {
		if got := RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %v, want %v (the README's table)", i+1, got, w)
		}
	}
}

func TestSubscriptions(t *testing.T) {
	for s, want := range map[string]bool{
		"user": true, "user.update": true, "user.update.email": true, "user.update.email.create": true, "email.send": true,
		"session": true, "session.delete": true, "session.delete.passive.limit": true, "email": true,
		"": false, "use": false, "user.": false, "user.logi": false, "user.update.username": false, "webhook": false,
	} {
		if got := ValidSubscription(s); got != want {
			t.Errorf("ValidSubscription(%q) = %v, want %v", s, got, want)
		}
	}
	for _, c := range []struct {
		sub, name string
		want      bool
	}{
		{"user", "user.login", true}, {"user.update", "user.update.email.primary", true},
		{"user.update", "user.create", false}, {"session", "session.delete.admin.revoke", true}, {"email.send", "user.create", false},
	} {
		if got := Matches(c.sub, c.name); got != c.want {
			t.Errorf("Matches(%q, %q) = %v", c.sub, c.name, got)
		}
	}
}

// TestEventNames: every inkan event that is a change a hook can see fires
// its webhook names; failures and unrelated events fire none.
func TestEventNames(t *testing.T) {
	ev := func(typ inkan.EventType, details map[string]any) inkan.Event {
		return inkan.Event{ID: uuid.New(), Type: typ, Details: details}
	}
	for _, c := range []struct {
		e       inkan.Event
		reqVer  bool
		want    []string
		comment string
	}{
		{ev(inkan.EventUserCreated, nil), false, []string{UserCreate}, ""},
		{ev(inkan.EventUserDeleted, nil), false, []string{UserDelete}, ""},
		{ev(inkan.EventEmailCreated, nil), false, []string{UserEmailCreate}, ""},
		{ev(inkan.EventEmailCreated, nil), true, nil, "unassigned until verified"},
		{ev(inkan.EventEmailCreated, map[string]any{"api": "admin"}), true, []string{UserEmailCreate}, "the admin API assigns it"},
		{ev(inkan.EventEmailVerified, nil), true, []string{UserEmailCreate}, ""},
		{ev(inkan.EventEmailDeleted, nil), false, []string{UserEmailDelete}, ""},
		{ev(inkan.EventPrimaryChanged, nil), false, []string{UserEmailPrimary}, ""},
		{ev(inkan.EventPasswordSetSucceeded, nil), false, []string{UserPasswordUpdate}, ""},
		{ev(inkan.EventPasscodeLoginFinalSucceeded, nil), false, []string{UserLogin, SessionCreate}, ""},
		{ev(inkan.EventPasswordLoginSucceeded, nil), false, []string{UserLogin, SessionCreate}, ""},
		{ev(inkan.EventWebAuthnAuthenticationFinalSucceeded, nil), false, []string{UserLogin, SessionCreate}, ""},
		{ev(inkan.EventLoginSuccess, nil), false, []string{UserLogin, SessionCreate}, ""},
		{ev(inkan.EventUserLoggedOut, nil), false, []string{SessionLogout}, ""},
		{ev(inkan.EventWebAuthnRegistrationFinalSucceeded, nil), false, []string{UserUpdate}, "a passkey added"},
		{ev(inkan.EventWebAuthnRegistrationFinalSucceeded, map[string]any{"session_id": "x"}), false, []string{UserLogin, SessionCreate}, "passkey sign-up"},
		{ev(inkan.EventThirdPartySignUpSucceeded, map[string]any{"session_id": "x"}), false, []string{UserLogin, SessionCreate}, "ID token"},
		{ev(inkan.EventThirdPartySignInSucceeded, map[string]any{"session_id": "x"}), false, []string{UserLogin, SessionCreate}, "ID token"},
		{ev(inkan.EventThirdPartyLinkingSucceeded, map[string]any{"session_id": "x"}), false, []string{UserUpdate, UserLogin, SessionCreate}, "ID token"},
		{ev(inkan.EventThirdPartySignUpSucceeded, map[string]any{"flow": "redirect"}), false, nil, "redirect callback: no session yet"},
		{ev(inkan.EventThirdPartySignInSucceeded, map[string]any{"flow": "redirect"}), false, nil, "redirect callback: no session yet"},
		{ev(inkan.EventThirdPartyLinkingSucceeded, map[string]any{"flow": "redirect"}), false, []string{UserUpdate}, "redirect callback: linked, no session yet"},
		{ev(inkan.EventTokenExchangeSucceeded, map[string]any{"session_id": "x"}), false, []string{UserLogin, SessionCreate}, "POST /token"},
		{inkan.Event{Type: inkan.EventTokenExchangeFailed, Error: "x"}, false, nil, "failure"},
		{ev(inkan.EventUserLoggedOut, map[string]any{"api": "admin"}), false, []string{SessionRevoke}, ""},
		{ev(inkan.EventSessionEvicted, nil), false, []string{SessionLimit}, ""},
		{ev(inkan.EventSessionExpired, nil), false, []string{SessionExpire}, ""},
		{ev(inkan.EventSessionRevoked, map[string]any{"reason": "user_revoked"}), false, []string{SessionLogout}, "ended from the device list"},
		{ev(inkan.EventSessionRevoked, map[string]any{"reason": "refresh_token_reuse"}), false, []string{SessionRevoke}, "reuse detection"},
		{ev(inkan.EventPasscodeLoginInitSucceeded, nil), false, nil, "no mail attached"},
		{inkan.Event{Type: inkan.EventPasscodeLoginInitSucceeded, HookData: []byte(`{}`)}, false, []string{EmailSend}, ""},
		{inkan.Event{Type: inkan.EventPasswordLoginFailed, Error: "x"}, false, nil, "failure"},
		{ev(inkan.EventWebAuthnRegistrationInitSucceeded, nil), false, nil, ""},
	} {
		got := namesOf(c.e, c.reqVer)
		if len(got) != len(c.want) {
			t.Errorf("%s (%s): %v, want %v", c.e.Type, c.comment, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s (%s): %v, want %v", c.e.Type, c.comment, got, c.want)
			}
		}
	}
	for _, n := range Names {
		if !ValidSubscription(n) {
			t.Errorf("%s is not a valid subscription", n)
		}
	}
}
