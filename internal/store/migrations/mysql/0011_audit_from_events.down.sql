CREATE TABLE audit_logs (
    id CHAR(36) NOT NULL PRIMARY KEY,
    type VARCHAR(255) NOT NULL,
    error TEXT NULL,
    meta_http_request_id VARCHAR(255) NOT NULL,
    meta_source_ip VARCHAR(255) NOT NULL,
    meta_user_agent TEXT NOT NULL,
    actor_user_id CHAR(36) NULL,
    actor_email VARCHAR(255) NULL,
    details TEXT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX audit_logs_type_idx ON audit_logs (type);
CREATE INDEX audit_logs_actor_user_id_idx ON audit_logs (actor_user_id);
CREATE INDEX audit_logs_actor_email_idx ON audit_logs (actor_email);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);
INSERT INTO audit_logs (id, type, error, meta_http_request_id, meta_source_ip, meta_user_agent, actor_user_id, actor_email, details, created_at)
SELECT id, type, error, request_id, client_ip, user_agent, actor_user_id, COALESCE(audit_actor_email, actor_email), details, created_at
FROM events;
DELETE FROM events WHERE seq < 1;
ALTER TABLE events DROP COLUMN audit_actor_email;
