//! Column types inferred from schemaless JSON (`schemas.enable=false`, what Rivulet writes).
//!
//! A column's type is fixed by its first non-null value; until then it is [`Inferred::Unknown`]
//! and typed `text`, as PostgreSQL types an untyped `NULL`:
//!
//! | JSON | Value | PgType |
//! |---|---|---|
//! | `true` / `false` | Bool | Bool |
//! | integer | Int64 | Int8 (Numeric above `i64::MAX`) |
//! | other number | Float64 | Float8 |
//! | string | Text | Text |
//! | array | Array (element type from the first non-null element, nested arrays flattened) | Array |
//! | object | Text of its compact JSON | Json |
//!
//! A later value of another kind keeps the column's type when it can (an integer in a float
//! column, `"NaN"`/`"Infinity"` in a float column, an integral double in an integer column);
//! otherwise it becomes `Value::Text` of its JSON (a string: its content). Nothing here guesses:
//! decimal strings stay text, base64 stays text, epoch numbers stay numbers. That is what the
//! JSON says without a schema; the Kafka Connect schema, when present, says more (`connect`).

use rivulet_core::{Numeric, PgType, Value};

use super::connect::non_finite;
use super::json::Json;
use super::numbers::{JsonNumber, decimal_from_json_number};

/// What is known about a schemaless column's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Inferred {
    /// Only nulls so far.
    Unknown,
    Bool,
    Int,
    /// Integers beyond `i64` (unsigned 64-bit columns of other databases): exact decimals.
    BigInt,
    Float,
    Text,
    Json,
    /// Element type; never itself an array (dimensions nest in the values, not in the type).
    Array(Box<Inferred>),
}

impl Inferred {
    pub fn pg_type(&self) -> PgType {
        match self {
            Inferred::Unknown | Inferred::Text => PgType::Text,
            Inferred::Bool => PgType::Bool,
            Inferred::Int => PgType::Int8,
            Inferred::BigInt => PgType::Numeric {
                precision: None,
                scale: None,
            },
            Inferred::Float => PgType::Float8,
            Inferred::Json => PgType::Json,
            Inferred::Array(element) => PgType::Array(Box::new(element.pg_type())),
        }
    }

    /// The type a first non-null value fixes.
    fn of(json: &Json<'_>) -> Inferred {
        match json {
            Json::Null => Inferred::Unknown,
            Json::Bool(_) => Inferred::Bool,
            Json::Int(_) => Inferred::Int,
            Json::UInt(_) => Inferred::BigInt,
            Json::Float(_) => Inferred::Float,
            Json::Str(_) => Inferred::Text,
            Json::Object(_) => Inferred::Json,
            Json::Array(items) => Inferred::Array(Box::new(element_type(items))),
        }
    }

    /// Reads one value, fixing the type if it was unknown (or an array's element type was);
    /// `changed` is set when the column's type changed.
    pub fn decode(&mut self, json: &Json<'_>, changed: &mut bool) -> Value {
        if matches!(json, Json::Null) {
            return Value::Null;
        }
        if *self == Inferred::Unknown {
            *self = Inferred::of(json);
            *changed = true;
        }
        match (&mut *self, json) {
            (Inferred::Bool, Json::Bool(b)) => Value::Bool(*b),
            (Inferred::Int, Json::Int(v)) => Value::Int64(*v),
            (Inferred::Int, Json::Float(f)) if is_integral_i64(*f) => Value::Int64(*f as i64),
            (Inferred::BigInt, Json::Int(v)) => Value::Numeric(Numeric::Finite(v.to_string())),
            (Inferred::BigInt, Json::UInt(v)) => Value::Numeric(Numeric::Finite(v.to_string())),
            (Inferred::BigInt, Json::Float(f)) if f.is_finite() => {
                match decimal_from_json_number(JsonNumber::Float(*f), None) {
                    Ok(n) => Value::Numeric(n),
                    Err(_) => as_text(json),
                }
            }
            (Inferred::Float, Json::Int(v)) => Value::Float64(*v as f64),
            (Inferred::Float, Json::UInt(v)) => Value::Float64(*v as f64),
            (Inferred::Float, Json::Float(f)) => Value::Float64(*f),
            (Inferred::Float, Json::Str(s)) => non_finite(s).map_or_else(|| as_text(json), Value::Float64),
            (Inferred::Text, Json::Str(s)) => Value::Text(s.to_string()),
            (Inferred::Json, other) => Value::Text(other.to_compact_string()),
            (Inferred::Array(element), Json::Array(items)) => {
                Value::Array(decode_items(element, items, changed))
            }
            (_, other) => as_text(other),
        }
    }
}

/// The element type of an array: that of its first non-null element, looking into nested
/// arrays.
fn element_type(items: &[Json<'_>]) -> Inferred {
    for item in items {
        let found = match item {
            Json::Null => Inferred::Unknown,
            Json::Array(inner) => element_type(inner),
            other => Inferred::of(other),
        };
        if found != Inferred::Unknown {
            return found;
        }
    }
    Inferred::Unknown
}

fn decode_items(element: &mut Inferred, items: &[Json<'_>], changed: &mut bool) -> Vec<Value> {
    items
        .iter()
        .map(|item| match item {
            Json::Array(inner) => Value::Array(decode_items(element, inner, changed)),
            other => element.decode(other, changed),
        })
        .collect()
}

/// A value that does not fit its column: a string as itself, anything else as its JSON.
fn as_text(json: &Json<'_>) -> Value {
    match json {
        Json::Str(s) => Value::Text(s.to_string()),
        other => Value::Text(other.to_compact_string()),
    }
}

fn is_integral_i64(f: f64) -> bool {
    // 2^63 is exactly representable; anything below it with no fraction fits an i64.
    f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[&str]) -> (Inferred, Vec<Value>, usize) {
        let mut inferred = Inferred::Unknown;
        let mut changes = 0;
        let decoded = values
            .iter()
            .map(|text| {
                let json: Json<'_> = serde_json::from_str(text).unwrap();
                let mut changed = false;
                let value = inferred.decode(&json, &mut changed);
                changes += usize::from(changed);
                value
            })
            .collect();
        (inferred, decoded, changes)
    }

    #[test]
    fn first_non_null_value_fixes_the_type() {
        let (t, v, changes) = run(&["null", "1", "2.0", "2.5", "\"x\""]);
        assert_eq!(t, Inferred::Int);
        assert_eq!(changes, 1);
        assert_eq!(
            v,
            [
                Value::Null,
                Value::Int64(1),
                Value::Int64(2),
                Value::Text("2.5".into()),
                Value::Text("x".into())
            ]
        );

        let (t, v, _) = run(&["2.5", "3", "\"NaN\"", "\"-Infinity\"", "\"nope\"", "true"]);
        assert_eq!(t, Inferred::Float);
        assert!(matches!(v[2], Value::Float64(f) if f.is_nan()));
        assert_eq!(v[1], Value::Float64(3.0));
        assert_eq!(v[3], Value::Float64(f64::NEG_INFINITY));
        assert_eq!(v[4], Value::Text("nope".into()));
        assert_eq!(v[5], Value::Text("true".into()));

        let (t, v, _) = run(&["{\"b\": 1, \"a\": [true]}", "\"s\""]);
        assert_eq!(t.pg_type(), PgType::Json);
        assert_eq!(
            v,
            [
                Value::Text(r#"{"b":1,"a":[true]}"#.into()),
                Value::Text(r#""s""#.into())
            ]
        );

        let (t, v, _) = run(&["18446744073709551615", "-1"]);
        assert_eq!(t, Inferred::BigInt);
        assert_eq!(
            v[0],
            Value::Numeric(Numeric::Finite("18446744073709551615".into()))
        );
        assert_eq!(v[1], Value::Numeric(Numeric::Finite("-1".into())));
    }

    #[test]
    fn arrays_learn_their_element_type() {
        let (t, v, changes) = run(&["[]", "[null, [null]]", "[[1, null], [2]]", "[\"a\"]"]);
        assert_eq!(t, Inferred::Array(Box::new(Inferred::Int)));
        assert_eq!(t.pg_type(), PgType::Array(Box::new(PgType::Int8)));
        // Unknown → Array(Unknown) → Array(Int).
        assert_eq!(changes, 2);
        assert_eq!(
            v[2],
            Value::Array(vec![
                Value::Array(vec![Value::Int64(1), Value::Null]),
                Value::Array(vec![Value::Int64(2)]),
            ])
        );
        assert_eq!(v[3], Value::Array(vec![Value::Text("a".into())]));
        let (_, v, _) = run(&["[1]", "7"]);
        assert_eq!(v[1], Value::Text("7".into()));
    }
}
