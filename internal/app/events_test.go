package app_test

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// recorded is one row of the events table as a test reads it.
type recorded struct {
	Seq                                        int64
	Type, Error, UserID, Email                 string
	RequestID, ClientIP, UserAgent, DetailJSON string
}

// eventsAfter reads the events with seq > after, in order.
func (h *harness) eventsAfter(t *testing.T, after int64) []recorded {
	t.Helper()
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT seq, type, COALESCE(error, ''), COALESCE(actor_user_id, ''), COALESCE(actor_email, ''),
		request_id, client_ip, user_agent, COALESCE(details, '') FROM events WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []recorded
	for rows.Next() {
		var r recorded
		if err := rows.Scan(&r.Seq, &r.Type, &r.Error, &r.UserID, &r.Email, &r.RequestID, &r.ClientIP, &r.UserAgent, &r.DetailJSON); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryPublicChangeRecordsItsEvent drives every state-changing route
// and every login outcome of the public API and checks, after each
// request, exactly the events it recorded: Hanko's type names, the actor
// (user id, and the e-mail address where the request knows it), the
// request id, client address and user agent of the request, and the error
// of a *_failed event.
func TestEveryPublicChangeRecordsItsEvent(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Password.Enabled = true
		c.Account.AllowDeletion = true
		c.RateLimiter.Enabled = false
	})
	var seq int64
	n := 0
	// step sends one request with its own request id and user agent and
	// checks the events it recorded: want is "type/user/email/error" per
	// event, where user is "U" (the test's user), "-" (none) or "*" (not
	// checked), email "" or the address, error "" or the message.
	var user string
	step := func(method, path, body, auth string, status int, want ...string) response {
		t.Helper()
		n++
		rid := fmt.Sprintf("events-%02d", n)
		ua := fmt.Sprintf("EventsTest/%d", n)
		headers := []string{"X-Request-Id: " + rid, "User-Agent: " + ua}
		if auth != "" {
			headers = append(headers, "Authorization: Bearer "+auth)
		}
		r := h.do(t, method, path, body, headers...)
		if r.Status != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, status)
		}
		evs := h.eventsAfter(t, seq)
		var got []string
		for _, ev := range evs {
			u := ev.UserID
			switch {
			case u == "":
				u = "-"
			case u == user:
				u = "U"
			}
			got = append(got, ev.Type+"/"+u+"/"+ev.Email+"/"+ev.Error)
			if ev.RequestID != rid || ev.ClientIP != "127.0.0.1" || ev.UserAgent != ua {
				t.Errorf("%s %s: event %s carries request %q %q %q, want %q 127.0.0.1 %q", method, path, ev.Type, ev.RequestID, ev.ClientIP, ev.UserAgent, rid, ua)
			}
			seq = ev.Seq
		}
		for i := range want {
			if i < len(got) && strings.Contains(want[i], "/*/") {
				parts := strings.SplitN(got[i], "/", 3)
				got[i] = parts[0] + "/*/" + parts[2]
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s %s recorded\n  %s\nwant\n  %s", method, path, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return r
	}
	const ada, second = "ada@example.test", "ada.work@example.test"

	r := step("POST", "/users", `{"email":"`+ada+`"}`, "", 200, "user_created/*/"+ada+"/")
	var ids map[string]string
	r.json(t, &ids)
	user = ids["user_id"]
	init := `{"user_id":"` + user + `","email_id":"` + ids["email_id"] + `"}`
	r = step("POST", "/passcode/login/initialize", init, "", 200, "passcode_login_init_succeeded/U//")
	var pc map[string]any
	r.json(t, &pc)
	code := h.code(t, ada)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	step("POST", "/passcode/login/finalize", `{"id":"`+pc["id"].(string)+`","code":"`+wrong+`"}`, "", 401,
		"passcode_login_final_failed/U//Unauthorized")
	r = step("POST", "/passcode/login/finalize", `{"id":"`+pc["id"].(string)+`","code":"`+code+`"}`, "", 200,
		"email_verified/U/"+ada+"/", "primary_email_changed/U/"+ada+"/", "passcode_login_final_succeeded/U/"+ada+"/")
	token := tokenOf(r)
	step("POST", "/passcode/login/initialize", `{"user_id":"`+user+`"}`+" ", "", 200, "passcode_login_init_succeeded/U//")
	step("POST", "/passcode/login/initialize", `{"user_id":"00000000-0000-4000-8000-000000000000"}`, "", 400,
		"passcode_login_init_failed/*//user not found")

	// A second address: created, verified by its passcode, made primary,
	// and the first one deleted.
	r = step("POST", "/emails", `{"address":"`+second+`"}`, token, 200, "email_created/U/"+ada+"/")
	var em map[string]any
	r.json(t, &em)
	secondID := em["id"].(string)
	r = step("POST", "/passcode/login/initialize", `{"user_id":"`+user+`","email_id":"`+secondID+`"}`, token, 200,
		"passcode_login_init_succeeded/U//")
	r.json(t, &pc)
	step("POST", "/passcode/login/finalize", `{"id":"`+pc["id"].(string)+`","code":"`+h.code(t, second)+`"}`, token, 200,
		"email_verified/U/"+second+"/", "passcode_login_final_succeeded/U/"+ada+"/")
	step("POST", "/emails/"+secondID+"/set_primary", "", token, 204, "primary_email_changed/U/"+second+"/")
	step("DELETE", "/emails/"+ids["email_id"], "", token, 204, "email_deleted/U/"+second+"/")

	// Password: set (and a refused set), log in (and a refused login).
	step("PUT", "/password", `{"user_id":"`+user+`","password":"short"}`, token, 400,
		"password_set_failed/U//password must be at least 8 characters long")
	step("PUT", "/password", `{"user_id":"`+user+`","password":"correct horse"}`, token, 201, "password_set_succeeded/U//")
	step("POST", "/password/login", `{"user_id":"`+user+`","password":"wrong horse"}`, "", 401, "password_login_failed/U//Unauthorized")
	step("POST", "/password/login", `{"user_id":"`+user+`","password":"correct horse"}`, "", 200, "password_login_succeeded/U/"+second+"/")

	// Passkeys: registration, login (and a replay), rename, delete.
	origin := webauthntest.Options{Origin: "https://login.example.test"}
	auth := webauthntest.New()
	r = step("POST", "/webauthn/registration/initialize", "", token, 200, "webauthn_registration_init_succeeded/U//")
	cred, credID, err := auth.Register(r.Body, origin)
	if err != nil {
		t.Fatal(err)
	}
	step("POST", "/webauthn/registration/finalize", `{"id":"x"}`, token, 400, "webauthn_registration_final_failed/U//Parse error for Registration")
	step("POST", "/webauthn/registration/finalize", string(cred), token, 200, "webauthn_registration_final_succeeded/U//")
	r = step("POST", "/webauthn/login/initialize", "", "", 200, "webauthn_authentication_init_succeeded/-//")
	assertion, err := auth.Login(r.Body, origin)
	if err != nil {
		t.Fatal(err)
	}
	step("POST", "/webauthn/login/initialize", `{"user_id":"00000000-0000-4000-8000-000000000000"}`, "", 400,
		"webauthn_authentication_init_failed/*//user not found")
	step("POST", "/webauthn/login/finalize", string(assertion), "", 200, "webauthn_authentication_final_succeeded/U/"+second+"/")
	step("POST", "/webauthn/login/finalize", string(assertion), "", 401,
		"webauthn_authentication_final_failed/-//Stored challenge and received challenge do not match")
	credPath := "/webauthn/credentials/" + base64.RawURLEncoding.EncodeToString(credID)
	step("PATCH", credPath, `{"name":"Laptop"}`, token, 200, "webauthn_credential_updated/U//")
	step("DELETE", credPath, "", token, 204, "webauthn_credential_deleted/U//")

	// Log out, sign in again, delete the account.
	step("POST", "/logout", "", token, 204, "user_logged_out/U/"+ada+"/")
	r = step("POST", "/password/login", `{"user_id":"`+user+`","password":"correct horse"}`, "", 200, "password_login_succeeded/U/"+second+"/")
	step("DELETE", "/user", "", tokenOf(r), 204, "user_deleted/U/"+second+"/")
}
