-- Type coverage with decimal.handling.mode=string: one column per PostgreSQL type family Rivulet
-- models (rivulet_core::PgType), typical and edge values, all-NULL rows, and deletes under
-- REPLICA IDENTITY DEFAULT of a table whose columns are all NOT NULL (Debezium then fills the
-- non-key columns with each type's fallback value: "", 0, false, ...).
-- Temporal types have their own case (temporal.sql), arrays theirs (arrays.sql).
-- Not covered on purpose: `name` columns (Debezium 3.6 emits null for them; Rivulet emits the
-- text) and types Debezium drops or maps to structs (point, hstore, box, ...).
-- @set decimal.handling.mode=string
-- @set skipped.operations=none

CREATE SCHEMA ty;
CREATE EXTENSION citext;
CREATE TYPE ty.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN ty.posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN ty.short_text AS varchar(8);

CREATE TABLE ty.scalars (
    id      integer PRIMARY KEY,
    b       boolean,
    i2      smallint,
    i4      integer,
    i8      bigint,
    o       oid,
    f4      real,
    f8      double precision,
    n_fixed numeric(12,2),
    n_int   numeric(20),
    n_free  numeric,
    m       money,
    t       text,
    ch1     "char",
    c5      char(5),
    bp      bpchar,
    vc      varchar(10),
    vcn     varchar,
    ci      citext,
    raw     bytea,
    u       uuid,
    js      json,
    jb      jsonb,
    x       xml,
    ip      inet,
    net     cidr,
    mac     macaddr,
    mac8    macaddr8,
    bit1    bit(1),
    bit8    bit(8),
    bit12   bit(12),
    vb      varbit(20),
    vbn     varbit,
    mood    ty.mood,
    dom_i   ty.posint,
    dom_t   ty.short_text
);

-- Every column NOT NULL: a delete under REPLICA IDENTITY DEFAULT shows the fallback values.
CREATE TABLE ty.not_null (
    id      integer PRIMARY KEY,
    b       boolean NOT NULL,
    i2      smallint NOT NULL,
    i4      integer NOT NULL,
    i8      bigint NOT NULL,
    o       oid NOT NULL,
    f4      real NOT NULL,
    f8      double precision NOT NULL,
    n_fixed numeric(12,2) NOT NULL,
    n_free  numeric NOT NULL,
    m       money NOT NULL,
    t       text NOT NULL,
    c5      char(5) NOT NULL,
    vc      varchar(10) NOT NULL,
    raw     bytea NOT NULL,
    u       uuid NOT NULL,
    js      json NOT NULL,
    jb      jsonb NOT NULL,
    x       xml NOT NULL,
    ip      inet NOT NULL,
    mac     macaddr NOT NULL,
    bit1    bit(1) NOT NULL,
    bit12   bit(12) NOT NULL,
    vb      varbit(20) NOT NULL,
    mood    ty.mood NOT NULL,
    d       date NOT NULL,
    tm      time NOT NULL,
    tm3     time(3) NOT NULL,
    ttz     timetz NOT NULL,
    ts      timestamp NOT NULL,
    ts3     timestamp(3) NOT NULL,
    tstz    timestamptz NOT NULL,
    iv      interval NOT NULL,
    arr     integer[] NOT NULL,
    tarr    text[] NOT NULL
);

INSERT INTO ty.not_null VALUES
    (1, true, 1, 1, 1, 1, 1, 1, 1, 1, 1, 'a', 'a', 'a', '\x01', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '{}', '{}', '<a/>', '10.0.0.1', '08:00:2b:01:02:03', '1', '101010101010', '1', 'ok',
     '2024-01-01', '12:00', '12:00', '12:00+01', '2024-01-01 12:00', '2024-01-01 12:00',
     '2024-01-01 12:00+00', '1 day', '{1}', '{a}');

-- @changes

-- Typical values.
INSERT INTO ty.scalars VALUES
    (1, true, 12345, 1234567890, 1234567890123456789, 4000000000, 3.25, 2.5,
     1234567890.12, 12345678901234567890, 3.14159265358979323846, 1234.56,
     'plain text', 'q', 'ab', 'blank padded  ', 'short', 'unbounded', 'MiXeD Case',
     '\xdeadbeef00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '{"raw":  "json",  "kept": [1, 2.50]}', '{"b": [true, null, 2.50], "a": {"c": "é"}}',
     '<doc><p a="1">x &amp; y</p></doc>', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
     '08:00:2b:01:02:03:04:05', '1', '10100101', '000000000001', '1101', '',
     'happy', 42, 'domain');

-- Edge values: extremes, negatives, zeros, special floats and numerics, escapes and unicode.
INSERT INTO ty.scalars VALUES
    (2, false, -32768, -2147483648, -9223372036854775808, 0, -1.5e-7, -1.7976931348623157e308,
     -0.01, -99999999999999999999, -0.000000000000000000001, -92233720368547758.08,
     E'quote " backslash \\ slash / tab \t nl \n cr \r bell \007 del \177 unicode ✓ 😀', ' ', '',
     '', '', '', '', '\x', '00000000-0000-0000-0000-000000000000', '"just a string"', 'null',
     '<empty/>', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '0',
     '00000000', '111111111111', '00000000000000000001', '1', 'sad', 2147483647, '');
INSERT INTO ty.scalars (id, i2, i4, i8, f4, f8, n_fixed, n_int, n_free, m) VALUES
    (3, 32767, 2147483647, 9223372036854775807, 'NaN', 'NaN', 9999999999.99, 0, 'NaN', 92233720368547758.07),
    (4, 0, 0, 0, 'Infinity', 'Infinity', 0, 1, 'Infinity', 0),
    (5, -1, -1, -1, '-Infinity', '-Infinity', 0.5, -1, '-Infinity', -0.01),
    (6, NULL, NULL, NULL, 3.4028235e38, 1e-320, NULL, NULL, 1.0e-30, NULL),
    (7, NULL, NULL, NULL, 1.17549435e-38, 123456789012345678, NULL, NULL, 100, NULL),
    (8, NULL, NULL, NULL, 1e7, 1e7, NULL, NULL, 12.500, NULL),
    (9, NULL, NULL, NULL, 9999999, 9999999.999, NULL, NULL, -0.0, NULL),
    (10, NULL, NULL, NULL, 0.001, 0.001, NULL, NULL, 1e20, NULL),
    (11, NULL, NULL, NULL, 0.0009999, 0.00099999999, NULL, NULL, 0.1, NULL),
    (12, NULL, NULL, NULL, -0.0, -0.0, NULL, NULL, 123456789012345678901234567890.123456789, NULL),
    (13, NULL, NULL, NULL, 0.1, 0.1, NULL, NULL, 1, NULL),
    (14, NULL, NULL, NULL, 100, 100, NULL, NULL, 10, NULL),
    (15, NULL, NULL, NULL, 16777216, 4.9e-324, NULL, NULL, 0.00001, NULL),
    (16, NULL, NULL, NULL, 1.4e-45, 2.2250738585072014e-308, NULL, NULL, 0.001, NULL);

-- All NULL.
INSERT INTO ty.scalars (id) VALUES (17);

-- Update with DEFAULT identity (no old row), then deletes: "before" has the key only.
UPDATE ty.scalars SET t = 'updated', b = NOT b WHERE id = 1;
DELETE FROM ty.scalars WHERE id IN (2, 17);

-- Delete of a row whose columns are all NOT NULL: fallback values in "before".
DELETE FROM ty.not_null WHERE id = 1;
