package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// webhookJSON is a stored hook as the admin API shows it (Hanko's
// database webhook; api/admin.yaml "Webhook"). Secret is set only in the
// answer to POST /webhooks.
type webhookJSON struct {
	ID        uuid.UUID          `json:"id"`
	Callback  string             `json:"callback"`
	Enabled   bool               `json:"enabled"`
	Failures  int                `json:"failures"`
	ExpiresAt time.Time          `json:"expires_at"`
	Events    []webhookEventJSON `json:"events"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	Secret    string             `json:"secret,omitempty"`
}

type webhookEventJSON struct {
	Event string `json:"event"`
}

func toWebhookJSON(w inkan.Webhook) webhookJSON {
	out := webhookJSON{ID: w.ID, Callback: w.Callback, Enabled: w.Enabled, Failures: w.Failures, ExpiresAt: w.ExpiresAt,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Events: make([]webhookEventJSON, len(w.Events))}
	for i, e := range w.Events {
		out.Events[i] = webhookEventJSON{Event: e}
	}
	return out
}

// configHookJSON is a hook of the configuration file (without its secret)
// with its newest attempts.
type configHookJSON struct {
	Callback       string               `json:"callback"`
	Events         []string             `json:"events"`
	RecentAttempts []webhookAttemptJSON `json:"recent_attempts"`
}

// adminListWebhooks is admin GET /webhooks: {"database": [stored hooks],
// "config": [the file's hooks, with webhooks.enabled]}.
func (a *API) adminListWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := a.Webhooks.Hooks(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Database []webhookJSON    `json:"database"`
		Config   []configHookJSON `json:"config"`
	}{Database: mapSlice(hooks, toWebhookJSON), Config: []configHookJSON{}}
	for _, h := range a.Webhooks.ConfigHooks() {
		attempts, err := a.Webhooks.ConfigAttempts(r.Context(), h.Callback, 10)
		if err != nil {
			return err
		}
		out.Config = append(out.Config, configHookJSON{Callback: h.Callback, Events: h.Events, RecentAttempts: mapSlice(attempts, toAttemptJSON)})
	}
	return writeJSON(w, http.StatusOK, out)
}

type webhookRequest struct {
	Callback string   `json:"callback"`
	Events   []string `json:"events"`
	Enabled  *bool    `json:"enabled"`
}

// adminCreateWebhook is admin POST /webhooks: {"callback", "events"}; 201
// the hook with its secret (shown only here); 400 for a callback that is
// not http(s) or an unknown event.
func (a *API) adminCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	var req webhookRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	h, secret, err := a.Webhooks.CreateHook(r.Context(), req.Callback, req.Events)
	if err != nil {
		return err
	}
	out := toWebhookJSON(h)
	out.Secret = secret
	return writeJSON(w, http.StatusCreated, out)
}

// adminGetWebhook is admin GET /webhooks/{id} (400 "invalid webhook id",
// 404 "webhook not found").
func (a *API) adminGetWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "webhook")
	if err != nil {
		return err
	}
	h, err := a.Webhooks.Hook(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhookJSON(h))
}

// adminUpdateWebhook is admin PUT /webhooks/{id}: {"callback", "events",
// "enabled"} (enabled absent keeps the current state); failures reset,
// expires_at renewed. 200 the hook; 400; 404.
func (a *API) adminUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "webhook")
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	enabled := true
	if req.Enabled != nil {
		enabled = *req.Enabled
	} else {
		cur, err := a.Webhooks.Hook(r.Context(), id)
		if err != nil {
			return err
		}
		enabled = cur.Enabled
	}
	h, err := a.Webhooks.UpdateHook(r.Context(), id, req.Callback, req.Events, enabled)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhookJSON(h))
}

// adminDeleteWebhook is admin DELETE /webhooks/{id}: 204 (its pending
// deliveries go with it); 400; 404.
func (a *API) adminDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "webhook")
	if err != nil {
		return err
	}
	if err := a.Webhooks.DeleteHook(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// webhookAttemptJSON is one delivery attempt (GET
// /webhooks/{id}/attempts).
type webhookAttemptJSON struct {
	ID         uuid.UUID `json:"id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
	Event      string    `json:"event"`
	Attempt    int       `json:"attempt"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// adminListWebhookAttempts is admin GET /webhooks/{id}/attempts?limit=N
// (1…100, default 20): the hook's newest attempts, newest first. 400; 404.
func (a *API) adminListWebhookAttempts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "webhook")
	if err != nil {
		return err
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return inkan.E(inkan.KindInvalid, "limit must be a number from 1 to 100")
		}
		limit = n
	}
	attempts, err := a.Webhooks.Attempts(r.Context(), id, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, mapSlice(attempts, toAttemptJSON))
}

func toAttemptJSON(at inkan.WebhookAttempt) webhookAttemptJSON {
	return webhookAttemptJSON{ID: at.ID, DeliveryID: at.DeliveryID, Event: at.Event, Attempt: at.Attempt, Status: at.Status, Error: at.Error, CreatedAt: at.CreatedAt}
}
