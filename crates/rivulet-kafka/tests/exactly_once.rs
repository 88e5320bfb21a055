//! `exactly_once = true`: each checkpoint is one Kafka transaction holding the records and
//! the position; a new instance fences the old one and resumes at the committed position, and
//! read_committed consumers never see what was not committed.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rivulet_core::{ErrorKind, Op, Sink};
use rivulet_kafka::KafkaSink;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_positions_fence_old_instances_and_hide_aborted_records() {
    let broker = Broker::start();
    let config = sink_config(&broker, json!({"exactly_once": true, "topic_partitions": 2}));
    let customers = customers();
    let batch = |from: i64, lsn: u64| -> Vec<_> {
        (from..from + 25)
            .map(|id| row(&customers, Op::Create, id, "x", lsn + id as u64))
            .collect()
    };

    let mut first = KafkaSink::new(&config, Box::new(encoder()), "shop").unwrap();
    assert_eq!(first.open(None).await.unwrap(), None, "nothing committed yet");
    first.write(&batch(0, 1000)).await.unwrap();
    first.flush(&position(2000)).await.unwrap();
    let committed = consume(&broker, "dbz.shop.customers", 25, true);
    assert_eq!(committed.len(), 25);

    // An unfinished transaction: its records reach the log, but uncommitted.
    first.write(&batch(100, 3000)).await.unwrap();
    let uncommitted = consume(&broker, "dbz.shop.customers", 50, false);
    assert_eq!(
        uncommitted.len(),
        50,
        "the open transaction's records are in the log"
    );

    // A second instance of the pipeline (a restart after kill -9, or a mistake) takes over:
    // the old one is fenced, its transaction aborted, and the runtime resumes at the position
    // committed with the records.
    let mut second = KafkaSink::new(&config, Box::new(encoder()), "shop").unwrap();
    assert_eq!(second.open(None).await.unwrap(), Some(position(2000)));
    let err = first.flush(&position(4000)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Definite);
    assert!(
        err.message.contains("rivulet-shop") && err.message.contains("fenced"),
        "{err}"
    );
    first.close().await.unwrap();

    second.write(&batch(200, 5000)).await.unwrap();
    second.flush(&position(6000)).await.unwrap();
    second.close().await.unwrap();

    let committed = consume_all(&broker, "dbz.shop.customers", true, "3");
    let mut ids: Vec<i64> = committed
        .iter()
        .map(|r| record(r).1["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    let expected: Vec<i64> = (0..25).chain(200..225).collect();
    assert_eq!(
        ids, expected,
        "read_committed: the committed records once, the aborted ones never"
    );
    let everything = consume_all(&broker, "dbz.shop.customers", false, "3");
    assert_eq!(
        everything.len(),
        75,
        "read_uncommitted also sees the aborted transaction"
    );

    // The position is a compacted record of its own, keyed by pipeline.
    let topics = topics(&broker);
    assert_eq!(topics["rivulet-offsets"]["cleanup.policy"], "compact", "{topics}");
    let positions = consume_all(&broker, "rivulet-offsets", true, "3");
    assert_eq!(positions.len(), 2, "{positions:?}");
    assert_eq!(positions[1]["key"], "sink:shop");
    assert_eq!(
        positions[1]["value"],
        serde_json::to_string(&position(6000)).unwrap()
    );

    let mut third = KafkaSink::new(&config, Box::new(encoder()), "shop").unwrap();
    assert_eq!(third.open(None).await.unwrap(), Some(position(6000)));
    third.close().await.unwrap();
    let mut other = KafkaSink::new(&config, Box::new(encoder()), "other").unwrap();
    assert_eq!(
        other.open(None).await.unwrap(),
        None,
        "each pipeline has its own position"
    );
    other.close().await.unwrap();
}
