-- Unchanged TOAST with decimal.handling.mode=string and a custom placeholder containing non-ASCII
-- characters: numeric gets the placeholder string (not null as in precise mode), bytea its UTF-8
-- bytes, int[]/bigint[] the bytes as *signed* Java bytes (negative above 0x7F), uuid[] the
-- name-based (MD5, version 3) UUID of those bytes. DEFAULT vs FULL identity, and a primary-key
-- change of a row with unchanged TOAST values (delete + create; the create carries placeholders).
-- @set decimal.handling.mode=string
-- @set unavailable.value.placeholder=ünchangéd ✓

CREATE SCHEMA tst2;

CREATE TABLE tst2.docs (
    id    integer PRIMARY KEY,
    small integer,
    body  text,
    n     numeric,
    raw   bytea,
    ia    integer[],
    ba    bigint[],
    ua    uuid[],
    jba   jsonb[]
);
CREATE TABLE tst2.docs_full (LIKE tst2.docs INCLUDING ALL);
ALTER TABLE tst2.docs_full REPLICA IDENTITY FULL;

DO $$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY ARRAY['body', 'n', 'raw', 'ia', 'ba', 'ua', 'jba'] LOOP
        EXECUTE format('ALTER TABLE tst2.docs ALTER COLUMN %I SET STORAGE EXTERNAL', c);
        EXECUTE format('ALTER TABLE tst2.docs_full ALTER COLUMN %I SET STORAGE EXTERNAL', c);
    END LOOP;
END $$;

CREATE VIEW tst2.big AS SELECT
    repeat('é', 1500) AS body,
    (repeat('1234567890', 700) || '.25')::numeric AS n,
    decode(repeat('abcd', 1250), 'hex') AS raw,
    (SELECT array_agg(g) FROM generate_series(1, 700) g) AS ia,
    (SELECT array_agg(-g::bigint) FROM generate_series(1, 300) g) AS ba,
    (SELECT array_agg(md5(g::text)::uuid) FROM generate_series(1, 150) g) AS ua,
    (SELECT array_agg(jsonb_build_object('k', g)) FROM generate_series(1, 300) g) AS jba;

INSERT INTO tst2.docs SELECT 1, 0, * FROM tst2.big;
INSERT INTO tst2.docs SELECT 2, 0, * FROM tst2.big;
INSERT INTO tst2.docs_full SELECT 1, 0, * FROM tst2.big;

-- @changes

UPDATE tst2.docs SET small = 1 WHERE id = 1;
UPDATE tst2.docs_full SET small = 1 WHERE id = 1;
-- Primary-key change: Debezium emits a delete (key only), a tombstone and a create.
UPDATE tst2.docs SET id = 3 WHERE id = 2;
