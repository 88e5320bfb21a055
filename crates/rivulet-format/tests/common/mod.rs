//! Helpers for the conformance tests: building the `ChangeEvent`s a source produces for the SQL
//! of a case in `tests/conformance/cases/`, encoding them, and comparing the result with the
//! Debezium 3.6 golden file of that case.
//!
//! The values are what `rivulet-core`'s `Value` docs prescribe for PostgreSQL's text output:
//! int2/int4/int8 → `Int16/Int32/Int64`, oid → `Int64`, `numeric` and `money` →
//! `Numeric::Finite` with PostgreSQL's digits (money without currency symbol or separators),
//! bit strings → `Text("0101")`, `timetz` → local micros plus the offset east of UTC, every
//! text-like type → `Text`, `bytea` → `Bytes`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, Column, LogicalMessage, Lsn, Numeric, Op, PgType, ReplicaIdentity, Row, RowChange,
    SnapshotMarker, SourceMeta, TableId, TableSchema, Truncate, Value,
};
use rivulet_format::{DebeziumEncoder, DebeziumSettings, DecimalHandling};
use serde_json::Value as Json;

// ---------------------------------------------------------------------------------------------
// Schemas and events

pub struct Col(pub &'static str, pub PgType, pub bool);

/// A nullable column.
pub fn col(name: &'static str, pg_type: PgType) -> Col {
    Col(name, pg_type, true)
}

/// A NOT NULL column.
pub fn req(name: &'static str, pg_type: PgType) -> Col {
    Col(name, pg_type, false)
}

pub fn table(schema: &str, name: &str, columns: Vec<Col>, primary_key: &[&str]) -> Arc<TableSchema> {
    let columns: Vec<Column> = columns
        .into_iter()
        .map(|Col(name, pg_type, nullable)| Column {
            name: name.to_string(),
            type_oid: 0,
            type_modifier: -1,
            pg_type,
            nullable: nullable && !primary_key.contains(&name),
            default: None,
            missing: None,
        })
        .collect();
    let primary_key = primary_key
        .iter()
        .map(|k| columns.iter().position(|c| c.name == *k).expect("key column"))
        .collect();
    Arc::new(TableSchema {
        id: TableId::new(schema, name),
        relation_oid: 0,
        columns,
        primary_key,
        replica_identity: ReplicaIdentity::Default,
    })
}

pub fn source() -> SourceMeta {
    SourceMeta {
        lsn: Lsn(22_287_600),
        last_commit_lsn: Some(Lsn(22_287_400)),
        txid: Some(735),
        commit_time_us: 1_795_306_542_849_178,
        snapshot: SnapshotMarker::False,
        origin: None,
        origin_lsn: None,
        original: None,
        transaction: None,
    }
}

fn row_event(table: &Arc<TableSchema>, op: Op, before: Option<Row>, after: Option<Row>) -> ChangeEvent {
    ChangeEvent {
        change: Change::Row(RowChange {
            table: table.clone(),
            op,
            before,
            after,
        }),
        source: source(),
    }
}

pub fn insert(table: &Arc<TableSchema>, after: Row) -> ChangeEvent {
    row_event(table, Op::Create, None, Some(after))
}

pub fn update(table: &Arc<TableSchema>, before: Option<Row>, after: Row) -> ChangeEvent {
    row_event(table, Op::Update, before, Some(after))
}

pub fn delete(table: &Arc<TableSchema>, before: Row) -> ChangeEvent {
    row_event(table, Op::Delete, Some(before), None)
}

/// The old row of a delete (or key change) under REPLICA IDENTITY DEFAULT: key columns only.
pub fn key_only(table: &Arc<TableSchema>, keys: &[(&str, Value)]) -> Row {
    let mut row = vec![Value::Null; table.columns.len()];
    for (name, value) in keys {
        row[table.column_index(name).expect("column")] = value.clone();
    }
    row
}

pub fn truncate(table: &Arc<TableSchema>) -> ChangeEvent {
    ChangeEvent {
        change: Change::Truncate(Truncate {
            table: table.clone(),
            cascade: false,
            restart_identity: false,
        }),
        source: source(),
    }
}

pub fn message(transactional: bool, prefix: &str, content: &[u8]) -> ChangeEvent {
    let mut source = source();
    if !transactional {
        source.txid = None;
    }
    ChangeEvent {
        change: Change::Message(LogicalMessage {
            transactional,
            prefix: prefix.into(),
            content: content.to_vec(),
        }),
        source,
    }
}

/// A row with every column NULL except the given ones.
pub fn sparse(table: &Arc<TableSchema>, values: &[(&str, Value)]) -> Row {
    key_only(table, values)
}

// ---------------------------------------------------------------------------------------------
// Values

pub fn null() -> Value {
    Value::Null
}
pub fn b(v: bool) -> Value {
    Value::Bool(v)
}
pub fn i2(v: i16) -> Value {
    Value::Int16(v)
}
pub fn i4(v: i32) -> Value {
    Value::Int32(v)
}
pub fn i8(v: i64) -> Value {
    Value::Int64(v)
}
pub fn f4(v: f32) -> Value {
    Value::Float32(v)
}
pub fn f8(v: f64) -> Value {
    Value::Float64(v)
}
pub fn num(v: &str) -> Value {
    Value::Numeric(match v {
        "NaN" => Numeric::NaN,
        "Infinity" => Numeric::Infinity,
        "-Infinity" => Numeric::NegInfinity,
        _ => Numeric::Finite(v.to_string()),
    })
}
pub fn t(v: &str) -> Value {
    Value::Text(v.to_string())
}
pub fn bytes(v: &[u8]) -> Value {
    Value::Bytes(v.to_vec())
}
pub fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}
pub fn unchanged() -> Value {
    Value::Unchanged
}

/// Bytes from PostgreSQL's hex form without the `\x` (`"deadbeef"`).
pub fn hex(s: &str) -> Value {
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect();
    Value::Bytes(bytes)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (year 0 = 1 BC).
pub fn days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn date(y: i64, m: u32, d: u32) -> Value {
    Value::Date(days(y, m, d) as i32)
}

/// Microseconds since midnight.
pub fn tod(h: i64, m: i64, s: i64, us: i64) -> i64 {
    ((h * 60 + m) * 60 + s) * 1_000_000 + us
}

pub fn time(h: i64, m: i64, s: i64, us: i64) -> Value {
    Value::Time(tod(h, m, s, us))
}

/// `timetz` with the offset in seconds east of UTC (`+02` = 7200).
pub fn timetz(h: i64, m: i64, s: i64, us: i64, offset_seconds: i32) -> Value {
    Value::TimeTz {
        micros: tod(h, m, s, us),
        offset_seconds,
    }
}

/// Epoch microseconds of a local date-time.
pub fn micros(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, us: i64) -> i64 {
    days(y, mo, d) * 86_400_000_000 + tod(h, mi, s, us)
}

pub fn ts(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, us: i64) -> Value {
    Value::Timestamp(micros(y, mo, d, h, mi, s, us))
}

/// `timestamptz` given in UTC.
pub fn tstz(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, us: i64) -> Value {
    Value::TimestampTz(micros(y, mo, d, h, mi, s, us))
}

pub fn interval(months: i32, days: i32, micros: i64) -> Value {
    Value::Interval { months, days, micros }
}

pub fn numeric(precision: u16, scale: u16) -> PgType {
    PgType::Numeric {
        precision: Some(precision),
        scale: Some(scale),
    }
}
pub fn numeric_free() -> PgType {
    PgType::Numeric {
        precision: None,
        scale: None,
    }
}
pub fn array(element: PgType) -> PgType {
    PgType::Array(Box::new(element))
}

// ---------------------------------------------------------------------------------------------
// Encoding and comparison

pub fn settings(decimal_handling: DecimalHandling) -> DebeziumSettings {
    DebeziumSettings {
        topic_prefix: "dbz".into(),
        database: "postgres".into(),
        decimal_handling,
        tombstones_on_delete: true,
        unavailable_value_placeholder: "__debezium_unavailable_value".into(),
        ..DebeziumSettings::default()
    }
}

/// Encodes the events as JSONL and parses the lines back.
pub fn encode(settings: DebeziumSettings, events: &[ChangeEvent]) -> Vec<Json> {
    let mut encoder = DebeziumEncoder::new(settings);
    let mut out = Vec::new();
    for event in events {
        encoder.write_jsonl(event, &mut out);
    }
    let text = String::from_utf8(out).expect("UTF-8");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("valid JSON line"))
        .collect()
}

pub fn golden(case: &str) -> Vec<Json> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/cases")
        .join(format!("{case}.debezium.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("golden JSON"))
        .collect()
}

/// Drops what differs between runs (as the anchors' normalize.py does) plus `source.version`.
pub fn normalize(mut record: Json) -> Json {
    if let Some(value) = record.get_mut("value").and_then(Json::as_object_mut) {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            value.remove(k);
        }
        if let Some(source) = value.get_mut("source").and_then(Json::as_object_mut) {
            for k in [
                "ts_ms", "ts_us", "ts_ns", "txId", "lsn", "sequence", "xmin", "version",
            ] {
                source.remove(k);
            }
        }
    }
    record
}

/// Asserts that the events encode to exactly the golden records of `case`, line by line.
pub fn assert_conforms(case: &str, settings: DebeziumSettings, events: &[ChangeEvent]) {
    let ours = encode(settings, events);
    let golden = golden(case);
    for (i, (o, g)) in ours.iter().zip(&golden).enumerate() {
        let (o, g) = (normalize(o.clone()), normalize(g.clone()));
        if let Err(path) = same(&o, &g, String::new()) {
            panic!(
                "{case}.debezium.jsonl line {}: differs at {path}\n  ours:     {}\n  debezium: {}",
                i + 1,
                truncate_for_display(&o),
                truncate_for_display(&g)
            );
        }
    }
    assert_eq!(ours.len(), golden.len(), "{case}: number of records");
}

fn truncate_for_display(v: &Json) -> String {
    let s = v.to_string();
    if s.len() > 3000 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(3000).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Structural equality. Numbers are equal when they are the same double, or the same float
/// (JDK 17, which produced the golden files, spells a few float4 values with more digits than
/// the shortest round-trip form Rivulet writes, e.g. 1.17549435E-38 for 1.1754944E-38).
fn same(a: &Json, b: &Json, path: String) -> Result<(), String> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => same(p, q, format!("{path}.{k}"))?,
                    _ => return Err(format!("{path}.{k} (missing on one side)")),
                }
            }
            Ok(())
        }
        (Json::Array(x), Json::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path} (array length {} vs {})", x.len(), y.len()));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same(p, q, format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Json::Number(x), Json::Number(y)) => {
            let equal = x.is_f64() == y.is_f64()
                && match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                    (Some(p), Some(q), _, _) => p == q,
                    (_, _, Some(p), Some(q)) => p == q,
                    _ => {
                        let (p, q) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                        p == q || (p as f32 == q as f32 && (p as f32).is_finite() && p as f32 != 0.0)
                    }
                };
            if equal {
                Ok(())
            } else {
                Err(format!("{path} ({x} vs {y})"))
            }
        }
        _ => {
            if a == b {
                Ok(())
            } else {
                Err(path)
            }
        }
    }
}

/// The field `name` of `after` in golden line `line` (1-based) of `case`.
pub fn golden_field(case: &str, line: usize, image: &str, name: &str) -> Json {
    golden(case)[line - 1]["value"][image][name].clone()
}

/// A string field of the golden file, for values too large to write out in a test (they are
/// text and encode as themselves).
pub fn golden_text(case: &str, line: usize, image: &str, name: &str) -> Value {
    t(golden_field(case, line, image, name)
        .as_str()
        .expect("string field"))
}
