package app_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// harness is a real node (SQLite file unless newHarnessOn names another
// dialect, development mailer) behind two httptest servers: the public
// listener at URL and the admin listener at AdminURL.
type harness struct {
	URL      string
	AdminURL string
	DBPath   string        // the SQLite file ("" on a server database)
	Dialect  string        // sqlite, postgres or mysql
	DSN      string        // the database's driver DSN
	Cfg      config.Config // the node's configuration, for peers
	Log      *outboxtest.Buffer
	Outbox   *outboxtest.Buffer
	App      *app.App
	// ctx is New's context (nil = context.Background()); tests put
	// provider endpoints in it (app.WithProviderEndpoints).
	ctx context.Context
	// hookR is the webhook service's R (webhook.Options.ViewRefresh;
	// 0 = 5 ms).
	hookR time.Duration
}

func newHarness(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	return newHarnessOn(t, "sqlite", mutate)
}

// newHarnessOn is newHarness on a fresh database of dialect (sqlite,
// postgres, mysql; the server dialects skip when their variable is unset,
// see internal/dbtest).
func newHarnessOn(t *testing.T, dialect string, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := config.Default()
	o := dbtest.Options(t, dialect)
	if dialect == "sqlite" {
		cfg.Database.Database = o.DSN
	} else {
		cfg.Database.Dialect = dialect
		cfg.Database.URL = o.DSN
		cfg.Secrets.Keys = []string{"a test secret of enough length"}
		yes := true
		cfg.Database.AutoMigrate = &yes
		cfg.EmailDelivery.Mailer = "development" // tests read passcodes from the outbox
	}
	cfg.Log.Level = "debug"
	cfg.Log.Format = "json"
	cfg.Webauthn.RelyingParty.ID = "login.example.test"
	cfg.Webauthn.RelyingParty.Origins = []string{"https://login.example.test"}
	// The outbox holds the development mailer's messages; audit lines
	// would mix with them (the audit tests turn them on).
	cfg.AuditLog.ConsoleOutput.Enabled = false
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{Dialect: dialect, DSN: o.DSN}
	if dialect == "sqlite" {
		h.DBPath = o.DSN
	}
	return h.start(t, cfg)
}

// peer starts a second node on h's database with h's configuration (its
// own logs and outbox).
func (h *harness) peer(t *testing.T) *harness {
	t.Helper()
	p := &harness{Dialect: h.Dialect, DSN: h.DSN, DBPath: h.DBPath}
	return p.start(t, h.Cfg)
}

// start builds and serves the node of cfg.
func (h *harness) start(t *testing.T, cfg config.Config) *harness {
	t.Helper()
	h.Cfg, h.Log, h.Outbox = cfg, &outboxtest.Buffer{}, &outboxtest.Buffer{}
	log := app.NewLogger(cfg, h.Log)
	ctx := h.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	// Creating a stored hook waits 2R: the harness's R is short unless
	// the test sets one (its nodes run no WatchHooks unless the test
	// starts it, so they keep every hooked event for the fan-out anyway).
	hookR := h.hookR
	if hookR == 0 {
		hookR = 5 * time.Millisecond
	}
	ctx = app.WithHookViewRefresh(ctx, hookR)
	a, err := app.New(ctx, cfg, log, h.Outbox)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	h.App = a
	srv := httptest.NewServer(a.PublicHandler())
	admin := httptest.NewServer(a.AdminHandler())
	t.Cleanup(func() {
		srv.Close()
		admin.Close()
		a.Close()
	})
	h.URL, h.AdminURL = srv.URL, admin.URL
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

// do sends method path with body (as application/json, also when empty
// on any method but GET and HEAD, unless headers set a Content-Type) and headers given as "Key: value" strings.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	return send(t, h.URL, method, path, body, headers...)
}

// admin sends a request to the admin listener, as do.
func (h *harness) admin(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	return send(t, h.AdminURL, method, path, body, headers...)
}

func send(t *testing.T, base, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" || (method != "GET" && method != "HEAD") {
		// As browsers' fetch in Hanko's SDK and the client package do; a
		// test that wants another (or none: "Content-Type: ") says so.
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

// tableState fingerprints one table: its row count and the SHA-256 of its
// full contents.
type tableState struct {
	Rows   int
	SHA256 string
}

func (s tableState) String() string { return fmt.Sprintf("%d rows %.12s", s.Rows, s.SHA256) }

// dbState maps every table to its fingerprint.
type dbState map[string]tableState

// unfingerprinted are the columns snapshot leaves out, by table. A request
// that authenticates with a valid session token touches the session
// (last_used, updated_at = now; GET /me does): that is the request working,
// not a write caused by its bad input, so those two columns of sessions only
// are excluded. Every other column of every table counts.
var unfingerprinted = map[string]map[string]bool{
	"sessions": {"last_used": true, "updated_at": true},
}

// unfingerprintedRows are the rows snapshot leaves out, as a WHERE clause by
// table. A refused login attempt records its *_failed event (the event log
// reports failures on their own): that is the refusal being reported, not a
// write caused by the bad input. Every other event counts, so a bad input
// that records a success or a change still alters the fingerprint; the
// events tests check the failure events themselves.
var unfingerprintedRows = map[string]string{
	"events": ` WHERE type NOT LIKE '%!_failed' ESCAPE '!'`, // '!' escapes '_' on every dialect
}

// snapshot fingerprints the full contents of every table (SQLite's own
// sqlite_* tables aside; on the node's dialect), to prove a request wrote nothing: each table's rows,
// all columns, ordered by every column, rendered with %v into a SHA-256. A
// changed name, moved primary address, sign count or try count changes it,
// not only an inserted or deleted row. Any query error fails the test.
func (h *harness) snapshot(t *testing.T) dbState {
	t.Helper()
	driver, q, tablesQ := "sqlite", func(s string) string { return `"` + s + `"` }, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	switch h.Dialect {
	case "postgres":
		driver, tablesQ = "pgx", `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`
	case "mysql":
		driver, tablesQ = "mysql", `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1`
		q = func(s string) string { return "`" + s + "`" }
	}
	db, err := sql.Open(driver, h.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := queryStrings(t, db, tablesQ)
	if len(tables) == 0 {
		t.Fatal("snapshot: no tables")
	}
	out := dbState{}
	for _, tb := range tables {
		probe, err := db.Query(`SELECT * FROM ` + q(tb) + ` WHERE 1 = 0`)
		if err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
		all, err := probe.Columns()
		probe.Close()
		if err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
		var cols []string
		for _, c := range all {
			if !unfingerprinted[tb][c] {
				cols = append(cols, q(c))
			}
		}
		if len(cols) == 0 {
			t.Fatalf("snapshot: table %s has no columns", tb)
		}
		order := make([]string, len(cols))
		for i := range cols {
			order[i] = strconv.Itoa(i + 1)
		}
		rows, err := db.Query(`SELECT ` + strings.Join(cols, ", ") + ` FROM ` + q(tb) + unfingerprintedRows[tb] + ` ORDER BY ` + strings.Join(order, ", "))
		if err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
		sum := sha256.New()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", tb, err)
			}
			for _, v := range vals {
				fmt.Fprintf(sum, "%T %v\x1f", v, v)
			}
			sum.Write([]byte{0x1e})
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
		rows.Close()
		out[tb] = tableState{Rows: n, SHA256: hex.EncodeToString(sum.Sum(nil))}
	}
	return out
}

// queryStrings returns the single string column of q's rows, failing the
// test on any error.
func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
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

// TestSnapshotSeesEveryWrite checks the fingerprint itself: an update that
// keeps every row count changes it, except a touch of sessions.last_used and
// updated_at, which authenticated requests make.
func TestSnapshotSeesEveryWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	_, _, token := h.signUp(t, "fingerprint@example.test")
	db, err := sql.Open("sqlite", h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		res, err := db.Exec(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			t.Fatalf("%s: %d rows affected (%v)", q, n, err)
		}
	}

	before := h.snapshot(t)
	if again := h.snapshot(t); !maps.Equal(before, again) {
		t.Fatalf("two snapshots of an idle database differ: %v -> %v", before, again)
	}
	exec(`UPDATE sessions SET last_used = '2001-02-03 04:05:06', updated_at = '2001-02-03 04:05:06'`)
	h.want(t, h.do(t, "GET", "/me", "", "Authorization: Bearer "+token), 200, "GET /me")
	if after := h.snapshot(t); !maps.Equal(before, after) {
		t.Fatalf("a session touch changed the fingerprint: %v -> %v", before, after)
	}
	for _, q := range []string{
		`UPDATE emails SET address = 'x' || address`,
		`UPDATE emails SET verified = NOT verified`,
		`UPDATE users SET updated_at = '2001-02-03 04:05:06'`,
		`UPDATE sessions SET expires_at = '2001-02-03 04:05:06'`,
		`UPDATE jwks SET algorithm = algorithm || 'x'`,
	} {
		exec(q)
		after := h.snapshot(t)
		if maps.Equal(before, after) {
			t.Fatalf("%s did not change the fingerprint", q)
		}
		before = after
	}
}
