//! A broker outage in the middle of a stream pauses the sink instead of failing it: writes
//! wait for room in the bounded queue, flush waits for the acknowledgements, the log says so
//! once, and after the restart every record arrives once, in per-key order.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rivulet_core::{Op, Sink};
use rivulet_kafka::KafkaSink;
use serde_json::json;

/// Everything logged, from every thread (librdkafka reports on its own threads).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no '{needle}' in the log:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_pauses_writes_and_flushes_and_nothing_is_lost_or_repeated() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("rivulet_kafka=info")
        .init();

    let mut broker = Broker::start();
    // A small queue, so that the outage fills it and write() itself has to wait.
    let config = sink_config(
        &broker,
        json!({"topic_partitions": 2, "kafka": {"properties": {"queue.buffering.max.messages": 50}}}),
    );
    let mut sink = KafkaSink::new(&config, Box::new(encoder()), "shop").unwrap();
    sink.open(None).await.unwrap();
    let customers = customers();
    let batch = move |round: u64| -> Vec<_> {
        (0..200)
            .map(|i| {
                let lsn = round * 10_000 + i * 8;
                row(
                    &customers,
                    Op::Update,
                    (i % 20) as i64,
                    &format!("r{round} #{i}"),
                    lsn,
                )
            })
            .collect()
    };
    sink.write(&batch(1)).await.unwrap();
    sink.flush(&position(19_999)).await.unwrap();

    broker.stop();
    let second = batch(2);
    let during = tokio::spawn(async move {
        sink.write(&second).await?;
        sink.flush(&position(29_999)).await?;
        Ok::<_, rivulet_core::SinkError>(sink)
    });
    logs.wait_for("unreachable");
    assert!(
        !during.is_finished(),
        "nothing can be acknowledged while the broker is down"
    );
    assert!(
        !logs.text().contains("ERROR"),
        "an outage is no error:\n{}",
        logs.text()
    );

    broker.start_again();
    let mut sink = tokio::time::timeout(Duration::from_secs(300), during)
        .await
        .expect("the flush completes once the broker is back")
        .unwrap()
        .unwrap();
    logs.wait_for("reachable again");
    sink.write(&batch(3)).await.unwrap();
    sink.flush(&position(39_999)).await.unwrap();
    sink.close().await.unwrap();

    let log = logs.text();
    println!("{log}");
    assert_eq!(log.matches("unreachable").count(), 1, "logged once:\n{log}");
    assert_eq!(log.matches("reachable again").count(), 1, "logged once:\n{log}");

    let consumed = consume(&broker, "dbz.shop.customers", 600, false);
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in &consumed {
        let (_, key, value) = record(r);
        per_key
            .entry(key.to_string())
            .or_default()
            .push(value["source"]["lsn"].as_u64().unwrap());
    }
    let total: usize = per_key.values().map(Vec::len).sum();
    assert_eq!(
        total, 600,
        "every record once (the idempotent producer adds no duplicates)"
    );
    for (key, lsns) in &per_key {
        assert!(
            lsns.windows(2).all(|w| w[0] < w[1]),
            "per-key order for {key}: {lsns:?}"
        );
        assert_eq!(lsns.len(), 30, "{key}");
    }
    // Nothing more than that either.
    assert_eq!(consume_all(&broker, "dbz.shop.customers", false, "3").len(), 600);
}
