package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_logs,alias:al"`
	ID            uuid.UUID `bun:"id,pk"`
	Type          string    `bun:"type,notnull"`
	Error         *string   `bun:"error"`
	RequestID     string    `bun:"meta_http_request_id,notnull"`
	SourceIP      string    `bun:"meta_source_ip,notnull"`
	UserAgent     string    `bun:"meta_user_agent,notnull"`
	ActorUserID   uuid.UUID `bun:"actor_user_id,nullzero"`
	ActorEmail    *string   `bun:"actor_email"`
	Details       *string   `bun:"details"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

// InsertAuditLog writes the audit log entry of e (its ID is the event's);
// inside Atomically it is part of the transaction.
func (s *Store) InsertAuditLog(ctx context.Context, e inkan.Event) error {
	r := auditRow{
		ID: e.ID, Type: string(e.Type), Error: nullable(e.Error),
		RequestID: e.Request.ID, SourceIP: e.Request.ClientIP, UserAgent: e.Request.UserAgent,
		ActorUserID: e.Actor.UserID, ActorEmail: nullable(e.Actor.Email), CreatedAt: utc(e.CreatedAt),
	}
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("store: audit details: %w", err)
		}
		d := string(b)
		r.Details = &d
	}
	_, err := s.idb(ctx).NewInsert().Model(&r).Exec(ctx)
	return mapErr(err)
}

// ListAuditLogs returns one page of audit log entries matching f, newest
// first (created_at, then id), and the number of matching entries.
func (s *Store) ListAuditLogs(ctx context.Context, f inkan.AuditFilter) ([]inkan.Event, int, error) {
	userIDText := "al.actor_user_id"
	if s.dialect == DialectPostgres {
		userIDText = "CAST(al.actor_user_id AS TEXT)"
	}
	filter := func(q *bun.SelectQuery) *bun.SelectQuery {
		if !f.Start.IsZero() {
			q = q.Where("al.created_at > ?", utc(f.Start))
		}
		if !f.End.IsZero() {
			q = q.Where("al.created_at < ?", utc(f.End))
		}
		if len(f.Types) > 0 {
			q = q.Where("al.type IN (?)", bun.List(f.Types))
		}
		like := func(q *bun.SelectQuery, col, v string) *bun.SelectQuery {
			return q.Where(col+" LIKE ? ESCAPE '!'", "%"+likeEscape(v)+"%")
		}
		if f.ActorUserID != "" {
			q = like(q, userIDText, f.ActorUserID)
		}
		if f.ActorEmail != "" {
			q = like(q, "al.actor_email", f.ActorEmail)
		}
		if f.SourceIP != "" {
			q = like(q, "al.meta_source_ip", f.SourceIP)
		}
		if f.Q != "" {
			p := "%" + likeEscape(f.Q) + "%"
			q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("al.actor_email LIKE ? ESCAPE '!'", p).
					WhereOr("al.meta_source_ip LIKE ? ESCAPE '!'", p).
					WhereOr(userIDText+" LIKE ? ESCAPE '!'", p)
			})
		}
		return q
	}
	total, err := filter(s.idb(ctx).NewSelect().Model((*auditRow)(nil))).Count(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	var rows []auditRow
	err = filter(s.idb(ctx).NewSelect().Model(&rows)).OrderExpr("al.created_at DESC, al.id DESC").
		Offset(int64(f.Offset)).Limit(int64(f.Limit)).Scan(ctx)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	out := make([]inkan.Event, 0, len(rows))
	for _, r := range rows {
		e, err := eventRow{
			ID: r.ID, Type: r.Type, Error: r.Error, ActorUserID: r.ActorUserID, ActorEmail: r.ActorEmail,
			RequestID: r.RequestID, ClientIP: r.SourceIP, UserAgent: r.UserAgent, Details: r.Details, CreatedAt: r.CreatedAt,
		}.event()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, int(total), nil
}

// DeleteAuditLogsBefore deletes the audit log entries created before t
// (audit_log.retention) and returns how many; safe on several nodes at once.
func (s *Store) DeleteAuditLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.idb(ctx).NewDelete().Model((*auditRow)(nil)).Where("created_at < ?", utc(t)).Exec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	return affected(res)
}
