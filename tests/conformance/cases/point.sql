-- point: Debezium's io.debezium.data.geometry.Point struct {x, y, wkb (little-endian WKB, base64),
-- srid: null}, also through a domain; negative zero, huge and tiny coordinates, NaN/Infinity,
-- the NOT NULL fallback (a delete's old row: x = y = 0) and point[] (left out by Debezium).
-- @set skipped.operations=none

CREATE SCHEMA geo;
CREATE DOMAIN geo.place AS point;

CREATE TABLE geo.points (
    id     integer PRIMARY KEY,
    p      point,
    dp     geo.place,
    pa     point[]
);
CREATE TABLE geo.required (
    id     integer PRIMARY KEY,
    p      point NOT NULL
);
INSERT INTO geo.required VALUES (1, '(1,1)');

-- @changes

INSERT INTO geo.points VALUES
    (1, '(1.5,-2)', '(3,4)', '{"(1,2)"}'),
    (2, '(0,-0)', '(1e300,-1e-300)', '{}'),
    (3, '(NaN,Infinity)', '(-Infinity,0.1)', NULL),
    (4, '(123456789.123456789,0.30000000000000004)', NULL, NULL);
INSERT INTO geo.points (id) VALUES (5);
UPDATE geo.points SET p = '(7,8)' WHERE id = 1;
DELETE FROM geo.required WHERE id = 1;
