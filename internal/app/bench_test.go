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
			cfg.Session.Limit = 1
			sink := &codeSink{}
			a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), sink)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(a.PublicHandler())
			defer func() { srv.Close(); a.Close() }()

			post := func(path, body string) *http.Response {
				resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			r, err := http.Post(srv.URL+"/users", "application/json", strings.NewReader(`{"email":"bench@example.test"}`))
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
				r, err := http.Post(srv.URL+"/passcode/login/initialize", "application/json", strings.NewReader(body))
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
