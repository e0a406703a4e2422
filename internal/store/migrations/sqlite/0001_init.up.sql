-- inkan initial schema (SQLite). Timestamps are UTC text written by bun
-- ('2006-01-02 15:04:05.999999+00:00'), declared TIMESTAMP so the driver
-- parses them; UUIDs are 36-character text.
CREATE TABLE users (
    id CHAR(36) NOT NULL PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE emails (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NULL REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
    address VARCHAR(255) NOT NULL UNIQUE,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX emails_user_id_idx ON emails (user_id);

CREATE TABLE primary_emails (
    id CHAR(36) NOT NULL PRIMARY KEY,
    email_id CHAR(36) NOT NULL UNIQUE REFERENCES emails (id) ON DELETE CASCADE,
    user_id CHAR(36) NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE passcodes (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NULL REFERENCES users (id) ON DELETE CASCADE,
    email_id CHAR(36) NULL REFERENCES emails (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    ttl INTEGER NOT NULL,
    try_count INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE webauthn_credentials (
    id BLOB NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key BLOB NOT NULL,
    attestation_type VARCHAR(255) NOT NULL,
    aaguid CHAR(36) NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NULL,
    transports TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state BOOLEAN NOT NULL DEFAULT FALSE,
    user_verified BOOLEAN NOT NULL DEFAULT FALSE,
    last_used_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_credentials_user_id_idx ON webauthn_credentials (user_id);

CREATE TABLE webauthn_session_data (
    id CHAR(36) NOT NULL PRIMARY KEY,
    challenge VARCHAR(255) NOT NULL UNIQUE,
    user_id CHAR(36) NOT NULL,
    user_verification VARCHAR(32) NOT NULL,
    operation VARCHAR(32) NOT NULL,
    allowed_credential_ids TEXT NOT NULL,
    session_data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_session_data_expires_at_idx ON webauthn_session_data (expires_at);

CREATE TABLE sessions (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent TEXT NOT NULL,
    ip_address VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_used TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);

CREATE TABLE jwks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid VARCHAR(255) NOT NULL UNIQUE,
    algorithm VARCHAR(32) NOT NULL,
    key_data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP NULL
);

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
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_logs_type_idx ON audit_logs (type);
CREATE INDEX audit_logs_actor_user_id_idx ON audit_logs (actor_user_id);
CREATE INDEX audit_logs_actor_email_idx ON audit_logs (actor_email);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);
