package app_test

import (
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/config"
)

// TestPprofOptIn: the admin listener serves Go's profiles only with
// server.admin.pprof, and then only with an admin API key when keys are
// set; the public listener never does.
func TestPprofOptIn(t *testing.T) {
	t.Parallel()
	off := newHarness(t, nil)
	if r := off.admin(t, "GET", "/debug/pprof/heap", ""); r.Status != 404 {
		t.Fatalf("pprof off: %d, want 404", r.Status)
	}
	key := strings.Repeat("k", 32)
	on := newHarness(t, func(c *config.Config) { c.Server.Admin.Pprof = true; c.Server.Admin.APIKeys = []string{key} })
	if r := on.admin(t, "GET", "/debug/pprof/heap", ""); r.Status != 401 {
		t.Fatalf("pprof without a key: %d, want 401", r.Status)
	}
	r := on.admin(t, "GET", "/debug/pprof/heap", "", "Authorization: Bearer "+key)
	if r.Status != 200 || len(r.Body) == 0 {
		t.Fatalf("pprof heap: %d, %d bytes", r.Status, len(r.Body))
	}
	if r := on.do(t, "GET", "/debug/pprof/heap", ""); r.Status != 404 {
		t.Fatalf("public listener: %d, want 404", r.Status)
	}
}
