ALTER TABLE users DROP COLUMN passcode_failure_tat;
