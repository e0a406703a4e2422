-- Tables for insert2.sql: the shape of a sign-up's two rows (a user, an
-- address with a unique index), without inkan. Create them in the pgbench
-- database once: psql -d bench -f loadtest/pgbench/schema.sql
CREATE TABLE u (id uuid PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE e (id uuid PRIMARY KEY, u_id uuid NOT NULL, address text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
