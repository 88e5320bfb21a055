//! How each column's values are written: the Debezium encoding chosen once per column from its
//! [`PgType`] and the settings, plus the two substitutions Debezium makes for missing values.
//!
//! **Type mapping** (JSON of Kafka Connect values with schemas disabled):
//! - `bool` → boolean; `int2/int4/int8/oid` → integer; `float4/float8` → Java-spelled number
//!   (`"NaN"`/`"Infinity"` quoted); `numeric`/`money` → see [`crate::decimal`] (money has scale 2).
//! - text-like types (`text`, `varchar`, `char(n)` with its padding, `uuid`, `json`, `jsonb` as
//!   PostgreSQL normalised it, `xml`, `inet`, `cidr`, `macaddr[8]`, enum labels, and any
//!   [`PgType::Other`] in PostgreSQL's text form) → string.
//! - `bytea` → base64 (`binary.handling.mode=bytes`); `bit(1)` → boolean, longer bit strings →
//!   [`crate::bits`]; temporal types → [`crate::temporal`].
//! - arrays → JSON arrays of the element encoding. Two Debezium failure modes are reproduced
//!   because they are deterministic: a `numeric[]` holding NaN/±Infinity and an enum array
//!   holding NULL make the whole column null.
//!
//! **NULL in a NOT NULL column** (the non-key columns of a delete's old row under REPLICA
//! IDENTITY DEFAULT): Debezium writes the type's fallback: `false`, `0`, `0.0`, `""` (also for
//! uuid, json, bytea and bit strings), zero decimals (`"0.00"`, `"AA=="`,
//! `{"scale":0,"value":"AA=="}`), `"00:00:00Z"`, `"1970-01-01T00:00:00Z"`, `[]`.
//!
//! **Unchanged TOAST** ([`Value::Unchanged`]): Debezium substitutes its placeholder converted to
//! the column type: the string for text-like columns and for `numeric` in string mode, its UTF-8
//! bytes for `bytea`, a one-element array for `text[]`/`varchar[]`/`char[]`/`json[]`/`jsonb[]`
//! (the string), `bytea[]` (the bytes) and `uuid[]` (the name-based UUID of the bytes), the bytes
//! as signed numbers for `int4[]`/`int8[]`/`date[]`, and null for everything else.
//!
//! Deliberate differences from Debezium 3.6 (it loses data there): `name` columns (Debezium
//! writes null), multi-dimensional arrays (Debezium writes nulls or Java object ids), types
//! Debezium drops or turns into structs (`point`, `hstore`, geometric types, `interval[]`,
//! `money[]`, ...): Rivulet writes PostgreSQL's text or the natural array.

use rivulet_core::{Numeric, PgType, Value};

use crate::bits::{bit_is_set, write_bits};
use crate::decimal;
use crate::java_number::{write_json_double, write_json_float};
use crate::json_text::{write_base64, write_bool, write_i64, write_str};
use crate::name_uuid::name_uuid_from_bytes;
use crate::temporal;
use crate::{DebeziumSettings, DecimalHandling};

/// The encoding of one column (or of an array's elements).
#[derive(Clone, Debug, PartialEq)]
pub enum Encoding {
    Bool,
    Integer,
    Float32,
    Float64,
    /// `numeric(p,s)`, `numeric(p)` and `money`: a fixed scale.
    FixedDecimal {
        scale: u32,
        mode: DecimalHandling,
    },
    /// Unconstrained `numeric`.
    VariableDecimal {
        mode: DecimalHandling,
    },
    Text,
    Bytes,
    Bit,
    Bits,
    Date,
    Time {
        millis: bool,
    },
    /// A `time[]` element (millisecond precision).
    TimeInArray {
        millis: bool,
    },
    TimeTz,
    /// A `timetz[]` element (whole seconds).
    TimeTzInArray,
    Timestamp {
        millis: bool,
    },
    TimestampTz {
        width: Option<u8>,
    },
    Interval,
    Array(Box<ArrayEncoding>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrayEncoding {
    pub element: Encoding,
    /// Debezium fails to read a `numeric[]` holding NaN/±Infinity and writes null.
    pub null_if_special_numeric: bool,
    /// Debezium rejects a NULL element of an enum array (its element schema is required).
    pub null_if_null_element: bool,
}

/// Money's scale: Debezium's `money.fraction.digits` default.
const MONEY_SCALE: u32 = 2;

impl Encoding {
    pub fn for_type(pg_type: &PgType, mode: DecimalHandling) -> Encoding {
        Self::for_type_at(pg_type, mode, false)
    }

    fn for_type_at(pg_type: &PgType, mode: DecimalHandling, in_array: bool) -> Encoding {
        match pg_type {
            PgType::Bool => Encoding::Bool,
            PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Oid => Encoding::Integer,
            PgType::Float4 => Encoding::Float32,
            PgType::Float8 => Encoding::Float64,
            PgType::Numeric { precision: None, .. } => Encoding::VariableDecimal { mode },
            PgType::Numeric {
                precision: Some(_),
                scale,
            } => Encoding::FixedDecimal {
                scale: u32::from(scale.unwrap_or(0)),
                mode,
            },
            PgType::Money => Encoding::FixedDecimal {
                scale: MONEY_SCALE,
                mode,
            },
            PgType::Bytea => Encoding::Bytes,
            PgType::Bit { length } | PgType::VarBit { length } => {
                // A plain `bit` is bit(1); an unconstrained varbit is a Bits value.
                let one = match pg_type {
                    PgType::Bit { .. } => length.is_none_or(|l| l <= 1),
                    _ => *length == Some(1),
                };
                if one { Encoding::Bit } else { Encoding::Bits }
            }
            PgType::Date => Encoding::Date,
            PgType::Time { precision } => {
                let millis = is_millis(*precision);
                if in_array {
                    Encoding::TimeInArray { millis }
                } else {
                    Encoding::Time { millis }
                }
            }
            PgType::TimeTz { .. } => {
                if in_array {
                    Encoding::TimeTzInArray
                } else {
                    Encoding::TimeTz
                }
            }
            PgType::Timestamp { precision } => Encoding::Timestamp {
                millis: is_millis(*precision),
            },
            PgType::TimestampTz { precision } => Encoding::TimestampTz {
                width: temporal::zoned_timestamp_width(*precision),
            },
            PgType::Interval => Encoding::Interval,
            PgType::Array(element) => Encoding::Array(Box::new(ArrayEncoding {
                element: Self::for_type_at(element, mode, true),
                null_if_special_numeric: matches!(**element, PgType::Numeric { .. }),
                null_if_null_element: matches!(**element, PgType::Enum { .. }),
            })),
            PgType::Text
            | PgType::Char { .. }
            | PgType::Varchar { .. }
            | PgType::Uuid
            | PgType::Json
            | PgType::Jsonb
            | PgType::Xml
            | PgType::Inet
            | PgType::Cidr
            | PgType::MacAddr
            | PgType::MacAddr8
            | PgType::Enum { .. }
            | PgType::Other { .. } => Encoding::Text,
        }
    }

    /// Writes `value` in this encoding. A value of an unexpected kind (a source bug) is written
    /// in the most natural way for its own kind rather than dropped.
    pub fn write(&self, out: &mut Vec<u8>, value: &Value) {
        match (self, value) {
            (_, Value::Null) => out.extend_from_slice(b"null"),
            (Encoding::Bool, Value::Bool(b)) => write_bool(out, *b),
            (Encoding::Integer, Value::Int16(v)) => write_i64(out, i64::from(*v)),
            (Encoding::Integer, Value::Int32(v)) => write_i64(out, i64::from(*v)),
            (Encoding::Integer, Value::Int64(v)) => write_i64(out, *v),
            (Encoding::Float32, Value::Float32(v)) => write_json_float(out, *v),
            (Encoding::Float64, Value::Float64(v)) => write_json_double(out, *v),
            (Encoding::Float64, Value::Float32(v)) => write_json_double(out, f64::from(*v)),
            (Encoding::FixedDecimal { scale, mode }, Value::Numeric(n)) => {
                decimal::write_fixed(out, n, *scale, *mode);
            }
            (Encoding::VariableDecimal { mode }, Value::Numeric(n)) => decimal::write_variable(out, n, *mode),
            (Encoding::Text, Value::Text(s)) => write_str(out, s),
            (Encoding::Bytes, Value::Bytes(b)) => write_base64(out, b),
            (Encoding::Bit, Value::Text(s)) => write_bool(out, bit_is_set(s)),
            (Encoding::Bit, Value::Bool(b)) => write_bool(out, *b),
            (Encoding::Bits, Value::Text(s)) => write_bits(out, s),
            (Encoding::Date, Value::Date(d)) => temporal::write_date(out, *d),
            (Encoding::Time { millis }, Value::Time(us)) => temporal::write_time(out, *us, *millis),
            (Encoding::TimeInArray { millis }, Value::Time(us)) => {
                temporal::write_time_in_array(out, *us, *millis);
            }
            (
                Encoding::TimeTz,
                Value::TimeTz {
                    micros,
                    offset_seconds,
                },
            ) => {
                temporal::write_zoned_time(out, *micros, *offset_seconds);
            }
            (
                Encoding::TimeTzInArray,
                Value::TimeTz {
                    micros,
                    offset_seconds,
                },
            ) => {
                temporal::write_zoned_time_in_array(out, *micros, *offset_seconds);
            }
            (Encoding::Timestamp { millis }, Value::Timestamp(us)) => {
                temporal::write_timestamp(out, *us, *millis);
            }
            (Encoding::TimestampTz { width }, Value::TimestampTz(us)) => {
                temporal::write_zoned_timestamp(out, *us, *width);
            }
            (Encoding::Interval, Value::Interval { months, days, micros }) => {
                write_i64(out, temporal::micro_duration(*months, *days, *micros));
            }
            (Encoding::Array(array), Value::Array(items)) => array.write(out, items),
            (_, other) => write_natural(out, other),
        }
    }

    /// What Debezium writes for a NULL in a NOT NULL column.
    pub fn write_fallback(&self, out: &mut Vec<u8>) {
        match self {
            Encoding::Bool | Encoding::Bit => out.extend_from_slice(b"false"),
            Encoding::Integer
            | Encoding::Date
            | Encoding::Time { .. }
            | Encoding::TimeInArray { .. }
            | Encoding::Timestamp { .. }
            | Encoding::Interval => out.push(b'0'),
            Encoding::Float32 | Encoding::Float64 => out.extend_from_slice(b"0.0"),
            Encoding::FixedDecimal { scale, mode } => decimal::write_zero(out, Some(*scale), *mode),
            Encoding::VariableDecimal { mode } => decimal::write_zero(out, None, *mode),
            Encoding::Text | Encoding::Bytes | Encoding::Bits => out.extend_from_slice(b"\"\""),
            Encoding::TimeTz | Encoding::TimeTzInArray => {
                out.extend_from_slice(temporal::ZONED_TIME_MIDNIGHT);
            }
            Encoding::TimestampTz { .. } => out.extend_from_slice(temporal::ZONED_TIMESTAMP_EPOCH),
            Encoding::Array(_) => out.extend_from_slice(b"[]"),
        }
    }

    /// What Debezium writes for an unchanged TOAST value of a column of type `pg_type`.
    pub fn write_unchanged(&self, out: &mut Vec<u8>, pg_type: &PgType, settings: &DebeziumSettings) {
        let placeholder = settings.unavailable_value_placeholder.as_str();
        match (self, pg_type) {
            (Encoding::Text, _) => write_str(out, placeholder),
            (Encoding::Bytes, _) => write_base64(out, placeholder.as_bytes()),
            (
                Encoding::VariableDecimal {
                    mode: DecimalHandling::String,
                },
                _,
            )
            | (
                Encoding::FixedDecimal {
                    mode: DecimalHandling::String,
                    ..
                },
                _,
            ) => write_str(out, placeholder),
            (Encoding::Array(_), PgType::Array(element)) => match &**element {
                PgType::Int4 | PgType::Int8 | PgType::Date => {
                    out.push(b'[');
                    for (i, b) in placeholder.bytes().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        // Java bytes are signed.
                        write_i64(out, i64::from(b as i8));
                    }
                    out.push(b']');
                }
                PgType::Text
                | PgType::Varchar { .. }
                | PgType::Char { .. }
                | PgType::Json
                | PgType::Jsonb => {
                    out.push(b'[');
                    write_str(out, placeholder);
                    out.push(b']');
                }
                PgType::Bytea => {
                    out.push(b'[');
                    write_base64(out, placeholder.as_bytes());
                    out.push(b']');
                }
                PgType::Uuid => {
                    out.push(b'[');
                    write_str(out, &name_uuid_from_bytes(placeholder.as_bytes()));
                    out.push(b']');
                }
                _ => out.extend_from_slice(b"null"),
            },
            _ => out.extend_from_slice(b"null"),
        }
    }
}

fn is_millis(precision: Option<u8>) -> bool {
    precision.is_some_and(|p| p <= 3)
}

impl ArrayEncoding {
    fn write(&self, out: &mut Vec<u8>, items: &[Value]) {
        if (self.null_if_special_numeric && items.iter().any(is_special_numeric))
            || (self.null_if_null_element && items.iter().any(Value::is_null))
        {
            out.extend_from_slice(b"null");
            return;
        }
        self.write_items(out, items);
    }

    fn write_items(&self, out: &mut Vec<u8>, items: &[Value]) {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match item {
                // A multi-dimensional array: sub-arrays share the element encoding.
                Value::Array(inner) => self.write_items(out, inner),
                other => self.element.write(out, other),
            }
        }
        out.push(b']');
    }
}

fn is_special_numeric(value: &Value) -> bool {
    match value {
        Value::Numeric(n) => !matches!(n, Numeric::Finite(_)),
        Value::Array(items) => items.iter().any(is_special_numeric),
        _ => false,
    }
}

/// A value written by its own kind, for values that do not match their column's type.
fn write_natural(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null | Value::Unchanged => out.extend_from_slice(b"null"),
        Value::Bool(b) => write_bool(out, *b),
        Value::Int16(v) => write_i64(out, i64::from(*v)),
        Value::Int32(v) => write_i64(out, i64::from(*v)),
        Value::Int64(v) => write_i64(out, *v),
        Value::Float32(v) => write_json_float(out, *v),
        Value::Float64(v) => write_json_double(out, *v),
        Value::Numeric(n) => decimal::write_variable(out, n, DecimalHandling::String),
        Value::Text(s) => write_str(out, s),
        Value::Bytes(b) => write_base64(out, b),
        Value::Date(d) => temporal::write_date(out, *d),
        Value::Time(us) => temporal::write_time(out, *us, false),
        Value::TimeTz {
            micros,
            offset_seconds,
        } => temporal::write_zoned_time(out, *micros, *offset_seconds),
        Value::Timestamp(us) => temporal::write_timestamp(out, *us, false),
        Value::TimestampTz(us) => temporal::write_zoned_timestamp(out, *us, Some(6)),
        Value::Interval { months, days, micros } => {
            write_i64(out, temporal::micro_duration(*months, *days, *micros));
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_natural(out, item);
            }
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(pg_type: &PgType) -> Encoding {
        Encoding::for_type(pg_type, DecimalHandling::Precise)
    }

    fn render(encoding: &Encoding, value: &Value) -> String {
        let mut out = Vec::new();
        encoding.write(&mut out, value);
        std::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn chooses_debezium_logical_types() {
        assert_eq!(enc(&PgType::Bit { length: Some(1) }), Encoding::Bit);
        assert_eq!(enc(&PgType::Bit { length: None }), Encoding::Bit);
        assert_eq!(enc(&PgType::Bit { length: Some(8) }), Encoding::Bits);
        assert_eq!(enc(&PgType::VarBit { length: Some(1) }), Encoding::Bit);
        assert_eq!(enc(&PgType::VarBit { length: None }), Encoding::Bits);
        assert_eq!(
            enc(&PgType::Time { precision: Some(3) }),
            Encoding::Time { millis: true }
        );
        assert_eq!(
            enc(&PgType::Time { precision: Some(4) }),
            Encoding::Time { millis: false }
        );
        assert_eq!(
            enc(&PgType::Time { precision: None }),
            Encoding::Time { millis: false }
        );
        assert_eq!(
            enc(&PgType::Timestamp { precision: Some(0) }),
            Encoding::Timestamp { millis: true }
        );
        assert_eq!(
            enc(&PgType::TimestampTz { precision: None }),
            Encoding::TimestampTz { width: Some(6) }
        );
        assert_eq!(
            enc(&PgType::TimestampTz { precision: Some(0) }),
            Encoding::TimestampTz { width: None }
        );
        assert_eq!(
            enc(&PgType::Numeric {
                precision: Some(20),
                scale: Some(0)
            }),
            Encoding::FixedDecimal {
                scale: 0,
                mode: DecimalHandling::Precise
            }
        );
        assert_eq!(
            enc(&PgType::Numeric {
                precision: None,
                scale: None
            }),
            Encoding::VariableDecimal {
                mode: DecimalHandling::Precise
            }
        );
        assert_eq!(
            enc(&PgType::Money),
            Encoding::FixedDecimal {
                scale: 2,
                mode: DecimalHandling::Precise
            }
        );
        let Encoding::Array(a) = enc(&PgType::Array(Box::new(PgType::Time { precision: None }))) else {
            panic!("not an array")
        };
        assert_eq!(a.element, Encoding::TimeInArray { millis: false });
    }

    #[test]
    fn arrays_reproduce_debezium_failures() {
        let numeric = enc(&PgType::Array(Box::new(PgType::Numeric {
            precision: None,
            scale: None,
        })));
        let nan = Value::Array(vec![
            Value::Numeric(Numeric::Finite("1".into())),
            Value::Numeric(Numeric::NaN),
        ]);
        assert_eq!(render(&numeric, &nan), "null");
        let colors = enc(&PgType::Array(Box::new(PgType::Enum { name: "color".into() })));
        let with_null = Value::Array(vec![Value::Null, Value::Text("green".into())]);
        assert_eq!(render(&colors, &with_null), "null");
        assert_eq!(
            render(&colors, &Value::Array(vec![Value::Text("red".into())])),
            r#"["red"]"#
        );
        let ints = enc(&PgType::Array(Box::new(PgType::Int4)));
        let nested = Value::Array(vec![
            Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            Value::Array(vec![Value::Null, Value::Int32(4)]),
        ]);
        assert_eq!(render(&ints, &nested), "[[1,2],[null,4]]");
        assert_eq!(render(&ints, &Value::Array(vec![])), "[]");
    }

    #[test]
    fn fallbacks() {
        let fallback = |t: PgType, mode| {
            let mut out = Vec::new();
            Encoding::for_type(&t, mode).write_fallback(&mut out);
            std::string::String::from_utf8(out).unwrap()
        };
        use DecimalHandling::*;
        assert_eq!(fallback(PgType::Bool, Precise), "false");
        assert_eq!(fallback(PgType::Oid, Precise), "0");
        assert_eq!(fallback(PgType::Float4, Precise), "0.0");
        assert_eq!(
            fallback(
                PgType::Numeric {
                    precision: Some(12),
                    scale: Some(2)
                },
                String
            ),
            r#""0.00""#
        );
        assert_eq!(
            fallback(
                PgType::Numeric {
                    precision: None,
                    scale: None
                },
                String
            ),
            r#""0""#
        );
        assert_eq!(fallback(PgType::Money, Precise), r#""AA==""#);
        assert_eq!(fallback(PgType::Money, Double), "0.0");
        assert_eq!(fallback(PgType::Uuid, Precise), r#""""#);
        assert_eq!(fallback(PgType::Bit { length: Some(12) }, Precise), r#""""#);
        assert_eq!(
            fallback(PgType::TimeTz { precision: None }, Precise),
            r#""00:00:00Z""#
        );
        assert_eq!(
            fallback(PgType::TimestampTz { precision: Some(3) }, Precise),
            r#""1970-01-01T00:00:00Z""#
        );
        assert_eq!(fallback(PgType::Array(Box::new(PgType::Text)), Precise), "[]");
    }

    #[test]
    fn unchanged_placeholders() {
        let settings = DebeziumSettings::default();
        let unchanged = |t: PgType, mode| {
            let mut out = Vec::new();
            Encoding::for_type(&t, mode).write_unchanged(&mut out, &t, &settings);
            std::string::String::from_utf8(out).unwrap()
        };
        use DecimalHandling::*;
        let p = "\"__debezium_unavailable_value\"";
        assert_eq!(unchanged(PgType::Text, Precise), p);
        assert_eq!(unchanged(PgType::Jsonb, Precise), p);
        assert_eq!(
            unchanged(
                PgType::Other {
                    name: "tsvector".into()
                },
                Precise
            ),
            p
        );
        assert_eq!(
            unchanged(PgType::Bytea, Precise),
            "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\""
        );
        assert_eq!(
            unchanged(
                PgType::Numeric {
                    precision: None,
                    scale: None
                },
                String
            ),
            p
        );
        assert_eq!(
            unchanged(
                PgType::Numeric {
                    precision: None,
                    scale: None
                },
                Precise
            ),
            "null"
        );
        assert_eq!(
            unchanged(
                PgType::Numeric {
                    precision: None,
                    scale: None
                },
                Double
            ),
            "null"
        );
        assert_eq!(unchanged(PgType::VarBit { length: None }, String), "null");
        assert_eq!(
            unchanged(PgType::Array(Box::new(PgType::Text)), Precise),
            format!("[{p}]")
        );
        assert_eq!(unchanged(PgType::Array(Box::new(PgType::Int2)), Precise), "null");
        assert_eq!(
            unchanged(PgType::Array(Box::new(PgType::Int8)), Precise),
            "[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]"
        );
        assert_eq!(
            unchanged(PgType::Array(Box::new(PgType::Uuid)), Precise),
            r#"["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]"#
        );
    }
}
