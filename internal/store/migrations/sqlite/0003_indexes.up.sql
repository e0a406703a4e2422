-- The purge of expired rows (every node, every 10 minutes) filters on
-- expires_at; deleting a user or an address cascades into passcodes.
CREATE INDEX passcodes_expires_at_idx ON passcodes (expires_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX passcodes_user_id_idx ON passcodes (user_id);
CREATE INDEX passcodes_email_id_idx ON passcodes (email_id);
