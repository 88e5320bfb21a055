-- Snapshot rows (initial_only) of the types and rules the streaming cases cover: column defaults
-- replacing NULLs, a key taken from a unique index (no primary key), point, hstore, ranges,
-- unknown types left out and name nulled (include.unknown.datatypes=false), temporal arrays
-- read through java.sql types, and time.precision.mode=connect. Snapshot rows are read with
-- COPY by Rivulet and through JDBC by Debezium; the events must not differ.
-- @snapshot
-- @set time.precision.mode=connect

CREATE EXTENSION hstore;
CREATE SCHEMA snt;
CREATE TYPE snt.mood AS ENUM ('sad', 'ok');

CREATE TABLE snt.defaults (
    id     integer PRIMARY KEY,
    n      integer DEFAULT 7,
    t      text DEFAULT 'dflt',
    mood   snt.mood DEFAULT 'ok',
    at     timestamptz DEFAULT now(),
    d      date DEFAULT '2024-02-29'
);
INSERT INTO snt.defaults VALUES (1, NULL, NULL, NULL, NULL, NULL), (2, 1, 'x', 'sad', '2024-01-01 00:00:00+00', '2000-01-01');

CREATE TABLE snt.by_unique (
    a      integer NOT NULL,
    b      text NOT NULL,
    c      text
);
CREATE UNIQUE INDEX by_unique_ba ON snt.by_unique (b, a);
INSERT INTO snt.by_unique VALUES (1, 'x', 'c1'), (2, 'y', NULL);

CREATE TABLE snt.things (
    id     integer PRIMARY KEY,
    p      point,
    h      hstore,
    r      int4range,
    tv     tsvector,
    bx     box,
    nm     name,
    ts     timestamp,
    t3     time(3),
    da     date[],
    tsa    timestamp[],
    tma    time[],
    tza    timestamptz[]
);
INSERT INTO snt.things VALUES
    (1, '(1.5,-2)', 'b=>2, a=>1', '[1,5)', 'a fat cat', '((1,2),(3,4))', 'nm', '2024-06-30 23:59:59.123456',
     '13:45:10.123', '{2024-02-29,0044-03-15 BC,1582-10-10}', '{"0001-01-01 00:00:00","2024-01-01 10:00:00.5"}',
     '{24:00:00,13:45:10.123456}', '{"0044-03-15 12:00:00+00 BC",-infinity}'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- @changes
