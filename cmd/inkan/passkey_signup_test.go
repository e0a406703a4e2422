package main

import (
	"context"
	"testing"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/webauthntest"
)

// TestPasskeyFirstSignUpWithClient drives a passkey-first sign-up through
// the public client package against a real server, on every configured
// database: BeginPasskeySignUp → software authenticator →
// FinishPasskeySignUp (session kept) → /me with the passkey and no
// address yet → the address verified by passcode → a second sign-up for it
// is 409 → a discoverable passkey login as the same user.
func TestPasskeyFirstSignUpWithClient(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			env := baseEnv(t, dialect)
			env["SESSION_ENABLE_AUTH_TOKEN_HEADER"] = "true"
			env["WEBAUTHN_RELYING_PARTY_ORIGINS"] = "https://login.example.test"
			env["WEBAUTHN_RELYING_PARTY_ID"] = "login.example.test"
			srv := startServer(t, env)
			ctx := context.Background()
			email := uniqueEmail("passkey-first")
			o := webauthntest.Options{Origin: "https://login.example.test"}

			c := client.New(srv.URL, client.WithToken("a stale token the sign-up must not send"))
			opts, err := c.BeginPasskeySignUp(ctx, email)
			if err != nil {
				t.Fatalf("BeginPasskeySignUp: %v", err)
			}
			auth := webauthntest.New()
			cred, _, err := auth.Register(opts, o)
			if err != nil {
				t.Fatal(err)
			}
			sess, res, err := c.FinishPasskeySignUp(ctx, cred)
			if err != nil {
				t.Fatalf("FinishPasskeySignUp: %v", err)
			}
			if sess.Token == "" || res.UserID == "" || res.EmailID == "" || res.CredentialID == "" || c.Token() != sess.Token {
				t.Fatalf("sign-up: %+v %+v", sess, res)
			}
			me, err := c.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if me.ID != res.UserID || len(me.Passkeys) != 1 || len(me.Emails) != 0 {
				t.Fatalf("/me after sign-up: %+v", me)
			}

			pc, err := c.InitPasscode(ctx, res.UserID, res.EmailID)
			if err != nil {
				t.Fatalf("InitPasscode: %v", err)
			}
			if _, err := c.FinalizePasscode(ctx, pc.ID, srv.lastCode(t, email)); err != nil {
				t.Fatalf("FinalizePasscode: %v", err)
			}
			if me, err = c.Me(ctx); err != nil || me.PrimaryEmail() == nil || me.PrimaryEmail().Address != email {
				t.Fatalf("/me after verification: %+v %v", me, err)
			}
			if _, err := client.New(srv.URL).BeginPasskeySignUp(ctx, email); !client.IsConflict(err) {
				t.Fatalf("second sign-up for a verified address: %v, want 409", err)
			}

			other := client.New(srv.URL)
			ro, err := other.BeginPasskeyLogin(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			a, err := auth.Login(ro, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, pr, err := other.FinishPasskeyLogin(ctx, a); err != nil || pr.UserID != res.UserID {
				t.Fatalf("passkey login after sign-up: %+v %v", pr, err)
			}
		})
	}
}
