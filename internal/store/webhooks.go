package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// hookPending is events.hook_state of an event not yet fanned out to the
// webhooks.
const hookPending = 1

// SetHookedTypes installs the predicate that says which events a webhook
// may receive when recorded now (internal/webhook: Service.Pending, which
// also says false when no hook can receive anything): RecordEvent writes
// such an event, when it is not a failure, as pending for the fan-out
// (PendingHookEvents), every other event with hook_state NULL. nil (the
// default) marks none. Call it before the store is used concurrently; it
// is called once per recorded event, so it must not query.
func (s *Store) SetHookedTypes(f func(inkan.EventType) bool) { s.hooked = f }

type webhookRow struct {
	bun.BaseModel `bun:"table:webhooks,alias:wh"`
	ID            uuid.UUID `bun:"id,pk"`
	Callback      string    `bun:"callback,notnull"`
	Secret        string    `bun:"secret,notnull"`
	Enabled       bool      `bun:"enabled,notnull"`
	Failures      int       `bun:"failures,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

type webhookEventRow struct {
	bun.BaseModel `bun:"table:webhook_events,alias:whe"`
	ID            uuid.UUID `bun:"id,pk"`
	WebhookID     uuid.UUID `bun:"webhook_id,notnull"`
	Event         string    `bun:"event,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

type deliveryRow struct {
	bun.BaseModel  `bun:"table:webhook_deliveries,alias:wd"`
	ID             uuid.UUID `bun:"id,pk"`
	WebhookID      uuid.UUID `bun:"webhook_id,nullzero"`
	Callback       string    `bun:"callback,notnull"`
	Event          string    `bun:"event,notnull"`
	EventID        uuid.UUID `bun:"event_id,notnull"`
	Data           *string   `bun:"data"`
	State          string    `bun:"state,notnull"`
	Attempts       int       `bun:"attempts,notnull"`
	NextAttemptAt  time.Time `bun:"next_attempt_at,notnull"`
	EventCreatedAt time.Time `bun:"event_created_at,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	UpdatedAt      time.Time `bun:"updated_at,notnull"`
}

type attemptRow struct {
	bun.BaseModel `bun:"table:webhook_attempts,alias:wa"`
	ID            uuid.UUID `bun:"id,pk"`
	DeliveryID    uuid.UUID `bun:"delivery_id,notnull"`
	WebhookID     uuid.UUID `bun:"webhook_id,nullzero"`
	Callback      string    `bun:"callback,notnull"`
	Event         string    `bun:"event,notnull"`
	Attempt       int       `bun:"attempt,notnull"`
	Status        int       `bun:"status,notnull"`
	Error         string    `bun:"error,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

func (r deliveryRow) delivery() inkan.WebhookDelivery {
	d := inkan.WebhookDelivery{
		ID: r.ID, WebhookID: r.WebhookID, Callback: r.Callback, Event: r.Event, EventID: r.EventID,
		State: r.State, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(),
		EventCreatedAt: r.EventCreatedAt.UTC(), CreatedAt: r.CreatedAt.UTC(),
	}
	if r.Data != nil {
		d.Data = []byte(*r.Data)
	}
	return d
}

// lockSkipLocked is the row-locking clause that lets several nodes take
// disjoint rows: FOR UPDATE SKIP LOCKED on PostgreSQL and MySQL/MariaDB;
// nothing on SQLite, whose write transactions (BEGIN IMMEDIATE) run one at
// a time.
func (s *Store) lockSkipLocked(q *bun.SelectQuery) *bun.SelectQuery {
	if s.dialect == DialectSQLite {
		return q
	}
	return q.For("UPDATE SKIP LOCKED")
}

// PendingHookEvents returns up to limit events not yet fanned out, oldest
// first, with their HookData, locked until ctx's transaction ends (rows
// another node holds are skipped). It must run inside Atomically, together
// with the deliveries' insert and ClearHookEvents.
func (s *Store) PendingHookEvents(ctx context.Context, limit int) ([]inkan.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []eventHookRow
	q := s.idb(ctx).NewSelect().Model(&rows).
		Where("ev.hook_state = ?", hookPending).OrderExpr("ev.seq ASC").Limit(int64(limit))
	if err := s.lockSkipLocked(q).Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.Event, 0, len(rows))
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		if r.HookData != nil {
			e.HookData = []byte(*r.HookData)
		}
		out = append(out, e)
	}
	return out, nil
}

// WebhookWork reports, without locking anything, whether events wait for
// the fan-out and whether deliveries are due at now: a node looks before it
// opens a write transaction (on SQLite one writer at a time).
func (s *Store) WebhookWork(ctx context.Context, now time.Time) (events, due bool, err error) {
	events, err = s.idb(ctx).NewSelect().Model((*eventRow)(nil)).Where("ev.hook_state = ?", hookPending).Exists(ctx)
	if err != nil {
		return false, false, mapErr(err)
	}
	due, err = s.idb(ctx).NewSelect().Model((*deliveryRow)(nil)).
		Where("wd.state = ? AND wd.next_attempt_at <= ?", inkan.DeliveryPending, utc(now)).Exists(ctx)
	return events, due, mapErr(err)
}

// AnyEnabledWebhook reports whether an enabled stored hook exists (one
// EXISTS query on webhooks; the webhook service's view of the stored
// hooks, Service.RefreshView).
func (s *Store) AnyEnabledWebhook(ctx context.Context) (bool, error) {
	ok, err := s.idb(ctx).NewSelect().Model((*webhookRow)(nil)).Where("wh.enabled = ?", true).Exists(ctx)
	return ok, mapErr(err)
}

// ClearHookEvents marks the events seqs fanned out and removes their
// HookData.
func (s *Store) ClearHookEvents(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	_, err := s.idb(ctx).NewUpdate().Table("events").Set("hook_state = NULL").Set("hook_data = NULL").
		Where("seq IN (?)", bun.In(seqs)).Exec(ctx)
	return mapErr(err)
}

// Webhooks returns the stored hooks with their events, oldest first; only
// the enabled ones with enabledOnly.
func (s *Store) Webhooks(ctx context.Context, enabledOnly bool) ([]inkan.Webhook, error) {
	var rows []webhookRow
	q := s.idb(ctx).NewSelect().Model(&rows).OrderExpr("wh.created_at ASC, wh.id ASC")
	if enabledOnly {
		q = q.Where("wh.enabled = ?", true)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var evs []webhookEventRow
	if err := s.idb(ctx).NewSelect().Model(&evs).Where("whe.webhook_id IN (?)", bun.In(ids)).OrderExpr("whe.event ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	byHook := map[uuid.UUID][]string{}
	for _, e := range evs {
		byHook[e.WebhookID] = append(byHook[e.WebhookID], e.Event)
	}
	out := make([]inkan.Webhook, len(rows))
	for i, r := range rows {
		out[i] = r.webhook(byHook[r.ID])
	}
	return out, nil
}

func (r webhookRow) webhook(events []string) inkan.Webhook {
	if events == nil {
		events = []string{}
	}
	return inkan.Webhook{
		ID: r.ID, Callback: r.Callback, Events: events, Secret: []byte(r.Secret), Enabled: r.Enabled, Failures: r.Failures,
		ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// Webhook returns the stored hook id (inkan.ErrNotFound when none).
func (s *Store) Webhook(ctx context.Context, id uuid.UUID) (inkan.Webhook, error) {
	var r webhookRow
	if err := s.idb(ctx).NewSelect().Model(&r).Where("wh.id = ?", id).Scan(ctx); err != nil {
		return inkan.Webhook{}, mapErr(err)
	}
	var evs []string
	if err := s.idb(ctx).NewSelect().Model((*webhookEventRow)(nil)).Column("event").Where("whe.webhook_id = ?", id).OrderExpr("whe.event ASC").Scan(ctx, &evs); err != nil {
		return inkan.Webhook{}, mapErr(err)
	}
	return r.webhook(evs), nil
}

// CreateWebhook stores w with its events (Secret as given, already
// sealed).
func (s *Store) CreateWebhook(ctx context.Context, w inkan.Webhook) error {
	r := webhookRow{ID: w.ID, Callback: w.Callback, Secret: string(w.Secret), Enabled: w.Enabled, Failures: w.Failures,
		ExpiresAt: utc(w.ExpiresAt), CreatedAt: utc(w.CreatedAt), UpdatedAt: utc(w.UpdatedAt)}
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
			return mapErr(err)
		}
		return s.insertWebhookEvents(ctx, tx, w.ID, w.Events, r.UpdatedAt)
	})
}

func (s *Store) insertWebhookEvents(ctx context.Context, tx bun.Tx, id uuid.UUID, events []string, at time.Time) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]webhookEventRow, len(events))
	for i, e := range events {
		rows[i] = webhookEventRow{ID: uuid.New(), WebhookID: id, Event: e, CreatedAt: at, UpdatedAt: at}
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return mapErr(err)
}

// UpdateWebhook replaces the callback, events, enabled flag, failures and
// expiry of the stored hook w.ID (inkan.ErrNotFound when none).
func (s *Store) UpdateWebhook(ctx context.Context, w inkan.Webhook) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*webhookRow)(nil)).
			Set("callback = ?", w.Callback).Set("enabled = ?", w.Enabled).Set("failures = ?", w.Failures).
			Set("expires_at = ?", utc(w.ExpiresAt)).Set("updated_at = ?", utc(w.UpdatedAt)).
			Where("id = ?", w.ID).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return inkan.ErrNotFound
		}
		if _, err := tx.NewDelete().Model((*webhookEventRow)(nil)).Where("webhook_id = ?", w.ID).Exec(ctx); err != nil {
			return mapErr(err)
		}
		return s.insertWebhookEvents(ctx, tx, w.ID, w.Events, utc(w.UpdatedAt))
	})
}

// DeleteWebhook deletes the stored hook id with its events, deliveries and
// attempts (inkan.ErrNotFound when none).
func (s *Store) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// MySQL cascades through foreign keys too; deleting the children
		// first keeps the order the same on every dialect.
		if _, err := tx.NewDelete().TableExpr("webhook_attempts").Where("webhook_id = ?", id).Exec(ctx); err != nil {
			return mapErr(err)
		}
		if _, err := tx.NewDelete().Model((*deliveryRow)(nil)).Where("webhook_id = ?", id).Exec(ctx); err != nil {
			return mapErr(err)
		}
		if _, err := tx.NewDelete().Model((*webhookEventRow)(nil)).Where("webhook_id = ?", id).Exec(ctx); err != nil {
			return mapErr(err)
		}
		res, err := tx.NewDelete().Model((*webhookRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return inkan.ErrNotFound
		}
		return nil
	})
}

// InsertWebhookDeliveries writes ds (state pending).
func (s *Store) InsertWebhookDeliveries(ctx context.Context, ds []inkan.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		r := deliveryRow{
			ID: d.ID, WebhookID: d.WebhookID, Callback: d.Callback, Event: d.Event, EventID: d.EventID,
			State: inkan.DeliveryPending, Attempts: d.Attempts, NextAttemptAt: utc(d.NextAttemptAt),
			EventCreatedAt: utc(d.EventCreatedAt), CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.CreatedAt),
		}
		if d.Data != nil {
			data := string(d.Data)
			r.Data = &data
		}
		rows[i] = r
	}
	_, err := s.idb(ctx).NewInsert().Model(&rows).Exec(ctx)
	return mapErr(err)
}

// ClaimWebhookDeliveries takes up to limit pending deliveries due at now
// (next_attempt_at ≤ now), oldest due first, for one attempt each: their
// attempts count goes up by one and next_attempt_at becomes leaseUntil, so
// no other node takes them before the lease runs out (a node that dies
// mid-attempt leaves them to the next). Returned with the new counts.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]inkan.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []inkan.WebhookDelivery
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out = nil
		var rows []deliveryRow
		q := tx.NewSelect().Model(&rows).
			Where("wd.state = ? AND wd.next_attempt_at <= ?", inkan.DeliveryPending, utc(now)).
			OrderExpr("wd.next_attempt_at ASC").Limit(int64(limit))
		if err := s.lockSkipLocked(q).Scan(ctx); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		_, err := tx.NewUpdate().Model((*deliveryRow)(nil)).
			Set("attempts = attempts + 1").Set("next_attempt_at = ?", utc(leaseUntil)).Set("updated_at = ?", utc(now)).
			Where("id IN (?)", bun.In(ids)).Exec(ctx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			r.Attempts++
			r.NextAttemptAt = utc(leaseUntil)
			out = append(out, r.delivery())
		}
		return nil
	})
	return out, mapErr(err)
}

// FinishWebhookDeliveries records, in one transaction, the outcome os[i]
// of attempt ds[i].Attempts of each delivery ds[i]: the attempt row, the
// delivery's new state (its data removed once it is no longer pending)
// and, for a stored hook, its failure count (reset on success, with
// expires_at renewed; one more when the delivery failed for good,
// disabling the hook when it reaches MaxFailures). done[i] is false when
// ds[i] is no longer at that attempt (another node took it after the lease
// ran out): nothing is written for it then.
func (s *Store) FinishWebhookDeliveries(ctx context.Context, ds []inkan.WebhookDelivery, os []inkan.WebhookOutcome) (done []bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		done = make([]bool, len(ds))
		for i, d := range ds {
			ok, err := s.finishDelivery(ctx, tx, d, os[i])
			if err != nil {
				return err
			}
			done[i] = ok
		}
		return nil
	})
	return done, mapErr(err)
}

func (s *Store) finishDelivery(ctx context.Context, tx bun.Tx, d inkan.WebhookDelivery, o inkan.WebhookOutcome) (bool, error) {
	at := utc(o.Attempt.CreatedAt)
	q := tx.NewUpdate().Model((*deliveryRow)(nil)).Set("state = ?", o.State).Set("updated_at = ?", at)
	if o.State == inkan.DeliveryPending {
		q = q.Set("next_attempt_at = ?", utc(o.NextAttemptAt))
	} else {
		q = q.Set("data = NULL")
	}
	res, err := q.Where("id = ? AND attempts = ? AND state = ?", d.ID, d.Attempts, inkan.DeliveryPending).Exec(ctx)
	if err != nil {
		return false, err
	}
	if n, err := affected(res); err != nil || n == 0 {
		return false, err
	}
	a := o.Attempt
	row := attemptRow{ID: a.ID, DeliveryID: d.ID, WebhookID: d.WebhookID, Callback: d.Callback, Event: d.Event,
		Attempt: d.Attempts, Status: a.Status, Error: inkan.TruncateUTF8(a.Error, 512), CreatedAt: at}
	if row.ID == uuid.Nil {
		row.ID = uuid.New()
	}
	if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
		return false, err
	}
	if d.WebhookID == uuid.Nil {
		return true, nil
	}
	switch o.State {
	case inkan.DeliveryDelivered:
		_, err = tx.NewUpdate().Model((*webhookRow)(nil)).Set("failures = 0").Set("expires_at = ?", utc(o.Renewed)).
			Where("id = ?", d.WebhookID).Exec(ctx)
	case inkan.DeliveryFailed:
		// enabled is assigned before failures: MySQL evaluates SET
		// left to right with the new values, the others with the old.
		_, err = tx.NewUpdate().Model((*webhookRow)(nil)).
			Set("enabled = CASE WHEN failures + 1 >= ? THEN ? ELSE enabled END", o.MaxFailures, false).
			Set("failures = failures + 1").Set("updated_at = ?", at).
			Where("id = ?", d.WebhookID).Exec(ctx)
	}
	return err == nil, err
}

// WebhookAttempts returns the newest attempts (at most limit) of the
// stored hook id, or of the configuration hook callback when id is
// uuid.Nil, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, id uuid.UUID, callback string, limit int) ([]inkan.WebhookAttempt, error) {
	var rows []attemptRow
	q := s.idb(ctx).NewSelect().Model(&rows).OrderExpr("wa.created_at DESC, wa.id DESC").Limit(int64(limit))
	if id != uuid.Nil {
		q = q.Where("wa.webhook_id = ?", id)
	} else {
		q = q.Where("wa.webhook_id IS NULL AND wa.callback = ?", callback)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.WebhookAttempt, len(rows))
	for i, r := range rows {
		out[i] = inkan.WebhookAttempt{ID: r.ID, DeliveryID: r.DeliveryID, WebhookID: r.WebhookID, Callback: r.Callback, Event: r.Event,
			Attempt: r.Attempt, Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// WebhookDeliveries returns the deliveries of the event eventID (for
// tests and operators), oldest first.
func (s *Store) WebhookDeliveries(ctx context.Context, eventID uuid.UUID) ([]inkan.WebhookDelivery, error) {
	var rows []deliveryRow
	if err := s.idb(ctx).NewSelect().Model(&rows).Where("wd.event_id = ?", eventID).OrderExpr("wd.created_at ASC, wd.id ASC").Scan(ctx); err != nil {
		return nil, mapErr(err)
	}
	out := make([]inkan.WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

// PurgeWebhookDeliveries deletes the finished deliveries (and their
// attempts) last changed before t, and returns how many deliveries.
func (s *Store) PurgeWebhookDeliveries(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		sub := tx.NewSelect().Model((*deliveryRow)(nil)).Column("id").
			Where("state <> ? AND updated_at < ?", inkan.DeliveryPending, utc(t))
		if s.dialect == DialectMySQL {
			// MySQL cannot delete from a table its subquery reads.
			sub = tx.NewSelect().TableExpr("(?) AS d", sub).Column("id")
		}
		if _, err := tx.NewDelete().TableExpr("webhook_attempts").Where("delivery_id IN (?)", sub).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*deliveryRow)(nil)).
			Where("state <> ? AND updated_at < ?", inkan.DeliveryPending, utc(t)).Exec(ctx)
		if err != nil {
			return err
		}
		n, err = affected(res)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purging webhook deliveries: %w", mapErr(err))
	}
	return n, nil
}
