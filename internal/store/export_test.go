package store

import (
	"context"
	"sync"

	"github.com/uptrace/bun"
)

// QueryLog records the statements a Store sends, BEGIN/COMMIT/ROLLBACK
// included: each is one round trip to the database.
type QueryLog struct {
	mu      sync.Mutex
	enabled bool
	queries []string
}

func (l *QueryLog) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enabled {
		l.queries = append(l.queries, e.Query)
	}
	return ctx
}

func (l *QueryLog) AfterQuery(context.Context, *bun.QueryEvent) {}

// Start clears the log and starts recording.
func (l *QueryLog) Start() { l.mu.Lock(); l.queries, l.enabled = nil, true; l.mu.Unlock() }

// Stop stops recording and returns what was recorded.
func (l *QueryLog) Stop() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enabled = false
	return l.queries
}

// LogQueries attaches a QueryLog to s.
func LogQueries(s *Store) *QueryLog {
	l := &QueryLog{}
	s.db.AddQueryHook(l)
	return l
}

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
