package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// codeSink keeps only the newest passcode written to the development outbox.
type codeSink struct{ last atomic.Value }

var benchCode = regexp.MustCompile(`Passcode: (\d{6})`)

func (c *codeSink) Write(p []byte) (int, error) {
	if m := benchCode.FindSubmatch(p); m != nil {
		c.last.Store(string(m[1]))
	}
	return len(p), nil
}

// BenchmarkPasscodeFlow measures one passcode login through the HTTP API
// (initialize: user and address look-up, code, keyed hash, insert, mail to
// the development outbox; finalize: constant-time check, conditional
// delete, address claim, session row and RS256 JWT) on each database.
// Run: go test -bench PasscodeFlow -run ^$ ./internal/app (with
// INKAN_TEST_POSTGRES_URL / INKAN_TEST_MYSQL_URL for the server dialects).
func BenchmarkPasscodeFlow(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			url, sink := benchNode(b, dialect)
			post := func(path, body string) *http.Response {
				resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			r, err := http.Post(url+"/users", "application/json", strings.NewReader(`{"email":"bench@example.test"}`))
			if err != nil {
				b.Fatal(err)
			}
			var ids struct {
				UserID  string `json:"user_id"`
				EmailID string `json:"email_id"`
			}
			decodeInto(b, r, &ids)
			body := fmt.Sprintf(`{"user_id":%q,"email_id":%q}`, ids.UserID, ids.EmailID)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := http.Post(url+"/passcode/login/initialize", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				var pc struct{ ID string }
				decodeInto(b, r, &pc)
				code, _ := sink.last.Load().(string)
				if resp := post("/passcode/login/finalize", fmt.Sprintf(`{"id":%q,"code":%q}`, pc.ID, code)); resp.StatusCode != 200 {
					b.Fatalf("finalize: %d", resp.StatusCode)
				}
			}
		})
	}
}

func decodeInto(b *testing.B, r *http.Response, v any) {
	b.Helper()
	defer r.Body.Close()
	if r.StatusCode != 200 {
		b.Fatalf("%s: status %d", r.Request.URL.Path, r.StatusCode)
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		b.Fatal(err)
	}
}

// benchNode starts a node on a fresh database of dialect with session
// tokens in the X-Auth-Token header and no rate limits; it returns its
// URL and the outbox reader.
func benchNode(b *testing.B, dialect string) (string, *codeSink) {
	b.Helper()
	a, sink := benchApp(b, dialect)
	srv := httptest.NewServer(a.PublicHandler())
	b.Cleanup(srv.Close)
	return srv.URL, sink
}

// benchApp builds the node benchNode serves (closed when b ends).
func benchApp(b *testing.B, dialect string) (*app.App, *codeSink) {
	b.Helper()
	o := dbtest.Options(b, dialect)
	cfg := config.Default()
	cfg.Database.Dialect = o.Dialect
	if o.Dialect == "sqlite" {
		cfg.Database.Database = o.DSN
	} else {
		cfg.Database.URL = o.DSN
		cfg.Secrets.Keys = []string{"a-benchmark-secret-long-enough"}
		on := true
		cfg.Database.AutoMigrate = &on
		cfg.EmailDelivery.Mailer = "development"
	}
	cfg.Session.EnableAuthTokenHeader = true
	cfg.RateLimiter.Enabled = false
	cfg.AuditLog.ConsoleOutput.Enabled = false
	cfg.Webauthn.RelyingParty.ID = "login.example.test"
	cfg.Webauthn.RelyingParty.Origins = []string{origin}
	sink := &codeSink{}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), sink)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	return a, sink
}

// benchCall sends one request and fails the benchmark unless it answers
// want; it returns the body and the X-Auth-Token header.
func benchCall(b *testing.B, method, url, token, body string, want int) ([]byte, string) {
	b.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	if r.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, url, r.StatusCode, out)
	}
	return out, r.Header.Get("X-Auth-Token")
}

// BenchmarkHotPaths measures the hot routes one request at a time through
// the HTTP API on each database (docs/performance.md "Benchmarks"):
// session verification (GET /me with a fresh session: no write), sign-up
// (POST /users), lookup (POST /user), and a passkey login (initialize and
// finalize with the software authenticator). BenchmarkPasscodeFlow covers
// the passcode login. Run: go test -bench HotPaths -run '^$' ./internal/app
func BenchmarkHotPaths(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			url, sink := benchNode(b, dialect)
			body, _ := benchCall(b, "POST", url+"/users", "", `{"email":"hot@example.test"}`, 200)
			var ids struct {
				UserID  string `json:"user_id"`
				EmailID string `json:"email_id"`
			}
			if err := json.Unmarshal(body, &ids); err != nil {
				b.Fatal(err)
			}
			body, _ = benchCall(b, "POST", url+"/passcode/login/initialize", "", fmt.Sprintf(`{"user_id":%q,"email_id":%q}`, ids.UserID, ids.EmailID), 200)
			var pc struct{ ID string }
			if err := json.Unmarshal(body, &pc); err != nil {
				b.Fatal(err)
			}
			code, _ := sink.last.Load().(string)
			_, token := benchCall(b, "POST", url+"/passcode/login/finalize", "", fmt.Sprintf(`{"id":%q,"code":%q}`, pc.ID, code), 200)
			auth := webauthntest.New()
			o := webauthntest.Options{Origin: origin, UV: true}
			creation, _ := benchCall(b, "POST", url+"/webauthn/registration/initialize", token, "", 200)
			cred, _, err := auth.Register(creation, o)
			if err != nil {
				b.Fatal(err)
			}
			benchCall(b, "POST", url+"/webauthn/registration/finalize", token, string(cred), 200)

			b.Run("session-verification", func(b *testing.B) {
				for b.Loop() {
					benchCall(b, "GET", url+"/me", token, "", 200)
				}
			})
			b.Run("sign-up", func(b *testing.B) {
				n := 0
				for b.Loop() {
					n++
					benchCall(b, "POST", url+"/users", "", fmt.Sprintf(`{"email":"signup-%d@example.test"}`, n), 200)
				}
			})
			b.Run("lookup", func(b *testing.B) {
				for b.Loop() {
					benchCall(b, "POST", url+"/user", "", `{"email":"hot@example.test"}`, 200)
				}
			})
			b.Run("passkey-login", func(b *testing.B) {
				for b.Loop() {
					opts, _ := benchCall(b, "POST", url+"/webauthn/login/initialize", "", "", 200)
					assertion, err := auth.Login(opts, o)
					if err != nil {
						b.Fatal(err)
					}
					benchCall(b, "POST", url+"/webauthn/login/finalize", "", string(assertion), 200)
				}
			})
			b.Run("passkey-first-sign-up", func(b *testing.B) {
				n := 0
				for b.Loop() {
					n++
					opts, _ := benchCall(b, "POST", url+"/webauthn/registration/initialize", "", fmt.Sprintf(`{"email":"passkey-first-%d@example.test"}`, n), 200)
					cred, _, err := webauthntest.New().Register(opts, o)
					if err != nil {
						b.Fatal(err)
					}
					benchCall(b, "POST", url+"/webauthn/registration/finalize", "", string(cred), 200)
				}
			})
		})
	}
}

// BenchmarkJWKS measures GET /.well-known/jwks.json through the public
// handler (middleware included, no network), one request at a time, with
// the node's one RS256 key: the route reads no database, so its cost is
// the handler's own (docs/performance.md "Profiles").
// Run: go test -bench JWKS -benchmem -run '^$' ./internal/app
func BenchmarkJWKS(b *testing.B) {
	a, _ := benchApp(b, "sqlite")
	h := a.PublicHandler()
	req := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
