package client_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/inkan-auth/inkan/client"
)

// The native-app flow of docs/compatibility.md "Users": look the user up, sign up when the
// address is unknown, log in with an e-mailed code, then read the profile.
func Example() {
	ctx := context.Background()
	c := client.New("https://auth.example.com",
		client.WithHeader("Accept-Language", "en"))
	email := "jane@example.com"

	var userID, emailID string
	u, err := c.LookupUser(ctx, email)
	switch {
	case err == nil:
		userID = u.ID // a known user: mail the primary address
	case client.IsNotFound(err):
		cu, err := c.CreateUser(ctx, email)
		if err != nil {
			log.Fatal(err) // on IsConflict(err): sign-up finished elsewhere, look up again
		}
		userID, emailID = cu.UserID, cu.EmailID // unverified: name the address
	default:
		log.Fatal(err)
	}

	p, err := c.InitPasscode(ctx, userID, emailID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("code sent, valid for %d s; enter it: ", p.TTL)
	code, _ := bufio.NewReader(os.Stdin).ReadString('\n')

	sess, err := c.FinalizePasscode(ctx, p.ID, strings.TrimSpace(code))
	if err != nil {
		log.Fatal(err) // IsUnauthorized: wrong code; 408: expired; 410: too many tries
	}
	fmt.Println("session valid for", sess.Lifetime) // c now sends it as Bearer

	me, err := c.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if e := me.PrimaryEmail(); e != nil {
		fmt.Println("logged in as", e.Address)
	}
	_ = c.Logout(ctx)
}

// Sign in with the ID token that Sign in with Apple or Sign in with Google
// handed the app, and the nonce the app generated for it.
func ExampleClient_SignInWithIDToken() {
	ctx := context.Background()
	c := client.New("https://auth.example.com")
	var identityToken, rawNonce string // from the platform and the app
	_, userID, err := c.SignInWithIDToken(ctx, client.IDTokenSignIn{
		Provider: "apple",
		IDToken:  identityToken,
		Nonce:    rawNonce, // not the SHA-256 the app gave Apple
	})
	if err != nil {
		log.Fatal(err) // 409 user_conflict: sign in with the address first, then link
	}
	fmt.Println("signed in as", userID) // c now sends the session token
}
