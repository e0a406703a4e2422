-- One-time tokens of the third-party redirect flow (docs/thirdparty.md
-- "Web redirect flow"): the callback hands the app a random token that
-- POST /token exchanges once, within 60 seconds, for a session. Only the
-- SHA-256 of the token is stored (hex).
CREATE TABLE tokens (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL,
    value_hash CHAR(64) NOT NULL UNIQUE,
    provider VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    CONSTRAINT tokens_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX tokens_user_id_idx ON tokens (user_id);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);
