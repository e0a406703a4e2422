package app_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/inkan-auth/inkan/internal/dbtest"
)

// TestJWKSFollowsKeyChanges: GET /.well-known/jwks.json serves its cached
// document with a strong ETag (304 for If-None-Match naming it, a weak
// form included; 200 for another tag or a malformed field), and after a
// rotation, a revocation on this node, and a revocation by another node
// once this node reloads its keys, it serves the new set — never the
// previous bytes — identical to what a node started fresh on the same
// database serves. On every database.
func TestJWKSFollowsKeyChanges(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(dialect, func(t *testing.T) { testJWKSFollowsKeyChanges(t, dialect) })
	}
}

func testJWKSFollowsKeyChanges(t *testing.T, dialect string) {
	ctx := context.Background()
	h := newHarnessOn(t, dialect, nil)
	get := func(n *harness, headers ...string) response {
		t.Helper()
		r := n.do(t, "GET", "/.well-known/jwks.json", "", headers...)
		if r.Status != 200 || r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") != "public, max-age=600" || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("jwks: %d %v %s", r.Status, r.Header, r.Body)
		}
		return r
	}
	// fresh is what a node that just loaded the keys from the database
	// serves: the reference for "not stale".
	fresh := func() response {
		t.Helper()
		return get(h.peer(t))
	}
	kids := func(r response) []string {
		t.Helper()
		var set struct{ Keys []struct{ Kid string } }
		r.json(t, &set)
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	same := func(step string, got, want response) {
		t.Helper()
		if !bytes.Equal(got.Body, want.Body) || got.Header.Get("ETag") != want.Header.Get("ETag") {
			t.Fatalf("%s: served %v %s, a fresh node serves %v %s", step, kids(got), got.Header.Get("ETag"), kids(want), want.Header.Get("ETag"))
		}
	}

	r1 := get(h)
	same("start", r1, fresh())
	etag1 := r1.Header.Get("ETag")
	for _, inm := range []string{etag1, "W/" + etag1, `"other", ` + etag1, "*"} {
		r := h.do(t, "GET", "/.well-known/jwks.json", "", "If-None-Match: "+inm)
		if r.Status != 304 || len(r.Body) != 0 || r.Header.Get("ETag") != etag1 || r.Header.Get("Cache-Control") != "public, max-age=600" {
			t.Fatalf("If-None-Match %s: %d %v %s", inm, r.Status, r.Header, r.Body)
		}
	}
	for _, inm := range []string{`"other"`, "garbage", etag1[1:], `""`} {
		if r := get(h, "If-None-Match: "+inm); !bytes.Equal(r.Body, r1.Body) {
			t.Fatalf("If-None-Match %s: %s", inm, r.Body)
		}
	}

	// Rotation on this node.
	row, err := h.App.Keys().Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2 := get(h, "If-None-Match: "+etag1)
	if k := kids(r2); len(k) != 2 || k[1] != row.KID || r2.Header.Get("ETag") == etag1 {
		t.Fatalf("after rotation: %v %s", k, r2.Header.Get("ETag"))
	}
	same("after rotation", r2, fresh())

	// Revocation of the retired key on this node (inkan jwk revoke).
	old := kids(r2)[0]
	if err := h.App.Keys().Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	r3 := get(h)
	if k := kids(r3); len(k) != 1 || k[0] != row.KID {
		t.Fatalf("after revocation: %v", k)
	}
	same("after revocation", r3, fresh())

	// Another node rotates and revokes the signing key; this node learns of
	// it at its next reload (Refresh: an unknown kid, or the refresh
	// interval).
	other := h.peer(t)
	if err := other.App.Keys().Revoke(ctx, row.KID); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Keys().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	r4 := get(h, "If-None-Match: "+r3.Header.Get("ETag"))
	if k := kids(r4); len(k) != 1 || k[0] == row.KID || k[0] == old {
		t.Fatalf("after another node's revocation: %v", k)
	}
	same("after another node's revocation", r4, get(other))
	same("after another node's revocation", r4, fresh())
}
