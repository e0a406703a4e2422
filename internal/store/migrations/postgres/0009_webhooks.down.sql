DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhooks;
DROP INDEX events_hook_state_idx;
ALTER TABLE events DROP COLUMN hook_data;
ALTER TABLE events DROP COLUMN hook_state;
