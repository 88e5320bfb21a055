//! Typed column values.
//!
//! A source parses each column into the narrowest [`Value`] that keeps it exact; sinks encode
//! from that plus the column's [`crate::PgType`] (e.g. a `Value::Text` is JSON text for a
//! `jsonb` column and an enum label for an enum column). Temporal values are integers in the
//! units PostgreSQL itself uses, so no precision is lost on the way.

/// A row: one value per column, in [`crate::TableSchema::columns`] order.
pub type Row = Vec<Value>;

/// `infinity` / `-infinity` for [`Value::Timestamp`] and [`Value::TimestampTz`] (as in PostgreSQL).
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;
/// `infinity` / `-infinity` for [`Value::Date`].
pub const DATE_INFINITY: i32 = i32::MAX;
pub const DATE_NEG_INFINITY: i32 = i32::MIN;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// An unchanged out-of-line (TOAST) value that PostgreSQL did not send with an update.
    /// The real value is the column's previous one, which the source does not know.
    Unchanged,
    Bool(bool),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    /// `numeric` and `money`.
    Numeric(Numeric),
    /// Text and every type carried in its text form (json, uuid, inet, enum labels, bit strings…).
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01; [`DATE_INFINITY`] / [`DATE_NEG_INFINITY`] for ±infinity.
    Date(i32),
    /// Microseconds since midnight (`24:00:00` is 86 400 000 000).
    Time(i64),
    /// Microseconds since midnight in the given zone, and the zone's offset east of UTC.
    TimeTz {
        micros: i64,
        offset_seconds: i32,
    },
    /// Microseconds since 1970-01-01 00:00:00, without time zone.
    Timestamp(i64),
    /// Microseconds since the Unix epoch, UTC.
    TimestampTz(i64),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// Elements in order; a multi-dimensional array nests arrays.
    Array(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// An exact decimal number as PostgreSQL prints it, or one of its special values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Numeric {
    /// Canonical decimal text: optional `-`, digits, optional `.` and digits (no exponent).
    /// The number of fraction digits is the value's scale, as in PostgreSQL (`2.50` has scale 2).
    Finite(String),
    NaN,
    Infinity,
    NegInfinity,
}

impl Numeric {
    /// The value's scale: digits after the decimal point (0 for special values).
    pub fn scale(&self) -> u32 {
        match self {
            Numeric::Finite(s) => s.split_once('.').map_or(0, |(_, f)| f.len() as u32),
            _ => 0,
        }
    }

    /// The unscaled value's digits with sign, e.g. `-12.50` → (`true`, `"1250"`), or `None` for
    /// special values.
    pub fn unscaled_digits(&self) -> Option<(bool, String)> {
        let Numeric::Finite(s) = self else { return None };
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let digits: String = body.chars().filter(|c| *c != '.').collect();
        let trimmed = digits.trim_start_matches('0');
        let digits = if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        };
        Some((negative && digits != "0", digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_scale_and_digits() {
        let n = Numeric::Finite("-12.50".into());
        assert_eq!(n.scale(), 2);
        assert_eq!(n.unscaled_digits(), Some((true, "1250".into())));
        let z = Numeric::Finite("-0.00".into());
        assert_eq!(z.unscaled_digits(), Some((false, "0".into())));
        assert_eq!(Numeric::Finite("42".into()).scale(), 0);
        assert_eq!(Numeric::NaN.unscaled_digits(), None);
    }
}
