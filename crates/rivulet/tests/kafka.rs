//! Kafka end to end, against a real Kafka-protocol broker process (noida-db, started per test)
//! and checked with an independent client (scripts/kafka_tool.py, confluent-kafka):
//! PostgreSQL → Kafka topics as Debezium writes them, a broker outage in the middle of a
//! workload, exactly-once with transactions across kill -9, Debezium topics → JSONL, and
//! offsets kept in Kafka.

#![cfg(feature = "kafka")]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rivulet_testkit::{KafkaBroker, PgCluster};
use serde_json::Value;

fn kafka_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka_tool.py")
}

/// Every record of `topics`, as the independent client reads them: at least `expect`.
fn consume(broker: &KafkaBroker, topics: &str, expect: usize, read_committed: bool) -> Vec<Value> {
    let expect = expect.to_string();
    let mut args = vec!["--expect", expect.as_str()];
    if read_committed {
        args.push("--read-committed");
    }
    consume_with(broker, topics, &args)
}

/// Every record `topics` hold now: reads until nothing new arrives for a few seconds.
fn consume_all(broker: &KafkaBroker, topics: &str) -> Vec<Value> {
    consume_with(broker, topics, &[])
}

fn consume_with(broker: &KafkaBroker, topics: &str, options: &[&str]) -> Vec<Value> {
    let dir = scratch();
    let out = dir.path().join("consumed.jsonl");
    let mut args = vec!["consume", "--topics", topics, "--out", out.to_str().unwrap()];
    args.extend_from_slice(options);
    broker.tool(&kafka_tool(), &args);
    read_jsonl(&out)
}

/// (key, value) of a consumed record, parsed, without the processing-time fields.
fn kv(record: &Value) -> (Value, Value) {
    let parse = |v: &Value| {
        v.as_str()
            .map_or(Value::Null, |s| serde_json::from_str(s).unwrap())
    };
    let mut value = parse(&record["value"]);
    if let Some(o) = value.as_object_mut() {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            o.remove(k);
        }
    }
    (parse(&record["key"]), value)
}

fn without_processing_time(mut record: Value) -> (Value, Value) {
    if let Some(o) = record["value"].as_object_mut() {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            o.remove(k);
        }
    }
    (record["key"].clone(), record["value"].clone())
}

fn kafka_sink_pipeline(
    pg: &PgCluster,
    dir: &Path,
    broker: &KafkaBroker,
    slot: &str,
    sink_extra: &str,
) -> PathBuf {
    let config = write_pipeline(pg, dir, &["public.*"], "", "flush_interval = \"200ms\"\n");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("slot = \"rivulet_test\"", &format!("slot = \"{slot}\""))
        .replace(
            &format!("type = \"jsonl\"\npath = \"{}\"", dir.join("out.jsonl").display()),
            &format!(
                "type = \"kafka\"\nbrokers = \"{}\"\n{sink_extra}",
                broker.bootstrap()
            ),
        );
    std::fs::write(&config, text).unwrap();
    config
}

fn shop(pg: &PgCluster) {
    pg.psql_script(
        "CREATE TABLE public.customers (id bigint PRIMARY KEY, name text NOT NULL, tier text);
         CREATE TABLE public.orders (id serial PRIMARY KEY, customer bigint NOT NULL, total numeric(10,2));",
    );
}

fn shop_workload(from: i64, rounds: i64) -> String {
    let mut sql = String::new();
    for r in from..from + rounds {
        sql.push_str(&format!(
            "INSERT INTO customers VALUES ({r}, 'c{r}', NULL);
             INSERT INTO orders (customer, total) VALUES ({r}, {r}.5), ({r}, 1);
             UPDATE customers SET tier = 'gold' WHERE id = {r};
             DELETE FROM orders WHERE customer = {r} AND total = 1;
             SELECT pg_sleep(0.01);\n"
        ));
    }
    sql
}

#[test]
fn postgres_to_kafka_writes_what_the_jsonl_sink_writes() {
    let pg = PgCluster::start();
    shop(&pg);
    let broker = KafkaBroker::start();
    let dir = scratch();
    let jsonl = write_pipeline(&pg, dir.path(), &["public.*"], "", "");
    let kafka_dir = scratch();
    let kafka = kafka_sink_pipeline(
        &pg,
        kafka_dir.path(),
        &broker,
        "rivulet_kafka",
        "topic_partitions = 2",
    );
    run_to_end(&pg, &jsonl, &[]);
    run_to_end(&pg, &kafka, &[]);
    pg.psql_script(&shop_workload(0, 30));
    run_to_end(&pg, &jsonl, &[]);
    run_to_end(&pg, &kafka, &[]);

    let expected = read_jsonl(&dir.path().join("out.jsonl"));
    let consumed = consume(
        &broker,
        "dbz.public.customers,dbz.public.orders",
        expected.len(),
        false,
    );
    assert_eq!(consumed.len(), expected.len());
    // Per key, the same records in the same order (Kafka orders per partition, and a key
    // always lands in the same partition).
    let mut want: BTreeMap<(String, String), Vec<(Value, Value)>> = BTreeMap::new();
    for r in &expected {
        let (k, v) = without_processing_time(r.clone());
        want.entry((r["topic"].as_str().unwrap().into(), k.to_string()))
            .or_default()
            .push((k, v));
    }
    let mut got: BTreeMap<(String, String), Vec<(Value, Value)>> = BTreeMap::new();
    let mut partitions: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in &consumed {
        let (k, v) = kv(r);
        let slot = (r["topic"].as_str().unwrap().to_string(), k.to_string());
        let p = r["partition"].as_i64().unwrap();
        assert_eq!(
            *partitions.entry(slot.clone()).or_insert(p),
            p,
            "one key, one partition: {slot:?}"
        );
        got.entry(slot).or_default().push((k, v));
    }
    assert_eq!(got, want);
    assert!(
        consumed.iter().any(|r| r["value"].is_null()),
        "tombstones follow deletes"
    );
    let topics: Value = serde_json::from_slice(&broker.tool(&kafka_tool(), &["topics"]).stdout).unwrap();
    assert_eq!(topics["dbz.public.orders"]["partitions"], 2, "{topics}");
}

#[test]
fn a_broker_outage_pauses_the_pipeline_and_nothing_is_lost() {
    let pg = PgCluster::start();
    shop(&pg);
    let mut broker = KafkaBroker::start();
    let dir = scratch();
    let config = kafka_sink_pipeline(&pg, dir.path(), &broker, "rivulet_test", "");
    run_to_end(&pg, &config, &[]);
    pg.psql("SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')");
    let child = spawn_run(&config, &[]);
    let script = shop_workload(0, 150);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| pg.psql_script(&script));
        std::thread::sleep(Duration::from_millis(700));
        broker.stop();
        std::thread::sleep(Duration::from_secs(3));
        broker.start_again();
        writer.join().unwrap();
    });
    // The pipeline rides the outage out by itself: it pauses while the broker is away, and if
    // the broker comes back without the idempotent producer's state (noida-db can), it starts
    // again from the last checkpoint with a new producer — the at-least-once window.
    std::thread::sleep(Duration::from_secs(2));
    let mut child = child;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pipeline stopped after the outage instead of riding it out:\n{}",
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr)
    );
    let changes = pg.psql(
        "SELECT count(*) FROM pg_logical_slot_peek_changes('oracle', NULL, NULL) WHERE data LIKE 'table %'",
    );
    let changes: usize = changes.parse().unwrap();
    // A restart re-sends its unconfirmed window, so a record count says nothing about
    // completeness: wait until the slot confirms the last commit (it only moves past what Kafka
    // acknowledged), then read everything the topics hold.
    let last_commit = pg.psql("SELECT max(lsn) FROM pg_logical_slot_peek_changes('oracle', NULL, NULL)");
    wait_for(
        "the slot to confirm the last commit",
        Duration::from_secs(120),
        || {
            pg.psql(&format!(
            "SELECT confirmed_flush_lsn >= '{last_commit}' FROM pg_replication_slots WHERE slot_name = 'rivulet_test'"
        )) == "t"
        },
    );
    let consumed = consume_all(&broker, "dbz.public.customers,dbz.public.orders");
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("unreachable"), "the outage was logged:\n{log}");

    // Every change, in per-key order; a replayed window may repeat changes (at-least-once),
    // never skip one: the first occurrences, in order, are exactly the changes.
    let mut per_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for r in consumed.iter().filter(|r| !r["value"].is_null()) {
        let (k, v) = kv(r);
        let key = format!("{}|{k}", r["topic"]);
        if seen.insert((key.clone(), v["source"]["lsn"].clone(), v["op"].clone())) {
            per_key.entry(key).or_default().push(v);
        }
    }
    let distinct: usize = per_key.values().map(Vec::len).sum();
    assert_eq!(distinct, changes, "every change arrived");
    for (key, seq) in &per_key {
        let lsns: Vec<u64> = seq.iter().map(|v| v["source"]["lsn"].as_u64().unwrap()).collect();
        assert!(
            lsns.windows(2).all(|w| w[0] <= w[1]),
            "per-key order for {key}: {lsns:?}"
        );
    }
}

#[test]
fn exactly_once_with_kafka_transactions_survives_kill_9() {
    let pg = PgCluster::start();
    shop(&pg);
    let broker = KafkaBroker::start();
    let dir = scratch();
    let config = kafka_sink_pipeline(&pg, dir.path(), &broker, "rivulet_test", "exactly_once = true");
    run_to_end(&pg, &config, &[]);
    pg.psql("SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')");
    let script = shop_workload(0, 120);
    let mut kills = 0;
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| pg.psql_script(&script));
        while !writer.is_finished() {
            let mut child = spawn_run(&config, &[]);
            std::thread::sleep(Duration::from_millis(400 + 137 * (kills % 5)));
            signal(&child, "KILL");
            child.wait().unwrap();
            kills += 1;
        }
        writer.join().unwrap();
    });
    run_to_end(&pg, &config, &[]);
    let changes: usize = pg
        .psql("SELECT count(*) FROM pg_logical_slot_peek_changes('oracle', NULL, NULL) WHERE data LIKE 'table %'")
        .parse()
        .unwrap();
    let consumed = consume(
        &broker,
        "dbz.public.customers,dbz.public.orders",
        changes + 120,
        true,
    );
    let values: Vec<(Value, Value)> = consumed
        .iter()
        .filter(|r| !r["value"].is_null())
        .map(kv)
        .collect();
    println!("{kills} kills, {} changes", values.len());
    assert!(kills >= 2);
    assert_eq!(
        values.len(),
        changes,
        "read_committed consumers see every change exactly once"
    );
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &values {
        assert!(
            seen.insert((k.to_string(), v["source"]["lsn"].clone(), v["op"].clone())),
            "duplicate {k} {v}"
        );
    }
}

#[test]
fn a_kafka_source_forwards_debezium_topics_into_jsonl_unchanged() {
    let broker = KafkaBroker::start();
    let dir = scratch();
    // Records Debezium 3.6.3 itself emitted (the conformance oracle), tombstones included.
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases");
    let input = dir.path().join("debezium.jsonl");
    let mut text = std::fs::read_to_string(cases.join("core.debezium.jsonl")).unwrap();
    text.push_str(&std::fs::read_to_string(cases.join("types_string.debezium.jsonl")).unwrap());
    std::fs::write(&input, &text).unwrap();
    let produced = read_jsonl(&input);
    broker.tool(
        &kafka_tool(),
        &["produce", "--in", input.to_str().unwrap(), "--partitions", "3"],
    );
    let topics: Vec<String> = {
        let mut t: Vec<String> = produced
            .iter()
            .map(|r| r["topic"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t.dedup();
        t
    };
    let out = dir.path().join("out.jsonl");
    let config = dir.path().join("pipeline.toml");
    let quoted: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "name = \"fwd\"\n[source]\ntype = \"kafka\"\nbrokers = \"{}\"\ntopics = [{}]\n\n[sink]\ntype = \"jsonl\"\npath = \"{}\"\n\n[offsets]\npath = \"{}\"\nflush_interval = \"100ms\"\n",
            broker.bootstrap(),
            quoted.join(", "),
            out.display(),
            dir.path().join("offsets.json").display()
        ),
    )
    .unwrap();
    let child = spawn_run(&config, &[]);
    wait_for("every record", Duration::from_secs(60), || {
        line_count(&out) >= produced.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "TERM");
    assert!(child.wait_with_output().unwrap().status.success());

    let got = read_jsonl(&out);
    assert_eq!(got.len(), produced.len(), "nothing twice, nothing lost");
    // Kafka orders records per partition: a key's records keep their order; records without a
    // key are spread over partitions, so they compare as a set.
    let group = |records: &[Value]| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in records {
            m.entry(format!("{}|{}", r["topic"], r["key"]))
                .or_default()
                .push(r["value"].to_string());
        }
        for (k, v) in m.iter_mut() {
            if k.ends_with("|null") {
                v.sort();
            }
        }
        m
    };
    assert_eq!(
        group(&got),
        group(&produced),
        "each key's records, unchanged and in order"
    );

    // More records later: a restart resumes after what was acknowledged.
    let more = dir.path().join("more.jsonl");
    std::fs::write(
        &more,
        text.lines().take(5).map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    broker.tool(&kafka_tool(), &["produce", "--in", more.to_str().unwrap()]);
    let child = spawn_run(&config, &[]);
    wait_for("the new records", Duration::from_secs(60), || {
        line_count(&out) >= produced.len() + 5
    });
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "TERM");
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(read_jsonl(&out).len(), produced.len() + 5);
}

#[test]
fn offsets_in_kafka_let_a_pipeline_resume_without_local_state() {
    let pg = PgCluster::start();
    shop(&pg);
    let broker = KafkaBroker::start();
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.*"], "", "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!(
            "[offsets]\npath = \"{}\"",
            dir.path().join("offsets.json").display()
        ),
        &format!(
            "[offsets]\ntype = \"kafka\"\nbrokers = \"{}\"\ntopic = \"pipeline-offsets\"",
            broker.bootstrap()
        ),
    );
    std::fs::write(&config, text).unwrap();
    run_to_end(&pg, &config, &[]);
    pg.psql_script(&shop_workload(0, 5));
    run_to_end(&pg, &config, &[]);
    let first = read_jsonl(&dir.path().join("out.jsonl")).len();
    assert!(!dir.path().join("offsets.json").exists(), "no local offsets file");
    pg.psql_script(&shop_workload(100, 3));
    run_to_end(&pg, &config, &[]);
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    assert!(records.len() > first);
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        assert!(seen.insert(r.to_string()), "nothing delivered twice: {r}");
    }
    let topics: Value = serde_json::from_slice(&broker.tool(&kafka_tool(), &["topics"]).stdout).unwrap();
    assert_eq!(
        topics["pipeline-offsets"]["cleanup.policy"], "compact",
        "{topics}"
    );
}
