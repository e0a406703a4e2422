-- inkan initial schema (MySQL 8, MariaDB 10.6+). Timestamps are DATETIME(6)
-- holding UTC wall time (the session time_zone is '+00:00'); UUIDs are
-- CHAR(36); credential ids are raw VARBINARY(1023) keys (WebAuthn §5.1).
CREATE TABLE users (
    id CHAR(36) NOT NULL PRIMARY KEY,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE emails (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NULL,
    address VARCHAR(255) NOT NULL UNIQUE,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT emails_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX emails_user_id_idx ON emails (user_id);

CREATE TABLE primary_emails (
    id CHAR(36) NOT NULL PRIMARY KEY,
    email_id CHAR(36) NOT NULL UNIQUE,
    user_id CHAR(36) NOT NULL UNIQUE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT primary_emails_email_id_fk FOREIGN KEY (email_id) REFERENCES emails (id) ON DELETE CASCADE,
    CONSTRAINT primary_emails_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE passcodes (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NULL,
    email_id CHAR(36) NULL,
    code_hash BLOB NOT NULL,
    ttl INTEGER NOT NULL,
    try_count INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    CONSTRAINT passcodes_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT passcodes_email_id_fk FOREIGN KEY (email_id) REFERENCES emails (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webauthn_credentials (
    id VARBINARY(1023) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL,
    public_key BLOB NOT NULL,
    attestation_type VARCHAR(255) NOT NULL,
    aaguid CHAR(36) NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NULL,
    transports TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state BOOLEAN NOT NULL DEFAULT FALSE,
    user_verified BOOLEAN NOT NULL DEFAULT FALSE,
    last_used_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT webauthn_credentials_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webauthn_credentials_user_id_idx ON webauthn_credentials (user_id);

CREATE TABLE webauthn_session_data (
    id CHAR(36) NOT NULL PRIMARY KEY,
    challenge VARCHAR(255) NOT NULL UNIQUE,
    user_id CHAR(36) NOT NULL,
    user_verification VARCHAR(32) NOT NULL,
    operation VARCHAR(32) NOT NULL,
    allowed_credential_ids TEXT NOT NULL,
    session_data MEDIUMBLOB NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webauthn_session_data_expires_at_idx ON webauthn_session_data (expires_at);

CREATE TABLE sessions (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL,
    user_agent TEXT NOT NULL,
    ip_address VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    last_used DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    CONSTRAINT sessions_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);

CREATE TABLE jwks (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kid VARCHAR(255) NOT NULL UNIQUE,
    algorithm VARCHAR(32) NOT NULL,
    key_data BLOB NOT NULL,
    created_at DATETIME(6) NOT NULL,
    retired_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
