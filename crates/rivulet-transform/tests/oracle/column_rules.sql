-- Column rules (column.truncate / column.mask.with / column.mask.hash[.v2]) on every common type.
-- @set column.truncate.to.4.chars=public.t_trunc.*
-- @set column.mask.with.5.chars=public.t_mask.*
-- @set column.mask.hash.SHA-256.with.salt.CzQMA0cB5K=public\.t_hash\..*
-- @set column.mask.hash.v2.SHA-256.with.salt.CzQMA0cB5K=public\.t_hash2\..*
-- @set column.mask.hash.MD5.with.salt.pepper=public.t_md5.*

CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN email AS text;

CREATE TABLE t_trunc (
    id      text PRIMARY KEY,
    t       text,
    vc      varchar(10),
    vc2     varchar(3),
    bp      char(6),
    nm      name,
    ch      "char",
    ci      citext,
    dom     email,
    en      mood,
    u       uuid,
    j       json,
    jb      jsonb,
    x       xml,
    ip      inet,
    mac     macaddr,
    i       int,
    n       numeric(10,2),
    nf      numeric,
    ts      timestamp,
    tstz    timestamptz,
    ttz     timetz,
    d       date,
    iv      interval,
    ba      bytea,
    b3      bit(3),
    vb      varbit,
    bo      boolean,
    ta      text[],
    mo      money,
    pt      point,
    tv      tsvector,
    big     text,
    nn      text NOT NULL
);
ALTER TABLE t_trunc ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE t_mask (LIKE t_trunc INCLUDING ALL);
CREATE TABLE t_hash (LIKE t_trunc INCLUDING ALL);
CREATE TABLE t_hash2 (LIKE t_trunc INCLUDING ALL);
CREATE TABLE t_md5 (LIKE t_trunc INCLUDING ALL);
ALTER TABLE t_mask ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE t_hash ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE t_hash2 ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE t_md5 ALTER COLUMN big SET STORAGE EXTERNAL;

-- @changes

DO $$
DECLARE tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['t_trunc','t_mask','t_hash','t_hash2','t_md5'] LOOP
    EXECUTE format($f$INSERT INTO %I VALUES (
      'key-one', 'héllo wörld 😀 text', 'varchar10', 'abc', 'bp', 'name_v', 'c', 'CiText', 'a@b.example', 'happy',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', '<x>1</x>', '192.168.0.1/24', '08:00:2b:01:02:03',
      123456, 12345.67, 3.14159, '2024-06-30 21:59:59.123456', '2024-06-30 21:59:59.123456+02', '11:45:10.5+01', '2024-06-30',
      '1 day 02:03:04', '\xdeadbeef01', '101', '10101', true, ARRAY['x','yyyyyy'], 12.34, '(1,2)', 'a fat cat',
      repeat('B', 5000), 'not-null-value')$f$, tbl);
    EXECUTE format($f$INSERT INTO %I (id, nn, t) VALUES ('k2', '', 'ab')$f$, tbl);
    EXECUTE format($f$INSERT INTO %I (id, nn, t) VALUES ('k3', 'x', '😀😀x')$f$, tbl);
    EXECUTE format($f$UPDATE %I SET i = 7 WHERE id = 'key-one'$f$, tbl);
    EXECUTE format($f$DELETE FROM %I WHERE id = 'k2'$f$, tbl);
  END LOOP;
END $$;
