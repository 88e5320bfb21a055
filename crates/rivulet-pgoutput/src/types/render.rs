//! Values back into PostgreSQL's text form, the inverse of [`super::parse_text`]: the input
//! every type accepts, for `COPY … FROM STDIN` (text format), text query parameters and
//! literals in SQL the source or a sink writes.
//!
//! ```text
//!  Value ──render──▶ PostgreSQL text ("2024-01-02 03:04:05.000006+00", "{1,NULL}", "\x00ff")
//! ```
//!
//! The output never depends on the target's session settings: dates are ISO, timestamps carry
//! an explicit `+00`, floats print the shortest text that reads back to the same bits.

use std::fmt::Write as _;

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use rivulet_core::{Numeric, Value};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Appends `value`'s text form to `out`. Returns false for `NULL` and for an unchanged TOAST
/// value, which have no text form (nothing is appended).
pub fn render(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Null | Value::Unchanged => return false,
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Int16(v) => push_display(out, v),
        Value::Int32(v) => push_display(out, v),
        Value::Int64(v) => push_display(out, v),
        Value::Float32(v) => float(f64::from(*v), || v.to_string(), out),
        Value::Float64(v) => float(*v, || v.to_string(), out),
        Value::Numeric(n) => out.push_str(match n {
            Numeric::Finite(s) => s,
            Numeric::NaN => "NaN",
            Numeric::Infinity => "Infinity",
            Numeric::NegInfinity => "-Infinity",
        }),
        Value::Text(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push_str("\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Value::Date(d) => date(*d, out),
        Value::Time(us) => time_of_day(*us, out),
        Value::TimeTz {
            micros,
            offset_seconds,
        } => {
            time_of_day(*micros, out);
            zone_offset(*offset_seconds, out);
        }
        Value::Timestamp(us) => timestamp(*us, false, out),
        Value::TimestampTz(us) => timestamp(*us, true, out),
        Value::Interval { months, days, micros } => interval(*months, *days, *micros, out),
        Value::Array(elements) => array(elements, out),
    }
    true
}

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// Rust prints the shortest decimal that reads back to the same float; PostgreSQL spells the
/// special values its own way.
fn float(v: f64, shortest: impl FnOnce() -> String, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(&shortest());
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar, with
/// astronomical year numbering (year 0 is 1 BC).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `YYYY-MM-DD` and returns the BC suffix to put after any time part.
fn ymd(days: i64, out: &mut String) -> &'static str {
    let (y, m, d) = civil_from_days(days);
    let (year, bc) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
    let _ = write!(out, "{year:04}-{m:02}-{d:02}");
    bc
}

fn date(days: i32, out: &mut String) {
    match days {
        DATE_INFINITY => out.push_str("infinity"),
        DATE_NEG_INFINITY => out.push_str("-infinity"),
        d => {
            let bc = ymd(i64::from(d), out);
            out.push_str(bc);
        }
    }
}

fn time_of_day(us: i64, out: &mut String) {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

fn zone_offset(offset_seconds: i32, out: &mut String) {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let s = offset_seconds.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

fn timestamp(us: i64, with_zone: bool, out: &mut String) {
    match us {
        TIMESTAMP_INFINITY => out.push_str("infinity"),
        TIMESTAMP_NEG_INFINITY => out.push_str("-infinity"),
        us => {
            let bc = ymd(us.div_euclid(MICROS_PER_DAY), out);
            out.push(' ');
            time_of_day(us.rem_euclid(MICROS_PER_DAY), out);
            if with_zone {
                out.push_str("+00");
            }
            out.push_str(bc);
        }
    }
}

/// `M mons D days [-]H:MM:SS.ffffff`: every part explicit, so no field is reinterpreted.
fn interval(months: i32, days: i32, micros: i64, out: &mut String) {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let secs = abs / 1_000_000;
    let _ = write!(
        out,
        "{months} mons {days} days {sign}{}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        abs % 1_000_000
    );
}

/// An array literal: `{a,"b c",NULL,{1,2}}`. Elements are quoted whenever they contain anything
/// the array parser treats specially, so every element type round-trips.
fn array(elements: &[Value], out: &mut String) {
    out.push('{');
    let mut element = String::new();
    for (i, v) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Value::Array(inner) => array(inner, out),
            v => {
                element.clear();
                if !render(v, &mut element) {
                    out.push_str("NULL");
                } else if needs_quotes(&element) {
                    out.push('"');
                    for c in element.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(&element);
                }
            }
        }
    }
    out.push('}');
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.bytes().any(|b| {
            matches!(
                b,
                b'{' | b'}' | b',' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        })
}

/// The text form of a value as a query parameter (`None` for NULL and unchanged TOAST values).
pub fn text_param(value: &Value) -> Option<String> {
    let mut s = String::new();
    render(value, &mut s).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        let mut s = String::new();
        assert!(render(v, &mut s));
        s
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(text(&Value::Date(0)), "1970-01-01");
        assert_eq!(text(&Value::Date(19_723)), "2024-01-01");
        assert_eq!(text(&Value::Date(-719_163)), "0001-12-31 BC");
        assert_eq!(text(&Value::Date(DATE_INFINITY)), "infinity");
        assert_eq!(text(&Value::Time(3_723_000_004)), "01:02:03.000004");
        assert_eq!(text(&Value::Time(86_400_000_000)), "24:00:00");
        assert_eq!(
            text(&Value::TimeTz {
                micros: 0,
                offset_seconds: -19_800
            }),
            "00:00:00-05:30:00"
        );
        assert_eq!(text(&Value::TimestampTz(-1)), "1969-12-31 23:59:59.999999+00");
        assert_eq!(
            text(&Value::Timestamp(1_700_000_000_000_000)),
            "2023-11-14 22:13:20"
        );
        assert_eq!(text(&Value::TimestampTz(TIMESTAMP_NEG_INFINITY)), "-infinity");
    }

    #[test]
    fn numbers_and_intervals() {
        assert_eq!(text(&Value::Float64(0.1)), "0.1");
        assert_eq!(text(&Value::Float32(f32::NEG_INFINITY)), "-Infinity");
        assert_eq!(text(&Value::Float64(f64::NAN)), "NaN");
        assert_eq!(text(&Value::Numeric(Numeric::Finite("-1.50".into()))), "-1.50");
        assert_eq!(
            text(&Value::Interval {
                months: -14,
                days: 3,
                micros: -3_723_000_004
            }),
            "-14 mons 3 days -1:02:03.000004"
        );
    }

    #[test]
    fn arrays_quote_what_the_parser_would_misread() {
        let v = Value::Array(vec![
            Value::Text("a".into()),
            Value::Text("b c".into()),
            Value::Null,
            Value::Text("NULL".into()),
            Value::Text(String::new()),
            Value::Text("q\"\\".into()),
        ]);
        assert_eq!(text(&v), r#"{a,"b c",NULL,"NULL","","q\"\\"}"#);
        let nested = Value::Array(vec![
            Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            Value::Array(vec![Value::Int32(3), Value::Int32(4)]),
        ]);
        assert_eq!(text(&nested), "{{1,2},{3,4}}");
        assert_eq!(text(&Value::Array(vec![Value::Bytes(vec![1])])), r#"{"\\x01"}"#);
    }
}
