//! Conformance with Debezium 3.6 on `temporal.sql` (every temporal type and precision, epoch
//! units, ISO strings, BC and far-future years, ±infinity, MicroDuration arithmetic) and
//! `arrays.sql` (array element encodings, NULL elements, empty arrays, java.sql.Time precision
//! of time[]/timetz[] elements, and the two Debezium failures Rivulet reproduces).

mod common;

use common::*;
use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use rivulet_core::{PgType, Value};
use rivulet_format::DecimalHandling;

const H: i64 = 3_600_000_000;

#[test]
fn temporal_case() {
    let p = |p: u8| Some(p);
    let times = table(
        "tm",
        "times",
        vec![
            req("id", PgType::Int4),
            col("d", PgType::Date),
            col("t", PgType::Time { precision: None }),
            col("t0", PgType::Time { precision: p(0) }),
            col("t1", PgType::Time { precision: p(1) }),
            col("t3", PgType::Time { precision: p(3) }),
            col("t4", PgType::Time { precision: p(4) }),
            col("t6", PgType::Time { precision: p(6) }),
            col("tz", PgType::TimeTz { precision: None }),
            col("tz0", PgType::TimeTz { precision: p(0) }),
            col("tz3", PgType::TimeTz { precision: p(3) }),
            col("ts", PgType::Timestamp { precision: None }),
            col("ts0", PgType::Timestamp { precision: p(0) }),
            col("ts1", PgType::Timestamp { precision: p(1) }),
            col("ts3", PgType::Timestamp { precision: p(3) }),
            col("ts4", PgType::Timestamp { precision: p(4) }),
            col("ts6", PgType::Timestamp { precision: p(6) }),
            col("tstz", PgType::TimestampTz { precision: None }),
            col("tstz0", PgType::TimestampTz { precision: p(0) }),
            col("tstz1", PgType::TimestampTz { precision: p(1) }),
            col("tstz3", PgType::TimestampTz { precision: p(3) }),
            col("tstz4", PgType::TimestampTz { precision: p(4) }),
            col("iv", PgType::Interval),
            col("iv_ym", PgType::Interval),
            col("iv_s3", PgType::Interval),
        ],
        &["id"],
    );
    // Values as PostgreSQL stores them: rounded to each column's precision.
    let rounded = |us: i64| -> [i64; 5] {
        [
            0,
            us / 100_000 * 100_000,
            us / 1000 * 1000,
            (us + 50) / 100 * 100,
            us,
        ]
    };
    let row1 = {
        let [t0, t1, t3, t4, t6] = rounded(123_456).map(|f| tod(13, 45, 10, f));
        let [s0, s1, s3, s4, s6] = rounded(123_456).map(|f| micros(2024, 6, 30, 23, 59, 59, f));
        let [z0, z1, z3, z4, z6] = rounded(123_456).map(|f| micros(2024, 6, 30, 21, 59, 59, f));
        vec![
            i4(1),
            date(2024, 2, 29),
            Value::Time(t6),
            Value::Time(t0),
            Value::Time(t1),
            Value::Time(t3),
            Value::Time(t4),
            Value::Time(t6),
            timetz(13, 45, 10, 123_456, 7200),
            timetz(13, 45, 10, 0, 7200),
            timetz(13, 45, 10, 123_000, 7200),
            Value::Timestamp(s6),
            Value::Timestamp(s0),
            Value::Timestamp(s1),
            Value::Timestamp(s3),
            Value::Timestamp(s4),
            Value::Timestamp(s6),
            Value::TimestampTz(z6),
            Value::TimestampTz(z0),
            Value::TimestampTz(z1),
            Value::TimestampTz(z3),
            Value::TimestampTz(z4),
            interval(14, 3, tod(4, 5, 6, 789_000)),
            interval(14, 0, 0),
            interval(0, 0, 12_346_000),
        ]
    };
    let epoch = |us| micros(1970, 1, 1, 0, 0, 0, us);
    let row2 = vec![
        i4(2),
        date(1970, 1, 1),
        time(0, 0, 0, 0),
        time(0, 0, 0, 0),
        time(0, 0, 0, 500_000),
        time(0, 0, 0, 100_000),
        time(0, 0, 0, 10_000),
        time(0, 0, 0, 1),
        timetz(0, 0, 0, 0, 0),
        timetz(12, 0, 0, 0, -(5 * 3600 + 30 * 60)),
        timetz(12, 0, 0, 500_000, 5 * 3600 + 45 * 60),
        Value::Timestamp(epoch(0)),
        Value::Timestamp(epoch(0)),
        Value::Timestamp(epoch(500_000)),
        Value::Timestamp(epoch(100_000)),
        Value::Timestamp(epoch(10_000)),
        Value::Timestamp(epoch(1)),
        Value::TimestampTz(epoch(0)),
        Value::TimestampTz(epoch(0)),
        Value::TimestampTz(epoch(500_000)),
        Value::TimestampTz(epoch(100_000)),
        Value::TimestampTz(epoch(10_000)),
        interval(0, 0, 0),
        interval(0, 0, 0),
        interval(0, 0, 0),
    ];
    let eve = |s, us| micros(1969, 12, 31, 23, 59, s, us);
    let row3 = vec![
        i4(3),
        date(1969, 12, 31),
        time(23, 59, 59, 999_999),
        time(23, 59, 59, 0),
        time(23, 59, 59, 900_000),
        time(23, 59, 59, 999_000),
        time(23, 59, 59, 999_900),
        time(23, 59, 59, 999_999),
        timetz(23, 59, 59, 999_999, -(14 * 3600 + 59 * 60)),
        timetz(0, 0, 0, 0, 14 * 3600),
        timetz(23, 59, 59, 999_000, 0),
        Value::Timestamp(eve(59, 999_999)),
        Value::Timestamp(eve(59, 0)),
        Value::Timestamp(eve(59, 900_000)),
        Value::Timestamp(eve(59, 999_000)),
        Value::Timestamp(eve(59, 999_900)),
        ts(1900, 1, 1, 0, 0, 0, 1),
        Value::TimestampTz(eve(59, 999_999)),
        Value::TimestampTz(eve(59, 0)),
        Value::TimestampTz(eve(59, 900_000)),
        Value::TimestampTz(eve(59, 999_000)),
        Value::TimestampTz(eve(59, 999_900)),
        interval(-14, -3, -tod(4, 5, 6, 789_000)),
        interval(-1, 0, 0),
        interval(0, 0, 0),
    ];
    let leap = |us| micros(2000, 2, 29, 12, 0, 0, us);
    let row4 = vec![
        i4(4),
        date(2000, 1, 1),
        time(24, 0, 0, 0),
        time(24, 0, 0, 0),
        time(24, 0, 0, 0),
        time(24, 0, 0, 0),
        time(24, 0, 0, 0),
        time(24, 0, 0, 0),
        timetz(24, 0, 0, 0, 0),
        timetz(24, 0, 0, 0, -3600),
        timetz(0, 0, 0, 1000, 0),
        Value::Timestamp(leap(0)),
        Value::Timestamp(leap(0)),
        Value::Timestamp(leap(0)),
        Value::Timestamp(leap(0)),
        Value::Timestamp(leap(0)),
        Value::Timestamp(leap(0)),
        Value::TimestampTz(leap(0)),
        Value::TimestampTz(leap(0)),
        Value::TimestampTz(leap(100_000)),
        Value::TimestampTz(leap(120_000)),
        Value::TimestampTz(leap(123_400)),
        interval(1, -1, tod(2, 3, 4, 0)),
        interval(11, 0, 0),
        interval(0, 0, 59_999_000),
    ];
    let far = |id: i32, d: Value, ts: Value, ts3: Value, tstz: Value, tstz3: Value, iv: Value| {
        sparse(
            &times,
            &[
                ("id", i4(id)),
                ("d", d),
                ("ts", ts),
                ("ts3", ts3),
                ("tstz", tstz),
                ("tstz3", tstz3),
                ("iv", iv),
            ],
        )
    };
    let events = vec![
        insert(&times, row1),
        insert(&times, row2),
        insert(&times, row3),
        insert(&times, row4),
        insert(
            &times,
            far(
                5,
                date(1, 1, 1),
                ts(1, 1, 1, 0, 0, 0, 0),
                ts(1, 1, 1, 0, 0, 0, 1000),
                tstz(1, 1, 1, 0, 0, 0, 0),
                tstz(1, 1, 1, 0, 0, 0, 1000),
                interval(178_000_000 * 12, 0, 0),
            ),
        ),
        insert(
            &times,
            far(
                6,
                date(-43, 3, 15),
                ts(-43, 3, 15, 12, 0, 0, 0),
                ts(-43, 3, 15, 12, 0, 0, 500_000),
                tstz(-43, 3, 15, 12, 0, 0, 0),
                tstz(-43, 3, 15, 12, 0, 0, 500_000),
                interval(-178_000_000 * 12, 0, 0),
            ),
        ),
        insert(
            &times,
            far(
                7,
                date(9999, 12, 31),
                ts(9999, 12, 31, 23, 59, 59, 999_999),
                ts(9999, 12, 31, 23, 59, 59, 999_000),
                tstz(9999, 12, 31, 23, 59, 59, 999_999),
                tstz(9999, 12, 31, 23, 59, 59, 999_000),
                interval(0, 100, 100 * H),
            ),
        ),
        insert(
            &times,
            far(
                8,
                date(12345, 6, 7),
                ts(12345, 6, 7, 1, 2, 3, 0),
                ts(12345, 6, 7, 1, 2, 3, 0),
                tstz(12345, 6, 7, 1, 2, 3, 0),
                tstz(12345, 6, 7, 1, 2, 3, 0),
                interval(1, 15, 0),
            ),
        ),
        insert(
            &times,
            far(
                9,
                Value::Date(DATE_INFINITY),
                Value::Timestamp(TIMESTAMP_INFINITY),
                Value::Timestamp(TIMESTAMP_INFINITY),
                Value::TimestampTz(TIMESTAMP_INFINITY),
                Value::TimestampTz(TIMESTAMP_INFINITY),
                interval(-1, -13, 12 * H),
            ),
        ),
        insert(
            &times,
            far(
                10,
                Value::Date(DATE_NEG_INFINITY),
                Value::Timestamp(TIMESTAMP_NEG_INFINITY),
                Value::Timestamp(TIMESTAMP_NEG_INFINITY),
                Value::TimestampTz(TIMESTAMP_NEG_INFINITY),
                Value::TimestampTz(TIMESTAMP_NEG_INFINITY),
                interval(0, i32::MAX, tod(596_523, 14, 7, 999_999)),
            ),
        ),
        insert(&times, sparse(&times, &[("id", i4(11))])),
        insert(&times, {
            let new_year = tstz(2024, 1, 1, 0, 0, 0, 0);
            sparse(
                &times,
                &[
                    ("id", i4(12)),
                    ("tstz", new_year.clone()),
                    ("tstz1", new_year.clone()),
                    ("tstz3", new_year.clone()),
                    ("tstz4", new_year),
                ],
            )
        }),
    ];
    assert_conforms("temporal", settings(DecimalHandling::Precise), &events);
}

#[test]
fn arrays_case() {
    let items = table(
        "arr",
        "items",
        vec![
            req("id", PgType::Int4),
            col("i2", array(PgType::Int2)),
            col("i4", array(PgType::Int4)),
            col("i8", array(PgType::Int8)),
            col("f4", array(PgType::Float4)),
            col("f8", array(PgType::Float8)),
            col("n", array(numeric_free())),
            col("n2", array(numeric(10, 2))),
            col("b", array(PgType::Bool)),
            col("t", array(PgType::Text)),
            col("vc", array(PgType::Varchar { length: Some(5) })),
            col("c3", array(PgType::Char { length: Some(3) })),
            col("d", array(PgType::Date)),
            col("tm", array(PgType::Time { precision: None })),
            col("tm3", array(PgType::Time { precision: Some(3) })),
            col("ttz", array(PgType::TimeTz { precision: None })),
            col("ts", array(PgType::Timestamp { precision: None })),
            col("ts3", array(PgType::Timestamp { precision: Some(3) })),
            col("tstz", array(PgType::TimestampTz { precision: None })),
            col("u", array(PgType::Uuid)),
            col("js", array(PgType::Json)),
            col("jb", array(PgType::Jsonb)),
            col("raw", array(PgType::Bytea)),
            col("ip", array(PgType::Inet)),
            col("net", array(PgType::Cidr)),
            col("mac", array(PgType::MacAddr)),
            col("o", array(PgType::Oid)),
            col(
                "colors",
                array(PgType::Enum {
                    name: "arr.color".into(),
                }),
            ),
            col(
                "r",
                array(PgType::Range {
                    name: "int4range".into(),
                }),
            ),
        ],
        &["id"],
    );
    let texts = |items: &[&str]| arr(items.iter().map(|s| t(s)).collect());
    let row1 = vec![
        i4(1),
        arr(vec![i2(1), i2(-2), i2(32767)]),
        arr(vec![i4(1), i4(2), i4(3)]),
        arr(vec![i8(i64::MAX), i8(-1)]),
        arr(vec![f4(1.5), f4(-0.25), f4(f32::NAN)]),
        arr(vec![f8(2.5), f8(1e300), f8(f64::NEG_INFINITY)]),
        // Debezium cannot read a numeric[] holding NaN: the column is null.
        arr(vec![num("1.10"), num("NaN"), num("-3")]),
        arr(vec![num("1.10"), num("2.25")]),
        arr(vec![b(true), b(false)]),
        texts(&["x", "y z", "with \"quotes\"", "back\\slash", "NULL"]),
        texts(&["ab", "abcde"]),
        texts(&["a  ", "abc"]),
        arr(vec![date(2024, 2, 29), date(1970, 1, 1)]),
        arr(vec![time(13, 45, 10, 123_456), time(0, 0, 0, 0)]),
        arr(vec![time(13, 45, 10, 123_000)]),
        arr(vec![timetz(13, 45, 10, 0, 7200)]),
        arr(vec![ts(2024, 6, 30, 23, 59, 59, 123_456)]),
        arr(vec![ts(2024, 6, 30, 23, 59, 59, 123_000)]),
        arr(vec![tstz(2024, 6, 30, 21, 59, 59, 123_456)]),
        texts(&["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
        texts(&[r#"{"a": 1}"#, "[1, 2]"]),
        texts(&[r#"{"a": 1, "b": 2}"#]),
        arr(vec![hex("deadbeef"), bytes(b"")]),
        texts(&["192.168.0.1/24", "::1"]),
        texts(&["10.0.0.0/8"]),
        texts(&["08:00:2b:01:02:03"]),
        arr(vec![i8(1), i8(4_000_000_000)]),
        texts(&["red", "blue"]),
        texts(&["[1,5)", "empty"]),
    ];
    let e = || arr(vec![]);
    let n = || arr(vec![null()]);
    let row2 = vec![
        i4(2),
        arr(vec![null(), i2(1)]),
        n(),
        e(),
        arr(vec![null(), f4(1.0)]),
        n(),
        arr(vec![null(), num("1")]),
        n(),
        arr(vec![null(), b(true)]),
        arr(vec![null(), t("")]),
        e(),
        n(),
        n(),
        n(),
        e(),
        e(),
        n(),
        e(),
        n(),
        n(),
        n(),
        n(),
        n(),
        n(),
        e(),
        e(),
        n(),
        // Debezium rejects a NULL element of an enum array: the column is null.
        arr(vec![null(), t("green")]),
        e(),
    ];
    let events = vec![
        insert(&items, row1),
        insert(&items, row2),
        insert(
            &items,
            sparse(
                &items,
                &[
                    ("id", i4(3)),
                    ("tm", arr(vec![time(0, 0, 0, 999_999), time(23, 59, 59, 999_900)])),
                    ("tm3", arr(vec![time(0, 0, 0, 999_000)])),
                    (
                        "ttz",
                        arr(vec![
                            timetz(0, 0, 0, 500_000, 0),
                            timetz(23, 59, 59, 999_000, -3600),
                        ]),
                    ),
                ],
            ),
        ),
        insert(&items, sparse(&items, &[("id", i4(4))])),
    ];
    assert_conforms("arrays", settings(DecimalHandling::String), &events);
}
