DROP INDEX users_created_at_idx;
DROP TABLE user_metadata;
ALTER TABLE users DROP COLUMN picture;
ALTER TABLE users DROP COLUMN family_name;
ALTER TABLE users DROP COLUMN given_name;
ALTER TABLE users DROP COLUMN name;
