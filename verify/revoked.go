package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// ErrRevoked: the token's session is on the server's revocation list
// (GET /sessions/revoked; docs/compatibility.md "Refresh tokens and
// signed-in devices"): it was logged out or revoked. It wraps
// ErrInvalidToken.
var ErrRevoked = fmt.Errorf("%w: session revoked", ErrInvalidToken)

// ErrRevocationUnavailable: revocation polling is on and the list has
// never been fetched, so no token is accepted (the verifier fails closed
// until the first fetch succeeds).
var ErrRevocationUnavailable = errors.New("verify: revocation list unavailable")

const maxRevokedBytes = 16 << 20

// revocationURL is Options.RevocationURL, or /sessions/revoked beside the
// JWKS path's /.well-known/ (".../.well-known/jwks.json" →
// ".../sessions/revoked").
func revocationURL(o Options) (string, error) {
	if o.RevocationURL != "" {
		u, err := url.Parse(o.RevocationURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", fmt.Errorf("verify: RevocationURL %q is not an absolute http(s) URL", o.RevocationURL)
		}
		return o.RevocationURL, nil
	}
	base, err := url.Parse(o.JWKSURL)
	if err != nil {
		return "", err
	}
	return base.ResolveReference(&url.URL{Path: "../sessions/revoked"}).String(), nil
}

// checkRevoked refuses a token whose session_id is on the revocation list.
// The list is fetched again when it is older than RevocationInterval: by
// one caller, the others go on with the list they have, so the server sees
// at most one fetch per interval whatever the load. A failed fetch keeps
// the old list; with no list at all the answer is ErrRevocationUnavailable.
func (v *Verifier) checkRevoked(ctx context.Context, sessionID string) error {
	list, err := v.revokedList(ctx)
	if err != nil {
		return err
	}
	if _, ok := list[sessionID]; ok {
		return ErrRevoked
	}
	return nil
}

// revokedList returns the list at hand, fetched again first when it is
// older than RevocationInterval and no other caller is fetching it.
func (v *Verifier) revokedList(ctx context.Context) (map[string]struct{}, error) {
	v.revMu.RLock()
	list, fetched := v.revoked, v.revFetched
	v.revMu.RUnlock()
	if list != nil && v.now().Sub(fetched) < v.o.RevocationInterval {
		return list, nil
	}
	if list == nil {
		v.revFetchMu.Lock() // the first list: everyone waits for it
	} else if !v.revFetchMu.TryLock() {
		return list, nil // another caller is fetching: use the list at hand
	}
	defer v.revFetchMu.Unlock()
	v.revMu.RLock()
	list, fetched = v.revoked, v.revFetched
	v.revMu.RUnlock()
	if list != nil && v.now().Sub(fetched) < v.o.RevocationInterval {
		return list, nil // fetched meanwhile
	}
	l, err := v.fetchRevoked(ctx)
	if err != nil {
		if list != nil {
			return list, nil // keep the last list; the next caller tries again
		}
		return nil, fmt.Errorf("%w: %v", ErrRevocationUnavailable, err)
	}
	v.revMu.Lock()
	v.revoked, v.revFetched = l, v.now()
	v.revMu.Unlock()
	return l, nil
}

// fetchRevoked downloads the revocation list: {"sessions": [{"session_id",
// "exp"}]}, as a set of session ids.
func (v *Verifier) fetchRevoked(ctx context.Context) (map[string]struct{}, error) {
	raw, err := v.get(ctx, v.revURL, maxRevokedBytes)
	if err != nil {
		return nil, err
	}
	var body struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("parsing revocation list: %w", err)
	}
	if body.Sessions == nil {
		return nil, errors.New("revocation list without \"sessions\"")
	}
	set := make(map[string]struct{}, len(body.Sessions))
	for _, s := range body.Sessions {
		set[s.SessionID] = struct{}{}
	}
	return set, nil
}
