-- Column defaults with time.precision.mode=connect: temporal defaults go through the same
-- converters as values (java.util.Date based Connect types).
-- @set time.precision.mode=connect
-- @set skipped.operations=none

CREATE SCHEMA df;
CREATE TYPE df.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN df.posint AS integer DEFAULT 9 CHECK (VALUE > 0);
CREATE SEQUENCE df.seq;

-- Constants of every type Debezium parses defaults for.
CREATE TABLE df.constants (
    id      integer PRIMARY KEY,
    b       boolean DEFAULT true,
    i2      smallint DEFAULT -7,
    i4      integer DEFAULT 42,
    i8      bigint DEFAULT 9223372036854775807,
    f4      real DEFAULT 1.5,
    f8      double precision DEFAULT -2.25e10,
    n       numeric(10,3) DEFAULT 12.5,
    nf      numeric DEFAULT 3.14,
    t       text DEFAULT 'hello',
    q       text DEFAULT 'it''s',
    e       text DEFAULT '',
    vc      varchar(10) DEFAULT 'vc',
    c5      char(5) DEFAULT 'ab',
    js      json DEFAULT '{"a": 1}',
    jb      jsonb DEFAULT '{"b": [1, 2]}',
    x       xml DEFAULT '<a>b</a>',
    u       uuid DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    d       date DEFAULT '2024-02-29',
    tm      time DEFAULT '12:34:56.789',
    tm3     time(3) DEFAULT '12:34:56.789',
    ts      timestamp DEFAULT '2024-02-29 12:34:56.789',
    ts3     timestamp(3) DEFAULT '2024-02-29 12:34:56.789',
    tstz    timestamptz DEFAULT '2024-02-29 12:34:56.789+02',
    iv      interval DEFAULT '1 day 02:03:04',
    bit1    bit(1) DEFAULT B'1',
    bit4    bit(4) DEFAULT B'1010',
    vb      varbit(8) DEFAULT B'11',
    mood    df.mood DEFAULT 'ok',
    -- No default parsed by Debezium for these types:
    m       money DEFAULT 5,
    raw     bytea DEFAULT '\x01',
    ttz     timetz DEFAULT '12:00:00+01',
    ch      "char" DEFAULT 'c',
    nm      name DEFAULT 'nm',
    ip      inet DEFAULT '10.0.0.1',
    ia      integer[] DEFAULT '{1,2}',
    dom     df.posint,
    dom2    df.posint DEFAULT 3,
    nn      integer NOT NULL DEFAULT 5,
    nt      text NOT NULL DEFAULT 'nt',
    nb      boolean NOT NULL DEFAULT true,
    nd      date NOT NULL DEFAULT '2000-01-01',
    nz      integer NOT NULL,
    nul     integer DEFAULT NULL,
    neg     numeric(6,2) DEFAULT -1.5
);

-- Expressions and functions.
CREATE TABLE df.functions (
    id      integer PRIMARY KEY,
    ser     serial,
    big     bigserial,
    nv      bigint DEFAULT nextval('df.seq'),
    now_tz  timestamptz DEFAULT now(),
    now3    timestamptz(3) DEFAULT CURRENT_TIMESTAMP(3),
    cur_ts  timestamp DEFAULT LOCALTIMESTAMP,
    cur_d   date DEFAULT CURRENT_DATE,
    cur_t   time DEFAULT CURRENT_TIME,
    gen_u   uuid DEFAULT gen_random_uuid(),
    expr_i  integer DEFAULT (1 + 2),
    expr_t  text DEFAULT 'a' || 'b',
    upper_t text DEFAULT upper('x'),
    expr_b  boolean DEFAULT (1 = 1),
    ts_plus timestamp DEFAULT (LOCALTIMESTAMP + '1 day'::interval),
    cast_i  integer DEFAULT '12'::integer,
    neg_i   integer DEFAULT -1,
    neg_f   double precision DEFAULT -0.5,
    nn_now  timestamptz NOT NULL DEFAULT now(),
    nn_ser  integer NOT NULL DEFAULT nextval('df.seq')
);

INSERT INTO df.constants (id, nz) VALUES (100, 1);
INSERT INTO df.functions (id) VALUES (100);

-- @changes

-- Explicit NULLs into columns with defaults: JsonConverter writes the schema default instead.
INSERT INTO df.constants (id, b, i2, i4, i8, f4, f8, n, nf, t, q, e, vc, c5, js, jb, x, u, d, tm, tm3, ts, ts3,
    tstz, iv, bit1, bit4, vb, mood, m, raw, ttz, ch, nm, ip, ia, dom, dom2, nn, nt, nb, nd, nz, nul, neg)
VALUES (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, 6, 'x', false, '2001-01-01', 2, NULL, NULL);
-- Defaults filled in by PostgreSQL.
INSERT INTO df.constants (id, nz) VALUES (2, 3);
INSERT INTO df.functions (id, ser, big, nv, now_tz, now3, cur_ts, cur_d, cur_t, gen_u, expr_i, expr_t, upper_t,
    expr_b, ts_plus, cast_i, neg_i, neg_f, nn_now, nn_ser)
VALUES (1, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    '2024-01-01 00:00:00+00', 1);
-- A delete under REPLICA IDENTITY DEFAULT: the old row has only the key; nullable columns with a
-- default show the default, NOT NULL ones the default or the type's fallback.
DELETE FROM df.constants WHERE id = 100;
DELETE FROM df.functions WHERE id = 100;
