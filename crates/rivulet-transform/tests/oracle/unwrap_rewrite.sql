-- ExtractNewRecordState, delete.tombstone.handling.mode=rewrite, add.fields (top level, source,
-- transaction, renamed). Truncates are captured (the SMT drops them), messages pass unchanged.
-- @set skipped.operations=none
-- @set transforms=unwrap
-- @set transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
-- @set transforms.unwrap.delete.tombstone.handling.mode=rewrite
-- @set transforms.unwrap.add.fields=op,table,source.db,lsn,source.ts_ms:commit_ms,transaction.id,nosuch,ts_ms

CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(8,2));
CREATE TABLE full_items (id int PRIMARY KEY, name text);
ALTER TABLE full_items REPLICA IDENTITY FULL;

-- @changes

INSERT INTO items VALUES (1, 'one', 1.50), (2, 'two', NULL);
UPDATE items SET name = 'uno' WHERE id = 1;
DELETE FROM items WHERE id = 2;
INSERT INTO full_items VALUES (1, 'a');
UPDATE full_items SET name = 'b' WHERE id = 1;
DELETE FROM full_items WHERE id = 1;
SELECT pg_logical_emit_message(true, 'note', 'hello');
TRUNCATE items;
