package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestTwoNodes runs two servers through run() on one server database and
// moves every step of the flow between them: passcode initialize on A and
// finalize on B; passkey registration begun on A and finished on B; login
// begun on B and finished on A; a JWT from one accepted by the other;
// logout on B refused on A; 20 concurrent finalize calls spread over both
// nodes yield exactly one session.
func TestTwoNodes(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			env := baseEnv(t, dialect)
			env["SESSION_ENABLE_AUTH_TOKEN_HEADER"] = "true"
			env["WEBAUTHN_RELYING_PARTY_ID"] = "login.example.test"
			env["WEBAUTHN_RELYING_PARTY_ORIGINS"] = "https://login.example.test"
			a := startServer(t, env)
			b := startServer(t, env)
			ctx := context.Background()
			ca, cb := client.New(a.URL), client.New(b.URL)

			email := uniqueEmail("two")
			u, err := ca.CreateUser(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := ca.InitPasscode(ctx, u.UserID, u.EmailID)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := cb.FinalizePasscode(ctx, pc.ID, a.lastCode(t, email))
			if err != nil {
				t.Fatalf("finalize on B of a passcode from A: %v", err)
			}
			ca.SetToken(sess.Token)
			if _, err := ca.Me(ctx); err != nil {
				t.Fatalf("B's JWT on A: %v", err)
			}

			auth := webauthntest.New()
			opts, err := ca.BeginPasskeyRegistration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cred, _, err := auth.Register(opts, webauthntest.Options{Origin: "https://login.example.test"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cb.FinishPasskeyRegistration(ctx, cred); err != nil {
				t.Fatalf("registration begun on A, finished on B: %v", err)
			}
			reqOpts, err := cb.BeginPasskeyLogin(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			assertion, err := auth.Login(reqOpts, webauthntest.Options{Origin: "https://login.example.test"})
			if err != nil {
				t.Fatal(err)
			}
			loginA := client.New(a.URL)
			if _, _, err := loginA.FinishPasskeyLogin(ctx, assertion); err != nil {
				t.Fatalf("login begun on B, finished on A: %v", err)
			}
			if _, err := loginA.Me(ctx); err != nil {
				t.Fatalf("A's passkey session on A: %v", err)
			}
			cb.SetToken(loginA.Token())
			if _, err := cb.Me(ctx); err != nil {
				t.Fatalf("A's JWT on B: %v", err)
			}

			// Logout on B; the same token is refused on A.
			token := loginA.Token()
			if err := cb.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := loginA.Me(ctx); !client.IsUnauthorized(err) {
				t.Fatalf("token logged out on B, used on A: want 401, got %v", err)
			}
			_ = token

			// 20 concurrent finalize calls over both nodes: one session.
			pc, err = ca.InitPasscode(ctx, u.UserID, "")
			if err != nil {
				t.Fatal(err)
			}
			code := a.lastCode(t, email)
			body := `{"id":"` + pc.ID + `","code":"` + code + `"}`
			var mu sync.Mutex
			statuses := map[int]int{}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < 20; i++ {
				node := a.URL
				if i%2 == 1 {
					node = b.URL
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resp, err := http.Post(node+"/passcode/login/finalize", "application/json", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					mu.Lock()
					statuses[resp.StatusCode]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if statuses[200] != 1 || statuses[200]+statuses[404] != 20 {
				t.Fatalf("20 finalize calls over two nodes: %v, want one 200 and nineteen 404", statuses)
			}
		})
	}
}
