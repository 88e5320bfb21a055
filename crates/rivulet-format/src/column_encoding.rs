//! How each column's values are written: the Debezium encoding chosen once per column from its
//! [`PgType`] and the settings, plus the substitutions Debezium makes for missing values.
//!
//! **Type mapping** (JSON of Kafka Connect values with schemas disabled):
//! - `bool` → boolean; `int2/int4/int8/oid` → integer; `float4/float8` → Java-spelled number
//!   (`"NaN"`/`"Infinity"` quoted); `numeric`/`money` → see [`crate::decimal`] (money has scale 2).
//! - text-like types (`text`, `varchar`, `char(n)` with its padding, `"char"`, `uuid`, `json`,
//!   `jsonb` as PostgreSQL normalised it, `xml`, `inet`, `cidr`, `macaddr[8]`, enum labels, the
//!   built-in ranges, `tsvector`, `ltree`, `citext`, `isbn`) → string.
//! - `bytea` → [`crate::binary`] per `binary.handling.mode`; `bit(1)` → boolean, longer bit
//!   strings → [`crate::bits`]; temporal types → [`crate::temporal`] per `time.precision.mode`
//!   and `interval.handling.mode`; `point` → [`crate::geometry`]; `hstore` → [`crate::hstore`].
//! - arrays → JSON arrays of the element encoding. Debezium's deterministic failures are
//!   reproduced: a `numeric[]` holding NaN/±Infinity and an enum array holding NULL make the whole
//!   column null; `bit(n)[]` is always null; `int2vector`/`oidvector` are `[]`.
//!
//! **Types Debezium has no converter for** (`include.unknown.datatypes`): other geometric types,
//! multiranges, `tsquery`, `pg_lsn`, `reg*`, `xid`…, composites, other extension types, arrays of
//! domains. Without the setting the column is left out ([`Encoding::for_type`] gives `None`) and
//! `name` is null; with it they are the bytes of their text per `binary.handling.mode` (pgjdbc's
//! rendering for geometric types) and `name` is a string. Arrays Debezium never converts
//! (`interval[]`, `money[]`, `name[]`, `varbit[]`, `xml[]`, `point[]`) and multi-dimensional
//! arrays (Debezium: one null per sub-array) are left out / nulled without the setting and kept
//! as natural arrays with it: there Rivulet keeps data Debezium loses.
//!
//! **NULL in a NOT NULL column** (the non-key columns of a delete's old row under REPLICA
//! IDENTITY DEFAULT): Debezium writes the column's default if it has one, else the type's
//! fallback: `false`, `0`, `0.0`, `""` (also for uuid, json, bytea, bit strings and kept unknown
//! types), zero decimals (`"0.00"`, `"AA=="`, `{"scale":0,"value":"AA=="}`), `"00:00:00Z"`,
//! `"1970-01-01T00:00:00Z"`, the ISO zeros of `isostring` / `interval.handling.mode=string`,
//! the point (0, 0), the empty hstore, `[]`.
//!
//! **Unchanged TOAST** ([`Value::Unchanged`]): Debezium substitutes its placeholder converted to
//! the column type: the string for text-like columns and for `numeric` in string mode, its UTF-8
//! bytes for `bytea` in `bytes` mode (the string in `hex` mode, null in the base64 modes), the map
//! `{placeholder: placeholder}` for `hstore`, a one-element array for
//! `text[]`/`varchar[]`/`char[]`/`json[]`/`jsonb[]` (the string), `bytea[]` (the bytes) and
//! `uuid[]` (the name-based UUID of the bytes), the bytes as signed numbers for
//! `int4[]`/`int8[]`/`date[]`, and null for everything else.

use rivulet_core::{GeometricKind, Numeric, PgType, Value};

use crate::binary::{write_binary, write_binary_placeholder};
use crate::bits::{bit_is_set, write_bits};
use crate::decimal;
use crate::geometry::{parse_point, pgjdbc_text, write_point};
use crate::hstore::{parse_hstore, write_empty, write_hstore};
use crate::java_number::{write_json_double, write_json_float};
use crate::json_text::{write_base64, write_bool, write_i64, write_str};
use crate::name_uuid::name_uuid_from_bytes;
use crate::temporal::{self, TimeUnit};
use crate::{
    BinaryHandling, DebeziumSettings, DecimalHandling, HstoreHandling, IntervalHandling, TimePrecisionMode,
};

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
    /// `bytea`.
    Binary(BinaryHandling),
    /// A value Debezium keeps without understanding it: the bytes of its text.
    TextBytes(BinaryHandling),
    /// A geometric value kept without a converter: the bytes of pgjdbc's rendering.
    GeometricBytes {
        kind: GeometricKind,
        mode: BinaryHandling,
    },
    Bit,
    Bits,
    Date {
        iso: bool,
    },
    /// A `date[]` element.
    DateInArray {
        iso: bool,
    },
    Time(TimeUnit),
    /// A `time[]` element (millisecond precision, wrapping at midnight).
    TimeInArray(TimeUnit),
    Timestamp(TimeUnit),
    /// A `timestamp[]` element (Julian calendar before 1582-10-15).
    TimestampInArray(TimeUnit),
    TimeTz,
    /// A `timetz[]` element (whole seconds).
    TimeTzInArray,
    TimestampTz {
        width: Option<u8>,
    },
    /// A `timestamptz[]` element.
    TimestampTzInArray {
        width: Option<u8>,
    },
    Interval(IntervalHandling),
    Point,
    Hstore(HstoreHandling),
    /// A column whose streamed values Debezium cannot read (`name` without
    /// `include.unknown.datatypes`): every value counts as missing, except in snapshot rows (read
    /// through JDBC), where it is text.
    Unreadable,
    /// `int2vector`/`oidvector`: Debezium reads `[]` (null for an empty vector).
    EmptyList,
    /// `bit(n)[]`: Debezium's schema for it is not an array, so every value is null.
    AlwaysNull,
    Array(Box<ArrayEncoding>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrayEncoding {
    pub element: Encoding,
    /// Debezium fails to read a `numeric[]` holding NaN/±Infinity and writes null.
    pub null_if_special_numeric: bool,
    /// Debezium rejects a NULL element of an enum array (its element schema is required).
    pub null_if_null_element: bool,
    /// A multi-dimensional value keeps its nesting; otherwise each sub-array is null, as Debezium
    /// writes it (for numbers; it writes Java object ids for text, which nobody can reproduce).
    pub keep_nested: bool,
}

/// Money's scale: Debezium's `money.fraction.digits` default.
const MONEY_SCALE: u32 = 2;

impl Encoding {
    /// The encoding of a column of `pg_type`, or `None` when Debezium leaves such columns out.
    pub fn for_type(pg_type: &PgType, settings: &DebeziumSettings) -> Option<Encoding> {
        match pg_type {
            PgType::Array(element) => array_encoding(element, settings),
            _ => scalar_encoding(pg_type, settings, false),
        }
    }

    /// True if every streamed value of the column counts as missing.
    pub fn reads_nothing(&self) -> bool {
        matches!(self, Encoding::Unreadable)
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
            (Encoding::Binary(mode), Value::Bytes(b)) => write_binary(out, b, *mode),
            (Encoding::TextBytes(mode), Value::Text(s)) => write_binary(out, s.as_bytes(), *mode),
            (Encoding::GeometricBytes { kind, mode }, Value::Text(s)) => match pgjdbc_text(*kind, s) {
                Some(text) => write_binary(out, text.as_bytes(), *mode),
                None => out.extend_from_slice(b"null"),
            },
            (Encoding::Bit, Value::Text(s)) => write_bool(out, bit_is_set(s)),
            (Encoding::Bit, Value::Bool(b)) => write_bool(out, *b),
            (Encoding::Bits, Value::Text(s)) => write_bits(out, s),
            (Encoding::Date { iso }, Value::Date(d)) => temporal::write_date_as(out, *d, *iso),
            (Encoding::DateInArray { iso }, Value::Date(d)) => temporal::write_date_in_array(out, *d, *iso),
            (Encoding::Time(unit), Value::Time(us)) => temporal::write_time_as(out, *us, *unit),
            (Encoding::TimeInArray(unit), Value::Time(us)) => {
                temporal::write_time_in_array_as(out, *us, *unit);
            }
            (
                Encoding::TimeTz,
                Value::TimeTz {
                    micros,
                    offset_seconds,
                },
            ) => temporal::write_zoned_time(out, *micros, *offset_seconds),
            (
                Encoding::TimeTzInArray,
                Value::TimeTz {
                    micros,
                    offset_seconds,
                },
            ) => temporal::write_zoned_time_in_array(out, *micros, *offset_seconds),
            (Encoding::Timestamp(unit), Value::Timestamp(us)) => {
                temporal::write_timestamp_as(out, *us, *unit);
            }
            (Encoding::TimestampInArray(unit), Value::Timestamp(us)) => {
                temporal::write_timestamp_in_array_as(out, *us, *unit);
            }
            (Encoding::TimestampTz { width }, Value::TimestampTz(us)) => {
                temporal::write_zoned_timestamp(out, *us, *width);
            }
            (Encoding::TimestampTzInArray { width }, Value::TimestampTz(us)) => {
                temporal::write_zoned_timestamp_in_array(out, *us, *width);
            }
            (Encoding::Interval(mode), Value::Interval { months, days, micros }) => match mode {
                IntervalHandling::Numeric => {
                    write_i64(out, temporal::micro_duration(*months, *days, *micros));
                }
                IntervalHandling::String => temporal::write_iso_interval(out, *months, *days, *micros),
            },
            (Encoding::Point, Value::Text(s)) => match parse_point(s) {
                Some((x, y)) => write_point(out, x, y),
                None => out.extend_from_slice(b"null"),
            },
            (Encoding::Hstore(mode), Value::Text(s)) => match parse_hstore(s) {
                Some(pairs) => write_hstore(out, &pairs, *mode),
                None => out.extend_from_slice(b"null"),
            },
            (Encoding::EmptyList, Value::Text(s)) => {
                out.extend_from_slice(if s.is_empty() { b"null" } else { b"[]" });
            }
            (Encoding::Array(array), Value::Array(items)) => array.write(out, items),
            (Encoding::Unreadable, Value::Text(s)) => write_str(out, s),
            (Encoding::Unreadable | Encoding::AlwaysNull, _) => out.extend_from_slice(b"null"),
            (_, other) => write_natural(out, other),
        }
    }

    /// What Debezium writes for a NULL in a NOT NULL column without a default.
    pub fn write_fallback(&self, out: &mut Vec<u8>) {
        match self {
            Encoding::Bool | Encoding::Bit => out.extend_from_slice(b"false"),
            Encoding::Integer | Encoding::Interval(IntervalHandling::Numeric) => out.push(b'0'),
            Encoding::Interval(IntervalHandling::String) => {
                out.extend_from_slice(temporal::ISO_INTERVAL_ZERO);
            }
            Encoding::Date { iso } | Encoding::DateInArray { iso } => {
                temporal::write_date_fallback(out, *iso);
            }
            Encoding::Time(unit) | Encoding::TimeInArray(unit) => {
                temporal::write_time_fallback(out, *unit, false);
            }
            Encoding::Timestamp(unit) | Encoding::TimestampInArray(unit) => {
                temporal::write_time_fallback(out, *unit, true);
            }
            Encoding::Float32 | Encoding::Float64 => out.extend_from_slice(b"0.0"),
            Encoding::FixedDecimal { scale, mode } => decimal::write_zero(out, Some(*scale), *mode),
            Encoding::VariableDecimal { mode } => decimal::write_zero(out, None, *mode),
            Encoding::Text
            | Encoding::Unreadable
            | Encoding::Binary(_)
            | Encoding::TextBytes(_)
            | Encoding::GeometricBytes { .. }
            | Encoding::Bits => out.extend_from_slice(b"\"\""),
            Encoding::TimeTz | Encoding::TimeTzInArray => {
                out.extend_from_slice(temporal::ZONED_TIME_MIDNIGHT);
            }
            Encoding::TimestampTz { .. } | Encoding::TimestampTzInArray { .. } => {
                out.extend_from_slice(temporal::ZONED_TIMESTAMP_EPOCH);
            }
            Encoding::Point => write_point(out, 0.0, 0.0),
            Encoding::Hstore(mode) => write_empty(out, *mode),
            Encoding::AlwaysNull => out.extend_from_slice(b"null"),
            Encoding::EmptyList | Encoding::Array(_) => out.extend_from_slice(b"[]"),
        }
    }

    /// What Debezium writes for an unchanged TOAST value of a column of type `pg_type`.
    pub fn write_unchanged(&self, out: &mut Vec<u8>, pg_type: &PgType, settings: &DebeziumSettings) {
        let placeholder = settings.unavailable_value_placeholder.as_str();
        match (self, pg_type) {
            (Encoding::Text, _) => write_str(out, placeholder),
            (
                Encoding::Binary(mode) | Encoding::TextBytes(mode) | Encoding::GeometricBytes { mode, .. },
                _,
            ) => write_binary_placeholder(out, placeholder, *mode),
            (
                Encoding::VariableDecimal {
                    mode: DecimalHandling::String,
                }
                | Encoding::FixedDecimal {
                    mode: DecimalHandling::String,
                    ..
                },
                _,
            ) => write_str(out, placeholder),
            (Encoding::Hstore(mode), _) => {
                let pairs = vec![(placeholder.to_string(), Some(placeholder.to_string()))];
                write_hstore(out, &pairs, *mode);
            }
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

/// The encoding of a scalar type, or of an array's element (`in_array`), where Debezium reads
/// temporal elements through `java.sql` types.
fn scalar_encoding(pg_type: &PgType, settings: &DebeziumSettings, in_array: bool) -> Option<Encoding> {
    let mode = settings.decimal_handling;
    let binary = settings.binary_handling;
    let time_mode = settings.time_precision_mode;
    let keep_unknown = settings.include_unknown_datatypes;
    Some(match pg_type {
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
        PgType::Bytea => Encoding::Binary(binary),
        PgType::Bit { length } | PgType::VarBit { length } => {
            // A plain `bit` is bit(1); an unconstrained varbit is a Bits value.
            let one = match pg_type {
                PgType::Bit { .. } => length.is_none_or(|l| l <= 1),
                _ => *length == Some(1),
            };
            if one { Encoding::Bit } else { Encoding::Bits }
        }
        PgType::Date => {
            let iso = time_mode == TimePrecisionMode::IsoString;
            if in_array {
                Encoding::DateInArray { iso }
            } else {
                Encoding::Date { iso }
            }
        }
        PgType::Time { precision } => {
            let unit = TimeUnit::for_time(time_mode, *precision);
            if in_array {
                Encoding::TimeInArray(unit)
            } else {
                Encoding::Time(unit)
            }
        }
        PgType::TimeTz { .. } => {
            if in_array {
                Encoding::TimeTzInArray
            } else {
                Encoding::TimeTz
            }
        }
        PgType::Timestamp { precision } => {
            let unit = TimeUnit::for_timestamp(time_mode, *precision);
            if in_array {
                Encoding::TimestampInArray(unit)
            } else {
                Encoding::Timestamp(unit)
            }
        }
        PgType::TimestampTz { precision } => {
            let width = temporal::zoned_timestamp_width(*precision);
            if in_array {
                Encoding::TimestampTzInArray { width }
            } else {
                Encoding::TimestampTz { width }
            }
        }
        PgType::Interval => Encoding::Interval(settings.interval_handling),
        PgType::Point => Encoding::Point,
        PgType::Hstore => Encoding::Hstore(settings.hstore_handling),
        PgType::IntVector { .. } => Encoding::EmptyList,
        PgType::Name if keep_unknown => Encoding::Text,
        PgType::Name => Encoding::Unreadable,
        PgType::Geometric(kind) if keep_unknown => Encoding::GeometricBytes {
            kind: *kind,
            mode: binary,
        },
        PgType::Other { .. } if keep_unknown => Encoding::TextBytes(binary),
        PgType::Geometric(_) | PgType::Other { .. } => return None,
        PgType::Array(element) => return array_encoding(element, settings),
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
        | PgType::Range { .. }
        | PgType::TsVector
        | PgType::Ltree => Encoding::Text,
    })
}

/// The encoding of an array of `element`, or `None` when Debezium leaves the column out.
fn array_encoding(element: &PgType, settings: &DebeziumSettings) -> Option<Encoding> {
    let keep_unknown = settings.include_unknown_datatypes;
    let element_encoding = match element {
        // Arrays Debezium has no converter for, whatever its settings (DBZ-459).
        PgType::Interval
        | PgType::Money
        | PgType::Name
        | PgType::VarBit { .. }
        | PgType::Xml
        | PgType::Point
            if !keep_unknown =>
        {
            return None;
        }
        PgType::Bit { .. } if !keep_unknown => return Some(Encoding::AlwaysNull),
        PgType::IntVector { .. } if !keep_unknown => return None,
        PgType::IntVector { .. } => Encoding::Text,
        PgType::Name => Encoding::Text,
        PgType::Array(inner) => return array_encoding(inner, settings),
        other => scalar_encoding(other, settings, true)?,
    };
    Some(Encoding::Array(Box::new(ArrayEncoding {
        element: element_encoding,
        null_if_special_numeric: matches!(element, PgType::Numeric { .. }),
        null_if_null_element: matches!(element, PgType::Enum { .. }),
        keep_nested: keep_unknown,
    })))
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
                Value::Array(inner) if self.keep_nested => self.write_items(out, inner),
                Value::Array(_) => out.extend_from_slice(b"null"),
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
        Value::Date(d) => temporal::write_date_as(out, *d, false),
        Value::Time(us) => temporal::write_time_as(out, *us, TimeUnit::Micros),
        Value::TimeTz {
            micros,
            offset_seconds,
        } => temporal::write_zoned_time(out, *micros, *offset_seconds),
        Value::Timestamp(us) => temporal::write_timestamp_as(out, *us, TimeUnit::Micros),
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
        Encoding::for_type(pg_type, &DebeziumSettings::default()).unwrap()
    }

    #[allow(clippy::needless_pass_by_value)]
    fn with(settings: DebeziumSettings, pg_type: &PgType) -> Option<Encoding> {
        Encoding::for_type(pg_type, &settings)
    }

    fn decimal_settings(mode: DecimalHandling) -> DebeziumSettings {
        DebeziumSettings {
            decimal_handling: mode,
            ..DebeziumSettings::default()
        }
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
            Encoding::Time(TimeUnit::Millis)
        );
        assert_eq!(
            enc(&PgType::Time { precision: Some(4) }),
            Encoding::Time(TimeUnit::Micros)
        );
        assert_eq!(
            enc(&PgType::Time { precision: None }),
            Encoding::Time(TimeUnit::Micros)
        );
        assert_eq!(
            enc(&PgType::Timestamp { precision: Some(0) }),
            Encoding::Timestamp(TimeUnit::Millis)
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
        assert_eq!(a.element, Encoding::TimeInArray(TimeUnit::Micros));
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
        let debezium = DebeziumSettings {
            include_unknown_datatypes: false,
            ..DebeziumSettings::default()
        };
        let ints = with(debezium, &PgType::Array(Box::new(PgType::Int4))).unwrap();
        assert_eq!(render(&ints, &nested), "[null,null]");
        assert_eq!(render(&ints, &Value::Array(vec![])), "[]");
    }

    #[test]
    fn unknown_types_follow_include_unknown_datatypes() {
        let debezium = || DebeziumSettings {
            include_unknown_datatypes: false,
            ..DebeziumSettings::default()
        };
        let tsquery = PgType::Other {
            name: "tsquery".into(),
        };
        let boxes = PgType::Geometric(GeometricKind::Box);
        let arr = |t: PgType| PgType::Array(Box::new(t));
        assert_eq!(with(debezium(), &tsquery), None);
        assert_eq!(with(debezium(), &boxes), None);
        assert_eq!(with(debezium(), &PgType::Name), Some(Encoding::Unreadable));
        assert_eq!(with(debezium(), &arr(PgType::Interval)), None);
        assert_eq!(with(debezium(), &arr(PgType::Xml)), None);
        assert_eq!(
            with(debezium(), &arr(PgType::Bit { length: Some(3) })),
            Some(Encoding::AlwaysNull)
        );
        assert_eq!(with(debezium(), &arr(tsquery.clone())), None);
        assert_eq!(enc(&tsquery), Encoding::TextBytes(BinaryHandling::Bytes));
        assert_eq!(enc(&PgType::Name), Encoding::Text);
        assert_eq!(render(&enc(&tsquery), &Value::Text("'a'".into())), r#""J2En""#);
        assert_eq!(
            render(&enc(&boxes), &Value::Text("(3,4),(1,2)".into())),
            r#""KDMuMCw0LjApLCgxLjAsMi4wKQ==""#
        );
        let Encoding::Array(intervals) = enc(&arr(PgType::Interval)) else {
            panic!("kept")
        };
        assert_eq!(intervals.element, Encoding::Interval(IntervalHandling::Numeric));
        let vector = enc(&PgType::IntVector {
            name: "int2vector".into(),
        });
        assert_eq!(render(&vector, &Value::Text("1 2".into())), "[]");
        assert_eq!(render(&vector, &Value::Text(String::new())), "null");
    }

    #[test]
    fn fallbacks() {
        let fallback = |t: PgType, mode| {
            let mut out = Vec::new();
            Encoding::for_type(&t, &decimal_settings(mode))
                .unwrap()
                .write_fallback(&mut out);
            std::string::String::from_utf8(out).unwrap()
        };
        use DecimalHandling::*;
        assert_eq!(fallback(PgType::Bool, Precise), "false");
        assert_eq!(fallback(PgType::Hstore, Precise), r#""{}""#);
        assert_eq!(
            fallback(PgType::Point, Precise),
            r#"{"x":0.0,"y":0.0,"wkb":"AQEAAAAAAAAAAAAAAAAAAAAAAAAA","srid":null}"#
        );
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
            Encoding::for_type(&t, &decimal_settings(mode))
                .unwrap()
                .write_unchanged(&mut out, &t, &settings);
            std::string::String::from_utf8(out).unwrap()
        };
        use DecimalHandling::*;
        let p = "\"__debezium_unavailable_value\"";
        assert_eq!(unchanged(PgType::Text, Precise), p);
        assert_eq!(unchanged(PgType::Jsonb, Precise), p);
        assert_eq!(unchanged(PgType::TsVector, Precise), p);
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
