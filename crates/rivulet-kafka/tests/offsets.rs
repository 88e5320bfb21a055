//! The Kafka offsets store: checkpoints in a compacted topic, one key per pipeline.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rivulet_core::{Checkpoint, OffsetStore};
use rivulet_kafka::{KafkaOffsetStore, KafkaOffsetsConfig};
use serde_json::json;

fn checkpoint(pipeline: &str, lsn: u64) -> Checkpoint {
    Checkpoint {
        version: 1,
        pipeline: pipeline.into(),
        source_id: "7300000000000000001".into(),
        source_detail: "rivulet_shop".into(),
        position: position(lsn),
        sink: json!({"file_length": lsn * 10}),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn config(brokers: &str) -> KafkaOffsetsConfig {
    serde_json::from_value(json!({"brokers": brokers, "topic": "pipeline-offsets"})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_round_trip_per_pipeline_in_a_compacted_topic() {
    let broker = Broker::start();
    let shop = KafkaOffsetStore::new(&config(&broker.bootstrap()), "shop")
        .await
        .unwrap();
    assert_eq!(
        shop.load().await.unwrap(),
        None,
        "a fresh topic has no checkpoint"
    );
    let topics = topics(&broker);
    assert_eq!(
        topics["pipeline-offsets"],
        json!({"partitions": 1, "cleanup.policy": "compact"})
    );
    assert!(shop.describe().contains("pipeline-offsets"));

    shop.store(&checkpoint("shop", 100)).await.unwrap();
    assert_eq!(shop.load().await.unwrap(), Some(checkpoint("shop", 100)));
    shop.store(&checkpoint("shop", 200)).await.unwrap();
    assert_eq!(
        shop.load().await.unwrap(),
        Some(checkpoint("shop", 200)),
        "the last one wins"
    );

    let billing = KafkaOffsetStore::new(&config(&broker.bootstrap()), "billing")
        .await
        .unwrap();
    assert_eq!(
        billing.load().await.unwrap(),
        None,
        "another pipeline's checkpoints are not ours"
    );
    billing.store(&checkpoint("billing", 7)).await.unwrap();
    assert_eq!(billing.load().await.unwrap(), Some(checkpoint("billing", 7)));
    assert_eq!(shop.load().await.unwrap(), Some(checkpoint("shop", 200)));

    // Another machine: nothing local, the same checkpoint.
    drop(shop);
    let moved = KafkaOffsetStore::new(&config(&broker.bootstrap()), "shop")
        .await
        .unwrap();
    assert_eq!(moved.load().await.unwrap(), Some(checkpoint("shop", 200)));

    let records = consume_all(&broker, "pipeline-offsets", false, "3");
    let keys: Vec<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["shop", "shop", "billing"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_an_error_when_the_store_is_created() {
    let brokers = format!("127.0.0.1:{}", rivulet_testkit::free_port());
    let started = Instant::now();
    let err = KafkaOffsetStore::new(&config(&brokers), "shop")
        .await
        .err()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        err.0.contains(&format!("cannot reach Kafka at {brokers}")),
        "{err}"
    );
}
