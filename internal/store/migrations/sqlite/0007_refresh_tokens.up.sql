-- Refresh tokens, signed-in devices and the revocation list (issue 13;
-- docs/compatibility.md "Refresh tokens and signed-in devices").
-- sessions.amr: the RFC 8176 values of the sign-in, comma-separated.
-- sessions.ends_at: when the row may be purged: expires_at (the last token's
-- exp), or later while a refresh token keeps the session alive.
-- sessions.refresh_*: the keyed hash of the current refresh token, its
-- generation (the conditional UPDATE of a rotation), when it was issued and
-- the absolute end of refreshing.
-- session_revocations: sessions removed before their last token expired,
-- listed by GET /sessions/revoked until expires_at; no foreign key, so an
-- entry outlives the user.
ALTER TABLE sessions ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ends_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00+00:00';
UPDATE sessions SET ends_at = expires_at;
ALTER TABLE sessions ADD COLUMN refresh_hash BLOB NULL;
ALTER TABLE sessions ADD COLUMN refresh_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_rotated_at TIMESTAMP NULL;
ALTER TABLE sessions ADD COLUMN refresh_expires_at TIMESTAMP NULL;
CREATE INDEX sessions_ends_at_idx ON sessions (ends_at);
CREATE TABLE session_revocations (
    session_id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL,
    reason VARCHAR(32) NOT NULL
);
CREATE INDEX session_revocations_expires_at_idx ON session_revocations (expires_at);
