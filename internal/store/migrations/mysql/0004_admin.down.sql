DROP INDEX users_created_at_idx ON users;
DROP TABLE user_metadata;
ALTER TABLE users DROP COLUMN picture, DROP COLUMN family_name, DROP COLUMN given_name, DROP COLUMN name;
