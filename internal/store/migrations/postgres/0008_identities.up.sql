-- Third-party identities (docs/thirdparty.md): the account at an OpenID
-- Connect / OAuth 2.0 provider (provider id, the provider's subject) that
-- signs in one user. email_id is the address the provider vouched for when
-- the identity was created or last used (NULL once that address is gone).
-- data is the provider's last profile claims as a JSON object.
CREATE TABLE identities (
    id UUID NOT NULL PRIMARY KEY,
    provider VARCHAR(64) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email_id UUID NULL REFERENCES emails (id) ON DELETE SET NULL,
    data TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);
CREATE INDEX identities_email_id_idx ON identities (email_id);
