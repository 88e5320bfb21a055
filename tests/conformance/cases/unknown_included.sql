-- Types Debezium has no converter for, with include.unknown.datatypes=true: kept as the bytes of
-- their text (pgjdbc's rendering for geometric types), base64 in JSON; arrays of domains as arrays
-- of such bytes. (The arrays Debezium never converts, see unknown_dropped.sql, are kept by Rivulet
-- with this setting: a documented difference.)
-- @set include.unknown.datatypes=true
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
    bxa     box[],
    doma    unk.posint[],
    kept    text
);

-- @changes

INSERT INTO unk.things VALUES
    (1, 'a name', '((1,2),(3,4))', '<(1,2),3>', '{1,2,3}', '[(1,2),(3,4)]', '((1,2),(3,4),(5,6))',
     '[(0,0),(1.5,-2)]', '((0,0),(1,1),(1,0))', '{[1,3),[5,7)}', 'fat & (cat | rat)', '*.Astronomy.*',
     '16/B374D848', '10:20:10,14,15', 'pg_class', 'integer', '$.a[*] ? (@ > 1)', '123', '456', '7', '(0,1)',
     '(1,"x y")', '1 2 3', '1 2', '{(1,2),(3,4)}', '{1,2}', 'kept'),
    (2, '', '((0.1,1e-5),(-0.5,1e20))', '<(0,0),0.5>', '{-1,0,2.5}', '[(0,0),(0,0)]', '((0,0))',
     '[(1,1)]', '((0,0))', '{}', 'a', 'a', '0/0', '1:1:', '-', '-', '$', '0', '0', '0', '(4294967295,65535)',
     '(,)', '', '', '{}', '{}', 'kept too');
INSERT INTO unk.things (id) VALUES (3);
UPDATE unk.things SET kept = 'changed' WHERE id = 1;
DELETE FROM unk.things WHERE id = 2;
