package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestAuditLogMigration: migration 0011 moves an existing audit log into
// the events table — entries without an event become events with seq
// below every event's (newest -1), an entry whose event exists keeps its
// masked address with the event — and its down migration gives the
// audit_logs table back.
func TestAuditLogMigration(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		s := openMigrated(t, o)
		if down, err := s.MigrateDown(ctx, 1); err != nil || len(down) != 1 || down[0] != "0011_audit_from_events" {
			t.Fatalf("MigrateDown(1) = %v, %v; want 0011 last", down, err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if err := store.ExecRaw(ctx, s, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		old := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
		user := uuid.New()
		legacy := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		const insertAudit = `INSERT INTO audit_logs (id, type, error, meta_http_request_id, meta_source_ip, meta_user_agent, actor_user_id, actor_email, details, created_at) VALUES (?, ?, NULL, 'req', '192.0.2.1', 'ua', ?, ?, NULL, ?)`
		for i, id := range legacy {
			exec(insertAudit, id, "user_created", user, "a*****@example.test", old.Add(time.Duration(i)*time.Minute))
		}
		// The third entry's event exists with the real address.
		exec(`INSERT INTO events (id, type, actor_user_id, actor_email, request_id, client_ip, user_agent, created_at) VALUES (?, 'user_created', ?, 'amy@example.test', 'req', '192.0.2.1', 'ua', ?)`,
			legacy[2], user, old.Add(2*time.Minute))

		if up, err := s.MigrateUp(ctx); err != nil || len(up) != 1 {
			t.Fatalf("MigrateUp = %v, %v", up, err)
		}
		evs, err := s.Events(ctx, -10, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 || evs[0].ID != legacy[0] || evs[0].Seq != -2 || evs[1].ID != legacy[1] || evs[1].Seq != -1 || evs[2].ID != legacy[2] || evs[2].Seq < 1 {
			t.Fatalf("events after 0011: %+v", evs)
		}
		if evs[0].Actor.Email != "a*****@example.test" || evs[2].Actor.Email != "amy@example.test" {
			t.Errorf("event addresses %q, %q", evs[0].Actor.Email, evs[2].Actor.Email)
		}
		if fresh, err := s.Events(ctx, 0, 100); err != nil || len(fresh) != 1 {
			t.Errorf("a reader from seq 0 sees %d events, %v; want only the one that was an event", len(fresh), err)
		}
		es, n, err := s.ListAuditLogs(ctx, inkan.AuditFilter{ActorEmail: "a*****@", Limit: 10})
		if err != nil || n != 3 || es[0].ID != legacy[2] || es[0].Actor.Email != "a*****@example.test" {
			t.Fatalf("audit log after 0011 = %+v (%d), %v", es, n, err)
		}

		if _, err := s.MigrateDown(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if n, err := store.CountRaw(ctx, s, `SELECT COUNT(*) FROM audit_logs WHERE actor_email = 'a*****@example.test'`); err != nil || n != 3 {
			t.Errorf("audit_logs after the down migration: %d, %v; want 3", n, err)
		}
		if n, err := store.CountRaw(ctx, s, `SELECT COUNT(*) FROM events`); err != nil || n != 1 {
			t.Errorf("events after the down migration: %d, %v; want 1", n, err)
		}
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
