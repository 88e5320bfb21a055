-- REPLICA IDENTITY variants and keys: DEFAULT with a primary key (before = key columns), FULL,
-- USING INDEX (the old row carries the index columns; the key stays the primary key), NOTHING
-- (inserts only: PostgreSQL refuses updates and deletes of such a table when a publication
-- publishes them), and a table without a primary key but with a unique index (Debezium then uses
-- the unique index columns as the record key).
-- @set skipped.operations=none

CREATE SCHEMA ri;

CREATE TABLE ri.by_index (
    id     integer PRIMARY KEY,
    code   text NOT NULL,
    name   text,
    qty    integer NOT NULL
);
CREATE UNIQUE INDEX by_index_code ON ri.by_index (code);
ALTER TABLE ri.by_index REPLICA IDENTITY USING INDEX by_index_code;

CREATE TABLE ri.nothing (
    id     integer PRIMARY KEY,
    name   text,
    qty    integer NOT NULL
);
ALTER TABLE ri.nothing REPLICA IDENTITY NOTHING;

CREATE TABLE ri.unique_only (
    a      integer NOT NULL,
    b      text NOT NULL,
    c      text
);
CREATE UNIQUE INDEX unique_only_ab ON ri.unique_only (b, a);
ALTER TABLE ri.unique_only REPLICA IDENTITY USING INDEX unique_only_ab;

CREATE TABLE ri.full_nokey (
    a      integer,
    b      text
);
ALTER TABLE ri.full_nokey REPLICA IDENTITY FULL;

INSERT INTO ri.by_index VALUES (1, 'A', 'first', 1), (2, 'B', 'second', 2);
INSERT INTO ri.nothing VALUES (1, 'n', 1);
INSERT INTO ri.unique_only VALUES (1, 'x', 'c1'), (2, 'y', 'c2');
INSERT INTO ri.full_nokey VALUES (1, 'f');

-- @changes

UPDATE ri.by_index SET name = 'renamed' WHERE id = 1;
UPDATE ri.by_index SET code = 'C' WHERE id = 2;
DELETE FROM ri.by_index WHERE id = 1;
INSERT INTO ri.nothing VALUES (2, 'm', 2);
INSERT INTO ri.unique_only VALUES (3, 'z', 'c3');
UPDATE ri.unique_only SET c = 'changed' WHERE a = 1;
UPDATE ri.unique_only SET b = 'w' WHERE a = 2;
DELETE FROM ri.unique_only WHERE a = 1;
UPDATE ri.full_nokey SET b = 'g';
DELETE FROM ri.full_nokey;
