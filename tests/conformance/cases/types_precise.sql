-- decimal.handling.mode=precise (Debezium's default): numeric(p,s) and numeric(p) become
-- org.apache.kafka.connect.data.Decimal (base64 of the unscaled value's minimal big-endian
-- two's-complement bytes, scale fixed by the column); unconstrained numeric becomes
-- VariableScaleDecimal {"scale": n, "value": base64} with trailing zeros stripped; money is a
-- Decimal of scale 2. Covers signs, zero, byte-length boundaries (127/128, -128/-129, ...),
-- values beyond 64 and 128 bits, NaN/±Infinity, NULL, numeric arrays, and fallback values of
-- NOT NULL numeric/money columns in a DEFAULT-identity delete.
-- @set decimal.handling.mode=precise

CREATE SCHEMA pr;

CREATE TABLE pr.nums (
    id      integer PRIMARY KEY,
    n_fixed numeric(12,2),
    n_int   numeric(20),
    n_wide  numeric(60,10),
    n_free  numeric,
    m       money
);

CREATE TABLE pr.arrays (
    id     integer PRIMARY KEY,
    n      numeric[],
    n2     numeric(10,2)[]
);

CREATE TABLE pr.not_null (
    id      integer PRIMARY KEY,
    n_fixed numeric(12,2) NOT NULL,
    n_int   numeric(20) NOT NULL,
    n_free  numeric NOT NULL,
    m       money NOT NULL
);
INSERT INTO pr.not_null VALUES (1, 1.5, 2, 3.25, 4.5);

-- @changes

INSERT INTO pr.nums VALUES
    (1, 1234567890.12, 12345678901234567890, 12345678901234567890123456789012345678901234567890.0123456789,
     3.14159265358979323846, 1234.56),
    (2, -0.01, -1, -0.0000000001, -12.500, -0.01),
    (3, 0, 0, 0, 0, 0),
    (4, 1.27, 127, 0.0000000127, 127, 1.27),
    (5, 1.28, 128, 0.0000000128, 128, 1.28),
    (6, -1.28, -128, -0.0000000128, -128, -1.28),
    (7, -1.29, -129, -0.0000000129, -129, -1.29),
    (8, 327.67, 32767, 0, 32768, 327.68),
    (9, -327.68, -32768, 0, -32769, -327.69),
    (10, 9999999999.99, 99999999999999999999, -99999999999999999999999999999999999999999999999999.9999999999,
     340282366920938463463374607431768211456, 92233720368547758.07),
    (11, -9999999999.99, -99999999999999999999, 0, -340282366920938463463374607431768211457, -92233720368547758.08),
    (12, NULL, NULL, NULL, 'NaN', NULL),
    (13, NULL, NULL, NULL, 'Infinity', NULL),
    (14, NULL, NULL, NULL, '-Infinity', NULL),
    (15, 0.5, 18446744073709551616, 1e-10, 1e20, 0.5),
    (16, NULL, NULL, NULL, 1.000, NULL),
    (17, NULL, NULL, NULL, 0.000100, NULL),
    (18, NULL, NULL, NULL, 255, NULL),
    (19, NULL, NULL, NULL, -256, NULL),
    (20, NULL, NULL, NULL, 1e-30, NULL);

INSERT INTO pr.nums (id) VALUES (21);

INSERT INTO pr.arrays VALUES
    (1, '{1.10,-3,0,1e20}', '{1.1,-2.25,0}'),
    (2, '{NULL,255}', '{NULL}'),
    (3, '{}', '{}');

-- Fallback values of NOT NULL numeric and money columns.
DELETE FROM pr.not_null WHERE id = 1;
