package verify_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/inkan-auth/inkan/verify"
)

// An app backend accepts inkan sessions on its own API: the middleware verifies the Bearer token (or
// the "hanko" cookie) offline against inkan's JWKS and answers 401 JSON otherwise. The README's
// "Verify sessions in your backend" snippet is this function's body.
func ExampleVerifier_Middleware() {
	v, err := verify.New(verify.Options{
		JWKSURL:  "https://login.example.com/.well-known/jwks.json",
		Audience: "example.com",               // session.audience, else the relying party id
		Issuer:   "https://login.example.com", // when session.issuer is set
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFromContext(r.Context())
		email := "" // nil when the user has no primary address
		if claims.Email != nil {
			email = claims.Email.Address
		}
		fmt.Fprintln(w, "hello", claims.Subject, email)
	})
	http.Handle("/api/", v.Middleware(api))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// A backend that must see logouts without asking inkan per request polls
// the revocation list: a token of a session logged out, signed out from
// the device list or revoked by an admin fails with ErrRevoked within one
// interval. The README's "Keeping native apps signed in" snippet starts
// this function's body.
func ExampleOptions_revocationInterval() {
	v, err := verify.New(verify.Options{
		JWKSURL:            "https://login.example.com/.well-known/jwks.json",
		RevocationInterval: 10 * time.Second, // session.revocation_list.max_age
	})
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/api/orders", func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims, err := v.Verify(r.Context(), token)
		if errors.Is(err, verify.ErrRevoked) {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, "orders of", claims.Subject)
	})
}
