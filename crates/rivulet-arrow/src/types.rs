//! PostgreSQL column types to Arrow data types.
//!
//! The rule: keep a native Arrow type whenever one holds every value of the PostgreSQL type
//! exactly; otherwise use PostgreSQL's own text form (Utf8), which always does.

use arrow::datatypes::{DataType, Field, TimeUnit};
use rivulet_core::PgType;

use crate::Flavor;

/// Widest precision a `Decimal128` holds.
pub(crate) const MAX_DECIMAL128_PRECISION: u16 = 38;

/// The Arrow type of a column of `pg` type.
///
/// | PostgreSQL | Arrow |
/// |---|---|
/// | `bool` | Boolean |
/// | `int2` / `int4` / `int8` | Int16 / Int32 / Int64 |
/// | `oid` | Int64 |
/// | `float4` / `float8` | Float32 / Float64 |
/// | `numeric(p,s)`, p ≤ 38 | Decimal128(p, s) |
/// | `numeric` unbounded or p > 38, `money` | Utf8 (exact decimal text) |
/// | `date` | Date32 |
/// | `time` | Time64(µs) |
/// | `timestamp` | Timestamp(µs, no zone) |
/// | `timestamptz` | Timestamp(µs, "UTC") |
/// | `bytea` | Binary |
/// | `T[]` | List(T) (Columnar) or Utf8 JSON array text (Flat) |
/// | `interval` | Utf8, ISO 8601 (`P1Y2M3DT4H5M6.5S`) |
/// | `timetz` | Utf8 (`14:30:00.5+02:00`) |
/// | json, jsonb, uuid, text types, enums, inet, ranges, geometric, unknown types | Utf8 (PostgreSQL's text form) |
pub fn arrow_type(pg: &PgType, flavor: Flavor) -> DataType {
    match pg {
        PgType::Bool => DataType::Boolean,
        PgType::Int2 => DataType::Int16,
        PgType::Int4 => DataType::Int32,
        PgType::Int8 | PgType::Oid => DataType::Int64,
        PgType::Float4 => DataType::Float32,
        PgType::Float8 => DataType::Float64,
        PgType::Numeric {
            precision: Some(p),
            scale,
        } if *p >= 1 && *p <= MAX_DECIMAL128_PRECISION => {
            // PostgreSQL allows a scale above the precision or below zero (numeric(3,5),
            // numeric(3,-2)); Arrow wants 0 ≤ scale ≤ precision for what we write.
            let s = scale.unwrap_or(0);
            if s <= *p {
                DataType::Decimal128(*p as u8, s as i8)
            } else {
                DataType::Utf8
            }
        }
        PgType::Bytea => DataType::Binary,
        PgType::Date => DataType::Date32,
        PgType::Time { .. } => DataType::Time64(TimeUnit::Microsecond),
        PgType::Timestamp { .. } => DataType::Timestamp(TimeUnit::Microsecond, None),
        PgType::TimestampTz { .. } => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        PgType::Array(element) => match flavor {
            Flavor::Columnar => DataType::List(std::sync::Arc::new(Field::new(
                "item",
                arrow_type(element, flavor),
                true,
            ))),
            Flavor::Flat => DataType::Utf8,
        },
        // Everything else travels as text: exact, and readable by any engine.
        _ => DataType::Utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_precision_decides_decimal_or_text() {
        let n = |p, s| PgType::Numeric {
            precision: p,
            scale: s,
        };
        assert_eq!(
            arrow_type(&n(Some(12), Some(2)), Flavor::Columnar),
            DataType::Decimal128(12, 2)
        );
        assert_eq!(arrow_type(&n(None, None), Flavor::Columnar), DataType::Utf8);
        assert_eq!(
            arrow_type(&n(Some(50), Some(2)), Flavor::Columnar),
            DataType::Utf8
        );
        assert_eq!(arrow_type(&n(Some(3), Some(5)), Flavor::Columnar), DataType::Utf8);
    }

    #[test]
    fn arrays_are_lists_or_text() {
        let t = PgType::Array(Box::new(PgType::Int4));
        assert!(
            matches!(arrow_type(&t, Flavor::Columnar), DataType::List(f) if f.data_type() == &DataType::Int32)
        );
        assert_eq!(arrow_type(&t, Flavor::Flat), DataType::Utf8);
    }
}
