-- column.exclude.list (a key column, case-insensitive), message.key.columns (regex table part,
-- a key the old row of a delete does not carry) and message.prefix.exclude.list.
-- @set column.exclude.list=public\.people\.(secret|ID),public\.lines\.QTY
-- @set message.key.columns=public\.peo.*:email;public.lines:sku,line_no
-- @set message.prefix.exclude.list=skip.*

CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, secret text, name text);
CREATE TABLE lines (order_id int, line_no int, sku text, qty int, PRIMARY KEY (order_id, line_no));
CREATE TABLE nokey (a int, b text);

-- @changes

INSERT INTO people VALUES (1, 'a@x.example', 's1', 'Ann');
UPDATE people SET name = 'Anna' WHERE id = 1;
DELETE FROM people WHERE id = 1;
INSERT INTO lines VALUES (1, 1, 'A', 2), (1, 2, 'B', 3);
UPDATE lines SET qty = 9 WHERE line_no = 2;
DELETE FROM lines WHERE line_no = 1;
INSERT INTO nokey VALUES (1, 'x');
SELECT pg_logical_emit_message(true, 'skip.me', 'x');
SELECT pg_logical_emit_message(true, 'keep', 'y');
SELECT pg_logical_emit_message(false, 'SKIP.upper', 'z');
