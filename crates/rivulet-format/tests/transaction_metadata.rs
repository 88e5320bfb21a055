//! Transaction metadata and heartbeats, checked at the encoder against Debezium 3.6.3's output.
//!
//! `tests/data/transaction_metadata.debezium.jsonl` was recorded by the anchors' `conform.sh` for
//! `tests/data/transaction_metadata.sql` (`provide.transaction.metadata=true`). Its transaction
//! ids (`"<txid>:<lsn>"`) depend on the run, so this test builds the events a source produces
//! with those same ids and compares record for record (including the BEGIN/END `ts_ms`, the
//! transactions' commit time). The heartbeat shape comes from a run with `heartbeat.interval.ms`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use rivulet_core::{Change, ChangeEvent, PgType, SourceMeta, TableSchema, TransactionMarker, TransactionRef};
use rivulet_format::{DebeziumEncoder, DebeziumSettings, DecimalHandling};
use serde_json::Value as Json;

fn oracle() -> Vec<Json> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/transaction_metadata.debezium.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

fn settings() -> DebeziumSettings {
    DebeziumSettings {
        provide_transaction_metadata: true,
        ..common::settings(DecimalHandling::String)
    }
}

/// Source metadata of an event of transaction `txid` committed at `commit_us`, at its place.
fn meta(txid: u32, commit_us: i64, place: Option<(&str, u64, u64)>) -> SourceMeta {
    SourceMeta {
        txid: Some(txid),
        commit_time_us: commit_us,
        transaction: place.map(|(id, total_order, data_collection_order)| TransactionRef {
            id: id.into(),
            total_order,
            data_collection_order,
        }),
        ..source()
    }
}

fn with_meta(mut event: ChangeEvent, meta: SourceMeta) -> ChangeEvent {
    event.source = meta;
    event
}

fn begin(id: &str, txid: u32, commit_us: i64) -> ChangeEvent {
    ChangeEvent {
        change: Change::TransactionBegin(TransactionMarker {
            id: id.into(),
            event_count: None,
            data_collections: Vec::new(),
        }),
        source: meta(txid, commit_us, None),
    }
}

fn end(id: &str, txid: u32, commit_us: i64, counts: &[(&Arc<TableSchema>, u64)]) -> ChangeEvent {
    ChangeEvent {
        change: Change::TransactionEnd(TransactionMarker {
            id: id.into(),
            event_count: Some(counts.iter().map(|(_, n)| n).sum()),
            data_collections: counts.iter().map(|(t, n)| (t.id.clone(), *n)).collect(),
        }),
        source: meta(txid, commit_us, None),
    }
}

#[test]
fn begin_end_records_and_transaction_blocks() {
    let a = table(
        "s",
        "a",
        vec![req("id", PgType::Int4), col("v", PgType::Text)],
        &["id"],
    );
    let b = table("s", "b", vec![req("id", PgType::Int4)], &["id"]);
    let c = table("s", "c", vec![req("id", PgType::Int4)], &["id"]);
    let (t1, t2, t3) = (
        1_795_317_927_249_682,
        1_795_317_927_251_254,
        1_795_317_927_252_631,
    );
    let events = vec![
        begin("729:22206184", 729, t1),
        with_meta(
            insert(&a, vec![i4(1), t("x")]),
            meta(729, t1, Some(("729:22206184", 1, 1))),
        ),
        end("729:22206456", 729, t1, &[(&a, 1)]),
        begin("730:22206456", 730, t2),
        with_meta(
            insert(&a, vec![i4(2), t("y")]),
            meta(730, t2, Some(("730:22206456", 1, 1))),
        ),
        with_meta(
            insert(&b, vec![i4(1)]),
            meta(730, t2, Some(("730:22206584", 2, 1))),
        ),
        with_meta(
            update(&a, None, vec![i4(1), t("z")]),
            meta(730, t2, Some(("730:22206808", 3, 2))),
        ),
        with_meta(
            insert(&c, vec![i4(1)]),
            meta(730, t2, Some(("730:22206880", 4, 1))),
        ),
        with_meta(
            insert(&c, vec![i4(2)]),
            meta(730, t2, Some(("730:22207104", 5, 2))),
        ),
        with_meta(
            delete(&b, vec![i4(1)]),
            meta(730, t2, Some(("730:22207232", 6, 2))),
        ),
        // Debezium lists the tables in HashMap order: s.b, s.a, s.c.
        end("730:22207344", 730, t2, &[(&a, 2), (&b, 2), (&c, 2)]),
        begin("731:22208800", 731, t3),
        with_meta(truncate(&c), meta(731, t3, Some(("731:22208800", 1, 1)))),
        end("731:22209056", 731, t3, &[(&c, 1)]),
        with_meta(message(false, "p", b"c"), {
            let mut m = meta(0, t3, None);
            m.txid = None;
            m
        }),
    ];
    let ours = encode(settings(), &events);
    let oracle = oracle();
    assert_eq!(ours.len(), oracle.len(), "number of records");
    for (i, (o, g)) in ours.iter().zip(&oracle).enumerate() {
        let (o, g) = (normalize(o.clone()), normalize(g.clone()));
        if g["value"].get("status").is_some() {
            // BEGIN/END records: compare whole, `ts_ms` (the commit time) included.
            assert_eq!(ours[i], oracle[i], "record {}", i + 1);
        } else {
            assert_eq!(o, g, "record {}", i + 1);
        }
    }
}

#[test]
fn without_the_setting_the_block_is_null_and_markers_are_still_encodable() {
    let a = table("s", "a", vec![req("id", PgType::Int4)], &["id"]);
    let event = with_meta(insert(&a, vec![i4(1)]), meta(1, 0, Some(("1:2", 1, 1))));
    let ours = encode(common::settings(DecimalHandling::String), &[event]);
    assert_eq!(ours[0]["value"]["transaction"], Json::Null);
}

#[test]
fn heartbeat_records() {
    // From a Debezium run with heartbeat.interval.ms=1000 and topic.prefix=dbz:
    // {"topic":"__debezium-heartbeat.dbz","key":{"serverName":"dbz"},"value":{"ts_ms":1795316075626}}
    let mut encoder = DebeziumEncoder::new(common::settings(DecimalHandling::Precise));
    let heartbeat = ChangeEvent {
        change: Change::Heartbeat,
        source: source(),
    };
    let mut out = Vec::new();
    encoder.write_jsonl(&heartbeat, &mut out);
    let line: Json = serde_json::from_slice(&out).expect("one JSON line");
    assert_eq!(line["topic"], "__debezium-heartbeat.dbz");
    assert_eq!(line["key"], serde_json::json!({"serverName": "dbz"}));
    let value = line["value"].as_object().expect("value");
    assert_eq!(value.len(), 1);
    assert!(value["ts_ms"].as_u64().is_some_and(|ms| ms > 1_700_000_000_000));
    let mut custom = DebeziumEncoder::new(DebeziumSettings {
        heartbeat_topics_prefix: "beats".into(),
        ..common::settings(DecimalHandling::Precise)
    });
    assert_eq!(custom.topic(&heartbeat), "beats.dbz");
}
