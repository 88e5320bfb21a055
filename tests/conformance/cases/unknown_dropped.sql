-- Types Debezium has no converter for, with its default include.unknown.datatypes=false: the
-- columns are left out (geometric types other than point, multiranges, tsquery, lquery, pg_lsn,
-- txid_snapshot, reg*, jsonpath, xid/xid8/cid/tid, composites, arrays of domains, and the arrays
-- Debezium never converts: interval[], money[], name[], varbit[], xml[], point[]); name is kept
-- but null, bit(n)[] is null, int2vector/oidvector are [] (null when empty), and multi-dimensional
-- arrays of numbers are arrays of nulls (one per sub-array).
-- @set skipped.operations=none

CREATE EXTENSION ltree;
CREATE SCHEMA unk;
CREATE TYPE unk.pair AS (a integer, b text);
CREATE DOMAIN unk.posint AS integer CHECK (VALUE > 0);

CREATE TABLE unk.things (
    id      integer PRIMARY KEY,
    nm      name,
    bx      box,
    ci      circle,
    li      line,
    ls      lseg,
    pa      path,
    pac     path,
    po      polygon,
    mr      int4multirange,
    tq      tsquery,
    lq      lquery,
    pl      pg_lsn,
    xs      txid_snapshot,
    rc      regclass,
    rt      regtype,
    jp      jsonpath,
    x8      xid8,
    xd      xid,
    cd      cid,
    ti      tid,
    cp      unk.pair,
    i2v     int2vector,
    ov      oidvector,
    iva     interval[],
    ma      money[],
    nma     name[],
    vba     varbit[],
    xa      xml[],
    pta     point[],
    bxa     box[],
    b3a     bit(3)[],
    doma    unk.posint[],
    md      integer[][],
    mdn     numeric(5,1)[][],
    kept    text
);

-- @changes

INSERT INTO unk.things VALUES
    (1, 'a name', '((1,2),(3,4))', '<(1,2),3>', '{1,2,3}', '[(1,2),(3,4)]', '((1,2),(3,4),(5,6))',
     '[(0,0),(1.5,-2)]', '((0,0),(1,1),(1,0))', '{[1,3),[5,7)}', 'fat & (cat | rat)', '*.Astronomy.*',
     '16/B374D848', '10:20:10,14,15', 'pg_class', 'integer', '$.a[*] ? (@ > 1)', '123', '456', '7', '(0,1)',
     '(1,"x y")', '1 2 3', '1 2', '{1 day}', '{1.50}', '{a}', '{101}', '{<a/>}', '{"(1,2)"}',
     '{(1,2),(3,4)}', '{101,010}', '{1,2}', '{{1,2},{3,4},{5,6}}', '{{1.5}}', 'kept'),
    (2, '', '((0.1,1e-5),(-0.5,1e20))', '<(0,0),0.5>', '{-1,0,2.5}', '[(0,0),(0,0)]', '((0,0))',
     '[(1,1)]', '((0,0))', '{}', 'a', 'a', '0/0', '1:1:', '-', '-', '$', '0', '0', '0', '(4294967295,65535)',
     '(,)', '', '', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', 'kept too');
INSERT INTO unk.things (id) VALUES (3);
UPDATE unk.things SET kept = 'changed' WHERE id = 1;
DELETE FROM unk.things WHERE id = 2;
