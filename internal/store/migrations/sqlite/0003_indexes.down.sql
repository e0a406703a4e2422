DROP INDEX passcodes_email_id_idx;
DROP INDEX passcodes_user_id_idx;
DROP INDEX sessions_expires_at_idx;
DROP INDEX passcodes_expires_at_idx;
