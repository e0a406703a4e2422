package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// TestPendingFollowsTheView: with Service.Pending as the store's predicate
// an event is kept for the fan-out while the node's view of the stored
// hooks is unknown (never refreshed, refresh failed or cancelled, store
// closed) or says a hook is enabled, and is written without hook_state
// only after a successful refresh found none; a configuration hook keeps
// every hooked event whatever the view, unless webhooks.enabled is false.
func TestPendingFollowsTheView(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			st := dbtest.Open(t, dialect)
			// R is long: a successful refresh counts for the whole test.
			r := newRig(t, st, webhook.Options{ViewRefresh: time.Hour})
			st.SetHookedTypes(r.svc.Pending)
			ctx := context.Background()
			// kept records a user_created event and says whether it waits
			// for the fan-out; the fan-out then clears it.
			kept := func() bool {
				t.Helper()
				r.record(t)
				events, _, err := st.WebhookWork(ctx, r.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				r.round(t)
				return events
			}
			if !kept() {
				t.Fatal("an event recorded before the first refresh was not kept (the view is unknown then)")
			}
			if err := r.svc.RefreshView(ctx); err != nil {
				t.Fatal(err)
			}
			if kept() {
				t.Fatal("an event was kept although the view says no stored hook is enabled")
			}
			if r.svc.Pending(inkan.EventUserCreated) || r.svc.Pending(inkan.EventPasswordSetFailed) {
				t.Fatal("Pending with no hook")
			}

			now := r.clock.Now()
			hook := inkan.Webhook{ID: uuid.New(), Callback: "https://hooks.example.test/h", Events: []string{"user"}, Secret: []byte("sealed"),
				Enabled: true, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
			if err := st.CreateWebhook(ctx, hook); err != nil {
				t.Fatal(err)
			}
			if err := r.svc.RefreshView(ctx); err != nil {
				t.Fatal(err)
			}
			if !kept() {
				t.Fatal("an event was not kept although the view says a stored hook is enabled")
			}
			hook.Enabled = false
			if err := st.UpdateWebhook(ctx, hook); err != nil {
				t.Fatal(err)
			}
			if err := r.svc.RefreshView(ctx); err != nil || kept() {
				t.Fatalf("with the only stored hook disabled: refresh %v, or the event was kept", err)
			}

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if err := r.svc.RefreshView(cancelled); err == nil {
				t.Fatal("a refresh with a cancelled context succeeded")
			}
			if !kept() {
				t.Fatal("an event was not kept after a failed refresh")
			}
			// WatchHooks leaves the view unknown when it stops.
			if err := r.svc.RefreshView(ctx); err != nil || kept() {
				t.Fatalf("refresh %v, or the event was kept", err)
			}
			r.svc.WatchHooks(cancelled)
			if !r.svc.Pending(inkan.EventUserCreated) {
				t.Fatal("the view is known after WatchHooks stopped")
			}

			// A configuration hook: kept whatever the view.
			c := newRig(t, st, webhook.Options{ViewRefresh: time.Hour, ConfigEnabled: true,
				Hooks: []webhook.Hook{{Callback: "https://hooks.example.test/file", Events: []string{"email.send"}}}})
			if err := c.svc.RefreshView(ctx); err != nil {
				t.Fatal(err)
			}
			if !c.svc.Pending(inkan.EventUserCreated) {
				t.Fatal("a configuration hook does not keep the event")
			}
			// Unless webhooks.enabled is false.
			off := newRig(t, st, webhook.Options{ViewRefresh: time.Hour,
				Hooks: []webhook.Hook{{Callback: "https://hooks.example.test/file", Events: []string{"email.send"}}}})
			if err := off.svc.RefreshView(ctx); err != nil || off.svc.Pending(inkan.EventUserCreated) {
				t.Fatalf("the file's hooks count with webhooks.enabled false (refresh %v)", err)
			}

			// The store closed: the refresh fails, the event would be kept.
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.svc.RefreshView(ctx); err == nil || !r.svc.Pending(inkan.EventUserCreated) {
				t.Fatalf("with the store closed: refresh %v, Pending false", err)
			}
		})
	}
}

// TestStaleViewKeepsEvents: a view whose query was sent R or more ago is
// unknown, even when it said no hook.
func TestStaleViewKeepsEvents(t *testing.T) {
	st := dbtest.Open(t, "sqlite")
	r := newRig(t, st, webhook.Options{ViewRefresh: time.Nanosecond})
	if err := r.svc.RefreshView(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !r.svc.Pending(inkan.EventUserCreated) {
		t.Fatal("a view older than R counts")
	}
}
