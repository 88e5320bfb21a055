//! The text parsers against a real PostgreSQL 15: the server prints values with `x::text` (what
//! pgoutput sends) next to a server-computed truth (epoch microseconds, day numbers, interval
//! fields, IEEE bits), over thousands of generated values including BC and far-future ones.

// Test helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use rivulet_core::{Numeric, PgType, Value};
use rivulet_pgoutput::{builtin_type, parse_text};
use rivulet_testkit::PgCluster;

mod fixture;

use fixture::unhex;

/// The session settings Rivulet's replication connection uses.
const SESSION: &str = "SET DateStyle='ISO'; SET IntervalStyle='postgres'; SET TimeZone='UTC'; \
                       SET extra_float_digits=3; SET bytea_output='hex'; SET lc_monetary='C'; \
                       SELECT setseed(0.4242);";

/// Runs `sql` after the session settings (and `extra`), returning rows of `|`-separated fields.
/// Queries hex-encode their text outputs so no value can break the row format.
fn rows(pg: &PgCluster, extra: &str, sql: &str) -> Vec<Vec<String>> {
    let out = pg.psql_script(&format!("{SESSION}\n{extra}\n{sql}"));
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// A server-computed exact integer, printed by numeric as `123` or `123.000000`.
fn int(s: &str) -> i128 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.bytes().all(|b| b == b'0'), "not an integer: {s}");
    whole.parse().unwrap()
}

/// Text to hex, the way every query below prints values.
const HEX: &str = "encode(convert_to(v::text, 'UTF8'), 'hex')";

#[test]
fn timestamps_and_dates_match_the_server() {
    let pg = PgCluster::start();
    // Uniform over PostgreSQL's whole range, then dense around BC, year 1, 1970 and leap days.
    let sources = "
        WITH bounds AS (SELECT date '4714-11-24 BC' - date '2000-01-01' AS lo,
                               date '294276-12-30' - date '2000-01-01' AS hi),
        days AS (
            SELECT (lo + floor(random() * (hi - lo)))::int AS d FROM bounds, generate_series(1, 6000)
            UNION ALL
            SELECT (-2451545 + floor(random() * (2451545 + 400000)))::int FROM generate_series(1, 6000)
            UNION ALL
            SELECT g FROM generate_series(date '0002-11-20 BC' - date '2000-01-01',
                                          date '0002-02-10' - date '2000-01-01', 3) g
            UNION ALL
            SELECT g FROM generate_series(-10960, -10950) g
            UNION ALL
            SELECT (lo + g)::int FROM bounds, generate_series(0, 400) g
            UNION ALL
            SELECT (hi - g)::int FROM bounds, generate_series(0, 40) g
        )";
    let sql = format!(
        "{sources},
        vals AS (SELECT timestamp '2000-01-01' + make_interval(days => d)
                        + make_interval(secs => floor(random() * 86400000000) / 1000000.0) AS v,
                        date '2000-01-01' + d AS dv FROM days)
        SELECT {HEX}, (extract(epoch FROM v) * 1000000)::numeric(40, 0),
               encode(convert_to(dv::text, 'UTF8'), 'hex'), dv - date '1970-01-01',
               encode(convert_to(v::timestamptz::text, 'UTF8'), 'hex')
        FROM vals"
    );
    let ts = PgType::Timestamp { precision: None };
    let tstz = PgType::TimestampTz { precision: None };
    let mut overflowed = 0;
    let generated = rows(&pg, "", &sql);
    assert!(generated.len() > 12_000, "{}", generated.len());
    for r in &generated {
        let text = unhex(&r[0]);
        let truth = int(&r[1]);
        let parsed = parse_text(&ts, &text);
        let parsed_tz = parse_text(&tstz, &unhex(&r[4]));
        match i64::try_from(truth) {
            Ok(t) if t != i64::MAX && t != i64::MIN => {
                assert_eq!(
                    parsed.unwrap(),
                    Value::Timestamp(t),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
                assert_eq!(
                    parsed_tz.unwrap(),
                    Value::TimestampTz(t),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
            _ => {
                overflowed += 1;
                assert!(
                    parsed.is_err() && parsed_tz.is_err(),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        let date_text = unhex(&r[2]);
        let days: i32 = r[3].parse().unwrap();
        assert_eq!(
            parse_text(&PgType::Date, &date_text).unwrap(),
            Value::Date(days),
            "{r:?}"
        );
    }
    // The last ~30 years of PostgreSQL's range do not fit i64 microseconds since 1970.
    assert!(overflowed > 0);

    let specials = rows(
        &pg,
        "",
        "SELECT 'infinity'::timestamp::text, '-infinity'::timestamptz::text, 'infinity'::date::text,
                '-infinity'::date::text",
    );
    let s = &specials[0];
    assert_eq!(
        parse_text(&ts, s[0].as_bytes()).unwrap(),
        Value::Timestamp(TIMESTAMP_INFINITY)
    );
    assert_eq!(
        parse_text(&tstz, s[1].as_bytes()).unwrap(),
        Value::TimestampTz(TIMESTAMP_NEG_INFINITY)
    );
    assert_eq!(
        parse_text(&PgType::Date, s[2].as_bytes()).unwrap(),
        Value::Date(DATE_INFINITY)
    );
    assert_eq!(
        parse_text(&PgType::Date, s[3].as_bytes()).unwrap(),
        Value::Date(DATE_NEG_INFINITY)
    );
}

#[test]
fn timestamptz_in_zones_with_odd_offsets() {
    let pg = PgCluster::start();
    let tstz = PgType::TimestampTz { precision: None };
    let mut seen_seconds_offset = false;
    let mut seen_half_hour = false;
    // Historical local mean times have offsets with seconds (Amsterdam +00:19:32 until 1937).
    for zone in [
        "Asia/Kolkata",
        "America/St_Johns",
        "Europe/Amsterdam",
        "Pacific/Chatham",
        "America/Caracas",
    ] {
        let sql = format!(
            "WITH vals AS (
                SELECT timestamptz '1800-01-01 00:00:00+00'
                       + make_interval(days => floor(random() * 90000)::int)
                       + make_interval(secs => floor(random() * 86400000000) / 1000000.0) AS v
                FROM generate_series(1, 1500)
                UNION ALL SELECT timestamptz '0100-06-01 12:00:00+00 BC'
            )
            SELECT {HEX}, (extract(epoch FROM v) * 1000000)::numeric(40, 0) FROM vals"
        );
        for r in rows(&pg, &format!("SET TimeZone = '{zone}';"), &sql) {
            let text = unhex(&r[0]);
            let s = String::from_utf8_lossy(&text).into_owned();
            let offset = &s[s.rfind(['+', '-']).unwrap()..];
            seen_seconds_offset |= offset.matches(':').count() == 2;
            seen_half_hour |= offset.ends_with(":30");
            let truth = i64::try_from(int(&r[1])).unwrap();
            assert_eq!(
                parse_text(&tstz, &text).unwrap(),
                Value::TimestampTz(truth),
                "{zone}: {s}"
            );
        }
    }
    assert!(seen_seconds_offset && seen_half_hour);
}

#[test]
fn times_and_intervals_match_the_server() {
    let pg = PgCluster::start();
    let time = PgType::Time { precision: None };
    let timetz = PgType::TimeTz { precision: None };
    let sql = format!(
        "WITH vals AS (
            SELECT time '00:00' + make_interval(secs => floor(random() * 86400000000) / 1000000.0) AS v,
                   (floor(random() * 115199) - 57599)::int AS off
            FROM generate_series(1, 3000)
            UNION ALL SELECT time '24:00:00', 0
            UNION ALL SELECT time '23:59:59.999999', -57599
        ),
        tz AS (SELECT v, (v::text || CASE WHEN off < 0 THEN '-' ELSE '+' END
                         || to_char(make_interval(secs => abs(off)), 'HH24:MI:SS'))::timetz AS z
               FROM vals)
        SELECT {HEX}, (extract(epoch FROM v) * 1000000)::numeric(20, 0),
               encode(convert_to(z::text, 'UTF8'), 'hex'), (extract(epoch FROM z::time) * 1000000)::numeric(20, 0),
               extract(timezone FROM z)
        FROM tz"
    );
    for r in rows(&pg, "", &sql) {
        let truth = i64::try_from(int(&r[1])).unwrap();
        assert_eq!(
            parse_text(&time, &unhex(&r[0])).unwrap(),
            Value::Time(truth),
            "{r:?}"
        );
        let micros = i64::try_from(int(&r[3])).unwrap();
        let offset_seconds = i32::try_from(int(&r[4])).unwrap();
        assert_eq!(
            parse_text(&timetz, &unhex(&r[2])).unwrap(),
            Value::TimeTz {
                micros,
                offset_seconds
            },
            "{}",
            String::from_utf8_lossy(&unhex(&r[2]))
        );
    }

    // Mixed signs per field, huge and tiny magnitudes, fractional seconds.
    let sql = format!(
        "WITH vals AS (
            SELECT make_interval(
                     years => (floor(random() * 3) - 1)::int * (floor(random() * power(10, floor(random() * 7))))::int,
                     months => (floor(random() * 40) - 20)::int,
                     days => (floor(random() * 3) - 1)::int * (floor(random() * power(10, floor(random() * 8))))::int,
                     hours => (floor(random() * 3) - 1)::int * (floor(random() * power(10, floor(random() * 7))))::int,
                     mins => (floor(random() * 200) - 100)::int,
                     secs => (floor(random() * 200000000) - 100000000) / 1000000.0) AS v
            FROM generate_series(1, 5000)
            UNION ALL SELECT interval '0'
            UNION ALL SELECT interval '178000000 years'
            UNION ALL SELECT interval '-178956970 years -8 mons -2147483648 days'
                             + (interval '-2562047788:00:54.775807' - interval '0.000001 sec')
            UNION ALL SELECT interval '178956970 years 7 mons 2147483647 days 2562047788:00:54.775807'
            UNION ALL SELECT interval '-1 day +02:03:00'
            UNION ALL SELECT interval '-0.5 sec'
            UNION ALL SELECT interval '1 mon -1 sec'
        )
        SELECT {HEX}, extract(year FROM v) * 12 + extract(month FROM v), extract(day FROM v),
               extract(hour FROM v) * 3600000000 + extract(minute FROM v) * 60000000
                 + extract(microseconds FROM v)
        FROM vals"
    );
    let generated = rows(&pg, "", &sql);
    assert!(generated.len() > 5000);
    for r in generated {
        let text = unhex(&r[0]);
        let expected = Value::Interval {
            months: i32::try_from(int(&r[1])).unwrap(),
            days: i32::try_from(int(&r[2])).unwrap(),
            micros: i64::try_from(int(&r[3])).unwrap(),
        };
        assert_eq!(
            parse_text(&PgType::Interval, &text).unwrap(),
            expected,
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
}

#[test]
fn numbers_match_the_server() {
    let pg = PgCluster::start();
    // Floats: compare IEEE bits (float8send/float4send are big-endian).
    let sql = "WITH vals AS (
            SELECT ((random() - 0.5) * power(10::float8, floor(random() * 600) - 300))::float8 AS v
            FROM generate_series(1, 5000)
            UNION ALL SELECT unnest(ARRAY['NaN', 'Infinity', '-Infinity', '-0', '0', '4.9e-324', '2.2250738585072014e-308',
                                          '1.7976931348623157e308', '0.1', '1e23', '123456789012345678']::float8[])
        )
        SELECT v::text, encode(float8send(v), 'hex') FROM vals";
    for r in rows(&pg, "", sql) {
        let bits = u64::from_str_radix(&r[1], 16).unwrap();
        match parse_text(&PgType::Float8, r[0].as_bytes()).unwrap() {
            Value::Float64(f) => assert!(
                f.to_bits() == bits || (f.is_nan() && f64::from_bits(bits).is_nan()),
                "{r:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
    let sql = "WITH vals AS (
            SELECT ((random() - 0.5) * power(10::float8, floor(random() * 70) - 35))::float4 AS v
            FROM generate_series(1, 5000)
            UNION ALL SELECT unnest(ARRAY['NaN', 'Infinity', '-Infinity', '-0', '1e-45', '1.17549435e-38',
                                          '3.4028235e38', '0.1', '16777217']::float4[])
        )
        SELECT v::text, encode(float4send(v), 'hex') FROM vals";
    for r in rows(&pg, "", sql) {
        let bits = u32::from_str_radix(&r[1], 16).unwrap();
        match parse_text(&PgType::Float4, r[0].as_bytes()).unwrap() {
            Value::Float32(f) => assert!(
                f.to_bits() == bits || (f.is_nan() && f32::from_bits(bits).is_nan()),
                "{r:?}"
            ),
            other => panic!("{other:?}"),
        }
    }

    // Integers at their limits.
    let r = &rows(
        &pg,
        "",
        "SELECT (-32768)::int2, 2147483647::int4, (-9223372036854775808)::int8, 4294967295::oid, '4294967295'::xid",
    )[0];
    assert_eq!(
        parse_text(&PgType::Int2, r[0].as_bytes()).unwrap(),
        Value::Int16(i16::MIN)
    );
    assert_eq!(
        parse_text(&PgType::Int4, r[1].as_bytes()).unwrap(),
        Value::Int32(i32::MAX)
    );
    assert_eq!(
        parse_text(&PgType::Int8, r[2].as_bytes()).unwrap(),
        Value::Int64(i64::MIN)
    );
    assert_eq!(
        parse_text(&PgType::Oid, r[3].as_bytes()).unwrap(),
        Value::Int64(4_294_967_295)
    );
    // xid has no Debezium converter: its text is kept as it is.
    assert_eq!(
        parse_text(&builtin_type(28, -1).unwrap(), r[4].as_bytes()).unwrap(),
        Value::Text("4294967295".into())
    );

    // numeric keeps its text; the scale matches the server's.
    let sql = "WITH vals AS (
            SELECT round(((random() - 0.5) * power(10::numeric, floor(random() * 40)::int - 10))::numeric,
                         floor(random() * 20)::int) AS v FROM generate_series(1, 2000)
            UNION ALL SELECT unnest(ARRAY['NaN', 'Infinity', '-Infinity', '0.0000000000', '-0.01',
                                          '1234567890.12', '1e-100', '-1e100']::numeric[])
        )
        SELECT v::text, scale(v) FROM vals";
    let numeric = PgType::Numeric {
        precision: None,
        scale: None,
    };
    for r in rows(&pg, "", sql) {
        let n = parse_text(&numeric, r[0].as_bytes()).unwrap();
        match (r[0].as_str(), &n) {
            ("NaN", Value::Numeric(Numeric::NaN))
            | ("Infinity", Value::Numeric(Numeric::Infinity))
            | ("-Infinity", Value::Numeric(Numeric::NegInfinity)) => continue,
            (text, Value::Numeric(n @ Numeric::Finite(s))) => {
                assert_eq!(s, text);
                assert_eq!(n.scale().to_string(), r[1]);
            }
            _ => panic!("{r:?} -> {n:?}"),
        }
    }
    // money: only values inside its range (the server refuses others).
    let sql = "SELECT v::text, v::numeric::text FROM (
            SELECT round(((random() - 0.5) * power(10::numeric, floor(random() * 19)::int - 2))::numeric, 2)::money AS v
            FROM generate_series(1, 2000)
            UNION ALL SELECT unnest(ARRAY['0', '-0.01', '92233720368547758.07', '-92233720368547758.08']::money[])
        ) s";
    for r in rows(&pg, "", sql) {
        assert_eq!(
            parse_text(&PgType::Money, r[0].as_bytes()).unwrap(),
            Value::Numeric(Numeric::Finite(r[1].clone())),
            "{r:?}"
        );
    }
}

#[test]
fn bytea_in_both_output_formats() {
    let pg = PgCluster::start();
    let sql = "WITH vals AS (
            SELECT decode(string_agg(lpad(to_hex(floor(random() * 256)::int), 2, '0'), ''), 'hex') AS v
            FROM generate_series(1, 300) g, generate_series(1, 40) n WHERE n <= g % 41 GROUP BY g
            UNION ALL SELECT ''::bytea
            UNION ALL SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), ''), 'hex') FROM generate_series(0, 255) b
        )
        SELECT encode(convert_to(v::text, 'UTF8'), 'hex'), encode(v, 'hex') FROM vals";
    for extra in ["", "SET bytea_output = 'escape';"] {
        let generated = rows(&pg, extra, sql);
        assert!(generated.len() > 250);
        for r in generated {
            let truth = unhex(r.get(1).map_or("", String::as_str));
            assert_eq!(
                parse_text(&PgType::Bytea, &unhex(&r[0])).unwrap(),
                Value::Bytes(truth),
                "{extra}"
            );
        }
    }
}

/// Tricky strings for array quoting, with the SQL that spells them.
const STRINGS: &[&str] = &[
    "",
    "NULL",
    "null",
    "a b",
    " lead",
    "trail ",
    "quo\"te",
    "back\\slash",
    "{brace}",
    "com,ma",
    "semi;colon",
    "ünï cödé",
    "tab\there",
    "new\nline",
    "\\\"",
    "plain",
    "x\x0by",
    "\u{1F600}",
];

fn sql_literal(s: &str) -> String {
    format!("$q${s}$q$")
}

#[test]
fn arrays_match_the_server() {
    let pg = PgCluster::start();
    let texts = PgType::Array(Box::new(PgType::Text));
    let elems: Vec<String> = STRINGS.iter().map(|s| sql_literal(s)).collect();
    let sql = format!(
        "SELECT encode(convert_to(ARRAY[{}, NULL]::text[]::text, 'UTF8'), 'hex'),
                encode(convert_to(ARRAY[ARRAY[{}], ARRAY[{}]]::text[]::text, 'UTF8'), 'hex')",
        elems.join(", "),
        elems[..3].join(", "),
        elems[3..6].join(", "),
    );
    let r = &rows(&pg, "", &sql)[0];
    let mut expected: Vec<Value> = STRINGS.iter().map(|s| Value::Text((*s).to_string())).collect();
    expected.push(Value::Null);
    assert_eq!(parse_text(&texts, &unhex(&r[0])).unwrap(), Value::Array(expected));
    let row = |i: usize| {
        Value::Array(
            STRINGS[i..i + 3]
                .iter()
                .map(|s| Value::Text((*s).to_string()))
                .collect(),
        )
    };
    assert_eq!(
        parse_text(&texts, &unhex(&r[1])).unwrap(),
        Value::Array(vec![row(0), row(3)])
    );

    // Element values checked against a parallel int8 array of server-computed truths.
    let sql = "WITH vals AS (
            SELECT g % 50 AS k,
                   timestamp '2000-01-01' + make_interval(days => (floor(random() * 2000000) - 1000000)::int,
                                                          secs => floor(random() * 86400000000) / 1000000.0) AS v
            FROM generate_series(1, 1000) g
        )
        SELECT encode(convert_to(array_agg(v ORDER BY v)::text, 'UTF8'), 'hex'),
               array_agg((extract(epoch FROM v) * 1000000)::int8 ORDER BY v)::text,
               encode(convert_to(array_agg(v::date ORDER BY v)::text, 'UTF8'), 'hex'),
               array_agg(v::date - date '1970-01-01' ORDER BY v)::text
        FROM vals GROUP BY k";
    let timestamps = PgType::Array(Box::new(PgType::Timestamp { precision: None }));
    let dates = PgType::Array(Box::new(PgType::Date));
    let int8s = PgType::Array(Box::new(PgType::Int8));
    let int4s = PgType::Array(Box::new(PgType::Int4));
    for r in rows(&pg, "", sql) {
        let Value::Array(ts) = parse_text(&timestamps, &unhex(&r[0])).unwrap() else {
            panic!()
        };
        let Value::Array(truth) = parse_text(&int8s, r[1].as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(ts.len(), truth.len());
        for (a, b) in ts.iter().zip(&truth) {
            let (Value::Timestamp(a), Value::Int64(b)) = (a, b) else {
                panic!("{a:?} {b:?}")
            };
            assert_eq!(a, b);
        }
        let Value::Array(ds) = parse_text(&dates, &unhex(&r[2])).unwrap() else {
            panic!()
        };
        let Value::Array(truth) = parse_text(&int4s, r[3].as_bytes()).unwrap() else {
            panic!()
        };
        for (a, b) in ds.iter().zip(&truth) {
            let (Value::Date(a), Value::Int32(b)) = (a, b) else {
                panic!("{a:?} {b:?}")
            };
            assert_eq!(a, b);
        }
    }

    // Decorations, nesting, NULLs, and the ';' delimiter of box.
    let sql = "SELECT '[0:1]={7,8}'::int4[]::text, '[-3:-2][1:2]={{1,2},{3,NULL}}'::int4[]::text,
                      '{}'::int4[]::text, ARRAY[box '((1,1),(0,0))', box '((2,2),(1,1))']::text,
                      ARRAY[interval '1 day -02:00:00', NULL]::text, '{{{1}},{{2}}}'::int8[]::text";
    let r = &rows(&pg, "", sql)[0];
    let i = Value::Int32;
    assert_eq!(r[0], "[0:1]={7,8}");
    assert_eq!(
        parse_text(&int4s, r[0].as_bytes()).unwrap(),
        Value::Array(vec![i(7), i(8)])
    );
    assert_eq!(
        parse_text(&int4s, r[1].as_bytes()).unwrap(),
        Value::Array(vec![
            Value::Array(vec![i(1), i(2)]),
            Value::Array(vec![i(3), Value::Null])
        ])
    );
    assert_eq!(parse_text(&int4s, r[2].as_bytes()).unwrap(), Value::Array(vec![]));
    let boxes = builtin_type(1020, -1).unwrap();
    assert_eq!(
        parse_text(&boxes, r[3].as_bytes()).unwrap(),
        Value::Array(vec![
            Value::Text("(1,1),(0,0)".into()),
            Value::Text("(2,2),(1,1)".into())
        ])
    );
    assert_eq!(
        parse_text(&builtin_type(1187, -1).unwrap(), r[4].as_bytes()).unwrap(),
        Value::Array(vec![
            Value::Interval {
                months: 0,
                days: 1,
                micros: -7_200_000_000
            },
            Value::Null
        ])
    );
    let one = |v| Value::Array(vec![Value::Array(vec![Value::Int64(v)])]);
    assert_eq!(
        parse_text(&int8s, r[5].as_bytes()).unwrap(),
        Value::Array(vec![one(1), one(2)])
    );
}

/// A sample literal per built-in type: each must map to a PgType, and the server's text output of
/// it (and of a one-element array of it) must parse. `concat()` rather than `::text`, because
/// concat calls the type's output function, as pgoutput does, while some casts to text do not
/// (`true::text` is `true`, boolout prints `t`; `inet::text` always shows the netmask).
const SAMPLES: &[(&str, &str)] = &[
    ("bool", "t"),
    ("bytea", "\\x00ff"),
    ("\"char\"", "x"),
    ("name", "n a m e"),
    ("int8", "-5"),
    ("int2", "7"),
    ("int2vector", "1 2 3"),
    ("int4", "42"),
    ("regproc", "now"),
    ("text", "t,\"x\""),
    ("oid", "4294967295"),
    ("tid", "(1,2)"),
    ("xid", "12"),
    ("cid", "3"),
    ("oidvector", "1 2"),
    ("json", "{\"a\": [1, 2]}"),
    ("xml", "<a>b</a>"),
    ("point", "(1,2)"),
    ("lseg", "[(1,2),(3,4)]"),
    ("path", "[(1,2),(3,4)]"),
    ("box", "(1,1),(0,0)"),
    ("polygon", "((0,0),(1,1),(1,0))"),
    ("line", "{1,2,3}"),
    ("cidr", "10.0.0.0/8"),
    ("float4", "1.5"),
    ("float8", "-2.25e-300"),
    ("circle", "<(1,2),3>"),
    ("macaddr8", "08:00:2b:01:02:03:04:05"),
    ("money", "-1234.56"),
    ("macaddr", "08:00:2b:01:02:03"),
    ("inet", "::1/128"),
    ("aclitem", "postgres=arwdDxt/postgres"),
    ("bpchar", "ab "),
    ("varchar", "v"),
    ("date", "0044-03-15 BC"),
    ("time", "24:00:00"),
    ("timestamp", "2024-02-29 12:00:00.5"),
    ("timestamptz", "2024-02-29 12:00:00.5+05:30"),
    ("interval", "-1 year +3 days -00:00:00.000001"),
    ("timetz", "12:00:00-05:30:15"),
    ("bit", "1"),
    ("varbit", "1011"),
    ("numeric", "-0.0100"),
    ("refcursor", "cur"),
    ("regprocedure", "now()"),
    ("regoper", "||/"),
    ("regoperator", "+(integer,integer)"),
    ("regclass", "pg_class"),
    ("regcollation", "\"C\""),
    ("regtype", "integer"),
    ("regrole", "postgres"),
    ("regnamespace", "public"),
    ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("pg_lsn", "16/B374D848"),
    ("tsvector", "a fat:2 cat"),
    ("tsquery", "fat & rat"),
    ("regconfig", "english"),
    ("regdictionary", "simple"),
    ("jsonb", "{\"b\": null}"),
    ("jsonpath", "$.a[*]"),
    ("txid_snapshot", "10:20:10,14,15"),
    ("pg_snapshot", "10:20:10,14,15"),
    ("xid8", "18446744073709551615"),
    ("int4range", "[1,5)"),
    ("numrange", "(1.5,2.5]"),
    ("tsrange", "[2024-01-01,infinity)"),
    ("tstzrange", "empty"),
    ("daterange", "[2024-01-01,2024-02-01)"),
    ("int8range", "[1,2)"),
    ("int4multirange", "{[1,2),[5,6)}"),
    ("nummultirange", "{}"),
    ("tsmultirange", "{[2024-01-01,2024-02-01)}"),
    ("tstzmultirange", "{}"),
    ("datemultirange", "{[2024-01-01,2024-02-01)}"),
    ("int8multirange", "{[1,2)}"),
];

#[test]
fn every_builtin_type_maps_and_parses() {
    let pg = PgCluster::start();
    let select: Vec<String> = SAMPLES
        .iter()
        .map(|(ty, lit)| {
            let lit = sql_literal(lit);
            format!(
                "SELECT '{ty}'::regtype::oid, encode(convert_to(concat({lit}::{ty}), 'UTF8'), 'hex'),
                        pg_typeof(ARRAY[{lit}::{ty}])::oid,
                        encode(convert_to(ARRAY[{lit}::{ty}, NULL]::text, 'UTF8'), 'hex')"
            )
        })
        .collect();
    let printed = rows(&pg, "", &select.join("\nUNION ALL\n"));
    assert_eq!(printed.len(), SAMPLES.len());
    for (r, (ty, lit)) in printed.iter().zip(SAMPLES) {
        let oid: u32 = r[0].parse().unwrap();
        let pg_type = builtin_type(oid, -1).unwrap_or_else(|| panic!("{ty} ({oid}) is not mapped"));
        let text = unhex(&r[1]);
        let value = parse_text(&pg_type, &text).unwrap_or_else(|e| {
            panic!(
                "{ty} {lit:?} printed as {:?}: {e}",
                String::from_utf8_lossy(&text)
            )
        });
        assert!(!value.is_null());
        let array_oid: u32 = r[2].parse().unwrap();
        let array_type =
            builtin_type(array_oid, -1).unwrap_or_else(|| panic!("{ty}[] ({array_oid}) is not mapped"));
        assert_eq!(array_type, PgType::Array(Box::new(pg_type.clone())));
        let Value::Array(elems) = parse_text(&array_type, &unhex(&r[3])).unwrap() else {
            panic!("{ty}[]")
        };
        assert_eq!(elems, vec![value, Value::Null], "{ty}[]");
    }

    // And nothing built in and usable as a column type is missing from the samples.
    let missing = rows(
        &pg,
        "",
        "SELECT t.oid, t.typname, t.typarray FROM pg_type t
         WHERE t.oid < 16384 AND t.typtype IN ('b', 'r', 'm')
           AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)",
    );
    for r in missing {
        let oid: u32 = r[0].parse().unwrap();
        assert!(
            builtin_type(oid, -1).is_some(),
            "built-in type {} ({oid}) is not mapped",
            r[1]
        );
        let array: u32 = r[2].parse().unwrap();
        if array != 0 {
            assert!(
                matches!(builtin_type(array, -1), Some(PgType::Array(_))),
                "array of built-in type {} ({array}) is not mapped",
                r[1]
            );
        }
    }
}

#[test]
fn type_modifiers_match_the_catalog() {
    let pg = PgCluster::start();
    pg.psql(
        "CREATE TABLE mods (n1 numeric(10,2), n2 numeric, n3 numeric(1000), n4 numeric(3,-2), n5 numeric(3,5),
                            c1 char(5), c2 char, c3 bpchar, v1 varchar(20), v2 varchar, vs varchar(7)[],
                            t1 time(3), t2 time, t3 timetz(0), t4 timestamp(6), t5 timestamptz(1), t6 timestamptz,
                            b1 bit(8), b2 bit, b3 varbit(5), b4 varbit, i1 interval(2), i2 interval day to second)",
    );
    let columns = rows(
        &pg,
        "",
        "SELECT attname, atttypid, atttypmod FROM pg_attribute
         WHERE attrelid = 'mods'::regclass AND attnum > 0 ORDER BY attnum",
    );
    let got: Vec<(String, PgType)> = columns
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                builtin_type(r[1].parse().unwrap(), r[2].parse().unwrap()).unwrap(),
            )
        })
        .collect();
    let n = |p: Option<u16>, s: Option<u16>| PgType::Numeric {
        precision: p,
        scale: s,
    };
    let expected = vec![
        ("n1", n(Some(10), Some(2))),
        ("n2", n(None, None)),
        ("n3", n(Some(1000), Some(0))),
        ("n4", n(Some(5), Some(0))),
        ("n5", n(Some(3), Some(5))),
        ("c1", PgType::Char { length: Some(5) }),
        ("c2", PgType::Char { length: Some(1) }),
        ("c3", PgType::Char { length: None }),
        ("v1", PgType::Varchar { length: Some(20) }),
        ("v2", PgType::Varchar { length: None }),
        ("vs", PgType::Array(Box::new(PgType::Varchar { length: Some(7) }))),
        ("t1", PgType::Time { precision: Some(3) }),
        ("t2", PgType::Time { precision: None }),
        ("t3", PgType::TimeTz { precision: Some(0) }),
        ("t4", PgType::Timestamp { precision: Some(6) }),
        ("t5", PgType::TimestampTz { precision: Some(1) }),
        ("t6", PgType::TimestampTz { precision: None }),
        ("b1", PgType::Bit { length: Some(8) }),
        ("b2", PgType::Bit { length: Some(1) }),
        ("b3", PgType::VarBit { length: Some(5) }),
        ("b4", PgType::VarBit { length: None }),
        ("i1", PgType::Interval),
        ("i2", PgType::Interval),
    ];
    let expected: Vec<(String, PgType)> = expected.into_iter().map(|(a, t)| (a.to_string(), t)).collect();
    assert_eq!(got, expected);
}
