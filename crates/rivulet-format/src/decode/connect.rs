//! Columns typed by a Kafka Connect schema (`JsonConverter` with `schemas.enable=true`).
//!
//! ```text
//!  {"schema": {"type":"struct","fields":[{"field":"before",…},{"field":"after","type":"struct",
//!             "fields":[{"field":"id","type":"int32","optional":false}, …]}, …]}, "payload": …}
//!        │ parsed once per distinct schema text (SchemaCache, keyed by topic, compared by bytes)
//!        ▼
//!  SchemaColumns: per column name, Logical (how to read the JSON), PgType, nullable
//! ```
//!
//! | Connect schema | Value | PgType |
//! |---|---|---|
//! | `int8` / `int16` / `int32` / `int64` | Int16 / Int16 / Int32 / Int64 | Int2 / Int2 / Int4 / Int8 |
//! | `float32` / `float64` / `boolean` / `string` | Float32 / Float64 / Bool / Text | Float4 / Float8 / Bool / Text |
//! | `bytes` (base64) | Bytes | Bytea |
//! | `org.apache.kafka.connect.data.Decimal` | Numeric at `parameters.scale` | Numeric (precision from `connect.decimal.precision`) |
//! | `io.debezium.data.VariableScaleDecimal` `{scale, value}` | Numeric | Numeric (unconstrained) |
//! | `io.debezium.time.Date`, Connect `Date` | Date (days) | Date |
//! | `io.debezium.time.Time` (ms), `MicroTime`, `NanoTime`, Connect `Time` | Time (µs) | Time |
//! | `io.debezium.time.Timestamp` (ms), `MicroTimestamp`, `NanoTimestamp`, Connect `Timestamp` | Timestamp (µs) | Timestamp |
//! | `io.debezium.time.ZonedTimestamp` / `ZonedTime` (ISO text) | TimestampTz (µs UTC) / TimeTz | TimestampTz / TimeTz |
//! | `io.debezium.time.MicroDuration` / `NanoDuration` / `Interval` (ISO text) | Interval | Interval |
//! | `io.debezium.data.Json` / `Uuid` / `Xml` / `Enum` | Text | Json / Uuid / Xml / Enum |
//! | `io.debezium.data.Bits` | Bytes | Bytea |
//! | `array` | Array of the items' values | Array |
//! | other structs and maps (geometry, …) | Text of their JSON | Json |
//!
//! Debezium's ±infinity sentinels for dates and timestamps become PostgreSQL's infinities again.
//! A value that contradicts its schema is an error, as it is for `JsonConverter`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rivulet_core::value::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use rivulet_core::{Numeric, PgType, Value};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::iso::{parse_iso_duration, parse_zoned_time, parse_zoned_timestamp};
use super::json::Json;
use super::numbers::{JsonNumber, decimal_from_json_number, decimal_from_unscaled, decode_base64, quoted};
use crate::temporal::{
    DATE_NEG_INFINITY_DAYS, DATE_POS_INFINITY_DAYS, TIMESTAMP_NEG_INFINITY_MICROS,
    TIMESTAMP_POS_INFINITY_MICROS,
};

/// A Kafka Connect schema as `JsonConverter` writes it. Unknown attributes (`version`, `doc`,
/// `default`) are ignored.
#[derive(Debug, Deserialize)]
struct ConnectSchema {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    optional: Option<bool>,
    #[serde(default)]
    name: Option<String>,
    /// String-valued in Connect; numbers are tolerated.
    #[serde(default)]
    parameters: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    fields: Option<Vec<ConnectSchema>>,
    #[serde(default)]
    items: Option<Box<ConnectSchema>>,
    #[serde(default)]
    field: Option<String>,
}

impl ConnectSchema {
    fn parameter(&self, key: &str) -> Option<&serde_json::Value> {
        self.parameters.as_ref()?.get(key)
    }

    /// A parameter holding an integer (`"2"` or `2`).
    fn integer_parameter(&self, key: &str) -> Option<i64> {
        match self.parameter(key)? {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    fn field(&self, name: &str) -> Option<&ConnectSchema> {
        self.fields
            .as_ref()?
            .iter()
            .find(|f| f.field.as_deref() == Some(name))
    }
}

/// Precision of a time or timestamp in Connect.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn to_micros(self, v: i64) -> Option<i64> {
        match self {
            Unit::Millis => v.checked_mul(1000),
            Unit::Micros => Some(v),
            Unit::Nanos => Some(v.div_euclid(1000)),
        }
    }
}

/// How one column's JSON is read, decided by its Connect schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Logical {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Text,
    Bytes,
    Decimal {
        scale: i64,
    },
    VariableDecimal,
    Date,
    Time(Unit),
    Timestamp(Unit),
    ZonedTimestamp,
    ZonedTime,
    Duration(Unit),
    IsoInterval,
    /// Any JSON (structs, maps), kept as its compact text.
    JsonText,
    Array(Box<Logical>),
}

/// One column of a Connect `Value` schema.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaColumn {
    pub name: String,
    pub logical: Logical,
    pub pg_type: PgType,
    pub nullable: bool,
}

/// The columns of a table as a record's value schema describes them.
#[derive(Debug, PartialEq)]
pub struct SchemaColumns {
    pub columns: Vec<SchemaColumn>,
}

/// The mapping of one schema node (a column, or an array's items). A logical name on an
/// unexpected physical type (say a `Date` that is a string) is read as the physical type says:
/// the value has to be read somehow, and forwarding sinks get its bytes unchanged anyway.
fn logical_of(schema: &ConnectSchema) -> Result<(Logical, PgType), String> {
    if let Some(named) = named_logical(schema)?
        && physical_type_of(&named.0).is_none_or(|kind| kind == schema.kind)
    {
        return Ok(named);
    }
    physical_logical(schema)
}

/// The mapping of a Debezium or Connect logical type, by the schema's name.
fn named_logical(schema: &ConnectSchema) -> Result<Option<(Logical, PgType)>, String> {
    use Logical as L;
    let mapped = match schema.name.as_deref().unwrap_or("") {
        "org.apache.kafka.connect.data.Decimal" => {
            let scale = schema
                .integer_parameter("scale")
                .ok_or_else(|| "a Decimal schema without an integer parameters.scale".to_string())?;
            let precision = schema
                .integer_parameter("connect.decimal.precision")
                .and_then(|p| u16::try_from(p).ok());
            let pg_scale = u16::try_from(scale).ok();
            (
                L::Decimal { scale },
                PgType::Numeric {
                    // numeric(p, s) needs both; a scale PostgreSQL cannot declare leaves it open.
                    precision: precision.filter(|_| pg_scale.is_some()),
                    scale: pg_scale.filter(|_| precision.is_some()),
                },
            )
        }
        "io.debezium.data.VariableScaleDecimal" => (
            L::VariableDecimal,
            PgType::Numeric {
                precision: None,
                scale: None,
            },
        ),
        "io.debezium.time.Date" | "org.apache.kafka.connect.data.Date" => (L::Date, PgType::Date),
        "io.debezium.time.Time" | "org.apache.kafka.connect.data.Time" => {
            (L::Time(Unit::Millis), PgType::Time { precision: Some(3) })
        }
        "io.debezium.time.MicroTime" => (L::Time(Unit::Micros), PgType::Time { precision: None }),
        "io.debezium.time.NanoTime" => (L::Time(Unit::Nanos), PgType::Time { precision: None }),
        "io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp" => (
            L::Timestamp(Unit::Millis),
            PgType::Timestamp { precision: Some(3) },
        ),
        "io.debezium.time.MicroTimestamp" => {
            (L::Timestamp(Unit::Micros), PgType::Timestamp { precision: None })
        }
        "io.debezium.time.NanoTimestamp" => {
            (L::Timestamp(Unit::Nanos), PgType::Timestamp { precision: None })
        }
        "io.debezium.time.ZonedTimestamp" => (L::ZonedTimestamp, PgType::TimestampTz { precision: None }),
        "io.debezium.time.ZonedTime" => (L::ZonedTime, PgType::TimeTz { precision: None }),
        "io.debezium.time.MicroDuration" => (L::Duration(Unit::Micros), PgType::Interval),
        "io.debezium.time.NanoDuration" => (L::Duration(Unit::Nanos), PgType::Interval),
        "io.debezium.time.Interval" => (L::IsoInterval, PgType::Interval),
        "io.debezium.data.Json" => (L::Text, PgType::Json),
        "io.debezium.data.Uuid" => (L::Text, PgType::Uuid),
        "io.debezium.data.Xml" => (L::Text, PgType::Xml),
        "io.debezium.data.Enum" => {
            // Debezium names the type only with `column.propagate.source.type`.
            let name = schema
                .parameter("__debezium.source.column.type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("enum")
                .to_string();
            (L::Text, PgType::Enum { name })
        }
        "io.debezium.data.Bits" => (L::Bytes, PgType::Bytea),
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}

/// The Connect type a logical type is carried in (`None`: any).
fn physical_type_of(logical: &Logical) -> Option<&'static str> {
    use Logical as L;
    Some(match logical {
        L::Decimal { .. } | L::Bytes => "bytes",
        L::VariableDecimal => "struct",
        L::Date | L::Time(Unit::Millis) => "int32",
        L::Time(_) | L::Timestamp(_) | L::Duration(_) => "int64",
        L::ZonedTimestamp | L::ZonedTime | L::IsoInterval | L::Text => "string",
        _ => return None,
    })
}

/// The mapping of a plain Connect type.
fn physical_logical(schema: &ConnectSchema) -> Result<(Logical, PgType), String> {
    use Logical as L;
    Ok(match schema.kind.as_str() {
        "boolean" => (L::Bool, PgType::Bool),
        "int8" | "int16" => (L::Int16, PgType::Int2),
        "int32" => (L::Int32, PgType::Int4),
        "int64" => (L::Int64, PgType::Int8),
        "float32" => (L::Float32, PgType::Float4),
        "float64" => (L::Float64, PgType::Float8),
        "string" => (L::Text, PgType::Text),
        "bytes" => (L::Bytes, PgType::Bytea),
        "array" => {
            let (element, element_type) = match &schema.items {
                Some(items) => logical_of(items)?,
                None => (L::JsonText, PgType::Json),
            };
            (L::Array(Box::new(element)), PgType::Array(Box::new(element_type)))
        }
        "struct" | "map" => (L::JsonText, PgType::Json),
        other => return Err(format!("{} is not a Kafka Connect type", quoted(other))),
    })
}

impl SchemaColumns {
    /// The row columns of a Debezium envelope schema (its `after`, else `before`, struct);
    /// `None` when the schema has neither (not a row envelope).
    fn from_envelope(raw: &RawValue) -> Result<Option<Self>, String> {
        let envelope: ConnectSchema = serde_json::from_str(raw.get())
            .map_err(|e| format!("the value's schema is not a Kafka Connect schema ({e})"))?;
        let row = ["after", "before"]
            .iter()
            .filter_map(|image| envelope.field(image))
            .find(|schema| schema.kind == "struct" && schema.fields.is_some());
        let Some(row) = row else { return Ok(None) };
        let mut columns = Vec::new();
        for field in row.fields.iter().flatten() {
            let name = field.field.clone().unwrap_or_default();
            let (logical, pg_type) =
                logical_of(field).map_err(|e| format!("the schema of column {}: {e}", quoted(&name)))?;
            columns.push(SchemaColumn {
                name,
                logical,
                pg_type,
                nullable: field.optional != Some(false),
            });
        }
        Ok(Some(SchemaColumns { columns }))
    }
}

/// Recently seen value schemas per topic, compared by their exact text, so an unchanged schema
/// costs a byte comparison instead of a parse. A few per topic, for topics that carry several
/// tables (topic routing).
#[derive(Default)]
pub struct SchemaCache {
    by_topic: HashMap<String, Vec<CachedSchema>>,
}

struct CachedSchema {
    text: Box<str>,
    columns: Option<Arc<SchemaColumns>>,
}

const SCHEMAS_PER_TOPIC: usize = 4;

impl SchemaCache {
    pub fn columns(&mut self, topic: &str, raw: &RawValue) -> Result<Option<Arc<SchemaColumns>>, String> {
        let text = raw.get();
        if let Some(entries) = self.by_topic.get_mut(topic)
            && let Some(at) = entries.iter().position(|e| *e.text == *text)
        {
            // Most recent first, so the steady state compares one entry.
            entries[..=at].rotate_right(1);
            return Ok(entries[0].columns.clone());
        }
        let columns = SchemaColumns::from_envelope(raw)?.map(Arc::new);
        let entries = self.by_topic.entry(topic.to_string()).or_default();
        entries.insert(
            0,
            CachedSchema {
                text: text.into(),
                columns: columns.clone(),
            },
        );
        entries.truncate(SCHEMAS_PER_TOPIC);
        Ok(columns)
    }

    /// The payload bytes and schema columns of a value that is `{"schema":S,"payload":P}` with
    /// `S` a schema seen on this topic, byte for byte (JsonConverter writes exactly this), so
    /// the schema is neither scanned nor parsed again. `P` is not checked here: if it does not
    /// parse, the caller takes the full path, which reports the problem.
    pub fn split_known<'v>(
        &mut self,
        topic: &str,
        value: &'v [u8],
    ) -> Option<(&'v [u8], Option<Arc<SchemaColumns>>)> {
        const HEAD: &[u8] = b"{\"schema\":";
        const MIDDLE: &[u8] = b",\"payload\":";
        let rest = value.strip_prefix(HEAD)?;
        let end = value.iter().rposition(|b| !b.is_ascii_whitespace())?;
        if value[end] != b'}' {
            return None;
        }
        let entries = self.by_topic.get_mut(topic)?;
        let at = entries.iter().position(|e| {
            rest.strip_prefix(e.text.as_bytes())
                .is_some_and(|after| after.starts_with(MIDDLE))
        })?;
        let payload_start = HEAD.len() + entries[at].text.len() + MIDDLE.len();
        if payload_start > end {
            return None;
        }
        entries[..=at].rotate_right(1);
        Some((&value[payload_start..end], entries[0].columns.clone()))
    }
}

impl Logical {
    /// Reads one value; the error says what was expected and what was found.
    pub fn decode(&self, json: &Json<'_>) -> Result<Value, String> {
        use Logical as L;
        let value = match (self, json) {
            (_, Json::Null) => Value::Null,
            (L::JsonText, other) => Value::Text(other.to_compact_string()),
            (L::Bool, Json::Bool(b)) => Value::Bool(*b),
            (L::Int16, _) => Value::Int16(integer(json)?),
            (L::Int32, _) => Value::Int32(integer(json)?),
            (L::Int64, _) => Value::Int64(integer(json)?),
            (L::Float32, _) => Value::Float32(float(json)? as f32),
            (L::Float64, _) => Value::Float64(float(json)?),
            (L::Text, Json::Str(s)) => Value::Text(s.to_string()),
            (L::Bytes, Json::Str(s)) => Value::Bytes(decode_base64(s)?),
            (L::Decimal { scale }, Json::Str(s)) => {
                Value::Numeric(decimal_from_unscaled(&decode_base64(s)?, *scale)?)
            }
            // `decimal.format=NUMERIC`: the decimal as a JSON number.
            (L::Decimal { scale }, _) => {
                Value::Numeric(decimal_from_json_number(number(json)?, Some(*scale))?)
            }
            (L::VariableDecimal, Json::Object(_)) => Value::Numeric(variable_decimal(json)?),
            (L::Date, _) => Value::Date(date(integer(json)?)?),
            (L::Time(unit), _) => Value::Time(in_micros(*unit, integer(json)?)?),
            (L::Timestamp(unit), _) => Value::Timestamp(timestamp(in_micros(*unit, integer(json)?)?)),
            (L::ZonedTimestamp, Json::Str(s)) => Value::TimestampTz(match s.as_ref() {
                "infinity" => TIMESTAMP_INFINITY,
                "-infinity" => TIMESTAMP_NEG_INFINITY,
                text => parse_zoned_timestamp(text)
                    .ok_or_else(|| format!("{} is not an ISO-8601 timestamp with offset", quoted(text)))?,
            }),
            (L::ZonedTime, Json::Str(s)) => {
                let (micros, offset_seconds) = parse_zoned_time(s)
                    .ok_or_else(|| format!("{} is not an ISO-8601 time with offset", quoted(s)))?;
                Value::TimeTz {
                    micros,
                    offset_seconds,
                }
            }
            (L::Duration(unit), _) => Value::Interval {
                months: 0,
                days: 0,
                micros: in_micros(*unit, integer(json)?)?,
            },
            (L::IsoInterval, Json::Str(s)) => {
                let (months, days, micros) = parse_iso_duration(s)
                    .ok_or_else(|| format!("{} is not an ISO-8601 duration", quoted(s)))?;
                Value::Interval { months, days, micros }
            }
            (L::Array(element), Json::Array(items)) => Value::Array(decode_items(element, items)?),
            (expected, found) => {
                return Err(format!(
                    "expected {}, found {}",
                    expected.describe(),
                    found.kind()
                ));
            }
        };
        Ok(value)
    }

    fn describe(&self) -> &'static str {
        use Logical as L;
        match self {
            L::Bool => "a boolean",
            L::Int16 | L::Int32 | L::Int64 => "an integer",
            L::Float32 | L::Float64 => "a number",
            L::Text => "a string",
            L::Bytes => "base64 bytes",
            L::Decimal { .. } => "a Decimal (base64 bytes or a number)",
            L::VariableDecimal => "a VariableScaleDecimal {\"scale\", \"value\"}",
            L::Date | L::Time(_) | L::Timestamp(_) | L::Duration(_) => "an integer",
            L::ZonedTimestamp | L::ZonedTime | L::IsoInterval => "an ISO-8601 string",
            L::JsonText => "JSON",
            L::Array(_) => "an array",
        }
    }
}

/// Array elements; a nested JSON array (a multi-dimensional PostgreSQL array, as Rivulet writes
/// it) nests with the same element type.
fn decode_items(element: &Logical, items: &[Json<'_>]) -> Result<Vec<Value>, String> {
    items
        .iter()
        .map(|item| match item {
            Json::Array(inner) if !matches!(element, Logical::Array(_) | Logical::JsonText) => {
                decode_items(element, inner).map(Value::Array)
            }
            _ => element.decode(item),
        })
        .collect()
}

fn integer<T: TryFrom<i64>>(json: &Json<'_>) -> Result<T, String> {
    match json {
        Json::Int(v) => T::try_from(*v).map_err(|_| format!("{v} is out of range")),
        Json::UInt(v) => Err(format!("{v} is out of range")),
        // Jackson may write an integral double for an integer schema; accept exact ones.
        Json::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            T::try_from(*f as i64).map_err(|_| format!("{f} is out of range"))
        }
        other => Err(format!("expected an integer, found {}", other.kind())),
    }
}

/// A double: a number, or the strings Jackson writes for non-finite values.
fn float(json: &Json<'_>) -> Result<f64, String> {
    match json {
        Json::Int(v) => Ok(*v as f64),
        Json::UInt(v) => Ok(*v as f64),
        Json::Float(v) => Ok(*v),
        Json::Str(s) => {
            non_finite(s).ok_or_else(|| format!("expected a number, found the string {}", quoted(s)))
        }
        other => Err(format!("expected a number, found {}", other.kind())),
    }
}

/// `"NaN"`, `"Infinity"`, `"-Infinity"` as Jackson writes non-finite doubles.
pub fn non_finite(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn number(json: &Json<'_>) -> Result<JsonNumber, String> {
    match json {
        Json::Int(v) => Ok(JsonNumber::Int(*v)),
        Json::UInt(v) => Ok(JsonNumber::UInt(*v)),
        Json::Float(v) => Ok(JsonNumber::Float(*v)),
        other => Err(format!(
            "expected a Decimal (base64 bytes or a number), found {}",
            other.kind()
        )),
    }
}

fn variable_decimal(json: &Json<'_>) -> Result<Numeric, String> {
    let scale = json
        .get("scale")
        .and_then(Json::as_i64)
        .ok_or("a VariableScaleDecimal without an integer \"scale\"")?;
    let value = json
        .get("value")
        .and_then(Json::as_str)
        .ok_or("a VariableScaleDecimal without a base64 \"value\"")?;
    decimal_from_unscaled(&decode_base64(value)?, scale)
}

fn in_micros(unit: Unit, v: i64) -> Result<i64, String> {
    unit.to_micros(v).ok_or_else(|| format!("{v} is out of range"))
}

/// Debezium's `date` sentinels for ±infinity back to PostgreSQL's.
fn date(days: i64) -> Result<i32, String> {
    match days {
        DATE_POS_INFINITY_DAYS => Ok(DATE_INFINITY),
        DATE_NEG_INFINITY_DAYS => Ok(DATE_NEG_INFINITY),
        d => i32::try_from(d).map_err(|_| format!("{d} days is out of range")),
    }
}

/// Debezium's `timestamp` sentinels for ±infinity back to PostgreSQL's.
fn timestamp(micros: i64) -> i64 {
    match micros {
        TIMESTAMP_POS_INFINITY_MICROS => TIMESTAMP_INFINITY,
        TIMESTAMP_NEG_INFINITY_MICROS => TIMESTAMP_NEG_INFINITY,
        m => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(schema: &str) -> Vec<SchemaColumn> {
        let raw: Box<RawValue> = serde_json::from_str(schema).unwrap();
        SchemaColumns::from_envelope(&raw).unwrap().unwrap().columns
    }

    fn read(logical: &Logical, json: &str) -> Result<Value, String> {
        let json: Json<'_> = serde_json::from_str(json).unwrap();
        logical.decode(&json)
    }

    #[test]
    fn maps_field_schemas() {
        let cols = columns(
            r#"{"type":"struct","fields":[
                {"type":"struct","optional":true,"field":"after","fields":[
                  {"type":"int32","optional":false,"field":"id"},
                  {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,
                   "parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"credit"},
                  {"type":"array","optional":true,"items":{"type":"string","optional":true},"field":"tags"},
                  {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"at"},
                  {"type":"string","name":"io.debezium.time.Date","field":"odd"},
                  {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,
                   "parameters":{"allowed":"a,b"},"field":"mood"}
                ]}]}"#,
        );
        let summary: Vec<(&str, &Logical, &PgType, bool)> = cols
            .iter()
            .map(|c| (c.name.as_str(), &c.logical, &c.pg_type, c.nullable))
            .collect();
        assert_eq!(
            summary,
            [
                ("id", &Logical::Int32, &PgType::Int4, false),
                (
                    "credit",
                    &Logical::Decimal { scale: 2 },
                    &PgType::Numeric {
                        precision: Some(10),
                        scale: Some(2)
                    },
                    true
                ),
                (
                    "tags",
                    &Logical::Array(Box::new(Logical::Text)),
                    &PgType::Array(Box::new(PgType::Text)),
                    true
                ),
                (
                    "at",
                    &Logical::Timestamp(Unit::Micros),
                    &PgType::Timestamp { precision: None },
                    true
                ),
                // A logical name on the wrong physical type: read as the physical type.
                ("odd", &Logical::Text, &PgType::Text, true),
                (
                    "mood",
                    &Logical::Text,
                    &PgType::Enum { name: "enum".into() },
                    true
                ),
            ]
        );
    }

    #[test]
    fn reads_logical_values() {
        use Logical as L;
        assert_eq!(
            read(&L::Decimal { scale: 2 }, r#""HL6ZGhQ=""#),
            Ok(Value::Numeric(Numeric::Finite("1234567890.12".into())))
        );
        assert_eq!(
            read(&L::Decimal { scale: 2 }, "1234.5"),
            Ok(Value::Numeric(Numeric::Finite("1234.50".into())))
        );
        assert_eq!(
            read(&L::VariableDecimal, r#"{"scale":1,"value":"gw=="}"#),
            Ok(Value::Numeric(Numeric::Finite("-12.5".into())))
        );
        assert_eq!(read(&L::Date, "-2147472692"), Ok(Value::Date(DATE_INFINITY)));
        assert_eq!(read(&L::Date, "19782"), Ok(Value::Date(19_782)));
        assert!(read(&L::Date, "99999999999").is_err());
        assert_eq!(
            read(&L::Timestamp(Unit::Millis), "9223372036825200"),
            Ok(Value::Timestamp(TIMESTAMP_INFINITY))
        );
        assert_eq!(read(&L::Timestamp(Unit::Nanos), "-1"), Ok(Value::Timestamp(-1)));
        assert!(read(&L::Timestamp(Unit::Millis), "9223372036854775807").is_err());
        assert_eq!(
            read(&L::Time(Unit::Millis), "49510123"),
            Ok(Value::Time(49_510_123_000))
        );
        assert_eq!(
            read(&L::ZonedTimestamp, r#""-infinity""#),
            Ok(Value::TimestampTz(TIMESTAMP_NEG_INFINITY))
        );
        assert_eq!(
            read(&L::ZonedTime, r#""11:45:10Z""#),
            Ok(Value::TimeTz {
                micros: 42_310_000_000,
                offset_seconds: 0
            })
        );
        assert_eq!(
            read(&L::Duration(Unit::Micros), "-1"),
            Ok(Value::Interval {
                months: 0,
                days: 0,
                micros: -1
            })
        );
        assert_eq!(
            read(&L::Float32, r#""NaN""#).map(|v| format!("{v:?}")),
            Ok("Float32(NaN)".into())
        );
        assert_eq!(read(&L::Int16, "40000"), Err("40000 is out of range".into()));
        assert_eq!(
            read(&L::Text, "1"),
            Err("expected a string, found an integer".into())
        );
        assert_eq!(
            read(&L::Array(Box::new(L::Int32)), "[[1,2],[null,3]]"),
            Ok(Value::Array(vec![
                Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
                Value::Array(vec![Value::Null, Value::Int32(3)]),
            ]))
        );
        assert_eq!(
            read(&L::JsonText, r#"{"wkb":"AQ==","srid":4326}"#),
            Ok(Value::Text(r#"{"wkb":"AQ==","srid":4326}"#.into()))
        );
    }

    #[test]
    fn cache_compares_text() {
        let mut cache = SchemaCache::default();
        let a: Box<RawValue> = serde_json::from_str(
            r#"{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"int32","field":"id"}]}]}"#,
        )
        .unwrap();
        let b: Box<RawValue> = serde_json::from_str(r#"{"type":"struct","fields":[]}"#).unwrap();
        let first = cache.columns("t", &a).unwrap().unwrap();
        assert!(cache.columns("t", &b).unwrap().is_none());
        let again = cache.columns("t", &a).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let bad: Box<RawValue> = serde_json::from_str(r#"{"type":7}"#).unwrap();
        assert!(cache.columns("t", &bad).is_err());

        let value = format!(r#"{{"schema":{},"payload":{{"op":"c"}}}} "#, a.get());
        let (payload, columns) = cache.split_known("t", value.as_bytes()).unwrap();
        assert_eq!(payload, br#"{"op":"c"}"#);
        assert!(Arc::ptr_eq(&columns.unwrap(), &first));
        assert!(cache.split_known("other", value.as_bytes()).is_none());
        let spaced = format!(r#"{{"schema": {},"payload":{{}}}}"#, a.get());
        assert!(cache.split_known("t", spaced.as_bytes()).is_none());
        let truncated = format!(r#"{{"schema":{},"payload":}}"#, a.get());
        assert_eq!(
            cache.split_known("t", truncated.as_bytes()).map(|(p, _)| p),
            Some(&b""[..])
        );
    }
}
