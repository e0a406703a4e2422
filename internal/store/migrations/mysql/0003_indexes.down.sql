DROP INDEX sessions_expires_at_idx ON sessions;
DROP INDEX passcodes_expires_at_idx ON passcodes;
