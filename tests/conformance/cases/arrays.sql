-- Array columns: one per element type Debezium converts, with NULL elements, empty arrays,
-- quoting/escaping in text elements, element types whose Debezium encoding differs from their
-- text (numeric, date, time, timestamps, bytea), and two Debezium failure modes Rivulet reproduces:
-- a numeric[] holding NaN and an enum[] holding NULL make the whole column null.
-- Not covered on purpose: multi-dimensional arrays (Debezium emits nulls or Java object ids like
-- "[Ljava.lang.String;@70a9df6d"; Rivulet emits nested arrays), dates/timestamps before 1582 in
-- arrays (Debezium shifts them to the Julian calendar), and array types Debezium drops
-- (interval[], money[], varbit[], xml[], name[], point[]).
-- decimal.handling.mode=string here; numeric arrays in the other modes are in
-- types_precise.sql and types_double.sql.
-- @set decimal.handling.mode=string

CREATE SCHEMA arr;
CREATE TYPE arr.color AS ENUM ('red', 'green', 'blue');

CREATE TABLE arr.items (
    id       integer PRIMARY KEY,
    i2       smallint[],
    i4       integer[],
    i8       bigint[],
    f4       real[],
    f8       double precision[],
    n        numeric[],
    n2       numeric(10,2)[],
    b        boolean[],
    t        text[],
    vc       varchar(5)[],
    c3       char(3)[],
    d        date[],
    tm       time[],
    tm3      time(3)[],
    ttz      timetz[],
    ts       timestamp[],
    ts3      timestamp(3)[],
    tstz     timestamptz[],
    u        uuid[],
    js       json[],
    jb       jsonb[],
    raw      bytea[],
    ip       inet[],
    net      cidr[],
    mac      macaddr[],
    o        oid[],
    colors   arr.color[],
    r        int4range[]
);

-- @changes

INSERT INTO arr.items VALUES
    (1, '{1,-2,32767}', '{1,2,3}', '{9223372036854775807,-1}', '{1.5,-0.25,NaN}', '{2.5,1e300,-Infinity}',
     '{1.10,NaN,-3}', '{1.1,2.25}', '{t,f}', '{"x","y z","with \"quotes\"","back\\slash","NULL"}',
     '{"ab","abcde"}', '{"a","abc"}', '{2024-02-29,1970-01-01}', '{13:45:10.123456,00:00:00}',
     '{13:45:10.123}', '{13:45:10+02}', '{"2024-06-30 23:59:59.123456"}', '{"2024-06-30 23:59:59.123"}',
     '{"2024-06-30 23:59:59.123456+02"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
     ARRAY['{"a": 1}', '[1, 2]']::json[], ARRAY['{"b": 2, "a": 1}']::jsonb[], ARRAY['\xdeadbeef'::bytea, '\x'::bytea],
     '{192.168.0.1/24,::1}', '{10.0.0.0/8}', '{08:00:2b:01:02:03}', '{1,4000000000}', '{red,blue}',
     '{"[1,5)","empty"}');

-- NULL elements, empty arrays.
INSERT INTO arr.items VALUES
    (2, '{NULL,1}', '{NULL}', '{}', '{NULL,1}', '{NULL}', '{NULL,1}', '{NULL}', '{NULL,t}', '{NULL,""}',
     '{}', '{NULL}', '{NULL}', '{NULL}', '{}', '{}', '{NULL}', '{}', '{NULL}', '{NULL}', '{NULL}', '{NULL}',
     '{NULL}', '{NULL}', '{}', '{}', '{NULL}', '{NULL,green}', '{}');

-- Sub-millisecond times: Debezium reads time[] elements with millisecond precision and timetz[]
-- elements with whole seconds.
INSERT INTO arr.items (id, tm, tm3, ttz) VALUES
    (3, '{00:00:00.999999,23:59:59.9999}', '{00:00:00.999}', '{00:00:00.5+00,23:59:59.999-01}');

-- All NULL.
INSERT INTO arr.items (id) VALUES (4);
