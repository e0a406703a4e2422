package verify_test

import (
	"fmt"
	"log"
	"net/http"

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
