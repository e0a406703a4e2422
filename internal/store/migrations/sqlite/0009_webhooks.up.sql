-- Webhooks (internal/webhook). An event whose type a hook can subscribe to
-- is written with hook_state 1 ("not yet fanned out"); a node takes it with
-- its transaction, writes one webhook_deliveries row per matching hook and
-- clears hook_state and hook_data in that transaction. hook_data holds what
-- a delivery needs that the event must not show (the mail of email.send),
-- only until the fan-out.
ALTER TABLE events ADD COLUMN hook_state SMALLINT NULL;
ALTER TABLE events ADD COLUMN hook_data TEXT NULL;
CREATE INDEX events_hook_state_idx ON events (hook_state, seq) WHERE hook_state IS NOT NULL;
-- Hooks created through the admin API (Hanko's webhooks and webhook_events);
-- secret is the Standard Webhooks secret sealed with AES-256-GCM.
CREATE TABLE webhooks (
    id CHAR(36) NOT NULL PRIMARY KEY,
    callback TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    failures INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE webhook_events (
    id CHAR(36) NOT NULL PRIMARY KEY,
    webhook_id CHAR(36) NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (webhook_id, event)
);
-- One row per (event, hook): the id is the webhook-id header, stable across
-- attempts. webhook_id is NULL for a hook of the configuration file, which
-- is named by its callback. state: pending | delivered | failed.
CREATE TABLE webhook_deliveries (
    id CHAR(36) NOT NULL PRIMARY KEY,
    webhook_id CHAR(36) NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    callback TEXT NOT NULL,
    event VARCHAR(64) NOT NULL,
    event_id CHAR(36) NOT NULL,
    data TEXT NULL,
    state VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    event_created_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_id_idx ON webhook_deliveries (webhook_id);
-- Every attempt, for the admin API's list of recent attempts per hook.
CREATE TABLE webhook_attempts (
    id CHAR(36) NOT NULL PRIMARY KEY,
    delivery_id CHAR(36) NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id CHAR(36) NULL,
    callback TEXT NOT NULL,
    event VARCHAR(64) NOT NULL,
    attempt INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error VARCHAR(512) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_attempts_webhook_idx ON webhook_attempts (webhook_id, created_at);
CREATE INDEX webhook_attempts_created_at_idx ON webhook_attempts (created_at);
