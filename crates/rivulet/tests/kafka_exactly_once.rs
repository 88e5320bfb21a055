//! Exactly once from a Kafka source (Debezium topics) into the sinks that keep their own
//! position: Delta, files and the PostgreSQL replica. Each test aborts the process at the one
//! moment a random `kill -9` almost never hits (a fault point, `RIVULET_FAULT`): between the
//! two tables' commits of one Delta flush, after a files flush's uploads and before its
//! watermark, after the replica's commit and before the offsets file. The restart must leave
//! every change exactly once.

#![cfg(all(feature = "kafka", feature = "delta", feature = "files"))]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rivulet_testkit::{KafkaBroker, PgCluster, tools_python};

const TOPICS: [&str; 2] = ["dbz.public.customers", "dbz.public.orders"];

/// Two tables' Debezium topics, written by Rivulet itself from PostgreSQL: 30 transactions
/// that each touch both tables. Returns the change records per table (tombstones excluded).
fn debezium_topics(pg: &PgCluster, broker: &KafkaBroker, dir: &Path) -> BTreeMap<String, usize> {
    pg.psql_script(
        "CREATE TABLE public.customers (id bigint PRIMARY KEY, name text NOT NULL, tier text);
         CREATE TABLE public.orders (id bigint PRIMARY KEY, customer bigint NOT NULL, total numeric(10,2));",
    );
    let config = write_pipeline(pg, dir, &["public.*"], "", "flush_interval = \"200ms\"\n");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("type = \"jsonl\"\npath = \"{}\"", dir.join("out.jsonl").display()),
        &format!("type = \"kafka\"\nbrokers = \"{}\"", broker.bootstrap()),
    );
    std::fs::write(&config, text).unwrap();
    run_to_end(pg, &config, &[]);
    let mut sql = String::new();
    for r in 0..30 {
        sql.push_str(&format!(
            "BEGIN;
             INSERT INTO customers VALUES ({r}, 'c{r}', NULL);
             INSERT INTO orders VALUES ({r}, {r}, {r}.5), ({r} + 1000, {r}, 1);
             UPDATE customers SET tier = 'gold' WHERE id = {r};
             DELETE FROM orders WHERE id = {r} + 1000;
             COMMIT;\n"
        ));
    }
    pg.psql_script(&sql);
    run_to_end(pg, &config, &[]);
    BTreeMap::from([("customers".into(), 60), ("orders".into(), 90)])
}

/// A pipeline from the two topics into the sink described by `sink` (its keys after `type`).
/// Static group membership (`group.instance.id`) lets the restart take over the aborted
/// consumer's partitions at once; without it the test broker holds the rejoin until the dead
/// member's session would have been renewed, which it never is.
fn from_kafka(dir: &Path, broker: &KafkaBroker, sink: &str, flush_interval: &str) -> PathBuf {
    let topics: Vec<String> = TOPICS.iter().map(|t| format!("\"{t}\"")).collect();
    let config = dir.join("from-kafka.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"from-kafka\"\n[source]\ntype = \"kafka\"\nbrokers = \"{}\"\ntopics = [{}]\n\
             [source.kafka.properties]\n\"group.instance.id\" = \"from-kafka-1\"\n\n[sink]\n{sink}\n\n\
             [offsets]\npath = \"{}\"\nflush_interval = \"{flush_interval}\"\n",
            broker.bootstrap(),
            topics.join(", "),
            dir.join("from-kafka-offsets.json").display()
        ),
    )
    .unwrap();
    config
}

/// Runs the pipeline with `RIVULET_FAULT=<fault>` until the fault aborts it.
fn run_until_the_fault(config: &Path, fault: &str) {
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .env("RIVULET_FAULT", fault)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "aborting at fault point {}",
            fault.split('@').next().unwrap()
        )),
        "the run must die at the fault point ({}):\n{stderr}",
        out.status
    );
}

/// Runs the pipeline again (no fault) until `done` holds, then stops it with SIGTERM. Its
/// log goes to a file: Delta's logging would fill a pipe nobody reads and stall the run.
fn run_until(what: &str, config: &Path, mut done: impl FnMut() -> bool) {
    let log_path = config.with_extension("log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = command(&["run", "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        if Instant::now() > deadline {
            signal(&child, "KILL");
            let _ = child.wait();
            panic!("timed out waiting for {what}:\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // Long enough for a flush of anything replayed twice to land too.
    std::thread::sleep(Duration::from_secs(1));
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success(), "rivulet run failed:\n{}", log());
}

/// Rows per op and key of each table under `root`, read by an independent reader (Python):
/// a Delta table per directory (`delta`; `feed`: its change data feed), or every CSV file
/// below it (`files`).
fn changes(root: &Path, kind: &str) -> BTreeMap<String, Vec<String>> {
    let script = r#"
import glob, json, os, sys
root, kind = sys.argv[1], sys.argv[2]
out = {}
if kind in ("delta", "feed"):
    from deltalake import DeltaTable
    for d in sorted(os.listdir(root)):
        table = DeltaTable(os.path.join(root, d))
        if kind == "delta":
            out[d] = sorted(f"{r['_cdc_operation']}{r['id']}" for r in table.to_pyarrow_table().to_pylist())
        else:
            import pyarrow as pa
            rows = pa.RecordBatchReader.from_stream(table.load_cdf(starting_version=0)).read_all().to_pylist()
            out[d] = sorted(f"{r['_change_type']}:{r['id']}" for r in rows)
else:
    import csv
    for f in glob.glob(os.path.join(root, "**", "*.csv"), recursive=True):
        table = next(p for p in f.split(os.sep) if "customers" in p or "orders" in p)
        with open(f) as fh:
            for r in csv.DictReader(fh):
                out.setdefault(table, []).append(f"{r['_cdc_operation']}{r['id']}")
    out = {k: sorted(v) for k, v in out.items()}
print(json.dumps(out))
"#;
    // The reader now and then dies as it exits ("terminate called without an active
    // exception"): a few tries.
    let read = || {
        Command::new(tools_python())
            .args(["-c", script])
            .arg(root)
            .arg(kind)
            .output()
            .unwrap()
    };
    let mut out = read();
    for _ in 0..4 {
        if out.status.success() {
            break;
        }
        out = read();
    }
    if !out.status.success() {
        // Nothing written yet, or a table between its creation and first commit.
        println!(
            "reader: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        );
        return BTreeMap::new();
    }
    let got: BTreeMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "reader: {:?}",
        got.iter().map(|(t, r)| (t, r.len())).collect::<Vec<_>>()
    );
    got
}

/// Every table holds exactly its `expected` number of changes, none of them twice.
fn assert_each_change_once(got: &BTreeMap<String, Vec<String>>, expected: &BTreeMap<String, usize>) {
    for (table, want) in expected {
        let (name, rows) = got
            .iter()
            .find(|(name, _)| name.contains(table.as_str()))
            .unwrap_or_else(|| panic!("no output for {table}: {got:?}"));
        let mut twice: Vec<&String> = rows.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).collect();
        twice.dedup();
        assert!(twice.is_empty(), "{name}: changes delivered twice: {twice:?}");
        assert_eq!(rows.len(), *want, "{name}: every change, once");
    }
}

fn total(got: &BTreeMap<String, Vec<String>>) -> usize {
    got.values().map(Vec::len).sum()
}

#[test]
fn delta_append_a_crash_between_two_tables_commits_repeats_no_change() {
    let pg = PgCluster::start();
    let broker = KafkaBroker::start();
    let dir = scratch();
    let expected = debezium_topics(&pg, &broker, dir.path());
    let lake = dir.path().join("lake");
    let sink = format!(
        "type = \"delta\"\nurl = \"{}\"\nmode = \"append\"",
        lake.display()
    );
    // One flush holds both tables: the first commit goes through, the process dies before the
    // second.
    run_until_the_fault(
        &from_kafka(dir.path(), &broker, &sink, "3s"),
        "delta.table_committed@1",
    );
    let after_crash = changes(&lake, "delta");
    assert_eq!(
        after_crash.len(),
        1,
        "one table committed before the abort: {after_crash:?}"
    );
    let config = from_kafka(dir.path(), &broker, &sink, "200ms");
    let want: usize = expected.values().sum();
    run_until("every change in Delta", &config, || {
        total(&changes(&lake, "delta")) >= want
    });
    assert_each_change_once(&changes(&lake, "delta"), &expected);
}

#[test]
fn delta_mirror_a_crash_between_two_tables_commits_repeats_nothing_in_the_change_feed() {
    let pg = PgCluster::start();
    let broker = KafkaBroker::start();
    let dir = scratch();
    debezium_topics(&pg, &broker, dir.path());
    let lake = dir.path().join("lake");
    let sink = format!(
        "type = \"delta\"\nurl = \"{}\"\nmode = \"mirror\"",
        lake.display()
    );
    run_until_the_fault(
        &from_kafka(dir.path(), &broker, &sink, "3s"),
        "delta.table_committed@1",
    );
    let config = from_kafka(dir.path(), &broker, &sink, "200ms");
    run_until("both mirror tables", &config, || {
        changes(&lake, "feed").len() == 2
    });
    // All 30 transactions land in the first flush, where each key's changes collapse: one
    // insert per surviving row, and a replay into the committed table would add updates.
    let feed = changes(&lake, "feed");
    for (table, rows) in &feed {
        let expected: Vec<String> = {
            let ids = (0..30).map(|i| format!("insert:{i}"));
            let mut v: Vec<String> = ids.collect();
            v.sort();
            v
        };
        assert_eq!(
            rows, &expected,
            "{table}: each surviving row inserted once, nothing else"
        );
    }
}

#[test]
fn files_a_crash_after_the_uploads_and_before_the_watermark_repeats_no_change() {
    let pg = PgCluster::start();
    let broker = KafkaBroker::start();
    let dir = scratch();
    let expected = debezium_topics(&pg, &broker, dir.path());
    let out = dir.path().join("files");
    let sink = format!(
        "type = \"files\"\nurl = \"file://{}\"\nformat = \"csv\"",
        out.display()
    );
    run_until_the_fault(&from_kafka(dir.path(), &broker, &sink, "3s"), "files.uploaded@1");
    let config = from_kafka(dir.path(), &broker, &sink, "200ms");
    let want: usize = expected.values().sum();
    run_until("every change in files", &config, || {
        total(&changes(&out, "files")) >= want
    });
    assert_each_change_once(&changes(&out, "files"), &expected);
}

#[test]
fn postgres_replica_a_crash_after_its_commit_and_before_the_offsets_file_repeats_no_change() {
    let pg = PgCluster::start();
    let target = PgCluster::start();
    let broker = KafkaBroker::start();
    let dir = scratch();
    debezium_topics(&pg, &broker, dir.path());
    let sink = format!(
        "type = \"postgres\"\nurl = \"{}\"\nmode = \"history\"",
        target.url()
    );
    run_until_the_fault(&from_kafka(dir.path(), &broker, &sink, "3s"), "sink.flushed@1");
    let config = from_kafka(dir.path(), &broker, &sink, "200ms");
    let count = |table: &str| -> usize {
        target
            .try_psql(&format!("SELECT count(*) FROM public.{table}"))
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    run_until("every change in the replica", &config, || {
        count("customers") + count("orders") >= 150
    });
    assert_eq!(
        (count("customers"), count("orders")),
        (60, 90),
        "every change, once"
    );
}
