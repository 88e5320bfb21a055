-- provide.transaction.metadata=true: BEGIN/END records on dbz.transaction and a transaction
-- block in every event. Strict only: the ids ("<txid>:<lsn>") are equal when both read the same
-- WAL (conformance/run-all.sh), not across separate runs.
-- @strict-only
-- @set provide.transaction.metadata=true
-- @set skipped.operations=none
CREATE SCHEMA s;
CREATE TABLE s.a (id int PRIMARY KEY, v text);
CREATE TABLE s.b (id int PRIMARY KEY);
CREATE TABLE s.c (id int PRIMARY KEY);

-- @changes

INSERT INTO s.a VALUES (1, 'x');
BEGIN;
INSERT INTO s.a VALUES (2, 'y');
INSERT INTO s.b VALUES (1);
UPDATE s.a SET v = 'z' WHERE id = 1;
INSERT INTO s.c VALUES (1), (2);
DELETE FROM s.b WHERE id = 1;
COMMIT;
TRUNCATE s.c;
SELECT pg_logical_emit_message(false, 'p', 'c');
