-- Unchanged TOAST values: an UPDATE that does not touch an out-of-line column makes pgoutput send
-- "unchanged" ('u') for it, and Debezium substitutes its placeholder, converted to the column's
-- type: the string for text-like columns, its UTF-8 bytes (base64) for bytea, a one-element
-- array for text[]/varchar[]/jsonb[], [base64] for bytea[], [name-based UUID of the placeholder] for
-- uuid[], the placeholder's bytes as numbers for int[]/bigint[]/date[]; null for numeric (in this
-- mode), varbit and other array types (smallint[]).
-- Under REPLICA IDENTITY FULL the old row is sent whole (detoasted), so "before" is complete.
-- Every column is STORAGE EXTERNAL (out of line, uncompressed) and each value exceeds the ~2 kB
-- TOAST threshold. decimal.handling.mode=precise (Debezium's default).
-- @set decimal.handling.mode=precise

CREATE SCHEMA tst;

CREATE TABLE tst.dflt (
    id      integer PRIMARY KEY,
    small   integer,
    t       text,
    vc      varchar(5000),
    raw     bytea,
    js      json,
    jb      jsonb,
    x       xml,
    n       numeric,
    ia      integer[],
    ba      bigint[],
    ta      text[],
    da      date[],
    ua      uuid[],
    bya     bytea[],
    i2a     smallint[],
    vb      varbit
);
CREATE TABLE tst.full_ident (LIKE tst.dflt INCLUDING ALL);
ALTER TABLE tst.full_ident REPLICA IDENTITY FULL;

DO $$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY ARRAY['t', 'vc', 'raw', 'js', 'jb', 'x', 'n', 'ia', 'ba', 'ta', 'da', 'ua', 'bya', 'i2a', 'vb'] LOOP
        EXECUTE format('ALTER TABLE tst.dflt ALTER COLUMN %I SET STORAGE EXTERNAL', c);
        EXECUTE format('ALTER TABLE tst.full_ident ALTER COLUMN %I SET STORAGE EXTERNAL', c);
    END LOOP;
END $$;

-- A row whose big values all go out of line.
CREATE VIEW tst.big_row AS SELECT
    repeat('t', 2500) AS t,
    repeat('v', 2500) AS vc,
    decode(repeat('00ff', 1250), 'hex') AS raw,
    ('{"k": "' || repeat('j', 2500) || '"}')::json AS js,
    ('{"k": "' || repeat('b', 2500) || '"}')::jsonb AS jb,
    ('<x>' || repeat('x', 2500) || '</x>')::xml AS x,
    (repeat('9', 7000) || '.5')::numeric AS n,
    (SELECT array_agg(g) FROM generate_series(1, 700) g) AS ia,
    (SELECT array_agg(g::bigint * 1000000000) FROM generate_series(1, 300) g) AS ba,
    (SELECT array_agg('elem' || g) FROM generate_series(1, 400) g) AS ta,
    (SELECT array_agg(DATE '2024-01-01' + g) FROM generate_series(1, 700) g) AS da,
    (SELECT array_agg(md5(g::text)::uuid) FROM generate_series(1, 150) g) AS ua,
    (SELECT array_agg(decode(md5(g::text), 'hex')) FROM generate_series(1, 200) g) AS bya,
    (SELECT array_agg(g::smallint) FROM generate_series(1, 1500) g) AS i2a,
    repeat('10', 12000)::varbit AS vb;

INSERT INTO tst.dflt SELECT 1, 0, * FROM tst.big_row;
INSERT INTO tst.full_ident SELECT 1, 0, * FROM tst.big_row;
-- A row with small (inline) values: an update of it sends every value.
INSERT INTO tst.dflt VALUES (2, 0, 'small', 'small', '\x01', '{}', '{}', '<x/>', 1.5, '{1}', '{1}', '{a}',
                             '{2024-01-01}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"\\x01"}', '{1}', '101');

-- @changes

-- Only "small" changes: every big column is unchanged TOAST.
UPDATE tst.dflt SET small = small + 1 WHERE id = 1;
UPDATE tst.full_ident SET small = small + 1 WHERE id = 1;
-- Inline values are always sent.
UPDATE tst.dflt SET small = small + 1 WHERE id = 2;
-- One big column changes, the others stay unchanged.
UPDATE tst.dflt SET t = 'now inline' WHERE id = 1;
-- NULL is not TOAST.
UPDATE tst.dflt SET ia = NULL, ta = NULL WHERE id = 1;
UPDATE tst.dflt SET small = small + 1 WHERE id = 1;
-- Deletes: DEFAULT sends the key only; FULL the whole (detoasted) old row.
DELETE FROM tst.dflt WHERE id = 1;
DELETE FROM tst.full_ident WHERE id = 1;
