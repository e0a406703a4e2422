-- The event log: every change and every login outcome, written in the
-- transaction of the change. seq orders the log for its readers (audit log,
-- webhook deliveries, metrics); no foreign keys, so events outlive the rows
-- they describe.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id CHAR(36) NOT NULL UNIQUE,
    type VARCHAR(64) NOT NULL,
    error TEXT NULL,
    actor_user_id CHAR(36) NULL,
    actor_email VARCHAR(255) NULL,
    request_id VARCHAR(64) NOT NULL DEFAULT '',
    client_ip VARCHAR(64) NOT NULL DEFAULT '',
    user_agent VARCHAR(512) NOT NULL DEFAULT '',
    details TEXT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_type_idx ON events (type);
CREATE INDEX events_actor_user_id_idx ON events (actor_user_id);
CREATE INDEX events_created_at_idx ON events (created_at);
