package store_test

import (
	"context"
	"testing"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestAtomicallyReadCommitted checks the transaction the webhook fan-out
// runs in: on MySQL/MariaDB it is READ COMMITTED (no gap locks, so its scan
// and update of events cannot deadlock with event inserts; see
// store.AtomicallyReadCommitted) while other units keep the server's
// REPEATABLE READ; on every database it commits what it wrote and writes
// nothing when it fails.
func TestAtomicallyReadCommitted(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		s := openMigrated(t, o)
		if s.Dialect() == store.DialectMySQL {
			var inRC, inDefault string
			err := s.AtomicallyReadCommitted(ctx, func(ctx context.Context) (err error) {
				inRC, err = store.TxIsolation(ctx, s)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Atomically(ctx, func(ctx context.Context) (err error) {
				inDefault, err = store.TxIsolation(ctx, s)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if inRC != "READ COMMITTED" || inDefault != "REPEATABLE READ" {
				t.Errorf("isolation: AtomicallyReadCommitted %q, Atomically %q; want READ COMMITTED, REPEATABLE READ", inRC, inDefault)
			}
		}
		u, _ := newUser(t, s)
		ev := inkan.NewEvent(ctx, inkan.EventUserLoggedOut, inkan.Actor{UserID: u.ID}, localNow())
		if err := s.AtomicallyReadCommitted(ctx, func(ctx context.Context) error { return s.RecordEvent(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
		failed := inkan.NewEvent(ctx, inkan.EventUserLoggedOut, inkan.Actor{UserID: u.ID}, localNow())
		err := s.AtomicallyReadCommitted(ctx, func(ctx context.Context) error {
			if err := s.RecordEvent(ctx, failed); err != nil {
				return err
			}
			return inkan.ErrStale
		})
		if err == nil {
			t.Fatal("AtomicallyReadCommitted: the unit's error was lost")
		}
		evs, err := s.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var committed, rolledBack bool
		for _, e := range evs {
			committed = committed || e.ID == ev.ID
			rolledBack = rolledBack || e.ID == failed.ID
		}
		if !committed || rolledBack {
			t.Errorf("events: committed %v (want true), failed unit's %v (want false)", committed, rolledBack)
		}
	})
}
