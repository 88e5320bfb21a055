-- Temporal types (scalars, arrays, NOT NULL fallbacks) with time.precision.mode=adaptive_time_microseconds.
-- Same SQL as the other time_* cases; only the mode differs.
-- @set time.precision.mode=adaptive_time_microseconds
-- @set skipped.operations=none

CREATE SCHEMA tm;

CREATE TABLE tm.times (
    id     integer PRIMARY KEY,
    d      date,
    t      time,
    t0     time(0),
    t3     time(3),
    t4     time(4),
    tz     timetz,
    tz3    timetz(3),
    ts     timestamp,
    ts0    timestamp(0),
    ts3    timestamp(3),
    ts4    timestamp(4),
    tstz   timestamptz,
    tstz0  timestamptz(0),
    tstz3  timestamptz(3),
    iv     interval
);

CREATE TABLE tm.arrays (
    id     integer PRIMARY KEY,
    d      date[],
    t      time[],
    t3     time(3)[],
    tz     timetz[],
    ts     timestamp[],
    ts3    timestamp(3)[],
    tstz   timestamptz[]
);

-- NOT NULL columns: a delete under REPLICA IDENTITY DEFAULT shows each mode's fallback values.
CREATE TABLE tm.required (
    id     integer PRIMARY KEY,
    d      date NOT NULL,
    t      time NOT NULL,
    t3     time(3) NOT NULL,
    tz     timetz NOT NULL,
    ts     timestamp NOT NULL,
    ts3    timestamp(3) NOT NULL,
    tstz   timestamptz NOT NULL,
    iv     interval NOT NULL,
    da     date[] NOT NULL
);
INSERT INTO tm.required VALUES (1, '2024-01-01', '12:00', '12:00', '12:00+01', '2024-01-01 12:00',
    '2024-01-01 12:00', '2024-01-01 12:00+00', '1 day', '{2024-01-01}');

-- @changes

SET TIME ZONE 'Europe/Berlin';

INSERT INTO tm.times VALUES
    (1, '2024-02-29', '13:45:10.123456', '13:45:10.123456', '13:45:10.123456', '13:45:10.123456',
     '13:45:10.123456+02', '13:45:10.123456+02', '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456',
     '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456+02',
     '2024-06-30 23:59:59.123456+02', '2024-06-30 23:59:59.123456+02', '1 year 2 months 3 days 04:05:06.789');
INSERT INTO tm.times VALUES
    (2, '1970-01-01', '00:00:00', '00:00:00', '00:00:00.1', '00:00:00.000001', '00:00:00+00', '12:00:00.5+05:45',
     '1970-01-01 00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00.1', '1970-01-01 00:00:00.000001',
     '1970-01-01 00:00:00+00', '1970-01-01 00:00:00+00', '1970-01-01 00:00:00.1+00', '0');
INSERT INTO tm.times VALUES
    (3, '1969-12-31', '23:59:59.999999', '23:59:59', '23:59:59.999', '23:59:59.9999', '23:59:59.999999-14:59',
     '23:59:59.999+00', '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59', '1969-12-31 23:59:59.999',
     '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00', '1969-12-31 23:59:59+00',
     '1969-12-31 23:59:59.999+00', '-1 year -2 months -3 days -04:05:06.789'),
    (4, '2000-01-01', '24:00:00', '24:00:00', '24:00:00', '24:00:00', '24:00:00+00', '00:00:00.001+00',
     '2000-02-29 12:00:00', '2000-02-29 12:00:00', '2000-02-29 12:00:00', '2000-02-29 12:00:00',
     '2000-02-29 12:00:00+00', '2000-02-29 12:00:00.4+00', '2000-02-29 12:00:00.05+00', '1 mon -1 day +02:03:04');
INSERT INTO tm.times (id, d, ts, ts3, tstz, tstz3, iv) VALUES
    (5, '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00.001', '0001-01-01 00:00:00+00',
     '0001-01-01 00:00:00.001+00', '100 days 100:00:00'),
    (6, '0044-03-15 BC', '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00.5 BC', '0044-03-15 12:00:00+00 BC',
     '0044-03-15 12:00:00.5+00 BC', '-1.5 months 2.5 days'),
    (7, '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999+00',
     '9999-12-31 23:59:59.999+00', '12.345678 seconds'),
    (8, '1582-10-04', '1582-10-04 10:00:00', '1582-10-15 10:00:00', '1582-10-04 10:00:00+00',
     '1582-10-15 10:00:00+00', '-0.000001 seconds'),
    (9, 'infinity', 'infinity', 'infinity', 'infinity', 'infinity', '178000000 years'),
    (10, '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '-178000000 years');
INSERT INTO tm.times (id) VALUES (11);

INSERT INTO tm.arrays VALUES
    (1, '{2024-02-29,1970-01-01,NULL}', '{13:45:10.123456,00:00:00,24:00:00}', '{13:45:10.123}',
     '{13:45:10.5+02,00:00:00+00}', '{"2024-06-30 23:59:59.123456","1969-12-31 23:59:59.999999"}',
     '{"2024-06-30 23:59:59.123"}', '{"2024-06-30 23:59:59.123456+02",NULL}'),
    (2, '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
    (3, '{0001-01-01,1582-10-04,1582-10-15}', '{00:00:00.999999}', '{23:59:59.999}', '{23:59:59.999-01}',
     '{"0001-01-01 00:00:00","1582-10-04 12:00:00"}', '{"1582-10-15 12:00:00.5"}', '{"0001-01-01 00:00:00+00"}');
INSERT INTO tm.arrays (id) VALUES (4);
INSERT INTO tm.arrays (id, d, ts, ts3, tstz) VALUES
    (5, '{infinity,-infinity}', '{infinity,-infinity}', '{infinity,-infinity}', '{infinity,-infinity}'),
    (6, '{0044-03-15 BC,1582-10-10}', '{"0044-03-15 12:00:00 BC","1582-10-10 00:00:00","1677-09-21 00:12:44"}',
     '{"1000-02-28 23:00:00"}', '{"0044-03-15 12:00:00+00 BC"}');

DELETE FROM tm.required WHERE id = 1;
