-- column.include.list without the key column, message.prefix.include.list.
-- @set column.include.list=public\.people\.(email|name)
-- @set message.prefix.include.list=keep.*

CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, secret text, name text);

-- @changes

INSERT INTO people VALUES (1, 'a@x.example', 's1', 'Ann');
UPDATE people SET name = 'Anna' WHERE id = 1;
DELETE FROM people WHERE id = 1;
SELECT pg_logical_emit_message(true, 'skip.me', 'x');
SELECT pg_logical_emit_message(true, 'keep.this', 'y');
SELECT pg_logical_emit_message(false, 'KEEP.upper', 'z');
