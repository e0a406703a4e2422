package verify_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/inkan-auth/inkan/verify"
)

// An app backend accepts inkan sessions on its own API: the middleware
// verifies the Bearer token (or "hanko" cookie) offline against the JWKS.
func ExampleVerifier_Middleware() {
	v, err := verify.New(verify.Options{
		JWKSURL:  "https://auth.example.com/.well-known/jwks.json",
		Audience: "example.com", // inkan's session.audience or RP ID
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/notes", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "notes of user %s\n", c.Subject)
	})))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
