-- The audit log reads the events table (docs/performance.md "Budgets"): one
-- row per event instead of an events row plus an audit_logs row.
-- audit_actor_email is the actor's address as the audit log shows it when
-- that differs from actor_email (masked under audit_log.mask), else NULL.
ALTER TABLE events ADD COLUMN audit_actor_email VARCHAR(255) NULL;
-- Entries of an existing audit log that have no event (written before the
-- events table existed) move into it with seq values below every event's,
-- newest -1, so that seq still orders the log by time and no reader that
-- starts after seq 0 takes them for new events.
INSERT INTO events (seq, id, type, error, actor_user_id, actor_email, request_id, client_ip, user_agent, details, created_at)
SELECT -CAST(ROW_NUMBER() OVER (ORDER BY al.created_at DESC, al.id DESC) AS SIGNED), al.id, SUBSTR(al.type, 1, 64), al.error, al.actor_user_id,
    al.actor_email, SUBSTR(al.meta_http_request_id, 1, 64), SUBSTR(al.meta_source_ip, 1, 64), SUBSTR(al.meta_user_agent, 1, 512),
    al.details, al.created_at
FROM audit_logs al LEFT JOIN events ev ON ev.id = al.id
WHERE ev.id IS NULL;
-- The masked address of an entry whose event is kept unmasked.
UPDATE events SET audit_actor_email = (SELECT al.actor_email FROM audit_logs al WHERE al.id = events.id)
WHERE EXISTS (SELECT 1 FROM audit_logs al WHERE al.id = events.id AND al.actor_email <> events.actor_email);
DROP TABLE audit_logs;
