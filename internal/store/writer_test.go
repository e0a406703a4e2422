package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestSQLiteWritersQueue: on SQLite, while one transaction keeps the write
// lock, the writers that arrive behind it (transactions and single
// statements) wait without holding a pool connection, so a read is still
// served from a pool of two, and each of them succeeds once the lock is
// free, however long it was held. Before the writers queued in Go
// (writeGate) each took a connection and polled SQLite's busy handler: the
// read waited for a connection until a poller gave up with SQLITE_BUSY at
// the 10 s busy timeout (docs/performance.md "256 clients").
func TestSQLiteWritersQueue(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, store.Options{Dialect: "sqlite", DSN: filepath.Join(t.TempDir(), "queue.db"), MaxOpenConns: 2})
	event := func(ctx context.Context) error {
		return s.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: uuid.New()}, time.Now()))
	}

	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- s.Atomically(ctx, func(ctx context.Context) error {
			if err := event(ctx); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held

	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			if i%2 == 0 {
				errs <- s.Atomically(ctx, event)
			} else {
				errs <- event(ctx) // a single statement, outside a transaction
			}
		}()
	}
	// Every writer queued behind the gate, or (without it) both of the
	// pool's connections taken.
	for store.WaitingWriters(s) < n && s.Stats().InUse < 2 {
		runtime.Gosched()
	}
	if _, err := s.GetUser(ctx, uuid.New()); !errors.Is(err, inkan.ErrNotFound) {
		t.Fatalf("a read while the writers wait: %v, want ErrNotFound", err)
	}
	if in := s.Stats().InUse; in != 1 {
		t.Errorf("%d connections in use while %d writers wait behind one transaction, want 1", in, n)
	}

	close(release)
	if err := <-holder; err != nil {
		t.Fatalf("the transaction holding the lock: %v", err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a queued writer: %v", err)
		}
	}
	evs, err := s.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n+1 {
		t.Fatalf("%d events, want %d", len(evs), n+1)
	}
}
