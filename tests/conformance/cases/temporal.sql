-- Temporal types with Debezium's default time.precision.mode=adaptive: date (epoch days), time
-- and timestamp (ms for precision <= 3, else µs), timetz/timestamptz (ISO strings in UTC; the
-- fraction width of timestamptz follows the column's precision), interval (MicroDuration: µs
-- with a month of 30.4375 days). Covers precisions 0..6, values before 1970 with fractions
-- (rounding direction), BC dates, 24:00:00, ±infinity and extreme offsets.
-- @set skipped.operations=none

CREATE SCHEMA tm;

CREATE TABLE tm.times (
    id     integer PRIMARY KEY,
    d      date,
    t      time,
    t0     time(0),
    t1     time(1),
    t3     time(3),
    t4     time(4),
    t6     time(6),
    tz     timetz,
    tz0    timetz(0),
    tz3    timetz(3),
    ts     timestamp,
    ts0    timestamp(0),
    ts1    timestamp(1),
    ts3    timestamp(3),
    ts4    timestamp(4),
    ts6    timestamp(6),
    tstz   timestamptz,
    tstz0  timestamptz(0),
    tstz1  timestamptz(1),
    tstz3  timestamptz(3),
    tstz4  timestamptz(4),
    iv     interval,
    iv_ym  interval year to month,
    iv_s3  interval second(3)
);

-- @changes

SET TIME ZONE 'Europe/Berlin';

-- Typical values with a full fraction (columns round it to their precision).
INSERT INTO tm.times VALUES
    (1, '2024-02-29', '13:45:10.123456', '13:45:10.123456', '13:45:10.123456', '13:45:10.123456',
     '13:45:10.123456', '13:45:10.123456', '13:45:10.123456+02', '13:45:10.123456+02',
     '13:45:10.123456+02', '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456',
     '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456',
     '2024-06-30 23:59:59.123456', '2024-06-30 23:59:59.123456+02', '2024-06-30 23:59:59.123456+02',
     '2024-06-30 23:59:59.123456+02', '2024-06-30 23:59:59.123456+02', '2024-06-30 23:59:59.123456+02',
     '1 year 2 months 3 days 04:05:06.789', '1 year 2 months', '12.345678 seconds');

-- Whole seconds, short fractions, the epoch and trailing zeros.
INSERT INTO tm.times VALUES
    (2, '1970-01-01', '00:00:00', '00:00:00', '00:00:00.5', '00:00:00.1', '00:00:00.01', '00:00:00.000001',
     '00:00:00+00', '12:00:00-05:30', '12:00:00.5+05:45', '1970-01-01 00:00:00', '1970-01-01 00:00:00',
     '1970-01-01 00:00:00.5', '1970-01-01 00:00:00.1', '1970-01-01 00:00:00.01', '1970-01-01 00:00:00.000001',
     '1970-01-01 00:00:00+00', '1970-01-01 00:00:00+00', '1970-01-01 00:00:00.5+00', '1970-01-01 00:00:00.1+00',
     '1970-01-01 00:00:00.01+00', '0', '0', '0');

-- Before the epoch with fractions; negative intervals; mixed signs.
INSERT INTO tm.times VALUES
    (3, '1969-12-31', '23:59:59.999999', '23:59:59', '23:59:59.9', '23:59:59.999', '23:59:59.9999',
     '23:59:59.999999', '23:59:59.999999-14:59', '00:00:00+14', '23:59:59.999+00', '1969-12-31 23:59:59.999999',
     '1969-12-31 23:59:59', '1969-12-31 23:59:59.9', '1969-12-31 23:59:59.999', '1969-12-31 23:59:59.9999',
     '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00', '1969-12-31 23:59:59+00',
     '1969-12-31 23:59:59.9+00', '1969-12-31 23:59:59.999+00', '1969-12-31 23:59:59.9999+00',
     '-1 year -2 months -3 days -04:05:06.789', '-1 month', '-0.000001 seconds'),
    (4, '2000-01-01', '24:00:00', '24:00:00', '24:00:00', '24:00:00', '24:00:00', '24:00:00',
     '24:00:00+00', '24:00:00-01', '00:00:00.001+00', '2000-02-29 12:00:00', '2000-02-29 12:00:00',
     '2000-02-29 12:00:00', '2000-02-29 12:00:00', '2000-02-29 12:00:00', '2000-02-29 12:00:00',
     '2000-02-29 12:00:00+00', '2000-02-29 12:00:00.4+00', '2000-02-29 12:00:00.05+00', '2000-02-29 12:00:00.12+00',
     '2000-02-29 12:00:00.1234+00', '1 mon -1 day +02:03:04', '11 months', '59.999 seconds');

-- Far dates: year 1, BC, year 9999 and beyond, ±infinity (dates and timestamps).
INSERT INTO tm.times (id, d, ts, ts3, tstz, tstz3, iv) VALUES
    (5, '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00.001', '0001-01-01 00:00:00+00',
     '0001-01-01 00:00:00.001+00', '178000000 years'),
    (6, '0044-03-15 BC', '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00.5 BC', '0044-03-15 12:00:00+00 BC',
     '0044-03-15 12:00:00.5+00 BC', '-178000000 years'),
    (7, '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999+00',
     '9999-12-31 23:59:59.999+00', '100 days 100:00:00'),
    (8, '12345-06-07', '12345-06-07 01:02:03', '12345-06-07 01:02:03', '12345-06-07 01:02:03+00',
     '12345-06-07 01:02:03+00', '1.5 months'),
    (9, 'infinity', 'infinity', 'infinity', 'infinity', 'infinity', '-1.5 months 2.5 days'),
    (10, '-infinity', '-infinity', '-infinity', '-infinity', '-infinity', '2147483647 days 596523:14:07.999999');

-- All NULL.
INSERT INTO tm.times (id) VALUES (11);

-- Fixed-width timestamptz fractions of whole seconds.
INSERT INTO tm.times (id, tstz, tstz1, tstz3, tstz4) VALUES
    (12, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00');
