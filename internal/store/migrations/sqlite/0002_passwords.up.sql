-- Password credentials (docs/compatibility.md "Passwords"): one per user, an encoded hash
-- (argon2id PHC string or bcrypt).
CREATE TABLE password_credentials (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    password VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
