package webhook

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// hookLifetime is how long a stored hook stays valid after it was created,
// changed or last delivered to (Hanko's expires_at).
const hookLifetime = 30 * 24 * time.Hour

// ConfigHooks returns the configuration file's hooks without their secrets
// (admin GET /webhooks), none unless webhooks.enabled.
func (s *Service) ConfigHooks() []Hook {
	if !s.opts.ConfigEnabled {
		return []Hook{}
	}
	out := make([]Hook, len(s.opts.Hooks))
	for i, h := range s.opts.Hooks {
		out[i] = Hook{Callback: h.Callback, Events: append([]string(nil), h.Events...)}
	}
	return out
}

// Hooks returns the stored hooks, oldest first.
func (s *Service) Hooks(ctx context.Context) ([]inkan.Webhook, error) {
	hs, err := s.store.Webhooks(ctx, false)
	if hs == nil {
		hs = []inkan.Webhook{}
	}
	return hs, err
}

// Hook returns the stored hook id (KindNotFound "webhook not found").
func (s *Service) Hook(ctx context.Context, id uuid.UUID) (inkan.Webhook, error) {
	h, err := s.store.Webhook(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Webhook{}, inkan.Wrap(inkan.KindNotFound, "webhook not found", err)
	}
	return h, err
}

// validHook checks a callback and its subscriptions (KindInvalid with
// Hanko's messages).
func validHook(callback string, events []string) error {
	if err := ValidCallback(callback); err != nil {
		return err
	}
	if len(events) == 0 {
		return inkan.E(inkan.KindInvalid, "events must contain at least 1 item")
	}
	for _, e := range events {
		if !ValidSubscription(e) {
			return inkan.E(inkan.KindInvalid, e+" in events is not a valid webhook event")
		}
	}
	return nil
}

// dedupe returns events without repeats, in their first order.
func dedupe(events []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// CreateHook stores a new enabled hook for callback and events with a new
// secret, returned here and never again (admin POST /webhooks). It
// returns 2R (Options.ViewRefresh) after the commit, so that the hook
// receives every event recorded on any node after the return (Pending);
// ctx's error when ctx ends first (the hook is stored then).
// KindInvalid for a callback that is not http(s) or an unknown event.
func (s *Service) CreateHook(ctx context.Context, callback string, events []string) (inkan.Webhook, string, error) {
	if err := validHook(callback, events); err != nil {
		return inkan.Webhook{}, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return inkan.Webhook{}, "", err
	}
	sealed, err := seal(s.opts.SecretKeys[0], secret)
	if err != nil {
		return inkan.Webhook{}, "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	w := inkan.Webhook{ID: uuid.New(), Callback: callback, Events: dedupe(events), Secret: sealed, Enabled: true,
		ExpiresAt: now.Add(hookLifetime), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateWebhook(ctx, w); err != nil {
		return inkan.Webhook{}, "", err
	}
	if err := s.settle(ctx); err != nil {
		return inkan.Webhook{}, "", err
	}
	return w, secret, nil
}

// UpdateHook replaces the callback, events and enabled flag of the stored
// hook id, resets its failures and renews its expiry (admin PUT
// /webhooks/{id}). When the hook is enabled afterwards it returns 2R
// after the commit, as CreateHook does. KindNotFound "webhook not found";
// KindInvalid as CreateHook.
func (s *Service) UpdateHook(ctx context.Context, id uuid.UUID, callback string, events []string, enabled bool) (inkan.Webhook, error) {
	if err := validHook(callback, events); err != nil {
		return inkan.Webhook{}, err
	}
	w, err := s.Hook(ctx, id)
	if err != nil {
		return inkan.Webhook{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	w.Callback, w.Events, w.Enabled, w.Failures, w.ExpiresAt, w.UpdatedAt = callback, dedupe(events), enabled, 0, now.Add(hookLifetime), now
	if err := s.store.UpdateWebhook(ctx, w); err != nil {
		if errors.Is(err, inkan.ErrNotFound) {
			return inkan.Webhook{}, inkan.Wrap(inkan.KindNotFound, "webhook not found", err)
		}
		return inkan.Webhook{}, err
	}
	if enabled {
		// Also when it was enabled before: a concurrent fan-out may have
		// disabled it meanwhile (max failures), and waiting is rare.
		if err := s.settle(ctx); err != nil {
			return inkan.Webhook{}, err
		}
	}
	return w, nil
}

// DeleteHook deletes the stored hook id and its pending deliveries (admin
// DELETE /webhooks/{id}; KindNotFound "webhook not found").
func (s *Service) DeleteHook(ctx context.Context, id uuid.UUID) error {
	err := s.store.DeleteWebhook(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "webhook not found", err)
	}
	return err
}

// MaxRecentAttempts bounds Attempts.
const MaxRecentAttempts = 100

// Attempts returns the newest attempts (at most limit, 1…MaxRecentAttempts)
// to the stored hook id, newest first (admin GET /webhooks/{id}/attempts;
// KindNotFound "webhook not found").
func (s *Service) Attempts(ctx context.Context, id uuid.UUID, limit int) ([]inkan.WebhookAttempt, error) {
	if _, err := s.Hook(ctx, id); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), MaxRecentAttempts)
	return s.store.WebhookAttempts(ctx, id, "", limit)
}

// ConfigAttempts returns the newest attempts (at most limit) to the
// configuration hook callback, newest first.
func (s *Service) ConfigAttempts(ctx context.Context, callback string, limit int) ([]inkan.WebhookAttempt, error) {
	limit = min(max(limit, 1), MaxRecentAttempts)
	return s.store.WebhookAttempts(ctx, uuid.Nil, callback, limit)
}
