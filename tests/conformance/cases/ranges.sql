-- Range types: int4range, int8range, numrange, tsrange, tstzrange, daterange are strings in
-- PostgreSQL's (canonical) text form, arrays of them string arrays; empty and unbounded ranges,
-- inclusive/exclusive bounds, infinity. Multiranges have no converter (left out by default).
-- @set skipped.operations=none

CREATE SCHEMA rg;

CREATE TABLE rg.spans (
    id     integer PRIMARY KEY,
    r4     int4range,
    r8     int8range,
    rn     numrange,
    rts    tsrange,
    rtz    tstzrange,
    rd     daterange,
    r4a    int4range[],
    rda    daterange[],
    mr     int4multirange
);
CREATE TABLE rg.required (
    id     integer PRIMARY KEY,
    r4     int4range NOT NULL
);
INSERT INTO rg.required VALUES (1, '[1,2)');

-- @changes

SET TIME ZONE 'Asia/Kolkata';
INSERT INTO rg.spans VALUES
    (1, '[1,5)', '(,10]', '[1.5,2.50]', '[2024-01-01 10:00,2024-01-02 10:00:00.123456)',
     '[2024-01-01 10:00+02,infinity)', '[2024-01-01,2024-02-01]', '{"[1,5)",empty,"(,)"}',
     '{"[2024-01-01,2024-01-05)"}', '{[1,3),[5,7)}'),
    (2, 'empty', '(-9223372036854775808,9223372036854775807)', '(,)', '(-infinity,infinity)', 'empty',
     '(,2024-01-01]', '{}', '{NULL}', '{}'),
    (3, '(1,2]', '[5,5]', '[-1e-5,1e5]', '["2024-01-01 10:00","2024-01-01 10:00"]', '("2024-06-30 23:59:59.999999+00",)',
     '[infinity,infinity]', NULL, NULL, NULL);
INSERT INTO rg.spans (id) VALUES (4);
DELETE FROM rg.required WHERE id = 1;
