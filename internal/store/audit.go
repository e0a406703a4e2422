package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// The audit log is the events table (migration 0011): every recorded event
// is one row, and an entry shows the address the audit log keeps
// (audit_actor_email when set, else actor_email). One insert per event,
// not two (docs/performance.md "Budgets").

// ListAuditLogs returns one page of audit log entries (recorded events)
// matching f, newest first (created_at, then id), and the number of
// matching entries. The address filters and q match the address as the
// audit log shows it.
func (s *Store) ListAuditLogs(ctx context.Context, f inkan.AuditFilter) ([]inkan.Event, int, error) {
	userIDText := "ev.actor_user_id"
	if s.dialect == DialectPostgres {
		userIDText = "CAST(ev.actor_user_id AS TEXT)"
	}
	const email = "COALESCE(ev.audit_actor_email, ev.actor_email)"
	filter := func(q *bun.SelectQuery) *bun.SelectQuery {
		if !f.Start.IsZero() {
			q = q.Where("ev.created_at > ?", utc(f.Start))
		}
		if !f.End.IsZero() {
			q = q.Where("ev.created_at < ?", utc(f.End))
		}
		if len(f.Types) > 0 {
			q = q.Where("ev.type IN (?)", bun.List(f.Types))
		}
		like := func(q *bun.SelectQuery, col, v string) *bun.SelectQuery {
			return q.Where(col+" LIKE ? ESCAPE '!'", "%"+likeEscape(v)+"%")
		}
		if f.ActorUserID != "" {
			q = like(q, userIDText, f.ActorUserID)
		}
		if f.ActorEmail != "" {
			q = like(q, email, f.ActorEmail)
		}
		if f.SourceIP != "" {
			q = like(q, "ev.client_ip", f.SourceIP)
		}
		if f.Q != "" {
			p := "%" + likeEscape(f.Q) + "%"
			q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where(email+" LIKE ? ESCAPE '!'", p).
					WhereOr("ev.client_ip LIKE ? ESCAPE '!'", p).
					WhereOr(userIDText+" LIKE ? ESCAPE '!'", p)
			})
		}
		return q
	}
	total, err := filter(s.idb(ctx).NewSelect().Model((*eventRow)(nil))).Count(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	var rows []eventRow
	err = filter(s.idb(ctx).NewSelect().Model(&rows)).OrderExpr("ev.created_at DESC, ev.id DESC").
		Offset(int64(f.Offset)).Limit(int64(f.Limit)).Scan(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	out := make([]inkan.Event, 0, len(rows))
	for _, r := range rows {
		if r.AuditEmail != nil {
			r.ActorEmail = r.AuditEmail
		}
		e, err := r.event()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, int(total), nil
}

// DeleteAuditLogsBefore deletes the audit log entries, that is the
// recorded events, created before t (audit_log.retention) and returns how
// many; safe on several nodes at once. An event still waiting for its
// webhook fan-out (hook_state set) is kept whatever its age, so a short
// retention never loses a delivery.
func (s *Store) DeleteAuditLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.idb(ctx).NewDelete().Model((*eventRow)(nil)).Where("created_at < ?", utc(t)).Where("hook_state IS NULL").Exec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	return affected(res)
}
