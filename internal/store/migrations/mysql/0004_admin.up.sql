-- The admin API's user profile (PATCH /users/{id}) and metadata (GET/PATCH
-- /users/{id}/metadata): each metadata section is a JSON object as text, at
-- most 3000 characters; NULL when absent.
ALTER TABLE users ADD COLUMN name VARCHAR(255) NULL, ADD COLUMN given_name VARCHAR(255) NULL, ADD COLUMN family_name VARCHAR(255) NULL, ADD COLUMN picture TEXT NULL;
CREATE TABLE user_metadata (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL UNIQUE,
    public_metadata TEXT NULL,
    private_metadata TEXT NULL,
    unsafe_metadata TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT user_metadata_user_id_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX users_created_at_idx ON users (created_at);
