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

type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:ev"`
	Seq           int64     `bun:"seq,pk,autoincrement"`
	ID            uuid.UUID `bun:"id,notnull"`
	Type          string    `bun:"type,notnull"`
	Error         *string   `bun:"error"`
	ActorUserID   uuid.UUID `bun:"actor_user_id,nullzero"`
	ActorEmail    *string   `bun:"actor_email"`
	// AuditEmail is the address as the audit log shows it, when that
	// differs from ActorEmail (EventSink.AuditEmail: masked).
	AuditEmail *string   `bun:"audit_actor_email"`
	RequestID  string    `bun:"request_id,notnull"`
	ClientIP   string    `bun:"client_ip,notnull"`
	UserAgent  string    `bun:"user_agent,notnull"`
	Details    *string   `bun:"details"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// eventHookRow is an event row as RecordEvent writes it: with the webhook
// fan-out's columns (see SetHookedTypes), which readers do not select.
type eventHookRow struct {
	bun.BaseModel `bun:"table:events,alias:ev"`
	eventRow
	HookState *int    `bun:"hook_state"`
	HookData  *string `bun:"hook_data"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// insertEvent writes one eventHookRow, the webhook fan-out's columns
// included (execParam: prepared on PostgreSQL). Seq is left out so that
// every dialect assigns it.
const insertEvent = `INSERT INTO events (id, type, error, actor_user_id, actor_email, audit_actor_email, request_id, client_ip, user_agent, details, created_at, hook_state, hook_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// RecordEvent inserts e into the events table (inkan.Journal), in ctx's
// transaction when it carries one (inside Atomically the caller's), else
// as one statement, and hands it to the EventSink once that committed.
// The row is also the audit log's entry: the address the sink's AuditEmail
// gives is kept with it when it differs. e.Seq is ignored: the database
// assigns it. A zero ID gets a new one, a zero CreatedAt the current time.
// Details are stored as a JSON object; an error when they do not encode.
func (s *Store) RecordEvent(ctx context.Context, e inkan.Event) error {
	r := eventRow{
		ID: e.ID, Type: string(e.Type), Error: nullable(e.Error),
		ActorUserID: e.Actor.UserID, ActorEmail: nullable(e.Actor.Email),
		RequestID: e.Request.ID, ClientIP: e.Request.ClientIP, UserAgent: e.Request.UserAgent,
		CreatedAt: utc(e.CreatedAt),
	}
	if r.ID == uuid.Nil {
		r.ID = uuid.New()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("store: event details: %w", err)
		}
		d := string(b)
		r.Details = &d
	}
	e.ID, e.CreatedAt = r.ID, r.CreatedAt
	if s.sink != nil {
		if a := s.sink.AuditEmail(e); a != e.Actor.Email {
			r.AuditEmail = &a
		}
	}
	hr := eventHookRow{eventRow: r}
	if s.hooked != nil && e.Error == "" && s.hooked(e.Type) {
		state := hookPending
		hr.HookState = &state
		if e.HookData != nil {
			d := string(e.HookData)
			hr.HookData = &d
		}
	}
	// Seq is left out of the INSERT so that every dialect assigns it.
	if _, err := s.execParam(ctx, insertEvent, hr.ID, hr.Type, hr.Error, orNull(hr.ActorUserID), hr.ActorEmail, hr.AuditEmail,
		hr.RequestID, hr.ClientIP, hr.UserAgent, hr.Details, hr.CreatedAt, hr.HookState, hr.HookData); err != nil {
		return mapErr(err)
	}
	if s.sink != nil {
		afterCommit(ctx, func() { s.sink.Committed(e) })
	}
	return nil
}

// Events returns up to limit events with Seq > after, in Seq order (limit
// ≤ 0 means 100). It is how the audit log, webhook deliveries and metrics
// read the log: remember the last Seq processed and ask for the next ones.
//
// Seq is allocated at insert, not at commit, so an event with a smaller Seq
// can become visible after one with a larger Seq (two transactions
// committing out of order). A reader that must not miss an event re-reads
// a window behind its position (for example the events of the last few
// seconds by CreatedAt, skipping IDs it has seen) or only advances past
// events older than its longest transaction.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]inkan.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []eventRow
	err := s.idb(ctx).NewSelect().Model(&rows).Where("ev.seq > ?", after).OrderExpr("ev.seq ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Event, 0, len(rows))
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// event is the row as an inkan.Event.
func (r eventRow) event() (inkan.Event, error) {
	e := inkan.Event{
		Seq: r.Seq, ID: r.ID, Type: inkan.EventType(r.Type),
		Actor:     inkan.Actor{UserID: r.ActorUserID},
		Request:   inkan.RequestMeta{ID: r.RequestID, ClientIP: r.ClientIP, UserAgent: r.UserAgent},
		CreatedAt: r.CreatedAt.UTC(),
	}
	if r.Error != nil {
		e.Error = *r.Error
	}
	if r.ActorEmail != nil {
		e.Actor.Email = *r.ActorEmail
	}
	if r.Details != nil {
		if err := json.Unmarshal([]byte(*r.Details), &e.Details); err != nil {
			return inkan.Event{}, fmt.Errorf("store: event %s details: %w", r.ID, err)
		}
	}
	return e, nil
}
