//! Text-format parsing and OID mapping, on inputs written the way the server prints them.
//! (`tests/server_values.rs` checks the same parsers against a live server.)

use rivulet_core::Numeric;
use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};

use super::*;

fn p(ty: &PgType, s: &str) -> Value {
    parse_text(ty, s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn bad(ty: &PgType, s: &str) -> String {
    match parse_text(ty, s.as_bytes()) {
        Ok(v) => panic!("{s:?} parsed as {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn num(s: &str) -> Value {
    Value::Numeric(Numeric::Finite(s.into()))
}

const TS: PgType = PgType::Timestamp { precision: None };
const TSTZ: PgType = PgType::TimestampTz { precision: None };
const TIME: PgType = PgType::Time { precision: None };
const TIMETZ: PgType = PgType::TimeTz { precision: None };
const NUMERIC: PgType = PgType::Numeric {
    precision: None,
    scale: None,
};

fn arr(t: PgType) -> PgType {
    PgType::Array(Box::new(t))
}

#[test]
fn booleans_and_integers() {
    assert_eq!(p(&PgType::Bool, "t"), Value::Bool(true));
    assert_eq!(p(&PgType::Bool, "f"), Value::Bool(false));
    bad(&PgType::Bool, "yes");
    assert_eq!(p(&PgType::Int2, "-32768"), Value::Int16(i16::MIN));
    assert_eq!(p(&PgType::Int4, "2147483647"), Value::Int32(i32::MAX));
    assert_eq!(p(&PgType::Int8, "-9223372036854775808"), Value::Int64(i64::MIN));
    assert_eq!(p(&PgType::Int8, "9223372036854775807"), Value::Int64(i64::MAX));
    assert_eq!(p(&PgType::Oid, "4294967295"), Value::Int64(4_294_967_295));
    for (ty, s) in [
        (PgType::Int2, "32768"),
        (PgType::Int4, "-2147483649"),
        (PgType::Int8, "9223372036854775808"),
        (PgType::Int8, "-9223372036854775809"),
        (PgType::Oid, "-1"),
        (PgType::Oid, "4294967296"),
        (PgType::Int4, ""),
        (PgType::Int4, "-"),
        (PgType::Int4, "+1"),
        (PgType::Int4, " 1"),
        (PgType::Int4, "1.0"),
    ] {
        bad(&ty, s);
    }
    assert_eq!(
        bad(&PgType::Int2, "99999"),
        "invalid int2 value: out of range for the type (input: \"99999\")"
    );
}

#[test]
fn floats_are_exact() {
    assert_eq!(p(&PgType::Float8, "0.1"), Value::Float64(0.1));
    assert_eq!(p(&PgType::Float8, "1e+308"), Value::Float64(1e308));
    assert_eq!(
        p(&PgType::Float8, "4.9406564584124654e-324"),
        Value::Float64(f64::from_bits(1))
    );
    assert_eq!(p(&PgType::Float8, "-0"), Value::Float64(-0.0));
    assert_eq!(p(&PgType::Float4, "3.4028235e+38"), Value::Float32(f32::MAX));
    assert_eq!(p(&PgType::Float4, "0.1"), Value::Float32(0.1));
    assert_eq!(p(&PgType::Float8, "Infinity"), Value::Float64(f64::INFINITY));
    assert_eq!(p(&PgType::Float4, "-Infinity"), Value::Float32(f32::NEG_INFINITY));
    let Value::Float64(nan) = p(&PgType::Float8, "NaN") else {
        panic!()
    };
    assert!(nan.is_nan());
    for s in ["inf", "nan", "infinity", "", "1,5", "0x10", " 1"] {
        bad(&PgType::Float8, s);
    }
}

#[test]
fn numeric_keeps_the_printed_text() {
    for s in [
        "1234567890.12",
        "-0.01",
        "0.0000000000",
        "0",
        "-12345678901234567890123456789.5",
    ] {
        assert_eq!(p(&NUMERIC, s), num(s));
    }
    assert_eq!(p(&NUMERIC, "NaN"), Value::Numeric(Numeric::NaN));
    assert_eq!(p(&NUMERIC, "Infinity"), Value::Numeric(Numeric::Infinity));
    assert_eq!(p(&NUMERIC, "-Infinity"), Value::Numeric(Numeric::NegInfinity));
    for s in ["", "-", ".5", "5.", "1e5", "+1", "1.2.3", "--1", "nan", "1 "] {
        bad(&NUMERIC, s);
    }
}

#[test]
fn money_in_the_c_locale() {
    assert_eq!(p(&PgType::Money, "$1,234.56"), num("1234.56"));
    assert_eq!(p(&PgType::Money, "-$1,234.56"), num("-1234.56"));
    assert_eq!(p(&PgType::Money, "$0.00"), num("0.00"));
    assert_eq!(p(&PgType::Money, "-$0.05"), num("-0.05"));
    assert_eq!(p(&PgType::Money, "($7.00)"), num("-7.00"));
    assert_eq!(
        p(&PgType::Money, "-$92,233,720,368,547,758.08"),
        num("-92233720368547758.08")
    );
    for s in [
        "",
        "$",
        "$,1.00",
        "$1,,234.00",
        "$1.",
        "1.00$",
        "$1.0a",
        "$ 1.00",
        "€1.00",
    ] {
        bad(&PgType::Money, s);
    }
}

#[test]
fn textual_types_need_utf8() {
    assert_eq!(p(&PgType::Text, "héllo"), Value::Text("héllo".into()));
    assert_eq!(
        p(&PgType::Char { length: Some(5) }, "ab   "),
        Value::Text("ab   ".into())
    );
    assert_eq!(
        p(&PgType::Jsonb, r#"{"a": 1}"#),
        Value::Text(r#"{"a": 1}"#.into())
    );
    assert_eq!(p(&PgType::Point, "(1,2)"), Value::Text("(1,2)".into()));
    let e = parse_text(&PgType::Enum { name: "mood".into() }, b"ok\xff").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid mood value: not valid UTF-8 (input: \"ok\u{fffd}\")"
    );
}

#[test]
fn bytea_hex_and_escape() {
    assert_eq!(p(&PgType::Bytea, "\\x"), Value::Bytes(vec![]));
    assert_eq!(
        p(&PgType::Bytea, "\\xDEADbeef00"),
        Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef, 0])
    );
    assert_eq!(
        p(&PgType::Bytea, "abc\\000\\\\\\377"),
        Value::Bytes(b"abc\0\\\xff".to_vec())
    );
    assert_eq!(p(&PgType::Bytea, "\\\\"), Value::Bytes(b"\\".to_vec()));
    assert_eq!(p(&PgType::Bytea, ""), Value::Bytes(vec![]));
    for s in ["\\x0", "\\xgg", "\\", "\\400", "\\12", "a\\b"] {
        bad(&PgType::Bytea, s);
    }
}

#[test]
fn dates() {
    assert_eq!(p(&PgType::Date, "1970-01-01"), Value::Date(0));
    assert_eq!(p(&PgType::Date, "2024-02-29"), Value::Date(19_782));
    assert_eq!(p(&PgType::Date, "0001-01-01"), Value::Date(-719_162));
    // 1 BC is year 0, a leap year.
    assert_eq!(p(&PgType::Date, "0001-12-31 BC"), Value::Date(-719_163));
    assert_eq!(
        p(&PgType::Date, "0001-02-29 BC"),
        Value::Date(-719_162 - 366 + 59)
    );
    assert_eq!(p(&PgType::Date, "4714-11-24 BC"), Value::Date(-2_440_588));
    assert_eq!(p(&PgType::Date, "5874897-12-31"), Value::Date(2_145_042_905));
    assert_eq!(p(&PgType::Date, "infinity"), Value::Date(DATE_INFINITY));
    assert_eq!(p(&PgType::Date, "-infinity"), Value::Date(DATE_NEG_INFINITY));
    for s in [
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-04-31",
        "0000-01-01",
        "24-01-01",
        "2024-1-01",
        "2024-01-01 AD",
        "2024-01-01 ",
        "999999999-12-31",
        "Infinity",
    ] {
        bad(&PgType::Date, s);
    }
}

#[test]
fn times() {
    assert_eq!(p(&TIME, "00:00:00"), Value::Time(0));
    assert_eq!(p(&TIME, "13:45:10.5"), Value::Time(49_510_500_000));
    assert_eq!(p(&TIME, "23:59:59.999999"), Value::Time(86_399_999_999));
    assert_eq!(p(&TIME, "24:00:00"), Value::Time(86_400_000_000));
    for s in [
        "24:00:00.000001",
        "25:00:00",
        "12:60:00",
        "12:00:60",
        "12:00",
        "12:00:00.1234567",
        "12:00:00.",
    ] {
        bad(&TIME, s);
    }
    assert_eq!(
        p(&TIMETZ, "13:45:10.5+02"),
        Value::TimeTz {
            micros: 49_510_500_000,
            offset_seconds: 7200
        }
    );
    assert_eq!(
        p(&TIMETZ, "00:00:00-05:30"),
        Value::TimeTz {
            micros: 0,
            offset_seconds: -19_800
        }
    );
    assert_eq!(
        p(&TIMETZ, "12:00:00+05:30:15"),
        Value::TimeTz {
            micros: 43_200_000_000,
            offset_seconds: 19_815
        }
    );
    assert_eq!(
        p(&TIMETZ, "24:00:00-15:59"),
        Value::TimeTz {
            micros: 86_400_000_000,
            offset_seconds: -57_540
        }
    );
    for s in [
        "12:00:00",
        "12:00:00+2",
        "12:00:00+02:",
        "12:00:00+02:60",
        "12:00:00 +02",
    ] {
        bad(&TIMETZ, s);
    }
}

#[test]
fn timestamps() {
    assert_eq!(p(&TS, "1970-01-01 00:00:00"), Value::Timestamp(0));
    assert_eq!(
        p(&TS, "2024-06-30 23:59:59.123456"),
        Value::Timestamp(1_719_791_999_123_456)
    );
    assert_eq!(
        p(&TS, "1900-01-01 00:00:00"),
        Value::Timestamp(-2_208_988_800_000_000)
    );
    assert_eq!(p(&TS, "1969-12-31 23:59:59.999999"), Value::Timestamp(-1));
    assert_eq!(
        p(&TS, "0001-01-01 00:00:00 BC"),
        Value::Timestamp(-62_167_219_200_000_000)
    );
    assert_eq!(p(&TS, "infinity"), Value::Timestamp(TIMESTAMP_INFINITY));
    assert_eq!(p(&TS, "-infinity"), Value::Timestamp(TIMESTAMP_NEG_INFINITY));
    // PostgreSQL goes to 294276 AD; microseconds since 1970 in an i64 stop in 294247.
    assert_eq!(
        p(&TS, "294247-01-10 04:00:54.775806"),
        Value::Timestamp(i64::MAX - 1)
    );
    assert!(bad(&TS, "294247-01-10 04:00:54.775807").contains("out of range"));
    assert!(bad(&TS, "294276-12-31 23:59:59.999999").contains("out of range"));
    for s in [
        "2024-06-30T23:59:59",
        "2024-06-30 24:00:00",
        "2024-06-30 23:59:59+00",
        "2024-06-30",
        "",
    ] {
        bad(&TS, s);
    }
}

#[test]
fn timestamptz_offsets_and_eras() {
    assert_eq!(
        p(&TSTZ, "2024-06-30 21:59:59.123456+00"),
        Value::TimestampTz(1_719_784_799_123_456)
    );
    assert_eq!(
        p(&TSTZ, "2024-07-01 03:29:59.123456+05:30"),
        Value::TimestampTz(1_719_784_799_123_456)
    );
    assert_eq!(
        p(&TSTZ, "1970-01-01 00:00:00-03:30:15"),
        Value::TimestampTz(12_615_000_000)
    );
    assert_eq!(
        p(&TSTZ, "0044-03-15 12:00:00+00 BC"),
        Value::TimestampTz(-63_517_780_800_000_000)
    );
    assert_eq!(p(&TSTZ, "infinity"), Value::TimestampTz(TIMESTAMP_INFINITY));
    for s in [
        "2024-06-30 21:59:59",
        "2024-06-30 21:59:59 BC+00",
        "2024-06-30 21:59:59+00 bc",
    ] {
        bad(&TSTZ, s);
    }
}

fn iv(months: i32, days: i32, micros: i64) -> Value {
    Value::Interval { months, days, micros }
}

#[test]
fn intervals_in_postgres_style() {
    let i = PgType::Interval;
    assert_eq!(p(&i, "00:00:00"), iv(0, 0, 0));
    assert_eq!(p(&i, "1 year 2 mons 3 days 04:05:06"), iv(14, 3, 14_706_000_000));
    assert_eq!(p(&i, "-3 days"), iv(0, -3, 0));
    assert_eq!(p(&i, "-1 days +02:03:00"), iv(0, -1, 7_380_000_000));
    assert_eq!(
        p(&i, "1 year -2 mons +3 days -04:05:06.789"),
        iv(10, 3, -14_706_789_000)
    );
    assert_eq!(p(&i, "178000000 years"), iv(2_136_000_000, 0, 0));
    assert_eq!(p(&i, "-00:00:01.5"), iv(0, 0, -1_500_000));
    assert_eq!(p(&i, "1 mon"), iv(1, 0, 0));
    assert_eq!(p(&i, "-1 years -11 mons"), iv(-23, 0, 0));
    assert_eq!(p(&i, "2562047788:00:54.775807"), iv(0, 0, i64::MAX));
    assert_eq!(p(&i, "-2562047788:00:54.775808"), iv(0, 0, i64::MIN));
    assert_eq!(
        p(&i, "-178956970 years -8 mons -2147483648 days"),
        iv(i32::MIN, i32::MIN, 0)
    );
    for s in [
        "",
        "1 day 2 years",
        "1 days 1 days",
        "1 week",
        "P1Y",
        "@ 1 year",
        "1 year  2 mons",
        "1 year ",
        "178956971 years",
        "2147483648 days",
        "2562047788:00:54.775808",
        "01:60:00",
        "1 year 01:00",
        "01:00:00 01:00:00",
    ] {
        bad(&i, s);
    }
}

#[test]
fn arrays() {
    let int4s = arr(PgType::Int4);
    assert_eq!(p(&int4s, "{}"), Value::Array(vec![]));
    assert_eq!(
        p(&int4s, "{1,2,NULL}"),
        Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Null])
    );
    assert_eq!(
        p(&int4s, "{{1,2},{3,4}}"),
        Value::Array(vec![
            Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            Value::Array(vec![Value::Int32(3), Value::Int32(4)])
        ])
    );
    assert_eq!(
        p(&int4s, "[0:1]={7,8}"),
        Value::Array(vec![Value::Int32(7), Value::Int32(8)])
    );
    assert_eq!(
        p(&int4s, "[-2:-2][1:1]={{7}}"),
        Value::Array(vec![Value::Array(vec![Value::Int32(7)])])
    );
    assert_eq!(
        p(&int4s, " { 1 , 2 } "),
        Value::Array(vec![Value::Int32(1), Value::Int32(2)])
    );
    assert_eq!(p(&int4s, "{\"1\"}"), Value::Array(vec![Value::Int32(1)]));

    let texts = arr(PgType::Text);
    let t = |s: &str| Value::Text(s.into());
    assert_eq!(
        p(
            &texts,
            r#"{"",NULL,"NULL",null,"a b","q\"u","b\\s",x\,y,"{}",  sp  ,"  sp  "}"#
        ),
        Value::Array(vec![
            t(""),
            Value::Null,
            t("NULL"),
            Value::Null,
            t("a b"),
            t("q\"u"),
            t("b\\s"),
            t("x,y"),
            t("{}"),
            t("sp"),
            t("  sp  ")
        ])
    );
    // Quotes may cover part of an element, and an escaped space is kept at the end.
    assert_eq!(
        p(&texts, r#"{a"b c"d,e\ }"#),
        Value::Array(vec![t("ab cd"), t("e ")])
    );
    assert_eq!(
        p(&texts, "{héllo,\"wörld\"}"),
        Value::Array(vec![t("héllo"), t("wörld")])
    );

    // `box` is the one built-in type whose delimiter is ';'.
    let boxes = arr(PgType::Geometric(GeometricKind::Box));
    assert_eq!(
        p(&boxes, "{(1,1),(0,0);(2,2),(1,1)}"),
        Value::Array(vec![t("(1,1),(0,0)"), t("(2,2),(1,1)")])
    );

    let dates = arr(PgType::Date);
    assert_eq!(
        p(&dates, "{2024-02-29,infinity,\"0001-01-01 BC\"}"),
        Value::Array(vec![
            Value::Date(19_782),
            Value::Date(DATE_INFINITY),
            Value::Date(-719_528)
        ])
    );
    let bytes = arr(PgType::Bytea);
    assert_eq!(
        p(&bytes, r#"{"\\x00ff"}"#),
        Value::Array(vec![Value::Bytes(vec![0, 0xff])])
    );
}

#[test]
fn malformed_arrays() {
    let int4s = arr(PgType::Int4);
    for s in [
        "",
        "{",
        "}",
        "{1,}",
        "{,1}",
        "{1 2}",
        "{{1,2},{3}}",
        "{{1},2}",
        "{1,{2}}",
        "{{}}",
        "{1}x",
        "[1:2]{1,2}",
        "[1:2={1,2}",
        "[2:0]={}",
        "{{{{{{{1}}}}}}}",
        "{\"1}",
        "{1\\",
        "{a{}",
    ] {
        bad(&int4s, s);
    }
    assert_eq!(
        bad(&int4s, "{1,x,3}"),
        "invalid int4[] value: element 2 \"x\": expected only digits (input: \"{1,x,3}\")"
    );
    let six = "{{{{{{1}}}}}}";
    assert!(parse_text(&int4s, six.as_bytes()).is_ok());
}

#[test]
fn error_snippets_are_short() {
    let long = "x".repeat(500);
    let e = bad(&PgType::Int4, &long);
    assert!(e.len() < 120, "{e}");
    assert!(e.ends_with("…)"), "{e}");
}

#[test]
fn builtin_scalars_and_modifiers() {
    assert_eq!(builtin_type(23, -1), Some(PgType::Int4));
    assert_eq!(builtin_type(1700, -1), Some(NUMERIC));
    assert_eq!(
        builtin_type(1700, (10 << 16 | 2) + 4),
        Some(PgType::Numeric {
            precision: Some(10),
            scale: Some(2)
        })
    );
    assert_eq!(
        builtin_type(1700, (1000 << 16) + 4),
        Some(PgType::Numeric {
            precision: Some(1000),
            scale: Some(0)
        })
    );
    // numeric(3,-2): the scale is 11-bit two's complement.
    assert_eq!(
        builtin_type(1700, ((3 << 16) | (-2i32 & 0x7ff)) + 4),
        Some(PgType::Numeric {
            precision: Some(5),
            scale: Some(0)
        })
    );
    assert_eq!(builtin_type(1043, 24), Some(PgType::Varchar { length: Some(20) }));
    assert_eq!(builtin_type(1043, -1), Some(PgType::Varchar { length: None }));
    assert_eq!(builtin_type(1042, 5), Some(PgType::Char { length: Some(1) }));
    assert_eq!(builtin_type(1083, 3), Some(PgType::Time { precision: Some(3) }));
    assert_eq!(builtin_type(1266, 0), Some(PgType::TimeTz { precision: Some(0) }));
    assert_eq!(
        builtin_type(1184, -1),
        Some(PgType::TimestampTz { precision: None })
    );
    assert_eq!(
        builtin_type(1114, 6),
        Some(TS.clone()).map(|_| PgType::Timestamp { precision: Some(6) })
    );
    assert_eq!(builtin_type(1560, 8), Some(PgType::Bit { length: Some(8) }));
    assert_eq!(builtin_type(1562, -1), Some(PgType::VarBit { length: None }));
    assert_eq!(builtin_type(19, -1), Some(PgType::Name));
    assert_eq!(builtin_type(18, -1), Some(PgType::Text));
    assert_eq!(builtin_type(26, -1), Some(PgType::Oid));
    assert_eq!(
        builtin_type(2205, -1),
        Some(PgType::Other {
            name: "regclass".into()
        })
    );
    assert_eq!(builtin_type(600, -1), Some(PgType::Point));
    assert_eq!(
        builtin_type(3904, -1),
        Some(PgType::Range {
            name: "int4range".into()
        })
    );
    assert_eq!(
        builtin_type(718, -1),
        Some(PgType::Geometric(GeometricKind::Circle))
    );
    assert_eq!(builtin_type(3614, -1), Some(PgType::TsVector));
    assert_eq!(
        builtin_type(22, -1),
        Some(PgType::IntVector {
            name: "int2vector".into()
        })
    );
    assert_eq!(
        builtin_type(4451, -1),
        Some(PgType::Other {
            name: "int4multirange".into()
        })
    );
    assert_eq!(builtin_type(16_390, -1), None);
    assert_eq!(builtin_type(0, -1), None);
}

#[test]
fn builtin_arrays_carry_the_element_modifier() {
    assert_eq!(builtin_type(1007, -1), Some(arr(PgType::Int4)));
    assert_eq!(
        builtin_type(1015, 14),
        Some(arr(PgType::Varchar { length: Some(10) }))
    );
    assert_eq!(
        builtin_type(1231, (5 << 16 | 1) + 4),
        Some(arr(PgType::Numeric {
            precision: Some(5),
            scale: Some(1)
        }))
    );
    assert_eq!(
        builtin_type(1020, -1),
        Some(arr(PgType::Geometric(GeometricKind::Box)))
    );
    assert_eq!(
        builtin_type(271, -1),
        Some(arr(PgType::Other { name: "xid8".into() }))
    );
    // Every array entry points at a known element.
    for &(array, elem) in ARRAYS {
        assert!(builtin_scalar(elem, -1).is_some(), "{array} -> {elem}");
        assert!(
            builtin_scalar(array, -1).is_none(),
            "{array} listed as a scalar too"
        );
    }
}

#[test]
fn type_names() {
    assert_eq!(type_name(&arr(arr(PgType::Int4))).to_string(), "int4[][]");
    assert_eq!(
        type_name(&PgType::Enum { name: "mood".into() }).to_string(),
        "mood"
    );
}
