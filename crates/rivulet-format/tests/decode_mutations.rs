//! The decoder never panics, whatever a topic holds: real records (the conformance cases and a
//! record with a Kafka Connect schema) mutated at random, byte by byte and node by node, are
//! decoded by a long-lived decoder (so odd records also meet odd table state) and by a fresh
//! one; whatever decodes is encoded again, typed and forwarded. Stable Rust, no fuzzing crate:
//! a xorshift generator with fixed seeds, so failures reproduce.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::sync::Arc;

use common::{golden, settings};
use rivulet_core::OriginalRecord;
use rivulet_format::{DebeziumDecoder, DebeziumEncoder, DecimalHandling};
use serde_json::{Value as Json, json};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A record with a schema, exercising the typed paths.
fn schema_record() -> (Json, Json) {
    let logical = |field: &str, kind: &str, name: &str| json!({"type": kind, "optional": true, "name": name, "field": field});
    let columns = json!([
        {"type": "int32", "optional": false, "field": "id"},
        {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
         "parameters": {"scale": "2", "connect.decimal.precision": "12"}, "field": "price"},
        {"type": "struct", "optional": true, "name": "io.debezium.data.VariableScaleDecimal",
         "fields": [{"type": "int32", "field": "scale"}, {"type": "bytes", "field": "value"}], "field": "ratio"},
        logical("at", "int64", "io.debezium.time.MicroTimestamp"),
        logical("ms", "int64", "io.debezium.time.Timestamp"),
        logical("ns", "int64", "io.debezium.time.NanoTimestamp"),
        logical("tz", "string", "io.debezium.time.ZonedTimestamp"),
        logical("tt", "string", "io.debezium.time.ZonedTime"),
        logical("d", "int32", "io.debezium.time.Date"),
        logical("t", "int64", "io.debezium.time.MicroTime"),
        logical("iv", "int64", "io.debezium.time.MicroDuration"),
        logical("isoiv", "string", "io.debezium.time.Interval"),
        logical("u", "string", "io.debezium.data.Uuid"),
        logical("bits", "bytes", "io.debezium.data.Bits"),
        {"type": "array", "optional": true, "items": {"type": "int16", "optional": true}, "field": "arr"},
        {"type": "map", "optional": true, "keys": {"type": "string"}, "values": {"type": "int32"}, "field": "m"},
        {"type": "float32", "optional": true, "field": "f"}
    ]);
    let value = json!({
        "schema": {"type": "struct", "fields": [
            {"type": "struct", "fields": columns, "optional": true, "field": "before"},
            {"type": "struct", "fields": columns, "optional": true, "field": "after"},
            {"type": "string", "optional": false, "field": "op"}], "optional": false, "name": "dbz.public.t.Envelope"},
        "payload": {
            "before": null,
            "after": {"id": 1, "price": "HL6ZGhQ=", "ratio": {"scale": 3, "value": "/w=="}, "at": 1,
                      "ms": 9_223_372_036_825_200i64, "ns": -1, "tz": "2024-06-30T21:59:59.123456+02:00",
                      "tt": "11:45:10Z", "d": -2_147_472_691i64, "t": 86_400_000_000i64, "iv": -5,
                      "isoiv": "P1Y-2M3DT4H5M6.5S", "u": "__debezium_unavailable_value", "bits": "AQ==",
                      "arr": [[1, null], [2]], "m": {"a": 1}, "f": "NaN"},
            "source": {"schema": "public", "table": "t", "snapshot": "incremental", "lsn": 5, "txId": 7,
                       "sequence": "[\"1\",\"5\"]"},
            "op": "u"
        }
    });
    let key = json!({"schema": {"type": "struct", "fields": [{"type": "int32", "field": "id"}]}, "payload": {"id": 1}});
    (key, value)
}

fn corpus() -> Vec<(String, Json, Json)> {
    let mut records = Vec::new();
    for case in [
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
    ] {
        for line in golden(case) {
            records.push((
                line["topic"].as_str().unwrap_or("t").to_string(),
                line["key"].clone(),
                line["value"].clone(),
            ));
        }
    }
    let (key, value) = schema_record();
    for _ in 0..20 {
        // Weighted: the schema paths are the deepest.
        records.push(("dbz.public.t".into(), key.clone(), value.clone()));
    }
    records
}

/// Values that probe edges: extreme numbers, wrong kinds, sentinels, bad base64 and dates.
fn tricky(rng: &mut XorShift) -> Json {
    let pool = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.0),
        json!(1e308),
        json!(5e-324),
        json!(""),
        json!("NaN"),
        json!("-Infinity"),
        json!("infinity"),
        json!("__debezium_unavailable_value"),
        json!("AA=="),
        json!("////////////////////////////////////////"),
        json!("!!not base64"),
        json!("2024-02-29T23:59:59.999999999-18:00"),
        json!("+999999999-12-31T23:59:59Z"),
        json!("P999999999Y"),
        json!("[\"1\",\"2\"]"),
        json!("not a sequence"),
        json!([]),
        json!([[[]]]),
        json!([null, 1, "a", [2.5]]),
        json!({}),
        json!({"scale": 2_147_483_647, "value": "AQ=="}),
        json!({"scale": -40000, "value": "AQ=="}),
        json!({"scale": 1, "value": 5}),
        json!({"type": "struct", "fields": [{"type": "nope", "field": "x"}]}),
        json!({"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "x"}}),
        json!({"type": "array", "items": {"type": "array", "items": {"type": "int8"}}}),
        json!("c"),
        json!("m"),
        json!("t"),
        json!({"prefix": 1, "content": "AQ=="}),
    ];
    pool[rng.below(pool.len())].clone()
}

fn count_nodes(json: &Json) -> usize {
    1 + match json {
        Json::Array(items) => items.iter().map(count_nodes).sum(),
        Json::Object(fields) => fields.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Replaces (or renames in, or shortens) one node of the tree, chosen uniformly.
fn mutate_tree(json: &mut Json, rng: &mut XorShift) {
    let mut index = rng.below(count_nodes(json));
    replace_nth(json, &mut index, rng);
}

/// Mutates the `n`-th node in pre-order; true once done.
fn replace_nth(json: &mut Json, n: &mut usize, rng: &mut XorShift) -> bool {
    if *n == 0 {
        match (rng.below(4), &mut *json) {
            // Rename a field.
            (0, Json::Object(fields)) if !fields.is_empty() => {
                let key = fields
                    .keys()
                    .nth(rng.below(fields.len()))
                    .cloned()
                    .unwrap_or_default();
                if let Some(value) = fields.remove(&key) {
                    let renamed =
                        ["op", "after", "before", "source", "payload", "schema", "x", ""][rng.below(8)];
                    fields.insert(renamed.to_string(), value);
                }
            }
            // Drop an element.
            (1, Json::Array(items)) if !items.is_empty() => {
                let at = rng.below(items.len());
                items.remove(at);
            }
            _ => *json = tricky(rng),
        }
        return true;
    }
    *n -= 1;
    match json {
        Json::Array(items) => items.iter_mut().any(|item| replace_nth(item, n, rng)),
        Json::Object(fields) => fields.values_mut().any(|value| replace_nth(value, n, rng)),
        _ => false,
    }
}

fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut XorShift) {
    const ALPHABET: &[u8] = b"{}[]\",:0123456789eE.+-\\ntrufalsAZ/=\x00\xff\xc3";
    if bytes.is_empty() {
        bytes.push(ALPHABET[rng.below(ALPHABET.len())]);
        return;
    }
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len());
        match rng.below(5) {
            0 => bytes[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 => bytes[at] ^= 1 << rng.below(8),
            2 => bytes.truncate(at),
            3 => {
                let end = (at + rng.below(16)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, chunk);
            }
            _ => {
                let end = (at + rng.below(8)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let corpus = corpus();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut long_lived = DebeziumDecoder::new();
    let mut typed = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let mut typed_string = DebeziumEncoder::new(settings(DecimalHandling::String));
    let (mut decoded, mut refused) = (0usize, 0usize);
    let rounds = if cfg!(debug_assertions) { 15_000 } else { 300_000 };
    let mut out = Vec::new();
    for round in 0..rounds {
        let (topic, key, value) = &corpus[rng.below(corpus.len())];
        let (mut key, mut value) = (key.clone(), value.clone());
        let mut key_bytes;
        let mut value_bytes;
        match rng.below(3) {
            0 => {
                // Valid JSON, odd content: reaches deep into the decoder.
                for _ in 0..=rng.below(3) {
                    if rng.below(4) == 0 {
                        mutate_tree(&mut key, &mut rng);
                    } else {
                        mutate_tree(&mut value, &mut rng);
                    }
                }
                key_bytes = serde_json::to_vec(&key).unwrap();
                value_bytes = serde_json::to_vec(&value).unwrap();
            }
            _ => {
                key_bytes = serde_json::to_vec(&key).unwrap();
                value_bytes = serde_json::to_vec(&value).unwrap();
                if rng.below(5) == 0 {
                    mutate_bytes(&mut key_bytes, &mut rng);
                } else {
                    mutate_bytes(&mut value_bytes, &mut rng);
                }
            }
        }
        let record = Arc::new(OriginalRecord {
            topic: topic.clone(),
            partition: 0,
            offset: round as i64,
            key: (rng.below(20) != 0).then_some(key_bytes),
            value: (rng.below(50) != 0).then_some(value_bytes),
        });
        // A fresh decoder meets the record without the state earlier records left.
        if let Err(e) = DebeziumDecoder::new().decode(record.clone()) {
            assert!(!e.problem().is_empty());
        }
        match long_lived.decode(record.clone()) {
            Ok(event) => {
                decoded += 1;
                out.clear();
                typed.write_jsonl(&event, &mut out);
                let mut bare = event.clone();
                bare.source.original = None;
                typed.write_jsonl(&bare, &mut out);
                typed_string.write_jsonl(&bare, &mut out);
            }
            Err(e) => {
                refused += 1;
                let message = e.to_string();
                assert!(!message.contains('\n'), "one line: {message}");
                assert_eq!(e.offset(), round as i64);
            }
        }
    }
    println!("{decoded} decoded, {refused} refused");
    assert!(
        decoded > rounds / 10 && refused > rounds / 10,
        "{decoded} decoded, {refused} refused"
    );
}
