package store

import (
	"context"
)

// HoldConns takes n connections from s's pool at once and returns them.
func HoldConns(ctx context.Context, s *Store, n int) error {
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := s.db.DB.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}
