package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// hookReceiver is a real HTTP receiver for webhooks that keeps what it got.
type hookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []hookRequest
}

// hookRequest is one received webhook request.
type hookRequest struct {
	Path   string
	Event  string
	Token  string
	Header http.Header
	Body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body struct{ Token, Event string }
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &body) != nil {
			t.Errorf("webhook request %s %s %q", req.Method, req.Header.Get("Content-Type"), b)
		}
		r.mu.Lock()
		r.got = append(r.got, hookRequest{Path: req.URL.Path, Event: body.Event, Token: body.Token, Header: req.Header.Clone(), Body: b})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.got...)
}

// deliver runs h's webhook rounds until nothing is left to do.
func (h *harness) deliver(t *testing.T) {
	t.Helper()
	for range 10 {
		n, err := h.App.Webhooks().RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == (webhook.Round{}) {
			return
		}
	}
}

// verifyHook checks one received request as a receiver would: the JWT
// verifies against the node's /.well-known/jwks.json with Hanko's claims
// (sub, iat, exp 5 minutes later, aud, evt = the body's event, data), and
// the Standard Webhooks signature verifies with secret. It returns the
// data claim.
func (h *harness) verifyHook(t *testing.T, r hookRequest, secret string, audience string) map[string]any {
	t.Helper()
	set, err := jwk.Parse(h.do(t, "GET", "/.well-known/jwks.json", "").Body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(r.Token), jwt.WithKeySet(set), jwt.WithValidate(true), jwt.WithAudience(audience))
	if err != nil {
		t.Fatalf("%s: the token does not verify against the JWKS: %v", r.Event, err)
	}
	sub, _ := tok.Subject()
	iat, _ := tok.IssuedAt()
	exp, _ := tok.Expiration()
	var evt string
	var data map[string]any
	if err := tok.Get("evt", &evt); err != nil || evt != r.Event {
		t.Errorf("%s: evt claim %q (%v)", r.Event, evt, err)
	}
	if err := tok.Get("data", &data); err != nil {
		t.Errorf("%s: data claim: %v", r.Event, err)
	}
	if sub != "hanko webhooks" || exp.Sub(iat) != 5*time.Minute {
		t.Errorf("%s: sub %q, exp-iat %v", r.Event, sub, exp.Sub(iat))
	}
	ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("%s: webhook-timestamp %q", r.Event, r.Header.Get("webhook-timestamp"))
	}
	if !webhook.Verify(secret, r.Header.Get("webhook-id"), ts, r.Body, r.Header.Get("webhook-signature")) {
		t.Errorf("%s: the Standard Webhooks signature does not verify", r.Event)
	}
	return data
}

// TestEveryWebhookEventArrives drives every change that fires a webhook
// through the public and admin APIs and checks that a real receiver gets
// each event name with a verifiable JWT, a valid Standard Webhooks
// signature and Hanko's payload: the admin user object for user.*.
func TestEveryWebhookEventArrives(t *testing.T) {
	rc := newHookReceiver(t)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Session.Limit = 1
		c.Password.Enabled = true
		c.Account.AllowDeletion = true
		c.RateLimiter.Enabled = false
		c.Webhooks.Enabled = true
		c.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL, Events: []string{"user", "session", "email"}, Secret: secret}}
	})
	bearer := func(tok string) string { return "Authorization: Bearer " + tok }
	address := "hooked@example.test"
	userID, _, token := h.signUp(t, address) // user.create, user.update.email.create, .primary, user.login, session.create
	// A node fans each event out right after its commit (Notify); the
	// payload is the user as of then, so the test delivers step by step.
	h.deliver(t)
	h.want(t, h.do(t, "PUT", "/password", `{"user_id":"`+userID+`","password":"correct horse"}`, bearer(token)), 201, "set password")
	h.deliver(t)
	r := h.do(t, "POST", "/password/login", `{"user_id":"`+userID+`","password":"correct horse"}`) // evicts the first session (limit 1)
	h.want(t, r, 200, "password login")
	token = tokenOf(r)
	h.want(t, h.do(t, "POST", "/logout", "", bearer(token)), 204, "logout")
	h.deliver(t)

	r = h.admin(t, "POST", "/sessions", `{"user_id":"`+userID+`"}`)
	h.want(t, r, 200, "admin session")
	var minted struct {
		SessionToken string `json:"session_token"`
	}
	r.json(t, &minted)
	var sessions []struct{ ID string }
	h.admin(t, "GET", "/users/"+userID+"/sessions", "").json(t, &sessions)
	if len(sessions) != 1 {
		t.Fatalf("sessions %+v", sessions)
	}
	h.want(t, h.admin(t, "DELETE", "/users/"+userID+"/sessions/"+sessions[0].ID, ""), 204, "admin revokes")
	h.deliver(t)
	r = h.admin(t, "POST", "/users/"+userID+"/emails", `{"address":"second@example.test","is_verified":true}`)
	h.want(t, r, 201, "admin adds an address")
	h.deliver(t)
	var second struct{ ID string }
	r.json(t, &second)
	h.want(t, h.admin(t, "DELETE", "/users/"+userID+"/emails/"+second.ID, ""), 204, "admin deletes the address")
	h.deliver(t)

	// An expired session, purged: session.delete.passive.expire.
	r = h.do(t, "POST", "/password/login", `{"user_id":"`+userID+`","password":"correct horse"}`)
	h.want(t, r, 200, "password login")
	h.deliver(t)
	if _, err := h.App.Purge(context.Background(), time.Now().Add(h.Cfg.Session.Lifespan+2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The account goes: user.delete with the user as it was.
	r = h.do(t, "POST", "/password/login", `{"user_id":"`+userID+`","password":"correct horse"}`)
	h.want(t, r, 200, "password login")
	h.deliver(t)
	h.want(t, h.do(t, "DELETE", "/user", "", bearer(tokenOf(r))), 204, "delete account")

	h.deliver(t)
	got := map[string][]map[string]any{}
	for _, req := range rc.requests() {
		got[req.Event] = append(got[req.Event], h.verifyHook(t, req, secret, h.Cfg.Webauthn.RelyingParty.ID))
	}
	for _, name := range webhook.Names {
		if name == webhook.EmailSend || name == webhook.UserUpdate {
			continue // email.send: TestAppDeliversMail; user.update: passkey changes, the events test
		}
		if len(got[name]) == 0 {
			t.Errorf("no %s arrived (got %v)", name, slices.Sorted(func(yield func(string) bool) {
				for k := range got {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}
	for _, name := range []string{webhook.UserCreate, webhook.UserLogin, webhook.UserEmailPrimary, webhook.UserPasswordUpdate} {
		for _, data := range got[name] {
			if data["id"] != userID || data["emails"] == nil || data["created_at"] == nil {
				t.Errorf("%s: data is not the admin user object: %v", name, data)
			}
		}
	}
	if d := got[webhook.UserDelete]; len(d) != 1 || d[0]["id"] != userID {
		t.Errorf("user.delete data %v", d)
	}
	if d := got[webhook.SessionCreate]; len(d) == 0 || d[0]["session_id"] == nil || d[0]["user_id"] != userID {
		t.Errorf("session.create data %v", d)
	}
	if n := len(got[webhook.UserLogin]); n != 5 {
		t.Errorf("user.login arrived %d times, want 5: every sign-in (passcode, 3 passwords, admin)", n)
	}
	metrics := string(h.admin(t, "GET", "/metrics", "").Body)
	for _, want := range []string{
		`inkan_webhook_attempts_total{event="user.login",result="delivered"} 5`,
		`inkan_webhook_delivery_attempts_count{result="delivered"}`,
		`inkan_webhook_queue_age_seconds_count{result="delivered"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestTwoNodesDeliverABurstOnce: two nodes on one PostgreSQL or MariaDB
// database fan out and deliver while a burst of sign-ups is recorded
// through both; the receiver gets every event exactly once.
func TestTwoNodesDeliverABurstOnce(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			rc := newHookReceiver(t)
			a := newHarnessOn(t, dialect, func(c *config.Config) {
				c.RateLimiter.Enabled = false
				c.Webhooks.Enabled = true
				c.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL, Events: []string{"user.create"}}}
			})
			b := a.peer(t)
			const burst = 40
			var stop atomic.Bool // stops the loops between rounds, never mid-request
			var wg sync.WaitGroup
			for _, n := range []*harness{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						if _, err := n.App.Webhooks().RunOnce(context.Background()); err != nil {
							t.Errorf("RunOnce: %v", err)
							return
						}
					}
				}()
			}
			users := map[string]bool{}
			for i := range burst {
				n := []*harness{a, b}[i%2]
				users[n.createUser(t, "burst"+strconv.Itoa(i)+"@example.test")[0]] = true
			}
			stop.Store(true)
			wg.Wait()
			a.deliver(t)
			b.deliver(t)
			got := rc.requests()
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.Header.Get("webhook-id")] = true
				var body struct{ Token string }
				json.Unmarshal(r.Body, &body)
				tok, err := jwt.ParseInsecure([]byte(body.Token))
				if err != nil {
					t.Fatal(err)
				}
				var data map[string]any
				if err := tok.Get("data", &data); err != nil {
					t.Fatal(err)
				}
				if !users[data["id"].(string)] {
					t.Errorf("user.create for an unknown user %v", data["id"])
				}
				delete(users, data["id"].(string))
			}
			if len(got) != burst || len(ids) != burst || len(users) != 0 {
				t.Fatalf("%d requests, %d distinct webhook-ids, %d users without their event; want %d each, none missing", len(got), len(ids), len(users), burst)
			}
		})
	}
}

// adminWebhook is a stored hook as the admin API answers it.
type adminWebhook struct {
	ID        string `json:"id"`
	Callback  string `json:"callback"`
	Enabled   bool   `json:"enabled"`
	Failures  int    `json:"failures"`
	ExpiresAt string `json:"expires_at"`
	Events    []struct {
		Event string `json:"event"`
	} `json:"events"`
	Secret string `json:"secret"`
}

// TestAdminWebhooks: the admin API creates a hook (its secret shown once
// and signing what the hook receives), lists it beside the file's hooks,
// changes, disables and deletes it, and lists its recent attempts; bad
// input changes nothing.
func TestAdminWebhooks(t *testing.T) {
	rc := newHookReceiver(t)
	forEachDialect(t, func(c *config.Config) {
		c.Webhooks.Enabled = true
		c.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL + "/file", Events: []string{"user.delete"}}}
	}, func(t *testing.T, h *harness) {
		stored := rc.URL + "/stored/" + h.Dialect // the dialects run in parallel
		r := h.admin(t, "POST", "/webhooks", `{"callback":"`+stored+`","events":["user.create","user.create","session"]}`)
		h.want(t, r, 201, "create webhook")
		var created adminWebhook
		r.json(t, &created)
		if !created.Enabled || created.Failures != 0 || len(created.Events) != 2 || created.ExpiresAt == "" || len(created.Secret) < 40 {
			t.Fatalf("created %+v", created)
		}
		var got adminWebhook
		r = h.admin(t, "GET", "/webhooks/"+created.ID, "")
		h.want(t, r, 200, "get webhook")
		r.json(t, &got)
		if got.Secret != "" || got.Callback != stored {
			t.Fatalf("GET shows %+v (the secret must not come back)", got)
		}
		var list struct {
			Database []adminWebhook
			Config   []struct {
				Callback       string
				Events         []string
				RecentAttempts []map[string]any `json:"recent_attempts"`
			}
		}
		h.admin(t, "GET", "/webhooks", "").json(t, &list)
		if len(list.Database) != 1 || list.Database[0].ID != created.ID || len(list.Config) != 1 || list.Config[0].Callback != rc.URL+"/file" {
			t.Fatalf("list %+v", list)
		}

		// The stored hook gets user.create, signed with its secret; its
		// attempt is listed.
		userID := h.adminCreate(t, "hooked@example.test", "").ID
		h.deliver(t)
		var mine []hookRequest
		for _, req := range rc.requests() {
			if req.Event == webhook.UserCreate && req.Path == "/stored/"+h.Dialect {
				mine = append(mine, req)
			}
		}
		if len(mine) == 0 {
			t.Fatal("the stored hook got no user.create")
		}
		last := mine[len(mine)-1]
		if data := h.verifyHook(t, last, created.Secret, h.Cfg.Webauthn.RelyingParty.ID); data["id"] != userID {
			t.Fatalf("user.create data %v", data)
		}
		var attempts []map[string]any
		h.admin(t, "GET", "/webhooks/"+created.ID+"/attempts", "").json(t, &attempts)
		if len(attempts) != 1 || attempts[0]["status"] != float64(204) || attempts[0]["event"] != webhook.UserCreate || attempts[0]["delivery_id"] != last.Header.Get("webhook-id") {
			t.Fatalf("attempts %v", attempts)
		}

		r = h.admin(t, "PUT", "/webhooks/"+created.ID, `{"callback":"`+rc.URL+`/moved","events":["user"],"enabled":false}`)
		h.want(t, r, 200, "update webhook")
		r.json(t, &got)
		if got.Enabled || got.Callback != rc.URL+"/moved" || len(got.Events) != 1 || got.Events[0].Event != "user" {
			t.Fatalf("updated %+v", got)
		}
		r = h.admin(t, "PUT", "/webhooks/"+created.ID, `{"callback":"`+rc.URL+`/moved","events":["user"]}`)
		r.json(t, &got)
		if got.Enabled {
			t.Fatal("a PUT without enabled enabled the hook")
		}

		id := created.ID
		h.wantBadInputs(t, []badInput{
			{name: "no callback", method: "POST", path: "/webhooks", body: `{"events":["user"]}`, status: 400},
			{name: "ftp callback", method: "POST", path: "/webhooks", body: `{"callback":"ftp://x/y","events":["user"]}`, status: 400},
			{name: "relative callback", method: "POST", path: "/webhooks", body: `{"callback":"/hooks","events":["user"]}`, status: 400},
			{name: "no events", method: "POST", path: "/webhooks", body: `{"callback":"https://x.example/h","events":[]}`, status: 400},
			{name: "unknown event", method: "POST", path: "/webhooks", body: `{"callback":"https://x.example/h","events":["user.logi"]}`, status: 400},
			{name: "events not a list", method: "POST", path: "/webhooks", body: `{"callback":"https://x.example/h","events":"user"}`, status: 400},
			{name: "not JSON", method: "POST", path: "/webhooks", body: `callback=x`, status: 400},
			{name: "bad id", method: "GET", path: "/webhooks/nope", status: 400},
			{name: "unknown id", method: "GET", path: "/webhooks/" + uuidZeroish, status: 404},
			{name: "put unknown", method: "PUT", path: "/webhooks/" + uuidZeroish, body: `{"callback":"https://x.example/h","events":["user"],"enabled":true}`, status: 404},
			{name: "put bad event", method: "PUT", path: "/webhooks/" + id, body: `{"callback":"https://x.example/h","events":["nope"],"enabled":true}`, status: 400},
			{name: "put bad callback", method: "PUT", path: "/webhooks/" + id, body: `{"callback":"javascript:alert(1)","events":["user"]}`, status: 400},
			{name: "delete unknown", method: "DELETE", path: "/webhooks/" + uuidZeroish, status: 404},
			{name: "delete bad id", method: "DELETE", path: "/webhooks/1", status: 400},
			{name: "attempts bad limit", method: "GET", path: "/webhooks/" + id + "/attempts?limit=0", status: 400},
			{name: "attempts unknown", method: "GET", path: "/webhooks/" + uuidZeroish + "/attempts", status: 404},
		})

		h.want(t, h.admin(t, "DELETE", "/webhooks/"+created.ID, ""), 204, "delete webhook")
		h.want(t, h.admin(t, "GET", "/webhooks/"+created.ID, ""), 404, "deleted webhook")
		h.admin(t, "GET", "/webhooks", "").json(t, &list)
		if len(list.Database) != 0 {
			t.Fatalf("after delete: %+v", list.Database)
		}
	})
}

const uuidZeroish = "00000000-0000-4000-8000-000000000001"

// TestAppDeliversMail: with email_delivery.enabled false no mail is sent;
// POST /passcode/login/initialize answers 200 once email.send is queued, a
// hook receives it with the code, the mail and delivered_by_hanko false,
// and the passcode login finalizes with that code. The code is in no log
// and, once delivered, in no row. Without a hook for email.send the node
// refuses to start; with delivery on, email.send still fires with
// delivered_by_hanko true.
func TestAppDeliversMail(t *testing.T) {
	rc := newHookReceiver(t)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	hooked := func(c *config.Config) {
		c.RateLimiter.Enabled = false
		c.Webhooks.Enabled = true
		c.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL + "/mail", Events: []string{"email.send"}, Secret: secret}}
	}
	h := newHarness(t, func(c *config.Config) { hooked(c); c.EmailDelivery.Enabled = false })
	address := "app-mail@example.test"
	ids := h.createUser(t, address)
	r := h.initPasscodeFrom(t, ids, "Accept-Language: de-DE,de;q=0.9")
	h.want(t, r, 200, "passcode init without mail delivery")
	var pc struct{ ID string }
	r.json(t, &pc)
	if h.Outbox.Count("") != 0 {
		t.Fatalf("a mail was sent:\n%s", h.Outbox.String())
	}
	h.deliver(t)
	got := rc.requests()
	if len(got) != 1 || got[0].Event != webhook.EmailSend {
		t.Fatalf("received %+v", got)
	}
	data := h.verifyHook(t, got[0], secret, h.Cfg.Webauthn.RelyingParty.ID)
	inner, _ := data["data"].(map[string]any)
	code, _ := inner["otp_code"].(string)
	if data["delivered_by_hanko"] != false || data["to_email_address"] != address || data["type"] != "passcode" ||
		data["language"] != "de" || data["accept_language"] != "de-DE,de;q=0.9" || data["subject"] == "" ||
		data["body_plain"] == "" || data["body"] == "" || len(code) != 6 || inner["ttl"] != float64(300) || inner["valid_until"] == nil {
		t.Fatalf("email.send data %v", data)
	}
	if !strings.Contains(data["body_plain"].(string), code) || !strings.Contains(data["body"].(string), code) {
		t.Fatal("the bodies do not carry the code")
	}
	r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+code+`"}`)
	h.want(t, r, 200, "finalize with the code from the webhook")
	if strings.Contains(h.Log.String(), code) {
		t.Fatal("the code is in the log")
	}
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kept int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM events WHERE hook_data IS NOT NULL) + (SELECT COUNT(*) FROM webhook_deliveries WHERE data IS NOT NULL)`).Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("rows still holding mail data: %d (%v)", kept, err)
	}

	// No hook for email.send: the node does not start.
	cfg := h.Cfg
	cfg.Webhooks.Hooks = []config.WebhookHook{{Callback: rc.URL, Events: []string{"user"}}}
	if _, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard), io.Discard); err == nil || !strings.Contains(err.Error(), "email.send") {
		t.Fatalf("started without an email.send hook: %v", err)
	}

	// Delivery on: the mail is sent and email.send still fires.
	h2 := newHarness(t, hooked)
	ids = h2.createUser(t, "both@example.test")
	h2.want(t, h2.initPasscodeFrom(t, ids), 200, "passcode init with delivery")
	h2.deliver(t)
	got = rc.requests()[1:]
	if len(got) != 1 {
		t.Fatalf("received %d more requests", len(got))
	}
	data = h2.verifyHook(t, got[0], secret, h2.Cfg.Webauthn.RelyingParty.ID)
	inner, _ = data["data"].(map[string]any)
	if data["delivered_by_hanko"] != true || inner["otp_code"] != h2.code(t, "both@example.test") {
		t.Fatalf("email.send with delivery: %v (mailed code %s)", data, h2.code(t, "both@example.test"))
	}
}
