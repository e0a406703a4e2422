-- Password credentials (docs/compatibility.md "Passwords"): one per user, an encoded hash
-- (argon2id PHC string or bcrypt).
CREATE TABLE password_credentials (
    id UUID NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    password VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
