-- The per-user budget of wrong passcodes (rate_limiter.passcode_failure_limits):
-- the theoretical arrival time of the user's token bucket (GCRA) in
-- microseconds since the Unix epoch; 0 = full. Kept on the user row so that
-- every node counts against the same value, under the row's lock.
ALTER TABLE users ADD COLUMN passcode_failure_tat BIGINT NOT NULL DEFAULT 0;
