package keys_test

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/inkan-auth/inkan/internal/keys"
)

// BenchmarkSignVerify measures the signature of a session token's size
// and its verification with the public key, per secrets.signing_algorithm
// (docs/performance.md "Signing algorithm"): the cryptographic part of a
// login (sign) and of every authenticated request (verify), without the
// database.
func BenchmarkSignVerify(b *testing.B) {
	payload := []byte(`{"sub":"0b6bd0b5-4a1d-4f1b-9b6a-1d6a1f0c2d3e","session_id":"7a2c1f1e-3c51-4c55-8a7e-0c3b9d7f4e21","iat":1765000000,"exp":1765043200,"aud":["localhost"],"iss":"http://localhost:8000","email":{"address":"someone@example.test","is_primary":true,"is_verified":true}}`)
	for _, c := range []struct {
		name string
		alg  jwa.SignatureAlgorithm
	}{{keys.RS256, jwa.RS256()}, {keys.ES256, jwa.ES256()}, {keys.EdDSA, jwa.EdDSA()}} {
		m := newManager(b, newStore(b), keys.Options{Secrets: []string{secretA}, Algorithm: c.name}, nil)
		priv, err := m.SigningKey(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		pub, err := priv.PublicKey()
		if err != nil {
			b.Fatal(err)
		}
		tok, err := jws.Sign(payload, jws.WithKey(c.alg, priv))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/sign", func(b *testing.B) {
			for b.Loop() {
				if _, err := jws.Sign(payload, jws.WithKey(c.alg, priv)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/verify", func(b *testing.B) {
			for b.Loop() {
				if _, err := jws.Verify(tok, jws.WithKey(c.alg, pub)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
