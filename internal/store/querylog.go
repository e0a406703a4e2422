package store

import (
	"context"
	"sync"

	"github.com/uptrace/bun"
)

// QueryLog records the statements a Store sends, BEGIN/COMMIT/ROLLBACK
// included: each is one round trip to the database. It exists for the
// statement-budget tests and measurements (docs/performance.md "Budgets");
// while not started it keeps nothing and costs one mutex per statement.
type QueryLog struct {
	mu      sync.Mutex
	enabled bool
	queries []string
}

// BeforeQuery implements bun.QueryHook.
func (l *QueryLog) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enabled {
		l.queries = append(l.queries, e.Query)
	}
	return ctx
}

// AfterQuery implements bun.QueryHook.
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

// LogQueries attaches a new, stopped QueryLog to s. Attach it before the
// store is shared between goroutines (bun's hook list is not synchronised).
func LogQueries(s *Store) *QueryLog {
	l := &QueryLog{}
	s.db.AddQueryHook(l)
	s.logs = append(s.logs, l)
	return l
}
