//! The Kafka sink against a real Kafka-protocol broker (noida-db), checked with the
//! independent client: the records a Debezium consumer expects, topic creation, pass-through
//! properties, and the errors that must stop a pipeline.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use rivulet_core::{Change, ChangeEvent, ErrorKind, Op, Sink, SinkError, Truncate};
use rivulet_kafka::KafkaSink;
use rivulet_testkit::KafkaBroker;
use serde_json::{Value as Json, json};

fn sink(broker: &KafkaBroker, extra: Json) -> KafkaSink {
    KafkaSink::new(&sink_config(broker, extra), Box::new(encoder()), "shop").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_what_a_debezium_consumer_expects() {
    let broker = Broker::start();
    let mut sink = sink(&broker, json!({"topic_partitions": 3, "headers": true}));
    assert_eq!(
        sink.open(None).await.unwrap(),
        None,
        "an at-least-once sink has no position of its own"
    );

    let customers = customers();
    let notes = notes();
    let mut events = Vec::new();
    let mut lsn = 1000;
    let mut next = || {
        lsn += 8;
        lsn
    };
    for id in 0..40 {
        events.push(row(&customers, Op::Create, id, &format!("c{id}"), next()));
    }
    for id in (0..40).step_by(3) {
        events.push(row(&customers, Op::Update, id, &format!("gold {id}"), next()));
    }
    for id in (0..40).step_by(5) {
        events.push(row(&customers, Op::Delete, id, "", next()));
    }
    for id in 0..6 {
        events.push(row(&notes, Op::Create, id, "note", next()));
    }
    events.push(ChangeEvent {
        change: Change::Truncate(Truncate {
            table: notes.clone(),
            cascade: false,
            restart_identity: false,
        }),
        source: meta(next()),
    });
    // Records read from another Debezium topic go out byte for byte, tombstones too.
    let original = "{ \"before\": null,\n  \"after\": {\"id\": 7} }";
    events.push(forwarded(
        "upstream.shop.items",
        Some("{\"id\": 7}"),
        Some(original),
    ));
    events.push(forwarded("upstream.shop.items", Some("{\"id\": 7}"), None));

    let (first, rest) = events.split_at(50);
    sink.write(first).await.unwrap();
    sink.write(rest).await.unwrap();
    sink.flush(&position(next())).await.unwrap();
    sink.close().await.unwrap();

    // What the encoder's JSONL form says, for everything but the forwarded records (checked
    // byte for byte below).
    let expected = expected_records(&events[..events.len() - 2]);
    let consumed = consume(
        &broker,
        "dbz.shop.customers,dbz.shop.notes,upstream.shop.items",
        expected.len() + 2,
        false,
    );
    assert_eq!(consumed.len(), expected.len() + 2, "{consumed:#?}");

    // Kafka orders records per partition: compare each (topic, key)'s sequence. Records
    // without a key are spread over partitions, so only their set is fixed.
    let group = |records: Vec<(String, Json, Json)>| {
        let mut m: BTreeMap<(String, String), Vec<Json>> = BTreeMap::new();
        for (topic, key, value) in records {
            m.entry((topic, key.to_string())).or_default().push(value);
        }
        for ((_, key), values) in &mut m {
            if key == "null" {
                values.sort_by_key(Json::to_string);
            }
        }
        m
    };
    let own = consumed
        .iter()
        .filter(|r| r["topic"] != "upstream.shop.items")
        .map(record)
        .collect();
    let (own, expected) = (group(own), group(expected));
    for (k, v) in &expected {
        assert_eq!(own.get(k), Some(v), "records of {k:?}");
    }
    assert_eq!(own.len(), expected.len());

    for r in &consumed {
        let topic = r["topic"].as_str().unwrap();
        match r["key"].as_str() {
            // Keyed records land where the Java producer (Debezium) would put them.
            Some(key) if topic.starts_with("dbz.") => assert_eq!(
                r["partition"].as_u64().unwrap(),
                u64::from(java_partition(key.as_bytes(), 3)),
                "{r}"
            ),
            Some(key) => assert_eq!(key, "{\"id\": 7}", "forwarded keys are unchanged"),
            // Tables without a primary key and truncates: no key at all, as Kafka Connect writes.
            None => assert_eq!(topic, "dbz.shop.notes", "{r}"),
        }
    }
    let forwarded: Vec<&Json> = consumed
        .iter()
        .filter(|r| r["topic"] == "upstream.shop.items")
        .collect();
    assert_eq!(
        forwarded[0]["value"], original,
        "forwarded values are unchanged, byte for byte"
    );
    assert!(
        forwarded[1]["value"].is_null(),
        "a forwarded tombstone stays a tombstone"
    );

    // Headers on change records (Debezium's add.headers = op,table,lsn), none on tombstones.
    let create = consumed
        .iter()
        .find(|r| r["topic"] == "dbz.shop.customers" && r["key"] == "{\"id\":1}")
        .unwrap();
    assert_eq!(
        create["headers"],
        json!({"__op": "c", "__table": "customers", "__lsn": "1016"})
    );
    let tombstone = consumed
        .iter()
        .find(|r| r["value"].is_null() && r["topic"] == "dbz.shop.customers")
        .unwrap();
    assert_eq!(tombstone["headers"], json!({}));
    let truncate = consumed
        .iter()
        .find(|r| {
            r["topic"] == "dbz.shop.notes"
                && r["key"].is_null()
                && r["value"].as_str().is_some_and(|v| v.contains("\"op\":\"t\""))
        })
        .unwrap();
    assert_eq!(truncate["headers"]["__op"], "t");

    let topics = topics(&broker);
    for t in ["dbz.shop.customers", "dbz.shop.notes", "upstream.shop.items"] {
        assert_eq!(
            topics[t]["partitions"], 3,
            "created with topic_partitions: {topics}"
        );
    }
}

/// A 2 MB record of repeated text is far over the topic's 1 MB limit, unless zstd (passed
/// through from [sink.kafka.properties]) compresses it: the broker's verdict shows whether the
/// property took effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_pass_through_to_librdkafka() {
    let broker = Broker::start();
    let big = "x".repeat(2_000_000);
    let event = row(&customers(), Op::Create, 1, &big, 100);

    let mut zstd = sink(
        &broker,
        json!({"kafka": {"properties": {"compression.type": "zstd", "message.max.bytes": 10_000_000}}}),
    );
    zstd.open(None).await.unwrap();
    zstd.write(std::slice::from_ref(&event)).await.unwrap();
    zstd.flush(&position(100)).await.unwrap();
    zstd.close().await.unwrap();
    let consumed = consume(&broker, "dbz.shop.customers", 1, false);
    assert!(consumed[0]["value"].as_str().unwrap().contains(&big));

    let mut plain = sink(
        &broker,
        json!({"kafka": {"properties": {"message.max.bytes": 10_000_000}}}),
    );
    plain.open(None).await.unwrap();
    let err = match plain.write(std::slice::from_ref(&event)).await {
        Ok(()) => plain.flush(&position(200)).await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.kind, ErrorKind::Definite);
    assert!(
        err.message.contains("dbz.shop.customers") && err.message.contains("max.message.bytes"),
        "{err}"
    );

    // Properties librdkafka does not know are refused up front, by name.
    let err = KafkaSink::new(
        &sink_config(
            &broker,
            json!({"kafka": {"properties": {"compression.typo": "zstd"}}}),
        ),
        Box::new(encoder()),
        "shop",
    )
    .err()
    .unwrap();
    assert!(err.message.contains("compression.typo"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_message_max_bytes_is_a_definite_error_naming_topic_and_size() {
    let broker = Broker::start();
    let mut sink = sink(&broker, json!({}));
    sink.open(None).await.unwrap();
    let event = row(&customers(), Op::Create, 1, &"y".repeat(1_200_000), 100);
    let err = sink.write(&[event]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Definite);
    for needle in [
        "dbz.shop.customers",
        "bytes",
        "message.max.bytes",
        "max.message.bytes",
    ] {
        assert!(err.message.contains(needle), "{needle} missing from: {err}");
    }
    let size: String = err
        .message
        .split(" is ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(size.parse::<usize>().unwrap() > 1_200_000, "{err}");
}

/// `open()` tries the brokers, and says what is wrong in one line.
async fn open_error(brokers: &str, properties: Json) -> SinkError {
    let config =
        serde_json::from_value(json!({ "brokers": brokers, "kafka": {"properties": properties} })).unwrap();
    let mut sink = KafkaSink::new(&config, Box::new(encoder()), "shop").unwrap();
    let started = Instant::now();
    let err = sink.open(None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(60));
    sink.close().await.unwrap();
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_an_error_at_open() {
    let closed = format!("127.0.0.1:{}", rivulet_testkit::free_port());
    let unknown = "no-such-host.invalid:9092";
    let (refused, unresolved) = tokio::join!(open_error(&closed, json!({})), open_error(unknown, json!({})));
    for (err, brokers) in [(refused, closed.as_str()), (unresolved, unknown)] {
        assert_eq!(err.kind, ErrorKind::Definite);
        assert!(
            err.message
                .starts_with(&format!("cannot reach Kafka at {brokers}: ")),
            "{err}"
        );
    }
}

/// noida-db answers SCRAM with a message librdkafka rejects: an authentication failure, as
/// wrong credentials are. A TLS client meeting a plaintext listener cannot connect at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_tls_mistakes_are_definite_errors_at_open() {
    let broker = Broker::start();
    let scram = json!({"security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-256",
                       "sasl.username": "rivulet", "sasl.password": "wrong"});
    let brokers = broker.bootstrap();
    let (auth, tls) = tokio::join!(
        open_error(&brokers, scram),
        open_error(&brokers, json!({"security.protocol": "ssl"}))
    );
    assert_eq!(auth.kind, ErrorKind::Definite);
    assert!(
        auth.message.starts_with("authentication with Kafka at ") && auth.message.contains("sasl.password"),
        "{auth}"
    );
    assert_eq!(tls.kind, ErrorKind::Definite);
    assert!(
        tls.message.contains("SSL") && tls.message.contains("security.protocol"),
        "{tls}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_topic_without_create_topics_is_a_definite_error() {
    let broker = Broker::start();
    let mut sink = sink(&broker, json!({"create_topics": false}));
    sink.open(None).await.unwrap();
    let err = sink
        .write(&[row(&customers(), Op::Create, 1, "a", 10)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Definite);
    assert!(
        err.message.contains("dbz.shop.customers") && err.message.contains("create_topics"),
        "{err}"
    );
    assert!(
        topics(&broker).get("dbz.shop.customers").is_none(),
        "nothing was created"
    );
}

#[test]
fn the_guarantees_properties_cannot_be_contradicted() {
    let refused = |props: Json, extra: Json| {
        let mut config = json!({"brokers": "127.0.0.1:9", "kafka": {"properties": props}});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let config = serde_json::from_value(config).unwrap();
        KafkaSink::new(&config, Box::new(encoder()), "shop")
            .err()
            .map(|e| e.message)
    };
    assert!(
        refused(json!({"acks": "1"}), json!({}))
            .unwrap()
            .contains("acks = all")
    );
    assert!(
        refused(json!({"request.required.acks": 0}), json!({}))
            .unwrap()
            .contains("acks = all")
    );
    assert!(
        refused(json!({"enable.idempotence": false}), json!({}))
            .unwrap()
            .contains("enable.idempotence = true")
    );
    assert!(
        refused(json!({"transactional.id": "x"}), json!({}))
            .unwrap()
            .contains("exactly_once")
    );
    assert!(
        refused(json!({"bootstrap.servers": "x:1"}), json!({}))
            .unwrap()
            .contains("brokers")
    );
    assert_eq!(
        refused(
            json!({"acks": "all", "enable.idempotence": true, "linger.ms": 20}),
            json!({})
        ),
        None
    );
    assert_eq!(
        refused(json!({"transactional.id": "mine"}), json!({"exactly_once": true})),
        None
    );
    assert!(
        refused(json!({}), json!({"topic_partitions": 0}))
            .unwrap()
            .contains("topic_partitions")
    );
}

/// Kafka's Java `Utils.murmur2`, what the Java producer partitions keyed records by
/// (`toPositive(murmur2(key)) % partitions`); written out here so the test does not trust
/// librdkafka to check librdkafka.
fn java_partition(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) as u32 & 0x7fff_ffff) % partitions
}

fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let len = data.len();
    let mut h: u32 = 0x9747_b28c ^ len as u32;
    for chunk in data.chunks_exact(4) {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = &data[len & !3..];
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[test]
fn murmur2_matches_kafkas_test_vectors() {
    assert_eq!(murmur2(b"21"), -973_932_308);
    assert_eq!(murmur2(b"foobar"), -790_332_482);
    assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
    assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
    assert_eq!(
        murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58_897_971
    );
    assert_eq!(murmur2(b"abc"), 479_470_107);
}
