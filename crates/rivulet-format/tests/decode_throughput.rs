//! Decoding throughput on the encoder benchmark's 13-column row (`bench.orders`), as Rivulet
//! writes it (no schema) and wrapped with a Kafka Connect schema. Ignored by default; run with
//! `cargo test -p rivulet-format --release --test decode_throughput -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::*;
use rivulet_core::{OriginalRecord, PgType};
use rivulet_format::{DebeziumDecoder, DebeziumEncoder, DecimalHandling};
use serde_json::{Value as Json, json};

fn records() -> Vec<(Vec<u8>, Vec<u8>)> {
    let orders = table(
        "bench",
        "orders",
        vec![
            req("id", PgType::Int8),
            col("customer_id", PgType::Int4),
            col("quantity", PgType::Int8),
            col("amount", numeric(12, 2)),
            col("status", PgType::Text),
            col("note", PgType::Varchar { length: Some(200) }),
            col("paid", PgType::Bool),
            col("created_at", PgType::TimestampTz { precision: None }),
            col("ship_date", PgType::Date),
            col("attrs", PgType::Jsonb),
            col("ref", PgType::Uuid),
            col("score", PgType::Float8),
            col("comment", PgType::Text),
        ],
        &["id"],
    );
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    (0..1000)
        .map(|i| {
            let event = insert(
                &orders,
                vec![
                    i8(i),
                    i4(i as i32 % 1000),
                    i8(i * 7),
                    num(&format!("{}.{:02}", i * 3, i % 100)),
                    t("shipped"),
                    t("a note about the order"),
                    b(i % 2 == 0),
                    tstz(2024, 6, 30, 12, 0, 0, i * 1000),
                    date(2024, 7, 1),
                    t(r#"{"k": 1, "tags": ["a", "b"]}"#),
                    t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                    f8(i as f64 * 0.25),
                    t("comment with \"quotes\" and ünïcode"),
                ],
            );
            let (mut key, mut value) = (Vec::new(), Vec::new());
            encoder.write_key(&event, &mut key);
            encoder.write_value(&event, &mut value);
            (key, value)
        })
        .collect()
}

/// The value schema Debezium declares for `bench.orders` (abridged source block).
fn schema() -> Json {
    let f = |name: &str, kind: &str, extra: Json| {
        let mut field = json!({"type": kind, "optional": true, "field": name});
        field
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        field
    };
    let logical = |name: &str| json!({"name": name, "version": 1});
    let columns = json!([
        {"type": "int64", "optional": false, "field": "id"},
        f("customer_id", "int32", json!({})),
        f("quantity", "int64", json!({})),
        f("amount", "bytes", json!({"name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                                    "parameters": {"scale": "2", "connect.decimal.precision": "12"}})),
        f("status", "string", json!({})),
        f("note", "string", json!({})),
        f("paid", "boolean", json!({})),
        f("created_at", "string", logical("io.debezium.time.ZonedTimestamp")),
        f("ship_date", "int32", logical("io.debezium.time.Date")),
        f("attrs", "string", logical("io.debezium.data.Json")),
        f("ref", "string", logical("io.debezium.data.Uuid")),
        f("score", "float64", json!({})),
        f("comment", "string", json!({}))
    ]);
    json!({"type": "struct", "fields": [
        {"type": "struct", "fields": columns, "optional": true, "name": "dbz.bench.orders.Value", "field": "before"},
        {"type": "struct", "fields": columns, "optional": true, "name": "dbz.bench.orders.Value", "field": "after"},
        {"type": "struct", "fields": [
            {"type": "string", "optional": false, "field": "version"},
            {"type": "string", "optional": false, "field": "connector"},
            {"type": "string", "optional": false, "field": "name"},
            {"type": "int64", "optional": false, "field": "ts_ms"},
            {"type": "string", "optional": true, "field": "snapshot"},
            {"type": "string", "optional": false, "field": "db"},
            {"type": "string", "optional": true, "field": "sequence"},
            {"type": "string", "optional": false, "field": "schema"},
            {"type": "string", "optional": false, "field": "table"},
            {"type": "int64", "optional": true, "field": "txId"},
            {"type": "int64", "optional": true, "field": "lsn"}],
         "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source"},
        {"type": "string", "optional": false, "field": "op"},
        {"type": "int64", "optional": true, "field": "ts_ms"}],
     "optional": false, "name": "dbz.bench.orders.Envelope", "version": 2})
}

fn measure(label: &str, records: &[Arc<OriginalRecord>]) {
    let mut decoder = DebeziumDecoder::new();
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for record in records {
            decoder.decode(record.clone()).unwrap();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = (rounds * records.len()) as f64 / secs;
    let bytes = records
        .iter()
        .map(|r| r.value.as_ref().map_or(0, Vec::len))
        .sum::<usize>()
        / records.len();
    println!("{label}: {rate:.0} records/s, {bytes} bytes per value");
    assert!(
        rate > 100_000.0 || cfg!(debug_assertions),
        "{label}: {rate:.0} records/s"
    );
}

#[test]
#[ignore = "benchmark"]
fn decodes_well_over_100k_records_per_second() {
    let plain: Vec<(Vec<u8>, Vec<u8>)> = records();
    let to_record = |(key, value): (Vec<u8>, Vec<u8>)| {
        Arc::new(OriginalRecord {
            topic: "dbz.bench.orders".into(),
            partition: 0,
            offset: 0,
            key: Some(key),
            value: Some(value),
        })
    };
    let schemaless: Vec<_> = plain.iter().cloned().map(to_record).collect();
    measure("no schema", &schemaless);

    let schema = schema();
    let key_schema = json!({"type": "struct", "fields": [{"type": "int64", "optional": false, "field": "id"}],
                            "optional": false, "name": "dbz.bench.orders.Key"});
    // As JsonConverter writes it: schema first (serde_json's map would sort the keys).
    let wrap = |schema: &Json, payload: &[u8]| {
        let mut out = format!(r#"{{"schema":{schema},"payload":"#).into_bytes();
        out.extend_from_slice(payload);
        out.push(b'}');
        out
    };
    let with_schema: Vec<_> = plain
        .iter()
        .map(|(key, value)| to_record((wrap(&key_schema, key), wrap(&schema, value))))
        .collect();
    measure("with schema", &with_schema);
}
