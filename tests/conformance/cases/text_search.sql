-- Full-text search types: tsvector is io.debezium.data.TsVector, PostgreSQL's normalised text
-- (sorted lexemes, positions, weights, escaped quotes); tsvector[] a string array; tsquery has no
-- converter and is left out (include.unknown.datatypes=false).
-- @set skipped.operations=none

CREATE SCHEMA fts;

CREATE TABLE fts.docs (
    id     integer PRIMARY KEY,
    tv     tsvector,
    tva    tsvector[],
    tq     tsquery
);
CREATE TABLE fts.required (
    id     integer PRIMARY KEY,
    tv     tsvector NOT NULL
);
INSERT INTO fts.required VALUES (1, 'a');

-- @changes

INSERT INTO fts.docs VALUES
    (1, 'a fat cat:3 sat on a mat:7B and ate a fat rat:1A,2C', '{"a b","c:1"}', 'fat & rat'),
    (2, to_tsvector('english', 'The quick brown foxes jumped over the lazy dogs'), '{}', 'a:*'),
    (3, $$'it''s' "quoted" back\\slash ünïcode$$, NULL, NULL),
    (4, '', '{""}', NULL);
INSERT INTO fts.docs (id) VALUES (5);
DELETE FROM fts.required WHERE id = 1;
