-- Extension types Debezium recognises by name: ltree (io.debezium.data.Ltree, a string) and
-- ltree[], citext and citext[] (strings), isbn (a string in PostgreSQL's ISBN rendering); other isn
-- types and lquery/ltxtquery have no converter (left out). NOT NULL fallbacks are "".
-- @set skipped.operations=none

CREATE EXTENSION ltree;
CREATE EXTENSION citext;
CREATE EXTENSION isn;
CREATE SCHEMA ext;

CREATE TABLE ext.items (
    id     integer PRIMARY KEY,
    path   ltree,
    paths  ltree[],
    ci     citext,
    cis    citext[],
    isb    isbn,
    ean    ean13,
    lq     lquery
);
CREATE TABLE ext.required (
    id     integer PRIMARY KEY,
    path   ltree NOT NULL,
    ci     citext NOT NULL,
    isb    isbn NOT NULL
);
INSERT INTO ext.required VALUES (1, 'a', 'a', '0-393-04002-X');

-- @changes

INSERT INTO ext.items VALUES
    (1, 'Top.Science.Astronomy', '{Top.Science,a.b.c}', 'MiXeD Case', '{A,"b c",NULL}', '978-0-393-04002-9',
     '978-0-393-04002-9', '*.Astronomy.*'),
    (2, '', '{}', '', '{}', '0-393-04002-X', '4006381333931', 'a'),
    (3, 'a_b.c1.Z9', '{x}', 'ünïcode ✓', '{""}', '9780393040029', '0036000291452', '*');
INSERT INTO ext.items (id) VALUES (4);
UPDATE ext.items SET ci = 'changed' WHERE id = 1;
DELETE FROM ext.required WHERE id = 1;
