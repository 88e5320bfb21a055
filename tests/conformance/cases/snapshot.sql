-- Snapshot case: the rows that exist before capture starts, as Debezium's initial_only
-- snapshot emits them (op "r", source.snapshot first / true / last_in_data_collection /
-- first_in_data_collection / last, tables in schema.table order, keys as for streaming).
-- "-- @snapshot" makes the conformance test run the whole script first and then snapshot it
-- (snapshot.mode=initial_only for Debezium, source.snapshot = "initial_only" for Rivulet).
-- @snapshot
-- @set decimal.handling.mode=precise

CREATE SCHEMA inv;

CREATE TABLE inv.items (
    sku      text PRIMARY KEY,
    qty      integer NOT NULL,
    price    numeric(8,2),
    added    timestamptz,
    tags     text[],
    raw      bytea
);
CREATE TABLE inv.empty_one (id int PRIMARY KEY);
CREATE TABLE inv.single (id int PRIMARY KEY, note text);
CREATE TABLE inv.lines (order_id int, line int, qty smallint NOT NULL, PRIMARY KEY (order_id, line));
CREATE TABLE public.zz_nopk (k text, v double precision);
ALTER TABLE public.zz_nopk REPLICA IDENTITY FULL;

INSERT INTO inv.items VALUES
    ('A-1', 3, 9.99, '2024-05-01 10:00:00+00', '{"red","big"}', '\x00ff'),
    ('B-2', 0, NULL, NULL, '{}', NULL),
    ('C-3', 12, 1234.50, '1999-12-31 23:59:59.999999+00', NULL, '\x');
INSERT INTO inv.single VALUES (1, 'only row');
INSERT INTO inv.lines VALUES (1, 1, 2), (1, 2, 5), (2, 1, 1);
INSERT INTO public.zz_nopk VALUES ('x', 1.5), ('y', NULL);
-- Changes before the snapshot are simply part of what it sees.
UPDATE inv.items SET qty = 4 WHERE sku = 'A-1';
DELETE FROM inv.lines WHERE order_id = 2;

-- @changes
