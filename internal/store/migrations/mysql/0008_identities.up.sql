-- Third-party identities (docs/thirdparty.md): the account at an OpenID
-- Connect / OAuth 2.0 provider (provider id, the provider's subject) that
-- signs in one user. email_id is the address the provider vouched for when
-- the identity was created or last used (NULL once that address is gone).
-- data is the provider's last profile claims as a JSON object.
CREATE TABLE identities (
    id CHAR(36) NOT NULL PRIMARY KEY,
    provider VARCHAR(64) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    user_id CHAR(36) NOT NULL,
    email_id CHAR(36) NULL,
    data TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject),
    CONSTRAINT identities_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT identities_email_id_fk FOREIGN KEY (email_id) REFERENCES emails (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX identities_user_id_idx ON identities (user_id);
