package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is what deliveries need from the database; internal/store
// satisfies it.
type Store interface {
	inkan.Journal
	// PendingHookEvents returns up to limit events not yet fanned out,
	// locked until ctx's transaction ends (rows another node holds are
	// skipped); ClearHookEvents marks them done.
	PendingHookEvents(ctx context.Context, limit int) ([]inkan.Event, error)
	ClearHookEvents(ctx context.Context, seqs []int64) error
	// AtomicallyReadCommitted runs fn in one transaction at READ
	// COMMITTED, where the fan-out's locking scan of the events cannot
	// deadlock with the inserts of new ones (MySQL's gap locks).
	AtomicallyReadCommitted(ctx context.Context, fn func(ctx context.Context) error) error
	// WebhookWork says, without locking, whether events wait for the
	// fan-out and whether deliveries are due.
	WebhookWork(ctx context.Context, now time.Time) (events, due bool, err error)
	// AnyEnabledWebhook says whether an enabled stored hook exists (the
	// node's view, see Service.Pending).
	AnyEnabledWebhook(ctx context.Context) (bool, error)
	// Webhooks returns the stored hooks (only enabled ones with
	// enabledOnly); Webhook one (inkan.ErrNotFound).
	Webhooks(ctx context.Context, enabledOnly bool) ([]inkan.Webhook, error)
	Webhook(ctx context.Context, id uuid.UUID) (inkan.Webhook, error)
	CreateWebhook(ctx context.Context, w inkan.Webhook) error
	UpdateWebhook(ctx context.Context, w inkan.Webhook) error
	DeleteWebhook(ctx context.Context, id uuid.UUID) error
	InsertWebhookDeliveries(ctx context.Context, ds []inkan.WebhookDelivery) error
	// ClaimWebhookDeliveries takes due deliveries for one attempt each
	// under a lease until leaseUntil.
	ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]inkan.WebhookDelivery, error)
	// FinishWebhookDeliveries records attempts' outcomes in one
	// transaction; done[i] is false when another node took ds[i]
	// meanwhile (nothing written for it).
	FinishWebhookDeliveries(ctx context.Context, ds []inkan.WebhookDelivery, os []inkan.WebhookOutcome) (done []bool, err error)
	WebhookAttempts(ctx context.Context, id uuid.UUID, callback string, limit int) ([]inkan.WebhookAttempt, error)
}

// Signer signs the JWT of a request: claims sub, iat, exp, aud, evt and
// data, with the current session signing key (internal/session).
type Signer interface {
	SignWebhook(ctx context.Context, event string, data json.RawMessage) (string, error)
}

// UserObject returns the admin API's user object of id as JSON (the data
// of user.* events); inkan.ErrNotFound when the user is gone.
type UserObject func(ctx context.Context, id uuid.UUID) (json.RawMessage, error)

// Observer is told the outcome of every attempt (internal/metrics):
// result is "delivered", "retry" or "failed", attempt counts from 1, age
// is the time since the event happened.
type Observer interface {
	WebhookAttempt(event, result string, attempt int, age time.Duration)
}

// Hook is a hook of the configuration file (webhooks.hooks).
type Hook struct {
	Callback string
	Events   []string
	Secret   string // Standard Webhooks secret; "" signs with an empty key
}

// Options configure the deliveries.
type Options struct {
	// Hooks are the configuration file's hooks, used only with
	// ConfigEnabled (webhooks.enabled). They are never disabled.
	Hooks         []Hook
	ConfigEnabled bool
	// MaxFailures disables a stored hook after that many consecutive
	// events whose delivery failed (webhooks.max_failures; default 5).
	MaxFailures int
	// RequireVerification is email.require_verification (see namesOf).
	RequireVerification bool
	// SecretKeys seal the stored hooks' secrets: the first seals, all
	// open (32 bytes each, derived from the configured secrets).
	SecretKeys [][]byte
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// Transport sends the requests (default: http.DefaultTransport's
	// settings). Redirects are never followed.
	Transport http.RoundTripper
	// Workers is how many requests one node sends at once (default 4).
	Workers int
	// ViewRefresh is R of the node's view of the stored hooks (default
	// DefaultViewRefresh): WatchHooks asks the database every R/2 whether
	// an enabled stored hook exists, an answer counts for R after its
	// query was sent, and creating or enabling a stored hook answers 2R
	// after its commit (see Pending). Every node of a deployment must use
	// the same R.
	ViewRefresh time.Duration
	Log         *slog.Logger
	Observer    Observer
}

// Service fans events out to the hooks and delivers them.
type Service struct {
	store  Store
	signer Signer
	user   UserObject
	opts   Options
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	wake   chan struct{}
	// view is the node's last answer to "is a stored hook enabled?"
	// (nil before the first one and after a failed refresh).
	view atomic.Pointer[hookView]
}

// hookView is one answer of AnyEnabledWebhook and when its query was sent
// (time.Now, with its monotonic reading).
type hookView struct {
	enabled bool
	sent    time.Time
}

// DefaultViewRefresh is Options.ViewRefresh's default.
const DefaultViewRefresh = time.Second

// New returns the webhook service. Config hooks must have http or https
// callbacks (ValidCallback) and valid subscriptions.
func New(store Store, signer Signer, user UserObject, o Options, now func() time.Time) (*Service, error) {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.ViewRefresh <= 0 {
		o.ViewRefresh = DefaultViewRefresh
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.SecretKeys) == 0 {
		return nil, errors.New("webhook: no key to seal hook secrets")
	}
	for _, h := range o.Hooks {
		if err := ValidCallback(h.Callback); err != nil {
			return nil, err
		}
	}
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	return &Service{
		store: store, signer: signer, user: user, opts: o, now: now, log: o.Log,
		wake: make(chan struct{}, 1),
		client: &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			// Redirects are not followed: the callback is the hook's
			// address, and a redirect could lead the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// ValidCallback is inkan.ValidWebhookCallback.
func ValidCallback(s string) error { return inkan.ValidWebhookCallback(s) }

// Hooked reports whether events of type t can reach a hook (see the
// package's mapping), whether or not a hook exists now.
func (s *Service) Hooked(t inkan.EventType) bool { return Hooked(t) }

// Pending reports whether an event of type t, recorded now, must be kept
// for the fan-out (the store's predicate, store.SetHookedTypes): t is
// Hooked and a hook may receive it, that is a configuration hook is
// enabled (webhooks.enabled with hooks: always, so app-delivered mail's
// email.send hook of the file is always served), or the node's view says
// an enabled stored hook exists, or that view is unknown: never
// refreshed, its last refresh failed, or its last successful query was
// sent R (Options.ViewRefresh) or more ago. Otherwise the event is written
// without hook_state and the fan-out never touches it (issue 19: no
// second write of every event in a deployment without hooks).
//
// Why no event is lost for a hook (issue 12): CreateHook and an UpdateHook
// that leaves the hook enabled answer 2R after their commit returned. An
// event recorded on any node at time t after that answer is unmarked only
// if that node's view is "none enabled" from a query sent at T > t − R ≥
// commit + R, so after the commit — and a query started after a commit
// sees it (one database; PostgreSQL, MariaDB and SQLite all give a new
// statement a snapshot that includes every transaction committed before
// it started). Hence that query saw the hook enabled unless the hook was
// disabled or deleted since, when it needs nothing. The second R is
// margin for the nodes' clock rates and scheduling; the argument uses
// only each node's own monotonic clock, never wall clocks.
func (s *Service) Pending(t inkan.EventType) bool {
	if !Hooked(t) {
		return false
	}
	if s.opts.ConfigEnabled && len(s.opts.Hooks) > 0 {
		return true
	}
	v := s.view.Load()
	return v == nil || v.enabled || time.Since(v.sent) >= s.opts.ViewRefresh
}

// RefreshView asks the database once whether an enabled stored hook
// exists and makes the answer the node's view (Pending), stamped with the
// time the query was sent. On an error the view becomes unknown, so
// events are kept for the fan-out until a refresh succeeds.
func (s *Service) RefreshView(ctx context.Context) error {
	sent := time.Now()
	enabled, err := s.store.AnyEnabledWebhook(ctx)
	if err != nil {
		s.view.Store(nil)
		return fmt.Errorf("webhook view: %w", err)
	}
	s.view.Store(&hookView{enabled: enabled, sent: sent})
	return nil
}

// WatchHooks refreshes the node's view every R/2 (Options.ViewRefresh)
// until ctx ends, then leaves it unknown. Serve runs it beside Run.
func (s *Service) WatchHooks(ctx context.Context) {
	defer s.view.Store(nil)
	t := time.NewTicker(s.opts.ViewRefresh / 2)
	defer t.Stop()
	for {
		if err := s.RefreshView(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook view refresh", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle waits 2R (Options.ViewRefresh) after a stored hook became
// enabled, so that every node's view includes it before the change is
// answered (see Pending); ctx's error when ctx ends first.
func (s *Service) settle(ctx context.Context) error {
	t := time.NewTimer(2 * s.opts.ViewRefresh)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Notify wakes the node's delivery loop (called when an event it can
// deliver committed), so that deliveries start without waiting for the
// next poll.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SubscribesTo reports whether some hook — of the configuration (when
// enabled) or stored and enabled — receives the event name.
func (s *Service) SubscribesTo(ctx context.Context, name string) (bool, error) {
	if s.opts.ConfigEnabled {
		for _, h := range s.opts.Hooks {
			for _, e := range h.Events {
				if Matches(e, name) {
					return true, nil
				}
			}
		}
	}
	hooks, err := s.store.Webhooks(ctx, true)
	if err != nil {
		return false, err
	}
	for _, h := range hooks {
		for _, e := range h.Events {
			if Matches(e, name) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Run fans out and delivers until ctx ends: at once when Notify is called,
// else every poll.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook deliveries", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
			// Under load every commit wakes the loop: a short pause lets
			// the events of many requests go out in one round.
			select {
			case <-ctx.Done():
				return
			case <-time.After(minRoundGap):
			}
		}
	}
}

// minRoundGap is the shortest time between two rounds woken by Notify.
const minRoundGap = 50 * time.Millisecond

// Round counts what one RunOnce did.
type Round struct {
	FannedOut  int // events fanned out
	Deliveries int // deliveries written by the fan-out
	Attempts   int // attempts made
}

// RunOnce fans out every pending event, then attempts every delivery due
// now (Workers at a time) and records the outcomes. Deliveries another
// node holds are left to it.
func (s *Service) RunOnce(ctx context.Context) (Round, error) {
	var r Round
	events, due, err := s.store.WebhookWork(ctx, s.now())
	if err != nil || (!events && !due) {
		return r, err
	}
	for events {
		n, d, err := s.fanOut(ctx, 200)
		r.FannedOut += n
		r.Deliveries += d
		if err != nil {
			return r, err
		}
		if n < 200 {
			break
		}
	}
	for ctx.Err() == nil {
		now := s.now()
		ds, err := s.store.ClaimWebhookDeliveries(ctx, now, now.Add(s.lease()), 50)
		if err != nil {
			return r, err
		}
		if len(ds) == 0 {
			return r, nil
		}
		hooks, err := s.hooksByID(ctx)
		if err != nil {
			return r, err
		}
		outs := make([]inkan.WebhookOutcome, len(ds))
		sem := make(chan struct{}, s.opts.Workers)
		var wg sync.WaitGroup
		for i, d := range ds {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				outs[i] = s.attempt(ctx, d, hooks)
			}()
		}
		wg.Wait()
		s.finish(ctx, ds, outs)
		r.Attempts += len(ds)
	}
	return r, ctx.Err()
}

// lease is how long a claimed delivery belongs to this node: the request
// timeout and time to record the outcome.
func (s *Service) lease() time.Duration { return s.opts.Timeout + 20*time.Second }

func (s *Service) hooksByID(ctx context.Context) (map[uuid.UUID]inkan.Webhook, error) {
	hooks, err := s.store.Webhooks(ctx, false)
	if err != nil {
		return nil, err
	}
	m := make(map[uuid.UUID]inkan.Webhook, len(hooks))
	for _, h := range hooks {
		m[h.ID] = h
	}
	return m, nil
}

// target is one hook a fan-out writes deliveries for.
type target struct {
	id       uuid.UUID // uuid.Nil for a configuration hook
	callback string
	events   []string
}

// fanOut takes up to limit pending events and, in one transaction, writes
// a delivery for each (event name, matching hook) and marks the events
// done. Returns the events taken and the deliveries written.
func (s *Service) fanOut(ctx context.Context, limit int) (events, deliveries int, err error) {
	err = s.store.AtomicallyReadCommitted(ctx, func(ctx context.Context) error {
		events, deliveries = 0, 0
		evs, err := s.store.PendingHookEvents(ctx, limit)
		if err != nil || len(evs) == 0 {
			return err
		}
		stored, err := s.store.Webhooks(ctx, true)
		if err != nil {
			return err
		}
		var targets []target
		if s.opts.ConfigEnabled {
			for _, h := range s.opts.Hooks {
				targets = append(targets, target{callback: h.Callback, events: h.Events})
			}
		}
		for _, h := range stored {
			targets = append(targets, target{id: h.ID, callback: h.Callback, events: h.Events})
		}
		now := s.now()
		var ds []inkan.WebhookDelivery
		seqs := make([]int64, len(evs))
		for i, e := range evs {
			seqs[i] = e.Seq
			for _, name := range namesOf(e, s.opts.RequireVerification) {
				var data json.RawMessage
				for _, t := range targets {
					if !subscribed(t.events, name) {
						continue
					}
					if data == nil {
						if data, err = s.payload(ctx, e, name); err != nil {
							return err
						}
					}
					ds = append(ds, inkan.WebhookDelivery{
						ID: uuid.New(), WebhookID: t.id, Callback: t.callback, Event: name, EventID: e.ID,
						Data: data, NextAttemptAt: now, EventCreatedAt: e.CreatedAt, CreatedAt: now,
					})
				}
			}
		}
		if err := s.store.InsertWebhookDeliveries(ctx, ds); err != nil {
			return err
		}
		events, deliveries = len(evs), len(ds)
		return s.store.ClearHookEvents(ctx, seqs)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("webhook fan-out: %w", err)
	}
	return events, deliveries, nil
}

func subscribed(subs []string, name string) bool {
	for _, sub := range subs {
		if Matches(sub, name) {
			return true
		}
	}
	return false
}

// payload is the data claim of event name fired by e: the admin user
// object for user.* (the id and the address the event names when the user
// is gone, as after user.delete), the mail for email.send, the session and
// user ids for session.*.
func (s *Service) payload(ctx context.Context, e inkan.Event, name string) (json.RawMessage, error) {
	switch {
	case name == EmailSend:
		return json.RawMessage(e.HookData), nil
	case Matches("session", name):
		return json.Marshal(map[string]any{"session_id": e.Details["session_id"], "user_id": e.Actor.UserID})
	}
	u, err := s.user(ctx, e.Actor.UserID)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, inkan.ErrNotFound) && inkan.KindOf(err) != inkan.KindNotFound {
		return nil, err
	}
	gone := map[string]any{"id": e.Actor.UserID}
	if e.Actor.Email != "" {
		gone["emails"] = []map[string]any{{"address": e.Actor.Email, "is_primary": true}}
	}
	return json.Marshal(gone)
}

// attempt sends d once and returns the outcome.
func (s *Service) attempt(ctx context.Context, d inkan.WebhookDelivery, hooks map[uuid.UUID]inkan.Webhook) inkan.WebhookOutcome {
	now := s.now()
	out := inkan.WebhookOutcome{
		Attempt:     inkan.WebhookAttempt{ID: uuid.New(), DeliveryID: d.ID, WebhookID: d.WebhookID, Callback: d.Callback, Event: d.Event, Attempt: d.Attempts, CreatedAt: now},
		MaxFailures: s.opts.MaxFailures,
		Renewed:     now.Add(30 * 24 * time.Hour),
	}
	secret, final, err := s.secretOf(d, hooks)
	if err == nil {
		out.Attempt.Status, err = s.send(ctx, d, secret)
		var p permanent
		final = final || (err != nil && (!retryable(out.Attempt.Status) || errors.As(err, &p)))
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// The node is stopping: the attempt was cut short, not answered.
		// The delivery is due again at once, for any node.
		out.State = inkan.DeliveryPending
		out.NextAttemptAt = now
		out.Attempt.Error = "interrupted: the node stopped"
	case err == nil:
		out.State = inkan.DeliveryDelivered
	case final || d.Attempts >= MaxAttempts:
		out.State = inkan.DeliveryFailed
		out.Attempt.Error = err.Error()
	default:
		out.State = inkan.DeliveryPending
		out.NextAttemptAt = now.Add(retryDelay(d.Attempts))
		out.Attempt.Error = err.Error()
	}
	return out
}

// finish records the outcomes of one batch of attempts in one transaction
// and reports them to the metrics and the log.
func (s *Service) finish(ctx context.Context, ds []inkan.WebhookDelivery, outs []inkan.WebhookOutcome) {
	done, err := s.store.FinishWebhookDeliveries(context.WithoutCancel(ctx), ds, outs)
	if err != nil {
		s.log.Warn("webhook: recording the attempts failed; the deliveries are retried when their leases end", "deliveries", len(ds), "error", err)
		return
	}
	for i, d := range ds {
		if !done[i] {
			continue // another node took it after the lease ran out; its outcome counts
		}
		out := outs[i]
		result := "delivered"
		switch out.State {
		case inkan.DeliveryFailed:
			result = "failed"
		case inkan.DeliveryPending:
			result = "retry"
		}
		if s.opts.Observer != nil {
			s.opts.Observer.WebhookAttempt(d.Event, result, d.Attempts, out.Attempt.CreatedAt.Sub(d.EventCreatedAt))
		}
		if result != "delivered" {
			s.log.Info("webhook delivery attempt failed", "delivery", d.ID, "event", d.Event, "hook", hookName(d), "attempt", d.Attempts, "status", out.Attempt.Status, "error", out.Attempt.Error, "result", result)
		}
	}
}

func hookName(d inkan.WebhookDelivery) string {
	if d.WebhookID != uuid.Nil {
		return d.WebhookID.String()
	}
	return "config"
}

// secretOf returns the secret d is signed with. final is true when d can
// never be sent: its stored hook is gone or disabled, or its configuration
// hook was removed from the file.
func (s *Service) secretOf(d inkan.WebhookDelivery, hooks map[uuid.UUID]inkan.Webhook) (secret string, final bool, err error) {
	if d.WebhookID == uuid.Nil {
		for _, h := range s.opts.Hooks {
			if h.Callback == d.Callback && s.opts.ConfigEnabled {
				return h.Secret, false, nil
			}
		}
		return "", true, errors.New("the hook is no longer in the configuration")
	}
	h, ok := hooks[d.WebhookID]
	switch {
	case !ok:
		return "", true, errors.New("the hook was deleted")
	case !h.Enabled:
		return "", true, errors.New("the hook is disabled")
	}
	secret, err = open(s.opts.SecretKeys, h.Secret)
	return secret, err != nil, err
}

// send POSTs d's request and returns the response status (0 when none
// arrived) and an error unless it was 2xx.
func (s *Service) send(ctx context.Context, d inkan.WebhookDelivery, secret string) (int, error) {
	if err := ValidCallback(d.Callback); err != nil {
		return 0, permanent{err}
	}
	data := json.RawMessage(d.Data)
	if d.Event == EmailSend {
		var err error
		if data, err = s.openMail(d.Data, s.now()); err != nil {
			return 0, permanent{err}
		}
	}
	token, err := s.signer.SignWebhook(ctx, d.Event, data)
	if err != nil {
		return 0, fmt.Errorf("signing the token: %w", err)
	}
	body, err := json.Marshal(struct {
		Token string `json:"token"`
		Event string `json:"event"`
	}{token, d.Event})
	if err != nil {
		return 0, err
	}
	ts := s.now().Unix()
	id := d.ID.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Callback, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "inkan-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(secret, id, ts, body))
	resp, err := s.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("no answer within %v", s.opts.Timeout)
		}
		return 0, errors.New("request failed: " + scrub(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, fmt.Errorf("answered %d; redirects are not followed", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Errorf("answered %d", resp.StatusCode)
}

// permanent is an error no retry can cure (a callback that is not
// http(s), an email.send whose passcode expired).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// scrub is err's text without the request URL, which may carry a token in
// its query.
func scrub(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// retryable reports whether an attempt that ended with status (0 = no
// response) is retried: no response, 408, 429 and 5xx are; other answers
// are final.
func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}
