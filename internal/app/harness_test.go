package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// harness is a real node (SQLite file, development mailer) behind an
// httptest server.
type harness struct {
	URL    string
	DBPath string
	Log    *outboxtest.Buffer
	Outbox *outboxtest.Buffer
	App    *app.App
}

func newHarness(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := config.Default()
	dir := t.TempDir()
	cfg.Database.Database = filepath.Join(dir, "inkan.db")
	cfg.Log.Level = "debug"
	cfg.Log.Format = "json"
	cfg.Webauthn.RelyingParty.ID = "login.example.test"
	cfg.Webauthn.RelyingParty.Origins = []string{"https://login.example.test"}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{DBPath: cfg.Database.Database, Log: &outboxtest.Buffer{}, Outbox: &outboxtest.Buffer{}}
	log := app.NewLogger(cfg, h.Log)
	a, err := app.New(context.Background(), cfg, log, h.Outbox)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	h.App = a
	srv := httptest.NewServer(a.PublicHandler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	h.URL = srv.URL
	return h
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends method path with body (sent as application/json unless headers
// set a Content-Type) and headers given as "Key: value" strings.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// snapshot counts the rows of every table, to prove a request wrote nothing.
func (h *harness) snapshot(t *testing.T) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + tb + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	// Attempt counters and flags count too: a request must not move them.
	var tries, verified int
	_ = db.QueryRow(`SELECT coalesce(sum(try_count),0) FROM passcodes`).Scan(&tries)
	_ = db.QueryRow(`SELECT coalesce(sum(verified),0) FROM emails`).Scan(&verified)
	out["passcodes.try_count"] = tries
	out["emails.verified"] = verified
	return out
}

// code returns the newest passcode mailed to address.
func (h *harness) code(t *testing.T, address string) string {
	t.Helper()
	code, ok := h.Outbox.Code(address)
	if !ok {
		t.Fatalf("no passcode for %s in the outbox", address)
	}
	return code
}

// signUp creates a user with address and signs in with a passcode; it
// returns the user id, the email id and the session JWT (header mode is
// not assumed: the token is taken from the cookie or the header).
func (h *harness) signUp(t *testing.T, address string) (userID, emailID, token string) {
	t.Helper()
	ids := h.createUser(t, address)
	token = tokenOf(h.passcodeSignIn(t, ids, address))
	if token == "" {
		t.Fatal("no session token after finalize")
	}
	return ids[0], ids[1], token
}

// createUser signs up address without logging in; it returns the user id
// and the e-mail id.
func (h *harness) createUser(t *testing.T, address string) [2]string {
	t.Helper()
	r := h.do(t, "POST", "/users", `{"email":"`+address+`"}`)
	if r.Status != 200 {
		t.Fatalf("POST /users: %d %s", r.Status, r.Body)
	}
	var u map[string]string
	r.json(t, &u)
	return [2]string{u["user_id"], u["email_id"]}
}

// initPasscodeFrom asks for a passcode for ids (user id, e-mail id, as
// createUser returns them) with extra request headers.
func (h *harness) initPasscodeFrom(t *testing.T, ids [2]string, headers ...string) response {
	t.Helper()
	return h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+ids[0]+`","email_id":"`+ids[1]+`"}`, headers...)
}

// initPasscodeID asks for a passcode for ids, failing the test unless it
// is sent, and returns the passcode id.
func (h *harness) initPasscodeID(t *testing.T, ids [2]string) string {
	t.Helper()
	r := h.initPasscodeFrom(t, ids)
	if r.Status != 200 {
		t.Fatalf("passcode init: %d %s", r.Status, r.Body)
	}
	var pc struct{ ID string }
	r.json(t, &pc)
	return pc.ID
}

// passcodeSignIn asks for a passcode for ids and finalizes it with the
// code mailed to address, failing the test unless both answer 200; it
// returns the finalize response.
func (h *harness) passcodeSignIn(t *testing.T, ids [2]string, address string) response {
	t.Helper()
	id := h.initPasscodeID(t, ids)
	r := h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+id+`","code":"`+h.code(t, address)+`"}`)
	if r.Status != 200 {
		t.Fatalf("passcode finalize: %d %s", r.Status, r.Body)
	}
	return r
}
