-- One-time tokens of the third-party redirect flow (docs/thirdparty.md
-- "Web redirect flow"): the callback hands the app a random token that
-- POST /token exchanges once, within 60 seconds, for a session. Only the
-- SHA-256 of the token is stored (hex).
CREATE TABLE tokens (
    id UUID NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    value_hash CHAR(64) NOT NULL UNIQUE,
    provider VARCHAR(64) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user_id_idx ON tokens (user_id);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);
