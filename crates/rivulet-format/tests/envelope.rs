//! The envelope details the golden files normalise away or do not exercise: the volatile
//! `source`/processing-time fields, exact bytes and field order, tombstones on/off (also for a
//! table without a key), snapshot markers, origins, and the write_key/write_value/topic API.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use rivulet_core::{Lsn, Op, PgType, SnapshotMarker};
use rivulet_format::{CONNECTOR_VERSION, DebeziumEncoder, DebeziumSettings, DecimalHandling};
use serde_json::{Value as Json, json};

fn items() -> std::sync::Arc<rivulet_core::TableSchema> {
    table(
        "shop",
        "order_lines",
        vec![
            req("qty", PgType::Int2),
            req("line_no", PgType::Int4),
            req("order_id", PgType::Int4),
            col("note", PgType::Text),
        ],
        &["order_id", "line_no"],
    )
}

/// Asserts that `"key":` occurs for each key, in this order, in `text` (serde_json's map sorts
/// keys, so order is checked on the bytes).
fn assert_key_order(text: &[u8], keys: &[&str]) {
    let text = String::from_utf8_lossy(text);
    let mut from = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        let at = text[from..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} not after byte {from} in {text}"));
        from += at + needle.len();
    }
}

fn lines(encoder: &mut DebeziumEncoder, events: &[rivulet_core::ChangeEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        encoder.write_jsonl(e, &mut out);
    }
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn source_block_fields() {
    let table = items();
    let mut event = insert(&table, vec![i2(1), i4(2), i4(3), null()]);
    event.source.lsn = Lsn(0x1_0000_0010);
    event.source.last_commit_lsn = Some(Lsn(22_279_408));
    event.source.txid = Some(4_000_000_000);
    event.source.commit_time_us = -1_500; // before the epoch: ts_ms rounds down like Instant
    event.source.snapshot = SnapshotMarker::First;
    event.source.origin = Some("node \"b\"".into());
    event.source.origin_lsn = Some(Lsn(77));
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let mut out = Vec::new();
    encoder.write_value(&event, &mut out);
    let value: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        value["source"],
        json!({
            "version": CONNECTOR_VERSION, "connector": "postgresql", "name": "dbz", "ts_ms": -2,
            "snapshot": "first", "db": "postgres", "sequence": "[\"22279408\",\"4294967312\"]",
            "ts_us": -1500, "ts_ns": -1_500_000, "schema": "shop", "table": "order_lines",
            "txId": 4_000_000_000u64, "lsn": 4_294_967_312u64, "xmin": null, "origin": "node \"b\"", "origin_lsn": 77
        })
    );
    let source_at = String::from_utf8_lossy(&out).find("\"source\":").unwrap();
    assert_key_order(
        &out[source_at..],
        &[
            "version",
            "connector",
            "name",
            "ts_ms",
            "snapshot",
            "db",
            "sequence",
            "ts_us",
            "ts_ns",
            "schema",
            "table",
            "txId",
            "lsn",
            "xmin",
            "origin",
            "origin_lsn",
        ],
    );
    // Without a last commit LSN the first element of `sequence` is null.
    event.source.last_commit_lsn = None;
    out.clear();
    encoder.write_value(&event, &mut out);
    let value: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(value["source"]["sequence"], "[null,\"4294967312\"]");
}

#[test]
fn envelope_field_order_and_processing_time() {
    let table = items();
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut out = Vec::new();
    encoder.write_value(&insert(&table, vec![i2(1), i4(2), i4(3), t("n")]), &mut out);
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let value: Json = serde_json::from_slice(&out).unwrap();
    assert_key_order(&out, &["before", "after", "source"]);
    let source_end = String::from_utf8_lossy(&out).find("\"origin_lsn\":").unwrap();
    assert_key_order(
        &out[source_end..],
        &["transaction", "op", "ts_ms", "ts_us", "ts_ns"],
    );
    let ns = value["ts_ns"].as_u64().unwrap();
    assert!(before <= ns && ns <= after);
    assert_eq!(value["ts_us"].as_u64().unwrap(), ns / 1000);
    assert_eq!(value["ts_ms"].as_u64().unwrap(), ns / 1_000_000);
    assert_eq!(value["transaction"], Json::Null);
    assert_eq!(value["op"], "c");
    // Columns in table order.
    assert_key_order(&out, &["after", "qty", "line_no", "order_id", "note", "source"]);
}

#[test]
fn keys_follow_primary_key_order() {
    let table = items();
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let mut key = Vec::new();
    encoder.write_key(&insert(&table, vec![i2(1), i4(2), i4(3), null()]), &mut key);
    assert_eq!(key, br#"{"order_id":3,"line_no":2}"#);
    key.clear();
    encoder.write_key(
        &delete(
            &table,
            key_only(&table, &[("order_id", i4(3)), ("line_no", i4(2))]),
        ),
        &mut key,
    );
    assert_eq!(key, br#"{"order_id":3,"line_no":2}"#);
    key.clear();
    encoder.write_key(&truncate(&table), &mut key);
    assert_eq!(key, b"null");
    let nopk = common::table("s", "nopk", vec![col("a", PgType::Int4)], &[]);
    key.clear();
    encoder.write_key(&insert(&nopk, vec![i4(1)]), &mut key);
    assert_eq!(key, b"null");
}

#[test]
fn tombstones_follow_deletes_when_enabled() {
    let table = items();
    let nopk = common::table("s", "nopk", vec![col("a", PgType::Int4)], &[]);
    let events = [
        insert(&table, vec![i2(1), i4(2), i4(3), null()]),
        delete(
            &table,
            key_only(&table, &[("order_id", i4(3)), ("line_no", i4(2))]),
        ),
        delete(&nopk, vec![i4(5)]),
    ];
    let mut on = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let with = lines(&mut on, &events);
    assert_eq!(with.len(), 5);
    assert_eq!(
        with[2],
        r#"{"topic":"dbz.shop.order_lines","key":{"order_id":3,"line_no":2},"value":null}"#
    );
    // Debezium emits the tombstone even when the key is null.
    assert_eq!(with[4], r#"{"topic":"dbz.s.nopk","key":null,"value":null}"#);
    assert!(on.emits_tombstone(&events[1]) && !on.emits_tombstone(&events[0]));

    let mut off = DebeziumEncoder::new(DebeziumSettings {
        tombstones_on_delete: false,
        ..settings(DecimalHandling::Precise)
    });
    let without = lines(&mut off, &events);
    assert_eq!(without.len(), 3);
    assert!(!off.emits_tombstone(&events[1]));
    let delete: Json = serde_json::from_str(&without[1]).unwrap();
    assert_eq!(delete["value"]["op"], "d");
    assert_eq!(
        delete["value"]["before"],
        json!({"qty": 0, "line_no": 2, "order_id": 3, "note": null})
    );
}

#[test]
fn messages_and_truncates() {
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let m = message(false, "audit \"x\"", b"\x00\xffhi");
    assert_eq!(encoder.topic(&m), "dbz.message");
    let mut value = Vec::new();
    encoder.write_value(&m, &mut value);
    let v: Json = serde_json::from_slice(&value).unwrap();
    assert_key_order(
        &value,
        &[
            "op",
            "ts_ms",
            "source",
            "origin_lsn",
            "transaction",
            "message",
            "prefix",
            "content",
        ],
    );
    let text = String::from_utf8_lossy(&value);
    let (head, tail) = text.split_at(text.find("\"source\":").unwrap());
    assert!(
        !head.contains("ts_us") && !tail[tail.find("origin_lsn").unwrap()..].contains("ts_"),
        "only ts_ms"
    );
    assert_eq!(
        v["message"],
        json!({"prefix": "audit \"x\"", "content": "AP9oaQ=="})
    );
    assert_eq!(
        (
            &v["source"]["schema"],
            &v["source"]["table"],
            &v["source"]["txId"]
        ),
        (&json!(""), &json!(""), &Json::Null)
    );
    let mut key = Vec::new();
    encoder.write_key(&m, &mut key);
    assert_eq!(key, br#"{"prefix":"audit \"x\""}"#);

    let table = items();
    let tr = truncate(&table);
    assert_eq!(encoder.topic(&tr), "dbz.shop.order_lines");
    value.clear();
    encoder.write_value(&tr, &mut value);
    let v: Json = serde_json::from_slice(&value).unwrap();
    assert_eq!(
        (&v["before"], &v["after"], &v["op"]),
        (&Json::Null, &Json::Null, &json!("t"))
    );
    assert_eq!(v["source"]["table"], "order_lines");
}

#[test]
fn snapshot_reads_and_topic_sanitising() {
    let table = common::table(
        "Sales Ünit",
        "Ordérs 2024",
        vec![req("id", PgType::Int4)],
        &["id"],
    );
    let mut read = insert(&table, vec![i4(1)]);
    if let rivulet_core::Change::Row(row) = &mut read.change {
        row.op = Op::Read;
    }
    read.source.snapshot = SnapshotMarker::LastInDataCollection;
    let mut encoder = DebeziumEncoder::new(DebeziumSettings {
        topic_prefix: "my app".into(),
        ..settings(DecimalHandling::Precise)
    });
    assert_eq!(encoder.topic(&read), "my_app.Sales__nit.Ord_rs_2024");
    let line = &lines(&mut encoder, &[read])[0];
    let v: Json = serde_json::from_str(line).unwrap();
    assert_eq!(v["topic"], "my_app.Sales__nit.Ord_rs_2024");
    assert_eq!(v["value"]["op"], "r");
    assert_eq!(v["value"]["source"]["snapshot"], "last_in_data_collection");
    assert_eq!(v["value"]["source"]["name"], "my app");
    assert_eq!(v["value"]["source"]["schema"], "Sales Ünit");
    assert_eq!(
        encoder.topic(&message(true, "p", b"")),
        "my_app.message",
        "messages go to <prefix>.message, sanitised"
    );
}

#[test]
fn jsonl_line_is_exactly_key_and_value() {
    let table = items();
    let event = update(&table, None, vec![i2(5), i4(2), i4(3), t("ü 😀")]);
    let mut encoder = DebeziumEncoder::new(settings(DecimalHandling::Precise));
    let mut key = Vec::new();
    encoder.write_key(&event, &mut key);
    let mut line = Vec::new();
    encoder.write_jsonl(&event, &mut line);
    let text = String::from_utf8(line).unwrap();
    assert!(text.ends_with("}\n") && text.matches('\n').count() == 1);
    let prefix = format!(
        r#"{{"topic":"dbz.shop.order_lines","key":{},"value":{{"before":null,"after":"#,
        String::from_utf8(key).unwrap()
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert!(
        text.contains(r#""note":"ü \uD83D\uDE00""#),
        "Jackson escapes non-BMP characters: {text}"
    );
}
