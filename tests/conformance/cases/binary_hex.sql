-- binary.handling.mode=hex: bytea, bytea[], bit strings, unknown types kept as bytes
-- (include.unknown.datatypes=true), NOT NULL fallbacks and the unchanged-TOAST placeholder.
-- @set binary.handling.mode=hex
-- @set skipped.operations=none
-- @set include.unknown.datatypes=true

CREATE SCHEMA bin;

CREATE TABLE bin.data (
    id      integer PRIMARY KEY,
    raw     bytea,
    raws    bytea[],
    b1      bit(1),
    b8      bit(8),
    b12     bit(12),
    vb      varbit(20),
    vbn     varbit,
    vb1     varbit(1),
    bx      box,
    tq      tsquery
);

-- NOT NULL columns: fallbacks of a delete under REPLICA IDENTITY DEFAULT.
CREATE TABLE bin.required (
    id      integer PRIMARY KEY,
    raw     bytea NOT NULL,
    b12     bit(12) NOT NULL,
    bx      box NOT NULL
);
INSERT INTO bin.required VALUES (1, '\x01', '101010101010', '((0,0),(1,1))');

-- An unchanged out-of-line bytea: the placeholder in each mode.
CREATE TABLE bin.toasted (
    id      integer PRIMARY KEY,
    note    text,
    raw     bytea
);
ALTER TABLE bin.toasted ALTER COLUMN raw SET STORAGE EXTERNAL;
INSERT INTO bin.toasted VALUES (1, 'a', decode(repeat('00ff', 1500), 'hex'));

-- @changes

INSERT INTO bin.data VALUES
    (1, '\xdeadbeef00ff', ARRAY['\xfbff'::bytea, '\x'::bytea, NULL], '1', '10100101', '000000000001',
     '1101', '', '1', '((1,2),(3,4))', 'fat & rat'),
    -- Bytes whose base64 uses '+' and '/' (url-safe mode turns them into '-' and '_') and padding.
    (2, '\xfbefbe', '{}', '0', '00000000', '111111111111', '00000000000000000001', '10', '0',
     '((-1.5,2),(3,1e300))', 'a:*'),
    (3, '\x', NULL, NULL, NULL, NULL, NULL, '1', NULL, NULL, NULL);
INSERT INTO bin.data (id) VALUES (4);

DELETE FROM bin.required WHERE id = 1;
UPDATE bin.toasted SET note = 'b' WHERE id = 1;
