-- decimal.handling.mode=double: numeric and money become JSON doubles (Java's Double.toString
-- spelling: 1.0E20, 0.001, 1.0E-4, NaN/Infinity as quoted strings), including numeric arrays
-- and fallback values. Also: tombstones.on.delete=false (deletes emit no tombstone), and
-- -0.0, subnormal and extreme float4/float8 values.
-- @set decimal.handling.mode=double
-- @set tombstones.on.delete=false

CREATE SCHEMA dbl;

CREATE TABLE dbl.nums (
    id      integer PRIMARY KEY,
    n_fixed numeric(12,2),
    n_int   numeric(20),
    n_free  numeric,
    m       money,
    f4      real,
    f8      double precision
);

CREATE TABLE dbl.arrays (
    id  integer PRIMARY KEY,
    n   numeric[],
    n2  numeric(10,2)[]
);

CREATE TABLE dbl.not_null (
    id      integer PRIMARY KEY,
    n_fixed numeric(12,2) NOT NULL,
    n_free  numeric NOT NULL,
    m       money NOT NULL,
    f4      real NOT NULL,
    f8      double precision NOT NULL
);
INSERT INTO dbl.not_null VALUES (1, 1.5, 3.25, 4.5, 1, 2), (2, 0, 0, 0, 0, 0);

-- @changes

INSERT INTO dbl.nums VALUES
    (1, 1234567890.12, 12345678901234567890, 3.14159265358979323846, 1234.56, 3.25, 2.5),
    (2, -0.01, -1, -0.000000000000000000001, -0.01, '-0', '-0'),
    (3, 0, 0, 0, 0, 0, 0),
    (4, 0.1, 10000000, 0.001, 0.1, 1e7, 1e7),
    (5, 9999999.99, 9999999, 0.0001, 9999999.99, 9999999, 9999999.999999),
    (6, 0.5, 99999999999999999999, 1e20, 92233720368547758.07, 1e-45, 5e-324),
    (7, NULL, NULL, 'NaN', NULL, 'NaN', 'NaN'),
    (8, NULL, NULL, 'Infinity', NULL, 'Infinity', 'Infinity'),
    (9, NULL, NULL, '-Infinity', NULL, '-Infinity', '-Infinity'),
    (10, NULL, NULL, 123456789012345678901234567890.5, NULL, 3.4028235e38, 1.7976931348623157e308),
    (11, NULL, NULL, 0.30000000000000004, NULL, 0.3, 0.30000000000000004),
    (12, NULL, NULL, 2e-7, NULL, 1.0e-3, 9.999999999999999e22),
    (13, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO dbl.arrays VALUES
    (1, '{1.10,-3,0,1e20,0.0001}', '{1.1,-2.25,0}'),
    (2, '{NULL,255}', '{NULL}');

-- Deletes without tombstones; fallback values of NOT NULL columns.
DELETE FROM dbl.nums WHERE id = 3;
DELETE FROM dbl.not_null WHERE id = 1;
