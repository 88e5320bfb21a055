//! Ordering primary-key values on the client exactly as PostgreSQL's btree orders them, for the
//! types where that is possible. The stream filter needs it to tell which snapshot chunk a
//! changed row belongs to after an interrupted snapshot was resumed.
//!
//! Only types whose server-side order is a plain function of the value qualify: integers,
//! numeric, booleans, dates and times, uuid, bytea, and text with a bytewise collation (`C`,
//! `POSIX`, `ucs_basic`). Everything else (locale collations, `char(n)` with its trailing-space
//! rules, enums ordered by declaration…) makes a table resume as a whole instead.

use std::cmp::Ordering;

use rivulet_core::{Numeric, PgType, Value};

/// Whether keys of this type can be ordered client-side; `bytewise_collation` says whether a
/// text column's collation compares bytes.
pub fn orderable(ty: &PgType, bytewise_collation: bool) -> bool {
    match ty {
        PgType::Bool
        | PgType::Int2
        | PgType::Int4
        | PgType::Int8
        | PgType::Oid
        | PgType::Numeric { .. }
        | PgType::Date
        | PgType::Time { .. }
        | PgType::Timestamp { .. }
        | PgType::TimestampTz { .. }
        | PgType::Uuid
        | PgType::Bytea => true,
        PgType::Text | PgType::Varchar { .. } => bytewise_collation,
        _ => false,
    }
}

/// Compares two key tuples of orderable types; `None` if a value is of a kind that cannot be
/// compared (the caller then keeps the change: delivering twice is safer than losing).
pub fn compare_keys(a: &[Value], b: &[Value]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        match compare(x, y)? {
            Ordering::Equal => continue,
            other => return Some(other),
        }
    }
    Some(a.len().cmp(&b.len()))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int16(i) => Some(i64::from(*i)),
        Value::Int32(i) => Some(i64::from(*i)),
        Value::Int64(i) => Some(*i),
        _ => None,
    }
}

pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (int(a), int(b)) {
        return Some(x.cmp(&y));
    }
    Some(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Time(x), Value::Time(y)) | (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        (Value::TimestampTz(x), Value::TimestampTz(y)) => x.cmp(y),
        // uuid prints as lower-case hex, whose string order is its byte order.
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::Numeric(x), Value::Numeric(y)) => compare_numeric(x, y),
        _ => return None,
    })
}

/// PostgreSQL's numeric order: -Infinity < finite values < Infinity < NaN.
fn compare_numeric(a: &Numeric, b: &Numeric) -> Ordering {
    fn rank(n: &Numeric) -> u8 {
        match n {
            Numeric::NegInfinity => 0,
            Numeric::Finite(_) => 1,
            Numeric::Infinity => 2,
            Numeric::NaN => 3,
        }
    }
    match (a, b) {
        (Numeric::Finite(x), Numeric::Finite(y)) => compare_decimal(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Compares decimal strings such as `-12.50` and `3` exactly.
fn compare_decimal(a: &str, b: &str) -> Ordering {
    let (neg_a, ia, fa) = split_decimal(a);
    let (neg_b, ib, fb) = split_decimal(b);
    let zero_a = ia.is_empty() && fa.is_empty();
    let zero_b = ib.is_empty() && fb.is_empty();
    let sign = |neg: bool, zero: bool| {
        if zero {
            0
        } else if neg {
            -1
        } else {
            1
        }
    };
    let (sa, sb) = (sign(neg_a, zero_a), sign(neg_b, zero_b));
    if sa != sb {
        return sa.cmp(&sb);
    }
    let magnitude = ia.len().cmp(&ib.len()).then_with(|| ia.cmp(ib)).then_with(|| {
        let width = fa.len().max(fb.len());
        let pad = |f: &str| format!("{f:0<width$}");
        pad(fa).cmp(&pad(fb))
    });
    if sa < 0 { magnitude.reverse() } else { magnitude }
}

/// (negative, integer digits without leading zeros, fraction digits without trailing zeros).
fn split_decimal(s: &str) -> (bool, &str, &str) {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    (neg, int.trim_start_matches('0'), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Value {
        Value::Numeric(Numeric::Finite(s.into()))
    }

    #[test]
    fn numeric_order_matches_postgres() {
        let sorted = [
            Value::Numeric(Numeric::NegInfinity),
            n("-100"),
            n("-12.5"),
            n("-12.49"),
            n("-0.001"),
            n("0"),
            n("0.00"),
            n("0.001"),
            n("9.99"),
            n("10"),
            n("10.000001"),
            Value::Numeric(Numeric::Infinity),
            Value::Numeric(Numeric::NaN),
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                let want = if (i == 5 && j == 6) || (i == 6 && j == 5) {
                    Ordering::Equal
                } else {
                    i.cmp(&j)
                };
                assert_eq!(compare(a, b), Some(want), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn keys_compare_lexicographically_across_integer_widths() {
        let a = [Value::Int32(1), Value::Text("b".into())];
        let b = [Value::Int64(1), Value::Text("c".into())];
        assert_eq!(compare_keys(&a, &b), Some(Ordering::Less));
        assert_eq!(compare_keys(&b, &a), Some(Ordering::Greater));
        assert_eq!(compare_keys(&a, &a), Some(Ordering::Equal));
        assert_eq!(compare(&Value::Text("a".into()), &Value::Int32(1)), None);
        assert_eq!(
            compare(&Value::Bytes(vec![1]), &Value::Bytes(vec![1, 0])),
            Some(Ordering::Less)
        );
    }
}
