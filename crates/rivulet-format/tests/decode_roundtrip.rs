//! The decoder against the recorded Debezium 3.6 outputs (`tests/conformance/cases/`): every
//! line decodes, forwards byte-for-byte, carries the right op / table / key, and re-encodes from
//! its typed rows to the same JSON wherever schemaless inference is lossless.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{golden, settings};
use rivulet_core::{Change, ChangeEvent, Numeric, Op, OriginalRecord, PgType, Value};
use rivulet_format::{DebeziumDecoder, DebeziumEncoder, DecimalHandling};
use serde_json::Value as Json;

const CASES: &[&str] = &[
    "arrays",
    "core",
    "sample",
    "snapshot",
    "temporal",
    "toast",
    "toast_string",
    "types_double",
    "types_precise",
    "types_string",
];

/// Fields whose typed re-encoding differs from Debezium's JSON, and why. Everything else must
/// come back identical.
const LOSSY: &[(&str, &str, &str)] = &[
    // Precise decimals: VariableScaleDecimal objects decode as JSON text (a string when
    // re-encoded); Decimal base64 strings decode as text and come back as the same string.
    (
        "types_precise",
        "n_free",
        "VariableScaleDecimal object → json text",
    ),
    (
        "types_precise",
        "n",
        "numeric[] of VariableScaleDecimal objects → json text elements",
    ),
    ("toast", "n", "VariableScaleDecimal object → json text"),
];

/// A golden line as the Kafka record it was: key and value re-serialised as compact JSON.
fn record(offset: usize, line: &Json) -> Arc<OriginalRecord> {
    let bytes = |v: &Json| (!v.is_null()).then(|| serde_json::to_vec(v).unwrap());
    Arc::new(OriginalRecord {
        topic: line["topic"].as_str().unwrap().to_string(),
        partition: 3,
        offset: offset as i64,
        key: bytes(&line["key"]),
        value: bytes(&line["value"]),
    })
}

fn jsonl(encoder: &mut DebeziumEncoder, event: &ChangeEvent) -> Vec<Json> {
    let mut out = Vec::new();
    encoder.write_jsonl(event, &mut out);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Numbers equal as doubles (Java and Rust spell some differently), or as floats for the
/// float4 values JDK 17 spelled with extra digits.
fn same_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(p), Some(q), _, _) => p == q,
            (_, _, Some(p), Some(q)) => p == q,
            _ => {
                let (p, q) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                p == q || (p as f32 == q as f32 && p != 0.0)
            }
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn expected_op(code: &str) -> Op {
    match code {
        "c" => Op::Create,
        "u" => Op::Update,
        "d" => Op::Delete,
        "r" => Op::Read,
        "t" => Op::Truncate,
        "m" => Op::Message,
        other => panic!("op {other}"),
    }
}

#[test]
fn conformance_cases_round_trip() {
    let mut lossy_seen = BTreeSet::new();
    let mut lines_checked = 0;
    for case in CASES {
        let mut decoder = DebeziumDecoder::new();
        let mut forwarder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
        let mut typed = DebeziumEncoder::new(settings(DecimalHandling::Precise));
        for (n, line) in golden(case).iter().enumerate() {
            let at = format!("{case}.debezium.jsonl line {}", n + 1);
            let record = record(n, line);
            let event = decoder
                .decode(record.clone())
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(
                Arc::ptr_eq(event.source.original.as_ref().unwrap(), &record),
                "{at}: original kept"
            );

            // (1) Forwarding writes the record as it came.
            let forwarded = jsonl(&mut forwarder, &event);
            assert_eq!(forwarded, std::slice::from_ref(line), "{at}: passthrough");

            // (2) The typed content.
            let value = &line["value"];
            if value.is_null() {
                assert_eq!(event.change, Change::Tombstone, "{at}");
                continue;
            }
            assert_eq!(event.op(), expected_op(value["op"].as_str().unwrap()), "{at}");
            if let Some(table) = event.table() {
                assert_eq!(
                    table.id.schema,
                    value["source"]["schema"].as_str().unwrap(),
                    "{at}"
                );
                assert_eq!(table.id.name, value["source"]["table"].as_str().unwrap(), "{at}");
                assert_eq!(table.relation_oid, 0);
                assert!(
                    table.columns.iter().all(|c| c.nullable),
                    "{at}: no schema, all nullable"
                );
            }
            if let Change::Row(row) = &event.change {
                let key_names: Vec<&str> = match &line["key"] {
                    Json::Object(fields) => fields.keys().map(String::as_str).collect(),
                    _ => Vec::new(),
                };
                let pk_names: Vec<&str> = row
                    .table
                    .primary_key
                    .iter()
                    .map(|&i| row.table.columns[i].name.as_str())
                    .collect();
                assert_eq!(pk_names, key_names, "{at}: primary key");
                for image in [&row.before, &row.after].into_iter().flatten() {
                    assert_eq!(
                        image.len(),
                        row.table.columns.len(),
                        "{at}: row aligned to its schema"
                    );
                }
            }

            // (3) Re-encoding the typed event (without the original bytes).
            let mut bare = event.clone();
            bare.source.original = None;
            let encoded = jsonl(&mut typed, &bare);
            let ours = &encoded[0];
            assert_eq!(ours["topic"], line["topic"], "{at}: topic");
            if event.op() == Op::Message {
                assert_eq!(ours["value"]["message"], value["message"], "{at}");
                assert_eq!(ours["key"], line["key"], "{at}");
                continue;
            }
            assert!(
                same_json(&ours["key"], &line["key"]),
                "{at}: key {} vs {}",
                ours["key"],
                line["key"]
            );
            for image in ["before", "after"] {
                match (&ours["value"][image], &value[image]) {
                    (Json::Object(o), Json::Object(g)) => {
                        assert_eq!(o.len(), g.len(), "{at}: {image} columns");
                        for (column, expected) in g {
                            let got = &o[column];
                            if same_json(got, expected) {
                                continue;
                            }
                            let known = LOSSY.iter().any(|(c, col, _)| c == case && col == column);
                            assert!(
                                known,
                                "{at}: {image}.{column}: re-encoded {got}, Debezium wrote {expected}"
                            );
                            lossy_seen.insert((case.to_string(), column.clone()));
                        }
                    }
                    (o, g) => assert_eq!(o, g, "{at}: {image}"),
                }
            }
            lines_checked += 1;
        }
    }
    let documented: BTreeSet<(String, String)> = LOSSY
        .iter()
        .map(|(case, column, _)| (case.to_string(), column.to_string()))
        .collect();
    assert_eq!(
        lossy_seen, documented,
        "the documented lossy columns are exactly the lossy ones"
    );
    assert!(lines_checked > 100, "{lines_checked}");
}

/// The typed values of the three decimal modes (no schema): string mode is text, double mode
/// doubles, precise mode base64 text and VariableScaleDecimal JSON text.
#[test]
fn decimal_modes_without_a_schema() {
    let first_row = |case: &str| {
        let mut decoder = DebeziumDecoder::new();
        let line = &golden(case)[0];
        let event = decoder.decode(record(0, line)).unwrap();
        let Change::Row(row) = event.change else {
            panic!("row")
        };
        let table = row.table.clone();
        let after = row.after.unwrap();
        move |column: &str| {
            let i = table.column_index(column).unwrap();
            (after[i].clone(), table.columns[i].pg_type.clone())
        }
    };
    let string = first_row("types_string");
    assert_eq!(
        string("n_fixed"),
        (Value::Text("1234567890.12".into()), PgType::Text)
    );
    assert_eq!(string("m"), (Value::Text("1234.56".into()), PgType::Text));
    assert_eq!(
        string("n_free"),
        (Value::Text("3.14159265358979323846".into()), PgType::Text)
    );
    assert_eq!(
        string("i8"),
        (Value::Int64(1_234_567_890_123_456_789), PgType::Int8)
    );
    assert_eq!(string("f4"), (Value::Float64(3.25), PgType::Float8));
    assert_eq!(string("b"), (Value::Bool(true), PgType::Bool));
    assert_eq!(
        string("u"),
        (
            Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
            PgType::Text
        )
    );

    let double = first_row("types_double");
    assert_eq!(
        double("n_fixed"),
        (Value::Float64(1_234_567_890.12), PgType::Float8)
    );
    assert_eq!(double("m"), (Value::Float64(1234.56), PgType::Float8));
    assert_eq!(
        double("n_int"),
        (Value::Float64(1.2345678901234567e19), PgType::Float8)
    );

    let precise = first_row("types_precise");
    assert_eq!(precise("n_fixed"), (Value::Text("HL6ZGhQ=".into()), PgType::Text));
    assert_eq!(
        precise("n_free"),
        (
            Value::Text(r#"{"scale":20,"value":"EQfV61tbpNfG"}"#.into()),
            PgType::Json
        )
    );
    // Nothing is guessed from strings: a decimal string is not a Numeric.
    assert!(!matches!(
        precise("n_fixed").0,
        Value::Numeric(Numeric::Finite(_))
    ));
}

#[test]
fn placeholders_become_unchanged_and_messages_decode() {
    let mut decoder = DebeziumDecoder::new();
    let lines = golden("toast");
    let event = decoder.decode(record(0, &lines[0])).unwrap();
    let Change::Row(row) = &event.change else {
        panic!("row")
    };
    let after = row.after.as_ref().unwrap();
    let at = |c: &str| &after[row.table.column_index(c).unwrap()];
    assert_eq!(at("t"), &Value::Unchanged);
    assert_eq!(at("jb"), &Value::Unchanged);
    // Inside arrays and as base64 (no schema says it is bytea) it stays what it is.
    assert_eq!(
        at("ta"),
        &Value::Array(vec![Value::Text("__debezium_unavailable_value".into())])
    );
    assert_eq!(
        at("raw"),
        &Value::Text("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==".into())
    );

    let mut literal = DebeziumDecoder::new().with_unavailable_value_placeholder(None);
    let event = literal.decode(record(0, &lines[0])).unwrap();
    let Change::Row(row) = &event.change else {
        panic!("row")
    };
    let t = row.table.column_index("t").unwrap();
    assert_eq!(
        row.after.as_ref().unwrap()[t],
        Value::Text("__debezium_unavailable_value".into())
    );

    let core = golden("core");
    let messages: Vec<_> = core
        .iter()
        .enumerate()
        .filter(|(_, l)| l["value"]["op"] == "m")
        .map(|(n, l)| decoder.decode(record(n, l)).unwrap())
        .collect();
    assert_eq!(messages.len(), 2);
    for event in &messages {
        let Change::Message(message) = &event.change else {
            panic!("message")
        };
        assert_eq!(message.prefix, "audit");
        // The normalised golden files drop txId, so neither looks transactional here.
        assert!(!message.transactional);
    }
    let Change::Message(first) = &messages[0].change else {
        unreachable!()
    };
    assert_eq!(first.content, b"non-transactional hello");
}
