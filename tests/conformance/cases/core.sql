-- Core streaming case: what Rivulet must emit exactly as Debezium 3.6 does.
-- Before "-- @changes": schema and seed rows (not captured). After it: the captured changes.
-- "-- @set key=value" lines are Debezium properties; the test maps them to Rivulet settings.
-- @set skipped.operations=none

CREATE SCHEMA shop;

CREATE TABLE shop.customers (
    id      bigint PRIMARY KEY,
    email   varchar(120) NOT NULL,
    name    text,
    vip     boolean NOT NULL DEFAULT false,
    credit  numeric(10,2)
);

CREATE TABLE shop.orders (
    order_id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer   bigint NOT NULL,
    placed_at  timestamptz NOT NULL,
    total      numeric(12,2) NOT NULL,
    notes      text
);
ALTER TABLE shop.orders ALTER COLUMN notes SET STORAGE EXTERNAL;
ALTER TABLE shop.orders REPLICA IDENTITY FULL;

-- Composite primary key, columns declared in another order than the key.
CREATE TABLE shop.order_lines (
    qty      smallint NOT NULL,
    line_no  integer NOT NULL,
    order_id integer NOT NULL,
    sku      char(8) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- No primary key, default replica identity: inserts only (updates would fail).
CREATE TABLE shop.audit_log (
    at    timestamp(3),
    what  text
);

CREATE TABLE "Shop Mixed" (
    "Id"        int PRIMARY KEY,
    "Value Col" text
);

INSERT INTO shop.customers VALUES (1, 'ann@example.com', 'Ann', false, 10.00);

-- @changes

INSERT INTO shop.customers VALUES
    (2, 'bob@example.com', 'Bob', true, 99999999.99),
    (3, 'cy@example.com', NULL, false, NULL);
INSERT INTO shop.orders (customer, placed_at, total, notes)
    VALUES (2, '2025-01-02 03:04:05.678+00', 12.50, repeat('x', 9000));
UPDATE shop.orders SET total = 13.00 WHERE order_id = 1;
UPDATE shop.customers SET name = 'Ann B.' WHERE id = 1;
INSERT INTO shop.order_lines VALUES (2, 1, 1, 'SKU-1'), (1, 2, 1, 'SKU-22');
UPDATE shop.order_lines SET qty = 5 WHERE order_id = 1 AND line_no = 2;
UPDATE shop.order_lines SET line_no = 3 WHERE order_id = 1 AND line_no = 2;
DELETE FROM shop.order_lines WHERE order_id = 1 AND line_no = 1;
INSERT INTO shop.audit_log VALUES ('2025-01-02 03:04:05.678', 'first'), (NULL, NULL);
INSERT INTO "Shop Mixed" VALUES (1, 'quoted');

-- A rolled-back transaction and a rolled-back savepoint emit nothing.
BEGIN;
INSERT INTO shop.customers VALUES (50, 'gone@example.com', 'Gone', false, 1);
ROLLBACK;
BEGIN;
INSERT INTO shop.customers VALUES (60, 'kept@example.com', 'Kept', false, 2);
SAVEPOINT s1;
INSERT INTO shop.customers VALUES (61, 'undone@example.com', 'Undone', false, 3);
ROLLBACK TO SAVEPOINT s1;
UPDATE shop.customers SET vip = true WHERE id = 60;
COMMIT;

-- Logical decoding messages, transactional and not.
SELECT pg_logical_emit_message(false, 'audit', 'non-transactional hello');
BEGIN;
SELECT pg_logical_emit_message(true, 'audit', convert_to('in a transaction ✓', 'UTF8'));
INSERT INTO shop.audit_log VALUES ('2025-01-03 00:00:00', 'with message');
COMMIT;

-- Deletes on default and full identity; a delete of the row with the out-of-line value.
DELETE FROM shop.customers WHERE id = 3;
DELETE FROM shop.orders WHERE order_id = 1;

-- Schema change mid-stream: a new column, then rows that use it.
ALTER TABLE shop.customers ADD COLUMN tier text DEFAULT 'basic';
INSERT INTO shop.customers (id, email, name, credit, tier) VALUES (4, 'dee@example.com', 'Dee', 5.5, 'gold');
UPDATE shop.customers SET tier = 'silver' WHERE id = 2;

TRUNCATE shop.order_lines, shop.audit_log;
