//! Values into typed Arrow builders, one column at a time.
//!
//! A row is converted in two steps so a bad value never leaves a half-appended row behind:
//! `convert` turns each [`Value`] into a [`Cell`] checked against the column's Arrow type, and
//! only when every cell of the row converted does `append` put them into the builders.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, ListArray, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, FieldRef};
use arrow::error::ArrowError;
use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use rivulet_core::{Numeric, PgType, SourceMeta, Value};

use crate::UNCHANGED_TOAST_PLACEHOLDER;

/// One value, checked and ready to append.
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128),
    Str(std::borrow::Cow<'a, str>),
    Bytes(&'a [u8]),
    List(Vec<Cell<'a>>),
}

pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal {
        builder: Decimal128Builder,
        precision: u8,
        scale: i8,
    },
    Date32(Date32Builder),
    Time64(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Binary(BinaryBuilder),
    /// Any type carried as text; `pg` decides how non-text values are rendered.
    Text {
        builder: StringBuilder,
        pg: PgType,
    },
    List {
        field: FieldRef,
        element: Box<ColumnBuilder>,
        offsets: Vec<i32>,
        valid: Vec<bool>,
    },
}

impl ColumnBuilder {
    pub(crate) fn new(pg: &PgType, data_type: &DataType) -> Self {
        match data_type {
            DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
            DataType::Int16 => ColumnBuilder::Int16(Int16Builder::new()),
            DataType::Int32 => ColumnBuilder::Int32(Int32Builder::new()),
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::new()),
            DataType::Float32 => ColumnBuilder::Float32(Float32Builder::new()),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::new()),
            DataType::Decimal128(p, s) => ColumnBuilder::Decimal {
                builder: Decimal128Builder::new().with_data_type(DataType::Decimal128(*p, *s)),
                precision: *p,
                scale: *s,
            },
            DataType::Date32 => ColumnBuilder::Date32(Date32Builder::new()),
            DataType::Time64(_) => ColumnBuilder::Time64(Time64MicrosecondBuilder::new()),
            DataType::Timestamp(_, tz) => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            DataType::Binary => ColumnBuilder::Binary(BinaryBuilder::new()),
            DataType::List(field) => {
                let element_pg = match pg {
                    PgType::Array(e) => e.as_ref().clone(),
                    other => other.clone(),
                };
                ColumnBuilder::List {
                    field: field.clone(),
                    element: Box::new(ColumnBuilder::new(&element_pg, field.data_type())),
                    offsets: vec![0],
                    valid: Vec::new(),
                }
            }
            // Utf8 and anything unexpected: text never loses a value.
            _ => ColumnBuilder::Text {
                builder: StringBuilder::new(),
                pg: pg.clone(),
            },
        }
    }

    /// Checks `value` against this column and converts it; `Err` says why it does not fit.
    pub(crate) fn convert<'a>(&self, value: &'a Value) -> Result<Cell<'a>, String> {
        if let Value::Null = value {
            return Ok(Cell::Null);
        }
        if let Value::Unchanged = value {
            // An unsent TOASTed value: only text and binary columns can say so.
            return Ok(match self {
                ColumnBuilder::Text { .. } => Cell::Str(UNCHANGED_TOAST_PLACEHOLDER.into()),
                ColumnBuilder::Binary(_) => Cell::Bytes(UNCHANGED_TOAST_PLACEHOLDER.as_bytes()),
                _ => Cell::Null,
            });
        }
        let mismatch = || {
            Err(format!(
                "a {} value does not fit the column's {} type",
                kind(value),
                self.type_name()
            ))
        };
        match self {
            ColumnBuilder::Bool(_) => match value {
                Value::Bool(b) => Ok(Cell::Bool(*b)),
                _ => mismatch(),
            },
            ColumnBuilder::Int16(_) | ColumnBuilder::Int32(_) | ColumnBuilder::Int64(_) => {
                let n = match value {
                    Value::Int16(n) => i64::from(*n),
                    Value::Int32(n) => i64::from(*n),
                    Value::Int64(n) => *n,
                    _ => return mismatch(),
                };
                let fits = match self {
                    ColumnBuilder::Int16(_) => i16::try_from(n).is_ok(),
                    ColumnBuilder::Int32(_) => i32::try_from(n).is_ok(),
                    _ => true,
                };
                if fits {
                    Ok(Cell::Int(n))
                } else {
                    Err(format!(
                        "{n} is out of range for the column's {} type",
                        self.type_name()
                    ))
                }
            }
            ColumnBuilder::Float32(_) | ColumnBuilder::Float64(_) => match value {
                Value::Float32(f) => Ok(Cell::Float(f64::from(*f))),
                Value::Float64(f) => Ok(Cell::Float(*f)),
                _ => mismatch(),
            },
            ColumnBuilder::Decimal { precision, scale, .. } => match value {
                Value::Numeric(n) => decimal(n, *precision, *scale).map(Cell::Decimal),
                _ => mismatch(),
            },
            ColumnBuilder::Date32(_) => match value {
                Value::Date(d) => Ok(Cell::Int(i64::from(*d))),
                _ => mismatch(),
            },
            ColumnBuilder::Time64(_) => match value {
                Value::Time(t) => Ok(Cell::Int(*t)),
                _ => mismatch(),
            },
            ColumnBuilder::Timestamp(_) => match value {
                Value::Timestamp(t) | Value::TimestampTz(t) => Ok(Cell::Int(*t)),
                _ => mismatch(),
            },
            ColumnBuilder::Binary(_) => match value {
                Value::Bytes(b) => Ok(Cell::Bytes(b)),
                Value::Text(s) => Ok(Cell::Bytes(s.as_bytes())),
                _ => mismatch(),
            },
            ColumnBuilder::Text { pg, .. } => Ok(Cell::Str(text(value, pg))),
            ColumnBuilder::List { element, .. } => match value {
                Value::Array(items) => {
                    let mut cells = Vec::with_capacity(items.len());
                    for item in items {
                        if matches!(item, Value::Array(_)) && !matches!(**element, ColumnBuilder::List { .. })
                        {
                            return Err(
                                "a multi-dimensional array does not fit a one-dimensional list column; \
                                        write arrays as JSON text instead (files sink: arrays = \"json\")"
                                    .into(),
                            );
                        }
                        cells.push(element.convert(item)?);
                    }
                    Ok(Cell::List(cells))
                }
                _ => mismatch(),
            },
        }
    }

    /// Appends a cell produced by [`ColumnBuilder::convert`] on this same column.
    pub(crate) fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (ColumnBuilder::Int16(b), Cell::Int(v)) => b.append_value(v as i16),
            (ColumnBuilder::Int32(b), Cell::Int(v)) => b.append_value(v as i32),
            (ColumnBuilder::Int64(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Float32(b), Cell::Float(v)) => b.append_value(v as f32),
            (ColumnBuilder::Float64(b), Cell::Float(v)) => b.append_value(v),
            (ColumnBuilder::Decimal { builder, .. }, Cell::Decimal(v)) => builder.append_value(v),
            (ColumnBuilder::Date32(b), Cell::Int(v)) => b.append_value(v as i32),
            (ColumnBuilder::Time64(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Timestamp(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (ColumnBuilder::Text { builder, .. }, Cell::Str(v)) => builder.append_value(v),
            (
                ColumnBuilder::List {
                    element,
                    offsets,
                    valid,
                    ..
                },
                Cell::List(cells),
            ) => {
                let n = cells.len() as i32;
                for c in cells {
                    element.append(c);
                }
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last + n);
                valid.push(true);
            }
            (ColumnBuilder::List { offsets, valid, .. }, _) => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                valid.push(false);
            }
            (builder, _) => builder.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal { builder, .. } => builder.append_null(),
            ColumnBuilder::Date32(b) => b.append_null(),
            ColumnBuilder::Time64(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Text { builder, .. } => builder.append_null(),
            ColumnBuilder::List { offsets, valid, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                valid.push(false);
            }
        }
    }

    /// The column so far as an array; the builder starts over empty.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal { builder, .. } => Arc::new(builder.finish()),
            ColumnBuilder::Date32(b) => Arc::new(b.finish()),
            ColumnBuilder::Time64(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Text { builder, .. } => Arc::new(builder.finish()),
            ColumnBuilder::List {
                field,
                element,
                offsets,
                valid,
            } => {
                let values = element.finish()?;
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let nulls = NullBuffer::from(std::mem::take(valid));
                let nulls = (nulls.null_count() > 0).then_some(nulls);
                Arc::new(ListArray::try_new(field.clone(), offsets, values, nulls)?)
            }
        })
    }

    fn type_name(&self) -> &'static str {
        match self {
            ColumnBuilder::Bool(_) => "Boolean",
            ColumnBuilder::Int16(_) => "Int16",
            ColumnBuilder::Int32(_) => "Int32",
            ColumnBuilder::Int64(_) => "Int64",
            ColumnBuilder::Float32(_) => "Float32",
            ColumnBuilder::Float64(_) => "Float64",
            ColumnBuilder::Decimal { .. } => "Decimal128",
            ColumnBuilder::Date32(_) => "Date32",
            ColumnBuilder::Time64(_) => "Time64",
            ColumnBuilder::Timestamp(_) => "Timestamp",
            ColumnBuilder::Binary(_) => "Binary",
            ColumnBuilder::Text { .. } => "Utf8",
            ColumnBuilder::List { .. } => "List",
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        use arrow::array::ArrayBuilder;
        match self {
            ColumnBuilder::Bool(b) => b.len(),
            ColumnBuilder::Int16(b) => b.len(),
            ColumnBuilder::Int32(b) => b.len(),
            ColumnBuilder::Int64(b) => b.len(),
            ColumnBuilder::Float32(b) => b.len(),
            ColumnBuilder::Float64(b) => b.len(),
            ColumnBuilder::Decimal { builder, .. } => builder.len(),
            ColumnBuilder::Date32(b) => b.len(),
            ColumnBuilder::Time64(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
            ColumnBuilder::Binary(b) => b.len(),
            ColumnBuilder::Text { builder, .. } => builder.len(),
            ColumnBuilder::List { valid, .. } => valid.len(),
        }
    }
}

/// The builders of the four `_cdc_*` columns.
pub(crate) struct CdcBuilders {
    operation: StringBuilder,
    timestamp: TimestampMicrosecondBuilder,
    lsn: Int64Builder,
    txid: Int64Builder,
}

impl Default for CdcBuilders {
    fn default() -> Self {
        CdcBuilders {
            operation: StringBuilder::new(),
            timestamp: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            lsn: Int64Builder::new(),
            txid: Int64Builder::new(),
        }
    }
}

impl CdcBuilders {
    pub(crate) fn append(&mut self, code: &str, source: &SourceMeta) {
        self.operation.append_value(code);
        self.timestamp.append_value(source.commit_time_us);
        // LSNs stay far below 2^63 (that would be 8 EiB of WAL).
        self.lsn.append_value(source.lsn.0 as i64);
        self.txid.append_option(source.txid.map(i64::from));
    }

    pub(crate) fn finish(&mut self) -> [ArrayRef; 4] {
        [
            Arc::new(self.operation.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.lsn.finish()),
            Arc::new(self.txid.finish()),
        ]
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unchanged => "unchanged TOAST",
        Value::Bool(_) => "boolean",
        Value::Int16(_) => "int2",
        Value::Int32(_) => "int4",
        Value::Int64(_) => "int8",
        Value::Float32(_) => "float4",
        Value::Float64(_) => "float8",
        Value::Numeric(_) => "numeric",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytea",
        Value::Date(_) => "date",
        Value::Time(_) => "time",
        Value::TimeTz { .. } => "timetz",
        Value::Timestamp(_) => "timestamp",
        Value::TimestampTz(_) => "timestamptz",
        Value::Interval { .. } => "interval",
        Value::Array(_) => "array",
    }
}

/// A numeric as the unscaled integer of a `Decimal128(precision, scale)`.
fn decimal(n: &Numeric, precision: u8, scale: i8) -> Result<i128, String> {
    let Some((negative, digits)) = n.unscaled_digits() else {
        return Err(format!(
            "numeric {} has no decimal({precision},{scale}) form; declare the column as unbounded numeric \
             (stored as text) or keep such values out of it",
            match n {
                Numeric::NaN => "NaN",
                Numeric::Infinity => "Infinity",
                _ => "-Infinity",
            }
        ));
    };
    let value_scale = n.scale() as i32;
    let target = i32::from(scale);
    if value_scale > target {
        return Err(format!(
            "{} has more fraction digits than decimal({precision},{scale})",
            text_of(n)
        ));
    }
    let padded_len = digits.len() + (target - value_scale) as usize;
    if digits != "0" && padded_len > usize::from(precision) {
        return Err(format!(
            "{} does not fit decimal({precision},{scale})",
            text_of(n)
        ));
    }
    let mut v: i128 = digits
        .parse()
        .map_err(|_| format!("{} does not fit decimal({precision},{scale})", text_of(n)))?;
    for _ in value_scale..target {
        v *= 10;
    }
    Ok(if negative { -v } else { v })
}

fn text_of(n: &Numeric) -> String {
    match n {
        Numeric::Finite(s) => s.clone(),
        Numeric::NaN => "NaN".into(),
        Numeric::Infinity => "Infinity".into(),
        Numeric::NegInfinity => "-Infinity".into(),
    }
}

/// A value's text form for a Utf8 column: PostgreSQL's own text for text-carried types, ISO
/// forms for temporal values, JSON for arrays.
fn text<'a>(value: &'a Value, pg: &PgType) -> std::borrow::Cow<'a, str> {
    match value {
        Value::Text(s) => s.as_str().into(),
        Value::Array(_) => {
            let mut out = String::new();
            json_value(&mut out, value);
            out.into()
        }
        other => {
            let mut out = String::new();
            scalar_text(&mut out, other, pg);
            out.into()
        }
    }
}

fn scalar_text(out: &mut String, value: &Value, pg: &PgType) {
    let _ = match value {
        Value::Null => Ok(()),
        Value::Unchanged => {
            out.push_str(UNCHANGED_TOAST_PLACEHOLDER);
            Ok(())
        }
        Value::Bool(b) => write!(out, "{b}"),
        Value::Int16(n) => write!(out, "{n}"),
        Value::Int32(n) => write!(out, "{n}"),
        Value::Int64(n) => write!(out, "{n}"),
        Value::Float32(f) => write!(out, "{f}"),
        Value::Float64(f) => write!(out, "{f}"),
        Value::Numeric(n) => {
            out.push_str(&text_of(n));
            Ok(())
        }
        Value::Text(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::Bytes(b) => {
            out.push_str("\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
            Ok(())
        }
        Value::Date(d) => {
            date_text(out, *d);
            Ok(())
        }
        Value::Time(t) => {
            time_text(out, *t);
            Ok(())
        }
        Value::TimeTz {
            micros,
            offset_seconds,
        } => {
            time_text(out, *micros);
            let sign = if *offset_seconds < 0 { '-' } else { '+' };
            let o = offset_seconds.unsigned_abs();
            write!(out, "{sign}{:02}:{:02}", o / 3600, o / 60 % 60)
        }
        Value::Timestamp(t) | Value::TimestampTz(t) => {
            let utc = matches!(value, Value::TimestampTz(_)) || matches!(pg, PgType::TimestampTz { .. });
            timestamp_text(out, *t, utc);
            Ok(())
        }
        Value::Interval { months, days, micros } => {
            interval_text(out, *months, *days, *micros);
            Ok(())
        }
        Value::Array(_) => {
            json_value(out, value);
            Ok(())
        }
    };
}

/// JSON for array values (flat formats): numbers and booleans as JSON scalars, everything else
/// as strings of its text form.
fn json_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => scalar_text(out, value, &PgType::Text),
        Value::Float32(_) | Value::Float64(_) | Value::Numeric(Numeric::Finite(_)) => {
            let mut s = String::new();
            scalar_text(&mut s, value, &PgType::Text);
            if s.parse::<f64>().is_ok_and(f64::is_finite) {
                out.push_str(&s);
            } else {
                json_string(out, &s);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, item);
            }
            out.push(']');
        }
        other => {
            let mut s = String::new();
            scalar_text(&mut s, other, &PgType::Text);
            json_string(out, &s);
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn date_text(out: &mut String, days: i32) {
    match days {
        DATE_INFINITY => out.push_str("infinity"),
        DATE_NEG_INFINITY => out.push_str("-infinity"),
        d => {
            let (y, m, d) = civil(i64::from(d));
            let _ = write!(out, "{y:04}-{m:02}-{d:02}");
        }
    }
}

fn time_text(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

fn timestamp_text(out: &mut String, micros: i64, utc: bool) {
    match micros {
        TIMESTAMP_INFINITY => out.push_str("infinity"),
        TIMESTAMP_NEG_INFINITY => out.push_str("-infinity"),
        t => {
            let days = t.div_euclid(86_400_000_000);
            date_text(out, days as i32);
            out.push('T');
            time_text(out, t.rem_euclid(86_400_000_000));
            if utc {
                out.push('Z');
            }
        }
    }
}

/// ISO 8601 duration, as Debezium's `interval.handling.mode=string`: `P1Y2M3DT4H5M6.5S`.
fn interval_text(out: &mut String, months: i32, days: i32, micros: i64) {
    let hours = micros / 3_600_000_000;
    let minutes = micros % 3_600_000_000 / 60_000_000;
    let rest = micros % 60_000_000;
    let _ = write!(
        out,
        "P{}Y{}M{}DT{}H{}M",
        months / 12,
        months % 12,
        days,
        hours,
        minutes
    );
    let sign = if rest < 0 { "-" } else { "" };
    let rest = rest.unsigned_abs();
    let _ = write!(out, "{sign}{}", rest / 1_000_000);
    if !rest.is_multiple_of(1_000_000) {
        let f = format!("{:06}", rest % 1_000_000);
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('S');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_scale_up_and_reject_what_does_not_fit() {
        let n = |s: &str| Numeric::Finite(s.into());
        assert_eq!(decimal(&n("-12.5"), 12, 2), Ok(-1250));
        assert_eq!(decimal(&n("0"), 3, 2), Ok(0));
        assert_eq!(decimal(&n("999.99"), 5, 2), Ok(99_999));
        assert!(decimal(&n("1000.00"), 5, 2).is_err());
        assert!(decimal(&n("1.234"), 5, 2).is_err());
        assert!(decimal(&Numeric::NaN, 5, 2).is_err());
    }

    #[test]
    fn text_forms() {
        let mut s = String::new();
        date_text(&mut s, 19_723);
        assert_eq!(s, "2024-01-01");
        s.clear();
        timestamp_text(&mut s, 1_704_067_200_500_000, true);
        assert_eq!(s, "2024-01-01T00:00:00.5Z");
        s.clear();
        interval_text(&mut s, 14, 3, 4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000);
        assert_eq!(s, "P1Y2M3DT4H5M6.5S");
        s.clear();
        json_value(
            &mut s,
            &Value::Array(vec![Value::Int32(1), Value::Null, Value::Text("a\"b".into())]),
        );
        assert_eq!(s, r#"[1,null,"a\"b"]"#);
    }

    #[test]
    fn a_bad_value_is_rejected_before_anything_is_appended() {
        let b = ColumnBuilder::new(&PgType::Int2, &DataType::Int16);
        assert!(b.convert(&Value::Int32(70_000)).is_err());
        assert!(b.convert(&Value::Text("x".into())).is_err());
        assert_eq!(b.len(), 0);
    }
}
