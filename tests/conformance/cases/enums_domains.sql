-- Enums (io.debezium.data.Enum, the label) and domains (encoded as their base type, with the base
-- type's modifier: precision, scale, length): labels with spaces, quotes and unicode, enum arrays,
-- domains over numeric/varchar/timestamp/timestamptz/bool/bytea/text[], nested domains, a NOT NULL
-- domain, and their NOT NULL fallbacks in a delete's old row. (Not covered: a domain over an enum,
-- which stops Debezium 3.6.3 at start-up with a NullPointerException in its type registry.)
-- @set skipped.operations=none

CREATE SCHEMA ed;
CREATE TYPE ed.status AS ENUM ('new', 'in progress', 'it''s "done"', 'ünï ✓', '');
CREATE DOMAIN ed.price AS numeric(8,3) CHECK (VALUE >= 0);
CREATE DOMAIN ed.code AS varchar(4);
CREATE DOMAIN ed.moment AS timestamp(3);
CREATE DOMAIN ed.flag AS boolean;
CREATE DOMAIN ed.blob AS bytea;
CREATE DOMAIN ed.tags AS text[];
CREATE DOMAIN ed.cheap AS ed.price CHECK (VALUE < 100);
CREATE DOMAIN ed.required_text AS text NOT NULL;
CREATE DOMAIN ed.stamp AS timestamptz(1);

CREATE TABLE ed.rows (
    id     integer PRIMARY KEY,
    st     ed.status,
    sts    ed.status[],
    pr     ed.price,
    cd     ed.code,
    mo     ed.moment,
    fl     ed.flag,
    bl     ed.blob,
    tg     ed.tags,
    ch     ed.cheap,
    rt     ed.required_text,
    sp     ed.stamp
);
CREATE TABLE ed.required (
    id     integer PRIMARY KEY,
    st     ed.status NOT NULL,
    pr     ed.price NOT NULL,
    mo     ed.moment NOT NULL
);
INSERT INTO ed.required VALUES (1, 'new', 1, '2024-01-01');

-- @changes

INSERT INTO ed.rows VALUES
    (1, 'in progress', '{new,"in progress","it''s \"done\"","ünï ✓",""}', 12.3456, 'ab', '2024-06-30 23:59:59.123456',
     true, '\xdeadbeef', '{a,"b c"}', 99.5, 'req', '2024-06-30 23:59:59.16+00'),
    (2, 'it''s "done"', '{}', 0, '', '1970-01-01', false, '\x', '{}', 0.001, '', '1970-01-01 00:00:00+00'),
    (3, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL);
UPDATE ed.rows SET st = 'new' WHERE id = 1;
DELETE FROM ed.required WHERE id = 1;
