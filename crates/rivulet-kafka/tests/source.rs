//! The Kafka source against a real broker: records produced by the independent client (from
//! a JSONL file in Debezium's line format, tombstones included) arrive as events carrying
//! their original bytes; the group's offsets move only when the runtime acknowledges; a
//! restart resumes after what was acknowledged; two consumers of one group split the
//! partitions.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rivulet_core::{Change, ChangeEvent, Op, Position, SourceEnd, SourceItem};
use rivulet_kafka::{KafkaError, KafkaSource, KafkaSourceConfig};
use rivulet_testkit::KafkaBroker;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const TOPIC: &str = "dbz.shop.customers";
/// Only a guard against hangs: every wait below ends as soon as its condition holds.
const PATIENCE: Duration = Duration::from_secs(120);

/// One produced record: key and value as the JSON text the producer wrote.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Produced {
    key: Option<String>,
    value: Option<String>,
}

/// Debezium records for customers `ids` (create, and for every third a delete plus its
/// tombstone), as the encoder renders them.
fn debezium_records(ids: std::ops::Range<i64>) -> Vec<Produced> {
    let mut encoder = encoder();
    let table = customers();
    let mut out = Vec::new();
    for id in ids {
        let mut events = vec![row(
            &table,
            Op::Create,
            id,
            &format!("c{id}"),
            1000 + id as u64 * 8,
        )];
        if id % 3 == 0 {
            events.push(row(
                &table,
                Op::Delete,
                id,
                &format!("c{id}"),
                5000 + id as u64 * 8,
            ));
        }
        for e in &events {
            let (mut key, mut value) = (Vec::new(), Vec::new());
            encoder.write_key(e, &mut key);
            encoder.write_value(e, &mut value);
            let key = String::from_utf8(key).unwrap();
            out.push(Produced {
                key: Some(key.clone()),
                value: Some(String::from_utf8(value).unwrap()),
            });
            if encoder.emits_tombstone(e) {
                out.push(Produced {
                    key: Some(key),
                    value: None,
                });
            }
        }
    }
    out
}

/// Produces with kafka_tool.py from a JSONL file in Debezium's line format.
fn produce(broker: &KafkaBroker, dir: &Path, records: &[Produced], partitions: u32) {
    let path = dir.join(format!(
        "produce-{}.jsonl",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let text: String = records
        .iter()
        .map(|r| {
            format!(
                "{{\"topic\":\"{TOPIC}\",\"key\":{},\"value\":{}}}\n",
                r.key.as_deref().unwrap_or("null"),
                r.value.as_deref().unwrap_or("null")
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    broker.tool(
        &kafka_tool(),
        &[
            "produce",
            "--in",
            path.to_str().unwrap(),
            "--partitions",
            &partitions.to_string(),
        ],
    );
}

fn source_config(broker: &KafkaBroker, group: &str) -> KafkaSourceConfig {
    serde_json::from_value(json!({"brokers": broker.bootstrap(), "topics": [TOPIC], "group_id": group}))
        .unwrap()
}

/// A source run, with the test playing the runtime.
struct Running {
    task: JoinHandle<Result<SourceEnd, KafkaError>>,
    rx: mpsc::Receiver<Vec<SourceItem>>,
    acks: Option<watch::Sender<Position>>,
    shutdown: watch::Sender<bool>,
    /// The last position handed over.
    last: Option<Position>,
}

impl Running {
    async fn start(config: &KafkaSourceConfig, resume: Option<Position>) -> Running {
        let source = KafkaSource::connect(config, "fwd").await.unwrap();
        let (tx, rx) = mpsc::channel(8);
        let (acks, ack_rx) = watch::channel(resume.clone().unwrap_or_default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(source.run(resume, tx, ack_rx, shutdown_rx));
        Running {
            task,
            rx,
            acks: Some(acks),
            shutdown,
            last: None,
        }
    }

    /// Receives batches until at least `n` events arrived; returns them and the last position.
    async fn take(&mut self, n: usize) -> (Vec<ChangeEvent>, Position) {
        let mut events = Vec::new();
        let mut last = None;
        while events.len() < n {
            let batch = tokio::time::timeout(PATIENCE, self.rx.recv())
                .await
                .expect("records arrive")
                .expect("source running");
            for item in batch {
                match item {
                    SourceItem::Event(e) => events.push(e),
                    SourceItem::Commit(p) => last = Some(p),
                }
            }
        }
        self.last.clone_from(&last);
        (events, last.expect("every batch ends with a Commit"))
    }

    fn ack(&self, position: &Position) {
        self.acks.as_ref().unwrap().send(position.clone()).unwrap();
    }

    /// As the runtime does at the end: take what is left, acknowledge the last position if
    /// `ack`, then drop the ack sender; the source's own result.
    async fn finish(mut self, ack: bool) -> (Vec<ChangeEvent>, Result<SourceEnd, KafkaError>) {
        let mut events = Vec::new();
        let mut last = self.last.take();
        while let Some(batch) = tokio::time::timeout(PATIENCE, self.rx.recv()).await.unwrap() {
            for item in batch {
                match item {
                    SourceItem::Event(e) => events.push(e),
                    SourceItem::Commit(p) => last = Some(p),
                }
            }
        }
        if let (true, Some(last)) = (ack, last) {
            self.ack(&last);
        }
        drop(self.acks.take());
        (
            events,
            tokio::time::timeout(PATIENCE, self.task).await.unwrap().unwrap(),
        )
    }

    async fn stop(self, ack: bool) -> (Vec<ChangeEvent>, Result<SourceEnd, KafkaError>) {
        self.shutdown.send(true).unwrap();
        self.finish(ack).await
    }
}

fn produced_of(event: &ChangeEvent) -> Produced {
    let original = event
        .source
        .original
        .as_ref()
        .expect("the record travels with the event");
    let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8(b.clone()).unwrap());
    Produced {
        key: text(&original.key),
        value: text(&original.value),
    }
}

/// Per key, the records in order (Kafka orders per partition, a key has one partition).
fn per_key<'a>(records: impl IntoIterator<Item = &'a Produced>) -> BTreeMap<Option<String>, Vec<Produced>> {
    let mut m: BTreeMap<Option<String>, Vec<Produced>> = BTreeMap::new();
    for r in records {
        m.entry(r.key.clone()).or_default().push(r.clone());
    }
    m
}

/// The group's committed offsets for the topic's partitions (None: nothing committed).
fn committed(broker: &KafkaBroker, group: &str, partitions: i32) -> Vec<Option<i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_range(TOPIC, 0, partitions - 1);
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(30)).unwrap();
    (0..partitions)
        .map(|p| match committed.find_partition(TOPIC, p).unwrap().offset() {
            Offset::Offset(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn offsets_in(position: &Position) -> Vec<Option<i64>> {
    let topic = &position.source_state.as_deref().unwrap()["kafka"][TOPIC];
    (0..3)
        .map(|p| topic.get(p.to_string()).and_then(Json::as_i64))
        .collect()
}

async fn wait_committed(broker: &KafkaBroker, group: &str, partitions: i32, want: &[Option<i64>]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = committed(broker, group, partitions);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "committed {got:?}, expected {want:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arrive_unchanged_offsets_commit_on_ack_and_a_restart_resumes_after_it() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let first = debezium_records(0..30);
    produce(&broker, dir.path(), &first, 3);
    let config = source_config(&broker, "fwd-group");

    let mut running = Running::start(&config, None).await;
    let (events, position) = running.take(first.len()).await;
    assert_eq!(events.len(), first.len());
    let got: Vec<Produced> = events.iter().map(produced_of).collect();
    assert_eq!(
        per_key(&got),
        per_key(&first),
        "each record's bytes, as produced, in order per key"
    );
    for e in &events {
        let original = e.source.original.as_ref().unwrap();
        match (&e.change, original.value.is_some()) {
            (Change::Tombstone, false) => {}
            (Change::Row(row), true) => {
                assert_eq!(row.table.id.to_string(), "shop.customers");
                assert!(matches!(row.op, Op::Create | Op::Delete));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The position names the next offset of each partition.
    let offsets = offsets_in(&position);
    assert_eq!(
        offsets.iter().flatten().sum::<i64>(),
        first.len() as i64,
        "{position:?}"
    );

    // Nothing is committed to the group before the runtime acknowledges.
    assert_eq!(committed(&broker, "fwd-group", 3), vec![None, None, None]);
    running.ack(&position);
    wait_committed(&broker, "fwd-group", 3, &offsets).await;
    let (rest, end) = running.stop(true).await;
    assert!(rest.is_empty());
    assert_eq!(end.unwrap(), SourceEnd::Shutdown);

    // A restart (no local position) resumes after the acknowledged offsets.
    let second = debezium_records(100..110);
    produce(&broker, dir.path(), &second, 3);
    let mut running = Running::start(&config, None).await;
    let (events, position) = running.take(second.len()).await;
    let got: Vec<Produced> = events.iter().map(produced_of).collect();
    assert_eq!(per_key(&got), per_key(&second), "only the new records");
    let (rest, end) = running.stop(true).await;
    assert!(rest.is_empty());
    assert_eq!(end.unwrap(), SourceEnd::Shutdown);
    // The last acknowledgement was committed before the source stopped.
    assert_eq!(committed(&broker, "fwd-group", 3), offsets_in(&position));
}

/// A crash between the offsets store and the group commit leaves the group behind the
/// checkpoint: the resume position wins, and a stale one never rewinds the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resume_position_wins_over_a_group_that_lags_behind_it() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let records = debezium_records(0..7); // 7 creates, 3 deletes, 3 tombstones: 13 records
    produce(&broker, dir.path(), &records, 1);
    let config = source_config(&broker, "lagging");

    let mut running = Running::start(&config, None).await;
    let (events, _) = running.take(records.len()).await;
    assert_eq!(events.len(), 13);
    let (_, end) = running.stop(false).await;
    assert_eq!(end.unwrap(), SourceEnd::Shutdown);
    assert_eq!(
        committed(&broker, "lagging", 1),
        vec![None],
        "never acknowledged, never committed"
    );

    let resume = |next: i64| Position {
        source_state: Some(std::sync::Arc::new(json!({"kafka": {TOPIC: {"0": next}}}))),
        ..Position::default()
    };
    let mut running = Running::start(&config, Some(resume(9))).await;
    let (events, position) = running.take(4).await;
    let offsets: Vec<i64> = events
        .iter()
        .map(|e| e.source.original.as_ref().unwrap().offset)
        .collect();
    assert_eq!(
        offsets,
        vec![9, 10, 11, 12],
        "the records after the checkpoint, no more"
    );
    assert_eq!(offsets_in(&position)[0], Some(13));
    let (_, end) = running.stop(true).await;
    assert_eq!(end.unwrap(), SourceEnd::Shutdown);
    assert_eq!(committed(&broker, "lagging", 1), vec![Some(13)]);

    // A position behind the group (another member went on meanwhile): the group wins.
    produce(&broker, dir.path(), &debezium_records(50..51), 1);
    let mut running = Running::start(&config, Some(resume(2))).await;
    let (events, _) = running.take(1).await;
    assert_eq!(events[0].source.original.as_ref().unwrap().offset, 13);
    let (_, end) = running.stop(true).await;
    assert_eq!(end.unwrap(), SourceEnd::Shutdown);
    assert_eq!(committed(&broker, "lagging", 1), vec![Some(14)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_does_not_decode_stops_the_source_naming_it() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let mut records = debezium_records(0..2); // create, delete, tombstone, create
    assert_eq!(records.len(), 4);
    records.push(Produced {
        key: Some("{\"id\":9}".into()),
        value: Some("\"not an envelope\"".into()),
    });
    records.extend(debezium_records(10..11));
    produce(&broker, dir.path(), &records, 1);

    let running = Running::start(&source_config(&broker, "strict"), None).await;
    let (events, result) = running.finish(true).await;
    assert_eq!(events.len(), 4, "the records before it are handed over");
    let err = result.unwrap_err();
    assert!(!err.is_transient());
    let message = err.to_string();
    assert!(
        message.contains(TOPIC) && message.contains("partition 0") && message.contains("offset 4"),
        "{message}"
    );
    assert_eq!(
        committed(&broker, "strict", 1),
        vec![Some(4)],
        "a restart stops at the same record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_of_one_group_split_the_partitions_and_deliver_each_record_once() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let topic = NewTopic::new(TOPIC, 4, TopicReplication::Fixed(1));
    admin.create_topics([&topic], &AdminOptions::new()).await.unwrap()[0]
        .as_ref()
        .unwrap();

    let config = source_config(&broker, "split");
    let mut a = Running::start(&config, None).await;
    let mut b = Running::start(&config, None).await;
    // Produce only once the group settled with both members: then each record is read by
    // the member owning its partition, with no rebalance in between.
    wait_for_members(&broker, "split", 2).await;
    let records = debezium_records(0..150);
    produce(&broker, dir.path(), &records, 4);

    let mut got: [Vec<ChangeEvent>; 2] = [Vec::new(), Vec::new()];
    let deadline = Instant::now() + PATIENCE;
    while got[0].len() + got[1].len() < records.len() {
        assert!(
            Instant::now() < deadline,
            "only {} + {} records",
            got[0].len(),
            got[1].len()
        );
        let (which, batch) = tokio::select! {
            Some(batch) = a.rx.recv() => (0, batch),
            Some(batch) = b.rx.recv() => (1, batch),
            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
        };
        for item in batch {
            match item {
                SourceItem::Event(e) => got[which].push(e),
                SourceItem::Commit(p) => {
                    if which == 0 {
                        a.ack(&p);
                    } else {
                        b.ack(&p);
                    }
                }
            }
        }
    }
    let (rest_a, end_a) = a.stop(true).await;
    let (rest_b, end_b) = b.stop(true).await;
    assert!(rest_a.is_empty() && rest_b.is_empty());
    assert_eq!(
        (end_a.unwrap(), end_b.unwrap()),
        (SourceEnd::Shutdown, SourceEnd::Shutdown)
    );

    let partitions = |events: &[ChangeEvent]| -> BTreeSet<i32> {
        events
            .iter()
            .map(|e| e.source.original.as_ref().unwrap().partition)
            .collect()
    };
    let (pa, pb) = (partitions(&got[0]), partitions(&got[1]));
    assert!(
        !pa.is_empty() && !pb.is_empty(),
        "each member got partitions: {pa:?} {pb:?}"
    );
    assert!(pa.is_disjoint(&pb), "{pa:?} {pb:?}");
    let mut seen = BTreeSet::new();
    for e in got.iter().flatten() {
        let o = e.source.original.as_ref().unwrap();
        assert!(seen.insert((o.partition, o.offset)), "delivered twice: {o:?}");
    }
    let all: Vec<Produced> = got.iter().flatten().map(produced_of).collect();
    assert_eq!(per_key(&all), per_key(&records), "together, every record once");
}

/// Waits until the group is stable with `n` members that each own partitions.
async fn wait_for_members(broker: &KafkaBroker, group: &str, n: usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        // A blocking call: keep it off the async workers the consumers under test run on.
        let groups =
            tokio::task::block_in_place(|| consumer.fetch_group_list(Some(group), Duration::from_secs(10)))
                .unwrap();
        let owning = groups.groups().iter().find(|g| g.name() == group).map_or(0, |g| {
            if g.state() != "Stable" {
                return 0;
            }
            g.members()
                .iter()
                .filter(|m| m.assignment().is_some_and(|a| assigned_partitions(a) > 0))
                .count()
        });
        if owning == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the group never settled with {n} members"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Partitions in a consumer-protocol assignment: version, [topic, [partition]], user data.
fn assigned_partitions(assignment: &[u8]) -> usize {
    let int = |b: &[u8], at: usize, width: usize| -> usize {
        b.get(at..at + width)
            .map_or(0, |s| s.iter().fold(0usize, |acc, x| acc << 8 | usize::from(*x)))
    };
    let mut at = 2; // version
    let topics = int(assignment, at, 4);
    at += 4;
    let mut total = 0;
    for _ in 0..topics {
        let name = int(assignment, at, 2);
        at += 2 + name;
        let count = int(assignment, at, 4);
        at += 4 + 4 * count;
        total += count;
    }
    total
}
