-- Logical decoding messages filtered by prefix (message.prefix.include.list), transactional and
-- not. Strict only.
-- @strict-only
-- @set message.prefix.include.list=audit.*,keep
-- @set skipped.operations=none

CREATE TABLE t (id int PRIMARY KEY);

-- @changes

SELECT pg_logical_emit_message(false, 'audit.login', 'user 1');
SELECT pg_logical_emit_message(false, 'noise', 'dropped');
BEGIN;
INSERT INTO t VALUES (1);
SELECT pg_logical_emit_message(true, 'keep', 'in a transaction');
SELECT pg_logical_emit_message(true, 'other', 'dropped too');
COMMIT;
SELECT pg_logical_emit_message(true, 'audit.x', '\xdeadbeef'::bytea);
