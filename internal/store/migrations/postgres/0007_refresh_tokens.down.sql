DROP TABLE session_revocations;
DROP INDEX sessions_ends_at_idx;
ALTER TABLE sessions DROP COLUMN refresh_expires_at;
ALTER TABLE sessions DROP COLUMN refresh_rotated_at;
ALTER TABLE sessions DROP COLUMN refresh_generation;
ALTER TABLE sessions DROP COLUMN refresh_hash;
ALTER TABLE sessions DROP COLUMN ends_at;
ALTER TABLE sessions DROP COLUMN amr;
