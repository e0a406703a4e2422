package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// WebhookSubject is the sub claim of a webhook token, Hanko's value, so
// that receivers written for Hanko accept it.
const WebhookSubject = "hanko webhooks"

// WebhookTokenLifetime is how long a webhook token is valid (exp − iat).
const WebhookTokenLifetime = 5 * time.Minute

// SignWebhook returns the JWT of a webhook request (docs/compatibility.md
// "Webhooks"): signed with the current session signing key (kid in the
// header, verifiable with /.well-known/jwks.json), claims sub "hanko
// webhooks", iat (now), exp (iat + 5 min), aud (the session audience), evt
// (the event name) and data (the payload, JSON). Errors are KindInternal.
func (m *Manager) SignWebhook(ctx context.Context, event string, data json.RawMessage) (string, error) {
	key, err := m.keys.SigningKey(ctx)
	if err != nil {
		return "", internal("signing key", err)
	}
	ka, ok := key.Algorithm()
	if !ok {
		return "", internal("signing key", errors.New("key has no alg"))
	}
	alg, ok := jwa.LookupSignatureAlgorithm(ka.String())
	if !ok {
		return "", internal("signing key", fmt.Errorf("alg %q is not a signature algorithm", ka))
	}
	var payload any = json.RawMessage("null")
	if len(data) > 0 {
		payload = data
	}
	now := m.now().Truncate(time.Second)
	b := jwt.NewBuilder().Subject(WebhookSubject).IssuedAt(now).Expiration(now.Add(WebhookTokenLifetime)).
		Claim("evt", event).Claim("data", payload)
	if len(m.opts.Audience) > 0 {
		b = b.Audience(m.opts.Audience)
	}
	tok, err := b.Build()
	if err != nil {
		return "", internal("building webhook token", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		return "", internal("signing webhook token", err)
	}
	return string(signed), nil
}
