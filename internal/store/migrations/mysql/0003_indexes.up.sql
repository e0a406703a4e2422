-- The purge of expired rows (every node, every 10 minutes) filters on
-- expires_at. (MySQL already indexes the foreign key columns.)
CREATE INDEX passcodes_expires_at_idx ON passcodes (expires_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
