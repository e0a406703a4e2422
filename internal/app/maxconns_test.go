package app

import "testing"

// TestMaxConnectionsDefault: a configured value wins; otherwise the cap
// follows the open-file limit (half, minus the reserve, at least 64).
func TestMaxConnectionsDefault(t *testing.T) {
	if got := maxConnections(7); got != 7 {
		t.Fatalf("configured 7: %d", got)
	}
	limit, ok := openFileLimit()
	got := maxConnections(0)
	switch {
	case !ok && got != 1024:
		t.Fatalf("no known limit: %d, want 1024", got)
	case ok && got != max(64, int(min(limit, 1<<20)/2)-128):
		t.Fatalf("open-file limit %d: %d", limit, got)
	case ok && uint64(got) >= limit && got != 64:
		t.Fatalf("cap %d does not leave room below the open-file limit %d", got, limit)
	}
	t.Logf("open-file limit %d (known %v): max_connections %d", limit, ok, got)
}
