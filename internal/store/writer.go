package store

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/uptrace/bun"
)

// writeGate queues the writers of one SQLite database in the process, first
// come first served, so that at most one of them at a time asks SQLite for
// the write lock.
//
// SQLite lets one connection write at a time. Without the gate every writer
// takes a pool connection and waits for the lock in SQLite's busy handler,
// which polls: it sleeps 1, 2, 5, … up to 100 ms between tries (the
// schedule of sqliteDefaultBusyCallback, kept by modernc.org/sqlite's
// busyHandler). The lock then sits free until a sleeper wakes, a writer that
// has just arrived can take it before one that has polled for seconds, and
// the pollers hold the pool's connections while the requests behind them
// wait in database/sql, which hands a freed connection to a random waiter.
// With 256 simultaneous sign-ups or passcode logins on a loaded 2-core
// machine some requests waited past the 10 s request deadline
// (docs/performance.md "256 clients"). Behind the gate a writer waits in Go,
// holding no connection, and is woken the moment the previous writer
// committed, in arrival order (a channel's blocked senders are served
// FIFO).
//
// The busy timeout stays as the guard against writers in other processes
// (inkan migrate, a second server on the same file).
type writeGate struct {
	// slot holds a token while a writer is in.
	slot chan struct{}
	// waiting counts the writers queued for the slot (for tests).
	waiting atomic.Int64
}

func newWriteGate() *writeGate { return &writeGate{slot: make(chan struct{}, 1)} }

// acquire waits for the gate in arrival order; it returns ctx's error when
// ctx ends first (and then holds nothing).
func (g *writeGate) acquire(ctx context.Context) error {
	select {
	case g.slot <- struct{}{}:
		return nil
	default:
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case g.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release lets the next writer in.
func (g *writeGate) release() { <-g.slot }

// gateHeldKey marks a context whose goroutine holds the write gate for the
// whole of a transaction (inTx): its statements, BEGIN and COMMIT included,
// pass the hook without queueing again.
type gateHeldKey struct{}

// gateStash is the QueryEvent.Stash key saying the hook took the gate for
// that one statement, to be released after it.
type gateStash struct{}

// gateHook puts every writing statement run outside a gated transaction —
// an INSERT, UPDATE or DELETE in autocommit mode, a BEGIN not started by
// inTx — through the write gate, from before it takes a connection until it
// finished (bun calls AfterQuery once the statement's rows are read). A
// SELECT never waits: in WAL mode readers do not block the writer. A
// statement is a read when bun's query builder says SELECT or, for raw
// SQL, its text starts with SELECT; anything else counts as a write.
//
// Statements run through bun.DB.QueryContext or QueryRowContext return
// before their rows are read; the store runs only SELECTs that way, so a
// write there could release the gate early, and would then wait for the
// lock in SQLite's busy handler as before the gate.
type gateHook struct{ gate *writeGate }

var _ bun.QueryHook = gateHook{}

// BeforeQuery waits for the gate unless the statement reads or ctx's
// transaction already holds it. When ctx ends while waiting, the statement
// goes on without the gate and fails on ctx in database/sql.
func (h gateHook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if ctx.Value(gateHeldKey{}) != nil || reads(e) {
		return ctx
	}
	if h.gate.acquire(ctx) != nil {
		return ctx
	}
	if e.Stash == nil {
		e.Stash = map[any]any{}
	}
	e.Stash[gateStash{}] = true
	return ctx
}

// AfterQuery releases the gate BeforeQuery took for this statement.
func (h gateHook) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if e.Stash[gateStash{}] == true {
		delete(e.Stash, gateStash{})
		h.gate.release()
	}
}

// reads reports whether e is a SELECT.
func reads(e *bun.QueryEvent) bool {
	if _, raw := e.IQuery.(*bun.RawQuery); e.IQuery != nil && !raw {
		return e.IQuery.Operation() == "SELECT"
	}
	// bun.RawQuery calls itself SELECT whatever its text: read the text.
	q := strings.TrimLeft(e.Query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}
