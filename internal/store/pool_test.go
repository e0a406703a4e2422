package store_test

import (
	"context"
	"testing"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestPoolKeepsItsConnections checks the pool default of Options:
// with MaxIdleConns unset, connections that the load needed stay open when
// it ebbs, so a load that swings between 1 and MaxOpenConns connections
// opens each connection once (docs/performance.md "Connection pool").
// An explicit MaxIdleConns still caps the idle pool.
func TestPoolKeepsItsConnections(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		for _, c := range []struct {
			name       string
			idle, want int
		}{{"default", 0, 6}, {"explicit", 2, 2}} {
			o := o
			o.MaxOpenConns, o.MaxIdleConns = 6, c.idle
			st, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := store.HoldConns(ctx, st, 6); err != nil {
					t.Fatal(err)
				}
			}
			s := st.Stats()
			st.Close()
			if s.Idle != c.want || s.OpenConnections != c.want {
				t.Errorf("%s: %d idle, %d open after the swings, want %d", c.name, s.Idle, s.OpenConnections, c.want)
			}
			if closed := int(s.MaxIdleClosed); closed != 3*(6-c.want) {
				t.Errorf("%s: %d connections closed for want of idle room, want %d", c.name, closed, 3*(6-c.want))
			}
		}
	})
}
