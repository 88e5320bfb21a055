-- interval.handling.mode=string: intervals as ISO-8601 durations (PnYnMnDTnHnMnS), built from
-- pgjdbc's PGInterval fields (years, months, days, hours, minutes, seconds as a double), with
-- mixed signs, fractions, zero, extremes and the NOT NULL fallback (a delete's old row).
-- @set interval.handling.mode=string
-- @set skipped.operations=none

CREATE SCHEMA ivs;

CREATE TABLE ivs.spans (
    id     integer PRIMARY KEY,
    iv     interval,
    iv_ym  interval year to month,
    iv_s3  interval second(3)
);

CREATE TABLE ivs.required (
    id     integer PRIMARY KEY,
    iv     interval NOT NULL
);
INSERT INTO ivs.required VALUES (1, '1 day');

-- @changes

INSERT INTO ivs.spans VALUES
    (1, '1 year 2 months 3 days 04:05:06.789', '1 year 2 months', '12.345678 seconds'),
    (2, '0', '0', '0'),
    (3, '-1 year -2 months -3 days -04:05:06.789', '-1 month', '-0.000001 seconds'),
    (4, '1 mon -1 day +02:03:04', '11 months', '59.999 seconds'),
    (5, '100 days 100:00:00', '25 years', '0.5 seconds'),
    (6, '-1.5 months 2.5 days', '-3 years -1 month', '1 minute'),
    (7, '2147483647 days 596523:14:07.999999', '178000000 years', '-12:00:00'),
    (8, '00:00:00.000001', '1 year', '00:00:01'),
    (9, '-00:00:01.5', '-1 year', '00:01:00.001');
INSERT INTO ivs.spans (id) VALUES (10);
DELETE FROM ivs.required WHERE id = 1;
