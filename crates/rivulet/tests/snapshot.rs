//! Snapshots end to end: existing rows as `op = "r"` events, consistent with the stream that
//! follows (no row missed, none applied twice) even with writes running during the snapshot,
//! resumable after `kill -9`, and the snapshot modes' meanings.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use rivulet_testkit::PgCluster;
use serde_json::Value;

const ROWS: i64 = 60_000;

fn table_with_rows(pg: &PgCluster, name: &str, rows: i64) {
    pg.psql_script(&format!(
        "CREATE TABLE public.{name} (id bigint PRIMARY KEY, v int NOT NULL, note text);
         INSERT INTO public.{name} SELECT g, g, 'row ' || g FROM generate_series(1, {rows}) g;
         ANALYZE public.{name};"
    ));
}

/// Writes spread over a few seconds: updates and deletes of existing rows, new rows.
fn workload(name: &str, rounds: i64) -> String {
    let mut sql = String::new();
    for r in 0..rounds {
        let base = r * 997 % ROWS;
        sql.push_str(&format!(
            "UPDATE public.{name} SET v = v + 1, note = 'u{r}' WHERE id BETWEEN {} AND {};\n\
             DELETE FROM public.{name} WHERE id = {};\n\
             INSERT INTO public.{name} VALUES ({}, {r}, 'new') ON CONFLICT (id) DO UPDATE SET v = -1;\n\
             SELECT pg_sleep(0.02);\n",
            base + 1,
            base + 40,
            base + 50,
            ROWS + 1 + r
        ));
    }
    sql
}

/// Applies the events of `table` to an empty map the way a strict replica would: a read or a
/// create needs the key absent, an update or a delete needs it present. Any violation is a
/// missed or doubled row.
fn replay(records: &[Value], topic: &str) -> BTreeMap<i64, (i64, Option<String>)> {
    let mut rows = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if r["topic"] != topic || r["value"].is_null() {
            continue;
        }
        let v = &r["value"];
        if v["op"] == "t" {
            rows.clear();
            continue;
        }
        let id = r["key"]["id"].as_i64().unwrap();
        let row = |a: &Value| (a["v"].as_i64().unwrap(), a["note"].as_str().map(str::to_string));
        match v["op"].as_str().unwrap() {
            "r" | "c" => assert!(
                rows.insert(id, row(&v["after"])).is_none(),
                "record {i}: key {id} delivered twice: {r}"
            ),
            "u" => assert!(
                rows.insert(id, row(&v["after"])).is_some(),
                "record {i}: update of missing key {id}"
            ),
            "d" => assert!(
                rows.remove(&id).is_some(),
                "record {i}: delete of missing key {id}"
            ),
            other => panic!("unexpected op {other}"),
        }
    }
    rows
}

fn table_contents(pg: &PgCluster, name: &str) -> BTreeMap<i64, (i64, Option<String>)> {
    pg.psql(&format!(
        "SELECT id, v, coalesce(note, '<null>') FROM public.{name} ORDER BY id"
    ))
    .lines()
    .map(|l| {
        let mut f = l.split('|');
        let id = f.next().unwrap().parse().unwrap();
        let v = f.next().unwrap().parse().unwrap();
        let note = f.next().unwrap();
        (id, (v, (note != "<null>").then(|| note.to_string())))
    })
    .collect()
}

fn snapshot_pipeline(
    pg: &PgCluster,
    dir: &std::path::Path,
    tables: &[&str],
    mode: &str,
    chunk_rows: u64,
) -> std::path::PathBuf {
    write_pipeline(
        pg,
        dir,
        tables,
        &format!("snapshot = \"{mode}\"\nsnapshot_chunk_rows = {chunk_rows}\nsnapshot_parallelism = 2"),
        // Frequent checkpoints, so that a kill lands between some of them.
        "flush_interval = \"50ms\"\n\n[format]\ntombstones_on_delete = false\n",
    )
}

#[test]
fn snapshot_plus_stream_reproduce_the_table_under_concurrent_writes() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "t", ROWS);
    let dir = scratch();
    let out = dir.path().join("out.jsonl");
    let config = snapshot_pipeline(&pg, dir.path(), &["public.t"], "initial", 4000);
    let script = workload("t", 150);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| pg.psql_script(&script));
        std::thread::sleep(Duration::from_millis(300));
        let mut child = spawn_run(&config, &[]);
        wait_for("the snapshot to finish", Duration::from_secs(120), || {
            read_jsonl(&out)
                .iter()
                .any(|r| r["value"]["source"]["snapshot"] == "last")
        });
        writer.join().unwrap();
        signal(&child, "TERM");
        assert!(child.wait().unwrap().success());
    });
    // Catch up with whatever the writer did after the stop.
    run_to_end(&pg, &config, &[]);

    let records = read_jsonl(&out);
    let reads: Vec<&Value> = records.iter().filter(|r| r["value"]["op"] == "r").collect();
    assert!(
        reads.len() as i64 >= ROWS - 200,
        "the snapshot delivered {} rows",
        reads.len()
    );
    assert_eq!(reads.first().unwrap()["value"]["source"]["snapshot"], "first");
    assert_eq!(reads.last().unwrap()["value"]["source"]["snapshot"], "last");
    assert!(
        reads[1..reads.len() - 1]
            .iter()
            .all(|r| r["value"]["source"]["snapshot"] == "true")
    );
    let first_change = records.iter().position(|r| r["value"]["op"] != "r").unwrap();
    assert!(
        first_change > reads.len() - 1,
        "every snapshot row comes before the first streamed change"
    );
    assert!(
        records.len() > reads.len() + 100,
        "writes during the snapshot were streamed after it"
    );
    assert_eq!(replay(&records, "dbz.public.t"), table_contents(&pg, "t"));
}

#[test]
fn kill_9_during_a_snapshot_resumes_at_the_last_chunk() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "t", 4 * ROWS);
    let dir = scratch();
    let out = dir.path().join("out.jsonl");
    let offsets = dir.path().join("offsets.json");
    let config = snapshot_pipeline(&pg, dir.path(), &["public.t"], "initial", 2000);
    let script = workload("t", 200);
    let resumed_log = std::thread::scope(|scope| {
        let writer = scope.spawn(|| pg.psql_script(&script));
        let mut child = spawn_run(&config, &[]);
        // Wait for a checkpoint with some chunks done, then kill without warning.
        wait_for("a snapshot checkpoint", Duration::from_secs(120), || {
            std::fs::read_to_string(&offsets).is_ok_and(|t| t.matches("done_at").count() >= 3)
        });
        signal(&child, "KILL");
        child.wait().unwrap();
        let cp: Value = serde_json::from_str(&std::fs::read_to_string(&offsets).unwrap()).unwrap();
        let tables = &cp["position"]["source_state"]["snapshot"]["tables"];
        let done = tables[0]["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["done_at"].is_string())
            .count();
        let total = tables[0]["chunks"].as_array().unwrap().len();
        assert!(
            done > 0 && done < total,
            "killed mid-snapshot ({done} of {total} chunks done)"
        );
        // Restart while the writer still runs: the remaining chunks come from a newer snapshot.
        let out2 = command(&["run", "--config", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the resumed snapshot to finish", Duration::from_secs(120), || {
            read_jsonl(&out)
                .iter()
                .any(|r| r["value"]["source"]["snapshot"] == "last")
        });
        writer.join().unwrap();
        signal(&out2, "TERM");
        let output = out2.wait_with_output().unwrap();
        assert!(output.status.success());
        (String::from_utf8_lossy(&output.stderr).to_string(), done, total)
    });
    let (log, done, total) = resumed_log;
    assert!(
        log.contains("filtering changes already contained in a resumed snapshot"),
        "{log}"
    );
    assert!(
        log.contains(&format!("chunks={}", total - done)),
        "the restart reads only the {} chunks left:\n{log}",
        total - done
    );
    run_to_end(&pg, &config, &[]);
    let records = read_jsonl(&out);
    assert_eq!(replay(&records, "dbz.public.t"), table_contents(&pg, "t"));
}

#[test]
fn initial_only_snapshots_every_table_and_stops_without_a_slot() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "a", 5);
    table_with_rows(&pg, "b", 3);
    pg.psql("CREATE TABLE public.c_empty (id int PRIMARY KEY)");
    pg.psql("CREATE TABLE public.d_nopk (k text, v int); ALTER TABLE public.d_nopk REPLICA IDENTITY FULL");
    pg.psql("INSERT INTO public.d_nopk VALUES ('x', 1), ('y', 2)");
    let dir = scratch();
    let config = snapshot_pipeline(&pg, dir.path(), &["public.*"], "initial_only", 2);
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    let got: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_string(),
                r["value"]["source"]["snapshot"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("dbz.public.a", "first"),
        ("dbz.public.a", "true"),
        ("dbz.public.a", "true"),
        ("dbz.public.a", "true"),
        ("dbz.public.a", "last_in_data_collection"),
        ("dbz.public.b", "first_in_data_collection"),
        ("dbz.public.b", "true"),
        ("dbz.public.b", "last_in_data_collection"),
        ("dbz.public.d_nopk", "first_in_data_collection"),
        ("dbz.public.d_nopk", "last"),
    ]
    .iter()
    .map(|(t, m)| (t.to_string(), m.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(
        records
            .iter()
            .all(|r| r["value"]["op"] == "r" && r["value"]["before"].is_null())
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots"),
        "0",
        "initial_only keeps no slot"
    );

    // Done is done: a second run has nothing to do.
    let again = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to do"));
    assert_eq!(read_jsonl(&dir.path().join("out.jsonl")).len(), records.len());
}

#[test]
fn when_needed_takes_a_new_snapshot_when_the_slot_is_gone_and_initial_refuses() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "t", 100);
    let dir = scratch();
    let config = snapshot_pipeline(&pg, dir.path(), &["public.t"], "initial", 1000);
    run_to_end(&pg, &config, &[]);
    assert_eq!(read_jsonl(&dir.path().join("out.jsonl")).len(), 100);
    pg.psql("SELECT pg_drop_replication_slot('rivulet_test')");
    pg.psql("UPDATE public.t SET v = 0 WHERE id <= 10");

    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("when_needed"),
        "{err}"
    );

    let out = run_to_end(&pg, &config, &["--set", "source.snapshot=when_needed"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("taking a new snapshot"));
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    assert_eq!(records.len(), 200, "a second full snapshot follows the first");
    assert_eq!(records[100]["value"]["source"]["snapshot"], "first");
    let again: Vec<&Value> = records[100..].iter().filter(|r| r["key"]["id"] == 1).collect();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0]["value"]["after"]["v"], 0,
        "the new snapshot sees the change made while the slot was gone"
    );
}

#[test]
fn a_table_added_later_is_snapshotted_before_streaming_goes_on() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "a", 50);
    table_with_rows(&pg, "b", 30);
    let dir = scratch();
    let config = snapshot_pipeline(&pg, dir.path(), &["public.a"], "initial", 1000);
    run_to_end(&pg, &config, &[]);
    pg.psql("UPDATE public.a SET v = 0 WHERE id = 1; UPDATE public.b SET v = 0 WHERE id = 1");
    pg.psql("ALTER PUBLICATION rivulet_test ADD TABLE public.b");
    pg.psql("UPDATE public.b SET v = -5 WHERE id = 2; DELETE FROM public.b WHERE id = 3");
    let out = run_to_end(&pg, &config, &["--set", "source.tables=public.a,public.b"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("tables added since the last snapshot"));
    pg.psql("UPDATE public.b SET v = 7 WHERE id = 4");
    run_to_end(&pg, &config, &["--set", "source.tables=public.a,public.b"]);
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    assert_eq!(replay(&records, "dbz.public.a"), table_contents(&pg, "a"));
    assert_eq!(replay(&records, "dbz.public.b"), table_contents(&pg, "b"));
    let b_reads = records
        .iter()
        .filter(|r| r["topic"] == "dbz.public.b" && r["value"]["op"] == "r")
        .count();
    assert_eq!(b_reads, 29, "b's rows as they were when it was added");
}

#[test]
fn snapshot_errors_name_the_table() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "big", ROWS);
    table_with_rows(&pg, "zz_doomed", 10);
    pg.psql("CREATE TABLE public.secret (id int PRIMARY KEY)");
    pg.psql("CREATE ROLE app LOGIN REPLICATION; GRANT SELECT ON public.big TO app");
    let dir = scratch();

    // No SELECT privilege: refused before anything starts.
    let config = snapshot_pipeline(&pg, dir.path(), &["public.big", "public.secret"], "initial", 5000);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("postgres://postgres@", "postgres://app@");
    std::fs::write(&config, text).unwrap();
    pg.psql("CREATE PUBLICATION rivulet_test FOR TABLE public.big, public.secret, public.zz_doomed");
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("GRANT SELECT ON \"public\".\"secret\""), "{err}");
    assert!(!dir.path().join("offsets.json").exists());

    // A table dropped while the snapshot runs stops it with a message naming the table, and
    // the snapshot is not recorded as complete.
    let config = snapshot_pipeline(
        &pg,
        dir.path(),
        &["public.big", "public.zz_doomed"],
        "initial",
        2000,
    );
    let out_file = dir.path().join("out.jsonl");
    let child = spawn_run(&config, &[]);
    wait_for("the snapshot to start", Duration::from_secs(60), || {
        line_count(&out_file) > 0
    });
    pg.psql("DROP TABLE public.zz_doomed");
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(line.contains("zz_doomed"), "{line}");
    let offsets = std::fs::read_to_string(dir.path().join("offsets.json")).unwrap_or_default();
    assert!(!offsets.contains("\"complete\": true"), "{offsets}");
}

#[test]
fn a_role_statement_timeout_does_not_cut_a_long_snapshot_read() {
    let pg = PgCluster::start();
    table_with_rows(&pg, "big", 200_000);
    pg.psql("ALTER ROLE postgres SET statement_timeout = '200ms'");
    let dir = scratch();
    // One chunk: a single COPY that takes longer than the timeout at a test build's pace.
    let config = snapshot_pipeline(&pg, dir.path(), &["public.big"], "initial_only", 1_000_000);
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(line_count(&dir.path().join("out.jsonl")), 200_000);
}

/// A TRUNCATE is not MVCC-safe: a snapshot taken before it reads the table as empty, while the
/// stream still carries the changes of the rows it lost. The snapshot must notice and read the
/// table under a newer snapshot instead.
#[test]
fn a_truncate_after_the_snapshot_was_taken_is_not_read_as_an_empty_table() {
    let pg = PgCluster::start();
    let dir = scratch();
    // Tables are read in name order, one reader: the small one waits behind the big one.
    table_with_rows(&pg, "a_big", 300_000);
    table_with_rows(&pg, "b_small", 100);
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.a_big", "public.b_small"],
        "snapshot = \"initial\"\nsnapshot_chunk_rows = 20000\nsnapshot_parallelism = 1",
        "flush_interval = \"50ms\"\n\n[format]\ntombstones_on_delete = false\n",
    );
    let out = dir.path().join("out.jsonl");
    let child = spawn_run(&config, &[]);
    wait_for("the snapshot to start", Duration::from_secs(60), || {
        line_count(&out) >= 1000
    });
    let small = "dbz.public.b_small";
    assert!(
        !read_jsonl(&out).iter().any(|r| r["topic"] == small),
        "b_small was read before the TRUNCATE: make a_big larger"
    );
    pg.psql_script(
        "UPDATE public.b_small SET v = -v WHERE id <= 10;
         TRUNCATE public.b_small;
         INSERT INTO public.b_small VALUES (999, 999, 'after');",
    );
    wait_for(
        "the row inserted after the TRUNCATE",
        Duration::from_secs(120),
        || {
            read_jsonl(&out)
                .iter()
                .any(|r| r["topic"] == small && r["key"]["id"] == 999)
        },
    );
    signal(&child, "TERM");
    let status = child.wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let records = read_jsonl(&out);
    assert_eq!(replay(&records, small), table_contents(&pg, "b_small"));
    assert_eq!(replay(&records, "dbz.public.a_big").len(), 300_000);
}
