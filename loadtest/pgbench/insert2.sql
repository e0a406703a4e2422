-- One transaction inserting two rows, the ceiling a sign-up is compared with
-- (docs/performance.md): pgbench -n -f loadtest/pgbench/insert2.sql -c 32 -j 2 -T 5 bench
BEGIN;
INSERT INTO u (id, created_at) VALUES (gen_random_uuid(), now());
INSERT INTO e (id, u_id, address, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), md5(random()::text) || '@example.test', now());
COMMIT;
