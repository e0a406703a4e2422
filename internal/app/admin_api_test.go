package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
)

// Tests of the admin API (admin listener), end to end through a real node
// on every database dialect.

// forEachDialect runs fn on a fresh node per dialect (server dialects skip
// when their variable is unset).
func forEachDialect(t *testing.T, mutate func(*config.Config), fn func(t *testing.T, h *harness)) {
	for _, d := range dbtest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarnessOn(t, d, func(c *config.Config) {
				c.RateLimiter.Enabled = false
				if mutate != nil {
					mutate(c)
				}
			}))
		})
	}
}

type adminEmail struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	IsVerified bool   `json:"is_verified"`
	IsPrimary  bool   `json:"is_primary"`
	CreatedAt  string `json:"created_at"`
}

type adminUser struct {
	ID          string       `json:"id"`
	Emails      []adminEmail `json:"emails"`
	Credentials []struct {
		ID string `json:"id"`
	} `json:"webauthn_credentials"`
	CreatedAt string `json:"created_at"`
	Password  *struct {
		ID string `json:"id"`
	} `json:"password"`
	Metadata   map[string]json.RawMessage `json:"metadata"`
	Name       string                     `json:"name"`
	GivenName  string                     `json:"given_name"`
	FamilyName string                     `json:"family_name"`
	Picture    string                     `json:"picture"`
}

// adminCreate creates a user with one verified primary address through
// the admin API and returns it.
func (h *harness) adminCreate(t *testing.T, address, extra string, headers ...string) adminUser {
	t.Helper()
	r := h.admin(t, "POST", "/users", `{"emails":[{"address":"`+address+`","is_primary":true,"is_verified":true}]`+extra+`}`, headers...)
	h.want(t, r, 200, "admin POST /users "+address)
	var u adminUser
	r.json(t, &u)
	return u
}

// badInput sends each request and wants its status with the database
// unchanged.
type badInput struct {
	name, method, path, body string
	status                   int
	headers                  []string
}

func (h *harness) wantBadInputs(t *testing.T, cases []badInput) {
	t.Helper()
	for _, c := range cases {
		before := h.snapshot(t)
		r := h.admin(t, c.method, c.path, c.body, c.headers...)
		if r.Status != c.status {
			t.Errorf("%s: %s %s: status %d, want %d; body %s", c.name, c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || e.Code != c.status || e.Message == "" {
			t.Errorf("%s: body %s is not the error body for %d", c.name, r.Body, c.status)
		}
		h.wantRowsUnchanged(t, before)
	}
}

func TestAdminUsers(t *testing.T) {
	forEachDialect(t, nil, func(t *testing.T, h *harness) {
		const fixedID = "0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a01"
		a := h.adminCreate(t, "ada@example.test", `,"id":"`+fixedID+`","created_at":"2020-01-02T03:04:05Z"`)
		if a.ID != fixedID || !strings.HasPrefix(a.CreatedAt, "2020-01-02T03:04:05") {
			t.Fatalf("created user = %+v, want id %s created 2020-01-02T03:04:05Z", a, fixedID)
		}
		if len(a.Emails) != 1 || a.Emails[0].Address != "ada@example.test" || !a.Emails[0].IsPrimary || !a.Emails[0].IsVerified {
			t.Fatalf("created user's e-mails = %+v", a.Emails)
		}
		b := h.adminCreate(t, "bob@example.test", `,"created_at":"2021-01-01T00:00:00Z"`)
		r := h.admin(t, "POST", "/users", `{"created_at":"2022-01-01T00:00:00Z","emails":[{"address":"Carol@Example.test","is_primary":false},{"address":"carol2@example.test","is_primary":true}]}`)
		h.want(t, r, 200, "create carol")
		var c adminUser
		r.json(t, &c)
		byAddress := map[string]adminEmail{}
		for _, e := range c.Emails {
			byAddress[e.Address] = e
		}
		if len(c.Emails) != 2 || byAddress["carol@example.test"].IsPrimary || !byAddress["carol2@example.test"].IsPrimary || byAddress["carol2@example.test"].IsVerified {
			t.Fatalf("carol's e-mails = %+v", c.Emails)
		}
		// A user still signing up (address unverified, unassigned) is not listed.
		h.createUser(t, "pending@example.test")

		h.wantBadInputs(t, []badInput{
			{name: "no emails", method: "POST", path: "/users", body: `{}`, status: 400},
			{name: "empty emails", method: "POST", path: "/users", body: `{"emails":[]}`, status: 400},
			{name: "no primary", method: "POST", path: "/users", body: `{"emails":[{"address":"x@example.test"}]}`, status: 400},
			{name: "two primaries", method: "POST", path: "/users", body: `{"emails":[{"address":"x@example.test","is_primary":true},{"address":"y@example.test","is_primary":true}]}`, status: 400},
			{name: "bad address", method: "POST", path: "/users", body: `{"emails":[{"address":"not-an-address","is_primary":true}]}`, status: 400},
			{name: "duplicate address", method: "POST", path: "/users", body: `{"emails":[{"address":"x@example.test","is_primary":true},{"address":"X@example.test"}]}`, status: 400},
			{name: "bad id", method: "POST", path: "/users", body: `{"id":"nope","emails":[{"address":"x@example.test","is_primary":true}]}`, status: 400},
			{name: "username", method: "POST", path: "/users", body: `{"username":"x","emails":[{"address":"x@example.test","is_primary":true}]}`, status: 400},
			{name: "wrong type", method: "POST", path: "/users", body: `{"emails":"x@example.test"}`, status: 400},
			{name: "bad created_at", method: "POST", path: "/users", body: `{"created_at":"yesterday","emails":[{"address":"x@example.test","is_primary":true}]}`, status: 400},
			{name: "not JSON", method: "POST", path: "/users", body: `{"emails":`, status: 400},
			{name: "no content type", method: "POST", path: "/users", body: `{}`, status: 415, headers: []string{"Content-Type: "}},
			{name: "taken id", method: "POST", path: "/users", body: `{"id":"` + fixedID + `","emails":[{"address":"x@example.test","is_primary":true}]}`, status: 409},
			{name: "taken address", method: "POST", path: "/users", body: `{"emails":[{"address":"ADA@example.test","is_primary":true}]}`, status: 409},
			{name: "over email.limit", method: "POST", path: "/users", body: `{"emails":[{"address":"1@example.test","is_primary":true},{"address":"2@example.test"},{"address":"3@example.test"},{"address":"4@example.test"},{"address":"5@example.test"},{"address":"6@example.test"}]}`, status: 400},
			{name: "list bad sort", method: "GET", path: "/users?sort_direction=up", status: 400},
			{name: "list bad user_id", method: "GET", path: "/users?user_id=" + fixedID + ",nope", status: 400},
			{name: "list bad page", method: "GET", path: "/users?page=0", status: 400},
			{name: "list bad per_page", method: "GET", path: "/users?per_page=1000", status: 400},
			{name: "get bad id", method: "GET", path: "/users/nope", status: 400},
			{name: "get unknown", method: "GET", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99", status: 404},
			{name: "patch unknown", method: "PATCH", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99", body: `{"name":"x"}`, status: 404},
			{name: "patch bad picture", method: "PATCH", path: "/users/" + fixedID, body: `{"picture":"javascript:alert(1)"}`, status: 400},
			{name: "patch picture with user info", method: "PATCH", path: "/users/" + fixedID, body: `{"picture":"https://u:p@example.test/a.png"}`, status: 400},
			{name: "patch empty name", method: "PATCH", path: "/users/" + fixedID, body: `{"name":"  "}`, status: 400},
			{name: "patch long name", method: "PATCH", path: "/users/" + fixedID, body: `{"name":"` + strings.Repeat("n", 256) + `"}`, status: 400},
			{name: "patch wrong type", method: "PATCH", path: "/users/" + fixedID, body: `{"name":7}`, status: 400},
			{name: "patch username", method: "PATCH", path: "/users/" + fixedID, body: `{"username":"ada"}`, status: 400},
			{name: "delete bad id", method: "DELETE", path: "/users/nope", status: 400},
			{name: "delete unknown", method: "DELETE", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99", status: 404},
		})

		// List: newest first, pages, headers, filters.
		list := func(query string) ([]adminUser, response) {
			t.Helper()
			r := h.admin(t, "GET", "/users"+query, "")
			h.want(t, r, 200, "GET /users"+query)
			var us []adminUser
			r.json(t, &us)
			return us, r
		}
		ids := func(us []adminUser) string {
			var s []string
			for _, u := range us {
				s = append(s, u.ID)
			}
			return strings.Join(s, ",")
		}
		us, r := list("")
		if ids(us) != c.ID+","+b.ID+","+a.ID || r.Header.Get("X-Total-Count") != "3" {
			t.Fatalf("GET /users = %s (total %s), want carol, bob, ada", ids(us), r.Header.Get("X-Total-Count"))
		}
		us, r = list("?per_page=2&sort_direction=asc")
		if ids(us) != a.ID+","+b.ID || r.Header.Get("X-Total-Count") != "3" {
			t.Fatalf("first asc page = %s", ids(us))
		}
		link := r.Header.Get("Link")
		for _, want := range []string{`</users?page=1&per_page=2&sort_direction=asc>; rel="first"`, `</users?page=2&per_page=2&sort_direction=asc>; rel="next"`, `</users?page=2&per_page=2&sort_direction=asc>; rel="last"`} {
			if !strings.Contains(link, want) {
				t.Errorf("Link %q lacks %q", link, want)
			}
		}
		if strings.Contains(link, `rel="prev"`) {
			t.Errorf("Link of page 1 has prev: %q", link)
		}
		us, r = list("?per_page=2&page=2&sort_direction=asc")
		if ids(us) != c.ID || !strings.Contains(r.Header.Get("Link"), `rel="prev"`) || strings.Contains(r.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("second asc page = %s, Link %q", ids(us), r.Header.Get("Link"))
		}
		if us, _ = list("?page=9"); len(us) != 0 {
			t.Fatalf("page past the end = %s", ids(us))
		}
		if us, _ = list("?email=CAROL"); ids(us) != c.ID {
			t.Fatalf("email filter = %s, want carol", ids(us))
		}
		if us, _ = list("?email=%25"); len(us) != 0 {
			t.Fatalf("email filter %% (a literal) = %s, want none", ids(us))
		}
		if us, _ = list("?email=_"); len(us) != 0 {
			t.Fatalf("email filter _ (a literal) = %s, want none", ids(us))
		}
		if us, _ = list("?user_id=" + a.ID + "," + c.ID); ids(us) != c.ID+","+a.ID {
			t.Fatalf("user_id filter = %s", ids(us))
		}
		if len(us[0].Emails) != 2 {
			t.Fatalf("list entry lacks e-mails: %+v", us[0])
		}

		// Get, patch.
		r = h.admin(t, "GET", "/users/"+a.ID, "")
		h.want(t, r, 200, "GET user")
		r = h.admin(t, "PATCH", "/users/"+a.ID, `{"name":" Ada Lovelace ","given_name":"Ada","picture":"https://img.example.test/ada.png"}`)
		h.want(t, r, 200, "PATCH user")
		var got adminUser
		r.json(t, &got)
		if got.Name != "Ada Lovelace" || got.GivenName != "Ada" || got.Picture != "https://img.example.test/ada.png" {
			t.Fatalf("patched = %+v", got)
		}
		r = h.admin(t, "PATCH", "/users/"+a.ID, `{"given_name":null}`)
		h.want(t, r, 200, "PATCH clear")
		got = adminUser{}
		r.json(t, &got)
		if got.Name != "Ada Lovelace" || got.GivenName != "" || strings.Contains(string(r.Body), "given_name") {
			t.Fatalf("after clearing given_name: %s", r.Body)
		}

		// Delete.
		h.want(t, h.admin(t, "DELETE", "/users/"+b.ID, ""), 204, "DELETE user")
		h.want(t, h.admin(t, "GET", "/users/"+b.ID, ""), 404, "GET deleted user")
		if us, _ = list(""); ids(us) != c.ID+","+a.ID {
			t.Fatalf("after delete: %s", ids(us))
		}
	})
}

// jsonEqual reports whether got and want are the same JSON value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestAdminMetadata(t *testing.T) {
	forEachDialect(t, nil, func(t *testing.T, h *harness) {
		u := h.adminCreate(t, "meta@example.test", "")
		path := "/users/" + u.ID + "/metadata"
		h.want(t, h.admin(t, "GET", path, ""), 204, "metadata before")
		patch := func(body, want string) {
			t.Helper()
			r := h.admin(t, "PATCH", path, body)
			if want == "" {
				h.want(t, r, 204, "PATCH "+body)
				return
			}
			h.want(t, r, 200, "PATCH "+body)
			if !jsonEqual(t, r.Body, want) {
				t.Fatalf("PATCH %s = %s, want %s", body, r.Body, want)
			}
			r = h.admin(t, "GET", path, "")
			if h.want(t, r, 200, "GET metadata"); !jsonEqual(t, r.Body, want) {
				t.Fatalf("GET after PATCH %s = %s, want %s", body, r.Body, want)
			}
		}
		patch(`{"public_metadata":{"role":"admin","tags":["a"]},"private_metadata":{"crm":42}}`,
			`{"public_metadata":{"role":"admin","tags":["a"]},"private_metadata":{"crm":42}}`)
		// RFC 7386: null removes a member, objects merge, arrays replace.
		patch(`{"public_metadata":{"role":null,"tags":["b"],"plan":{"tier":1}},"unsafe_metadata":{"theme":"dark"}}`,
			`{"public_metadata":{"plan":{"tier":1},"tags":["b"]},"private_metadata":{"crm":42},"unsafe_metadata":{"theme":"dark"}}`)
		patch(`{"private_metadata":null}`, `{"public_metadata":{"plan":{"tier":1},"tags":["b"]},"unsafe_metadata":{"theme":"dark"}}`)
		r := h.admin(t, "GET", "/users/"+u.ID, "")
		var full adminUser
		r.json(t, &full)
		if len(full.Metadata) != 2 {
			t.Fatalf("user object's metadata = %v", full.Metadata)
		}

		h.wantBadInputs(t, []badInput{
			{name: "array", method: "PATCH", path: path, body: `[1]`, status: 400},
			{name: "string section", method: "PATCH", path: path, body: `{"public_metadata":"x"}`, status: 400},
			{name: "array section", method: "PATCH", path: path, body: `{"public_metadata":[1]}`, status: 400},
			{name: "unknown section", method: "PATCH", path: path, body: `{"other":{}}`, status: 400},
			{name: "too long", method: "PATCH", path: path, body: `{"public_metadata":{"x":"` + strings.Repeat("é", 3000) + `"}}`, status: 400},
			{name: "empty body", method: "PATCH", path: path, body: ``, status: 400},
			{name: "bad id", method: "PATCH", path: "/users/nope/metadata", body: `{}`, status: 400},
			{name: "unknown user", method: "PATCH", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/metadata", body: `{}`, status: 404},
			{name: "get unknown user", method: "GET", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/metadata", status: 404},
			{name: "get bad id", method: "GET", path: "/users/nope/metadata", status: 400},
		})
		patch(`null`, "")
		h.want(t, h.admin(t, "GET", path, ""), 204, "metadata after null")
	})
}

func TestAdminEmailsPasswordsCredentials(t *testing.T) {
	forEachDialect(t, nil, func(t *testing.T, h *harness) {
		u := h.adminCreate(t, "first@example.test", "")
		other := h.adminCreate(t, "other@example.test", "")
		base := "/users/" + u.ID
		primaryID := u.Emails[0].ID

		r := h.admin(t, "POST", base+"/emails", `{"address":"Second@Example.test","is_verified":true,"is_primary":true}`)
		h.want(t, r, 201, "add e-mail")
		var second adminEmail
		r.json(t, &second)
		if second.Address != "second@example.test" || !second.IsVerified || second.IsPrimary {
			t.Fatalf("added e-mail = %+v (is_primary is ignored)", second)
		}
		// A pending sign-up's address is taken over.
		h.createUser(t, "pending@example.test")
		h.want(t, h.admin(t, "POST", base+"/emails", `{"address":"pending@example.test"}`), 201, "take over a pending address")
		for i := 4; i <= 5; i++ {
			h.want(t, h.admin(t, "POST", base+"/emails", `{"address":"a`+strconv.Itoa(i)+`@example.test"}`), 201, "fill to the limit")
		}
		r = h.admin(t, "GET", base+"/emails", "")
		var emails []adminEmail
		r.json(t, &emails)
		if len(emails) != 5 {
			t.Fatalf("e-mails = %+v", emails)
		}
		r = h.admin(t, "GET", base+"/emails/"+second.ID, "")
		h.want(t, r, 200, "get e-mail")

		// A user without addresses gets their first as primary.
		h.want(t, h.admin(t, "DELETE", "/users/"+other.ID+"/emails/"+other.Emails[0].ID, ""), 409, "delete the only (primary) address")

		h.wantBadInputs(t, []badInput{
			{name: "over the limit", method: "POST", path: base + "/emails", body: `{"address":"six@example.test"}`, status: 409},
			{name: "owned by another", method: "POST", path: "/users/" + other.ID + "/emails", body: `{"address":"FIRST@example.test"}`, status: 400},
			{name: "invalid address", method: "POST", path: "/users/" + other.ID + "/emails", body: `{"address":"nope"}`, status: 400},
			{name: "no address", method: "POST", path: "/users/" + other.ID + "/emails", body: `{}`, status: 400},
			{name: "unknown user", method: "POST", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/emails", body: `{"address":"z@example.test"}`, status: 404},
			{name: "list unknown user", method: "GET", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/emails", status: 404},
			{name: "list bad id", method: "GET", path: "/users/nope/emails", status: 400},
			{name: "get another's", method: "GET", path: "/users/" + other.ID + "/emails/" + second.ID, status: 404},
			{name: "get bad email id", method: "GET", path: base + "/emails/nope", status: 400},
			{name: "delete primary", method: "DELETE", path: base + "/emails/" + primaryID, status: 409},
			{name: "delete another's", method: "DELETE", path: "/users/" + other.ID + "/emails/" + second.ID, status: 404},
			{name: "set_primary another's", method: "POST", path: "/users/" + other.ID + "/emails/" + second.ID + "/set_primary", status: 404},
		})
		h.want(t, h.admin(t, "POST", base+"/emails/"+second.ID+"/set_primary", ""), 204, "set_primary")
		h.want(t, h.admin(t, "DELETE", base+"/emails/"+primaryID, ""), 204, "delete the former primary")
		r = h.admin(t, "GET", base+"/emails/"+second.ID, "")
		var e adminEmail
		r.json(t, &e)
		if !e.IsPrimary {
			t.Fatalf("after set_primary: %+v", e)
		}

		// Password.
		pw := base + "/password"
		h.want(t, h.admin(t, "GET", pw, ""), 404, "no password yet")
		h.want(t, h.admin(t, "POST", pw, `{"password":"correct horse"}`), 200, "create password")
		h.wantBadInputs(t, []badInput{
			{name: "create again", method: "POST", path: pw, body: `{"password":"battery staple"}`, status: 409},
			{name: "empty", method: "PUT", path: pw, body: `{"password":""}`, status: 400},
			{name: "too long", method: "PUT", path: pw, body: `{"password":"` + strings.Repeat("x", 73) + `"}`, status: 400},
			{name: "replace none", method: "PUT", path: "/users/" + other.ID + "/password", body: `{"password":"x"}`, status: 404},
			{name: "unknown user", method: "POST", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/password", body: `{"password":"x"}`, status: 404},
			{name: "delete none", method: "DELETE", path: "/users/" + other.ID + "/password", status: 404},
		})
		r = h.admin(t, "PUT", pw, `{"password":"battery staple"}`)
		h.want(t, r, 200, "replace password")
		if strings.Contains(string(r.Body), "$") || strings.Contains(string(r.Body), "battery") {
			t.Fatalf("password response shows the hash or password: %s", r.Body)
		}
		r = h.admin(t, "GET", "/users/"+u.ID, "")
		var full adminUser
		if r.json(t, &full); full.Password == nil {
			t.Fatalf("user object lacks the password: %s", r.Body)
		}
		h.want(t, h.admin(t, "DELETE", pw, ""), 204, "delete password")
		h.want(t, h.admin(t, "GET", pw, ""), 404, "password gone")

		// WebAuthn credentials, registered through the public API.
		token := h.passcodeLogin(t, u.ID, "second@example.test")
		cred := h.registerPasskey(t, "Cookie: hanko="+token)
		r = h.admin(t, "GET", base+"/webauthn_credentials", "")
		if h.want(t, r, 200, "list credentials"); !strings.Contains(string(r.Body), cred) {
			t.Fatalf("credentials = %s, want %s", r.Body, cred)
		}
		h.want(t, h.admin(t, "GET", base+"/webauthn_credentials/"+cred, ""), 200, "get credential")
		h.wantBadInputs(t, []badInput{
			{name: "another's", method: "GET", path: "/users/" + other.ID + "/webauthn_credentials/" + cred, status: 404},
			{name: "delete another's", method: "DELETE", path: "/users/" + other.ID + "/webauthn_credentials/" + cred, status: 404},
			{name: "not base64url", method: "GET", path: base + "/webauthn_credentials/!!", status: 404},
			{name: "list unknown user", method: "GET", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/webauthn_credentials", status: 404},
		})
		h.want(t, h.admin(t, "DELETE", base+"/webauthn_credentials/"+cred, ""), 204, "delete credential")
		h.want(t, h.admin(t, "GET", base+"/webauthn_credentials/"+cred, ""), 404, "credential gone")
	})
}

func TestAdminSessions(t *testing.T) {
	forEachDialect(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true }, func(t *testing.T, h *harness) {
		u := h.adminCreate(t, "s@example.test", "")
		other := h.adminCreate(t, "o@example.test", "")
		r := h.admin(t, "POST", "/sessions", `{"user_id":"`+u.ID+`","user_agent":"backend/1.0","ip_address":"203.0.113.9"}`)
		h.want(t, r, 200, "mint session")
		var minted struct {
			SessionToken string `json:"session_token"`
		}
		r.json(t, &minted)
		if minted.SessionToken == "" {
			t.Fatalf("no session_token: %s", r.Body)
		}
		me := h.do(t, "GET", "/me", "", "Authorization: Bearer "+minted.SessionToken)
		h.want(t, me, 200, "GET /me with the minted token")
		v := h.validate(t, "POST", minted.SessionToken)
		if v.Claims.Email == nil || v.Claims.Email.Address != "s@example.test" {
			t.Fatalf("minted token's email claim = %+v", v.Claims.Email)
		}

		r = h.admin(t, "GET", "/users/"+u.ID+"/sessions", "")
		h.want(t, r, 200, "list sessions")
		var ss []struct {
			ID        string  `json:"id"`
			UserID    string  `json:"user_id"`
			UserAgent *string `json:"user_agent"`
			IPAddress *string `json:"ip_address"`
			ExpiresAt string  `json:"expires_at"`
			LastUsed  string  `json:"last_used"`
		}
		r.json(t, &ss)
		if len(ss) != 1 || ss[0].UserID != u.ID || ss[0].UserAgent == nil || *ss[0].UserAgent != "backend/1.0" || ss[0].IPAddress == nil || *ss[0].IPAddress != "203.0.113.9" || ss[0].ID != v.Claims.SessionID {
			t.Fatalf("sessions = %s", r.Body)
		}

		h.wantBadInputs(t, []badInput{
			{name: "mint no user_id", method: "POST", path: "/sessions", body: `{}`, status: 400},
			{name: "mint bad user_id", method: "POST", path: "/sessions", body: `{"user_id":"x"}`, status: 400},
			{name: "mint bad ip", method: "POST", path: "/sessions", body: `{"user_id":"` + u.ID + `","ip_address":"300.1.1.1"}`, status: 400},
			{name: "mint long user agent", method: "POST", path: "/sessions", body: `{"user_id":"` + u.ID + `","user_agent":"` + strings.Repeat("u", 1025) + `"}`, status: 400},
			{name: "mint unknown user", method: "POST", path: "/sessions", body: `{"user_id":"0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99"}`, status: 404},
			{name: "list unknown user", method: "GET", path: "/users/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99/sessions", status: 404},
			{name: "delete another's", method: "DELETE", path: "/users/" + other.ID + "/sessions/" + ss[0].ID, status: 404},
			{name: "delete bad id", method: "DELETE", path: "/users/" + u.ID + "/sessions/nope", status: 400},
			{name: "delete unknown", method: "DELETE", path: "/users/" + u.ID + "/sessions/0b6cfa38-4f7e-4d8e-9d37-0c1b6d1c1a99", status: 404},
		})
		h.want(t, h.admin(t, "DELETE", "/users/"+u.ID+"/sessions/"+ss[0].ID, ""), 204, "delete session")
		h.want(t, h.do(t, "GET", "/me", "", "Authorization: Bearer "+minted.SessionToken), 401, "GET /me after the admin ended the session")
	})
}

// TestAdminRevocationAcrossNodes: a user signs in on node A; the admin
// ends one session and then deletes the user on node B; node A refuses the
// tokens at once.
func TestAdminRevocationAcrossNodes(t *testing.T) {
	forEachDialect(t, func(c *config.Config) { c.Session.EnableAuthTokenHeader = true }, func(t *testing.T, a *harness) {
		b := a.peer(t)
		userID, _, tok1 := a.signUp(t, "two-nodes@example.test")
		tok2 := a.passcodeLogin(t, userID, "two-nodes@example.test")
		for _, tok := range []string{tok1, tok2} {
			a.want(t, a.do(t, "GET", "/me", "", "Authorization: Bearer "+tok), 200, "token works on node A")
		}
		sid := a.validate(t, "GET", "", "Authorization: Bearer "+tok1).Claims.SessionID
		b.want(t, b.admin(t, "DELETE", "/users/"+userID+"/sessions/"+sid, ""), 204, "node B ends session 1")
		a.want(t, a.do(t, "GET", "/me", "", "Authorization: Bearer "+tok1), 401, "session 1 on node A")
		a.want(t, a.do(t, "GET", "/me", "", "Authorization: Bearer "+tok2), 200, "session 2 on node A")
		b.want(t, b.admin(t, "DELETE", "/users/"+userID, ""), 204, "node B deletes the user")
		a.want(t, a.do(t, "GET", "/me", "", "Authorization: Bearer "+tok2), 401, "session 2 on node A after the user was deleted")
		if v := a.validate(t, "POST", tok2); v.IsValid {
			t.Fatal("POST /sessions/validate on node A still accepts the deleted user's token")
		}
	})
}

// TestAdminAuth: with server.admin.api_keys every admin route but the
// health probes needs one of the keys as a Bearer token.
func TestAdminAuth(t *testing.T) {
	t.Parallel()
	key1 := strings.Repeat("k", 32)
	key2 := "second-key-for-rotation-0123456789abcdef"
	h := newHarness(t, func(c *config.Config) { c.Server.Admin.APIKeys = []string{key1, key2} })
	u := h.adminCreate(t, "auth@example.test", "", "Authorization: Bearer "+key1)
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no key", "", 401},
		{"wrong scheme", "Authorization: Basic " + key1, 401},
		{"wrong key", "Authorization: Bearer nope", 401},
		{"right length, wrong key", "Authorization: Bearer " + strings.Repeat("j", 32), 401},
		{"a prefix of a key", "Authorization: Bearer " + key1[:31], 401},
		{"a key with a suffix", "Authorization: Bearer " + key1 + "x", 401},
		{"first key", "Authorization: Bearer " + key1, 200},
		{"second key", "Authorization: Bearer " + key2, 200},
		{"lower-case scheme", "authorization: bearer " + key2, 200},
	} {
		for _, path := range []string{"/users", "/users/" + u.ID, "/metrics"} {
			var headers []string
			if tc.header != "" {
				headers = append(headers, tc.header)
			}
			r := h.admin(t, "GET", path, "", headers...)
			if r.Status != tc.want {
				t.Errorf("%s: GET %s = %d, want %d", tc.name, path, r.Status, tc.want)
			}
			if tc.want == 401 && (strings.TrimSpace(string(r.Body)) != `{"code":401,"message":"Unauthorized"}` || r.Header.Get("WWW-Authenticate") == "") {
				t.Errorf("%s: GET %s: body %s, WWW-Authenticate %q", tc.name, path, r.Body, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	before := h.snapshot(t)
	h.want(t, h.admin(t, "DELETE", "/users/"+u.ID, ""), 401, "DELETE without a key")
	h.want(t, h.admin(t, "GET", "/no-such-route", ""), 401, "unknown path without a key")
	h.wantRowsUnchanged(t, before)
	for _, p := range []string{"/health/alive", "/health/ready"} {
		h.want(t, h.admin(t, "GET", p, ""), 200, p+" without a key")
	}
}

func TestAdminKeyConfig(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.Server.Admin.APIKeys = []string{strings.Repeat("x", 31)}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "server.admin.api_keys[0]") {
		t.Fatalf("Validate with a 31-character key = %v", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("x", 31)) {
		t.Fatalf("the problem shows the key: %v", err)
	}
	for _, tc := range []struct {
		addr    string
		keys    []string
		allow   bool
		refused bool
	}{
		{"0.0.0.0:8001", nil, false, true},
		{":8001", nil, false, true},
		{"[::]:8001", nil, false, true},
		{"10.0.0.5:8001", nil, false, true},
		{"admin.internal:8001", nil, false, true},
		{"0.0.0.0:8001", []string{strings.Repeat("k", 32)}, false, false},
		{"0.0.0.0:8001", nil, true, false},
		{"127.0.0.1:8001", nil, false, false},
		{"[::1]:8001", nil, false, false},
		{"localhost:8001", nil, false, false},
	} {
		c := config.Default()
		c.Server.Admin.Address, c.Server.Admin.APIKeys, c.Server.Admin.AllowUnauthenticated = tc.addr, tc.keys, tc.allow
		err := c.CheckAdminExposure()
		if (err != nil) != tc.refused {
			t.Errorf("%s keys=%d allow=%v: %v, want refused=%v", tc.addr, len(tc.keys), tc.allow, err, tc.refused)
		}
		if err != nil && (!strings.Contains(err.Error(), "server.admin.api_keys") || !strings.Contains(err.Error(), "server.admin.allow_unauthenticated")) {
			t.Errorf("the refusal does not name both keys: %v", err)
		}
	}
}

// TestServeRefusesOpenAdmin: serve does not start with the admin listener
// on all interfaces and no key.
func TestServeRefusesOpenAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) {
		c.Server.Public.Address = "127.0.0.1:0"
		c.Server.Admin.Address = "0.0.0.0:0"
	})
	err := h.App.Serve(context.Background())
	if !errors.Is(err, config.ErrAdminUnprotected) {
		t.Fatalf("Serve = %v, want ErrAdminUnprotected", err)
	}
}
