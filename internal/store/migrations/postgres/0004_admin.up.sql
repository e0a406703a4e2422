-- The admin API's user profile (PATCH /users/{id}) and metadata (GET/PATCH
-- /users/{id}/metadata): each metadata section is a JSON object as text, at
-- most 3000 characters; NULL when absent.
ALTER TABLE users ADD COLUMN name VARCHAR(255) NULL;
ALTER TABLE users ADD COLUMN given_name VARCHAR(255) NULL;
ALTER TABLE users ADD COLUMN family_name VARCHAR(255) NULL;
ALTER TABLE users ADD COLUMN picture TEXT NULL;
CREATE TABLE user_metadata (
    id UUID NOT NULL PRIMARY KEY,
    user_id UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    public_metadata TEXT NULL,
    private_metadata TEXT NULL,
    unsafe_metadata TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_created_at_idx ON users (created_at);
