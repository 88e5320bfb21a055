//! End-to-end streaming against a real PostgreSQL: what a user sees in the JSONL file.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rivulet_testkit::PgCluster;
use serde_json::json;

fn shop(pg: &PgCluster) {
    pg.psql_script(
        "CREATE TABLE public.customers (id bigint PRIMARY KEY, name text NOT NULL, vip boolean NOT NULL DEFAULT false);
         CREATE TABLE public.orders (id serial PRIMARY KEY, customer bigint NOT NULL, total numeric(10,2), note text);
         CREATE TABLE public.ignored (id int PRIMARY KEY);",
    );
}

#[test]
fn streams_changes_in_commit_order_and_creates_slot_and_publication() {
    let pg = PgCluster::start();
    shop(&pg);
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.customers", "public.orders"], "", "");

    // The first run creates the publication and the slot; there is nothing to stream yet.
    let out = run_to_end(&pg, &config, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("created publication"), "{log}");
    assert!(log.contains("created replication slot"), "{log}");
    assert_eq!(
        pg.psql("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'rivulet_test'"),
        "pgoutput"
    );
    assert_eq!(
        pg.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'rivulet_test'"),
        "customers,orders"
    );

    pg.psql_script(
        "INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob');
         INSERT INTO ignored VALUES (1);
         BEGIN;
         INSERT INTO orders (customer, total) VALUES (1, 12.50);
         UPDATE customers SET vip = true WHERE id = 1;
         COMMIT;
         BEGIN; INSERT INTO customers VALUES (3, 'Gone'); ROLLBACK;
         UPDATE customers SET id = 20 WHERE id = 2;
         DELETE FROM orders;
         TRUNCATE customers;",
    );
    let out = run_to_end(&pg, &config, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("created"),
        "the second run reuses slot and publication: {log}"
    );

    let records = read_jsonl(&dir.path().join("out.jsonl"));
    let got = summary(&records);
    let want: Vec<(String, String, serde_json::Value)> = [
        ("dbz.public.customers", "c", json!({"id": 1})),
        ("dbz.public.customers", "c", json!({"id": 2})),
        ("dbz.public.orders", "c", json!({"id": 1})),
        ("dbz.public.customers", "u", json!({"id": 1})),
        // A key change is a delete (+ tombstone) of the old key and a create of the new one.
        ("dbz.public.customers", "d", json!({"id": 2})),
        ("dbz.public.customers", "tombstone", json!({"id": 2})),
        ("dbz.public.customers", "c", json!({"id": 20})),
        ("dbz.public.orders", "d", json!({"id": 1})),
        ("dbz.public.orders", "tombstone", json!({"id": 1})),
        ("dbz.public.customers", "t", json!(null)),
    ]
    .into_iter()
    .map(|(t, o, k)| (t.to_string(), o.to_string(), k))
    .collect();
    assert_eq!(got, want);

    let insert = &records[2]["value"];
    assert_eq!(
        insert["after"],
        json!({"id": 1, "customer": 1, "total": "BOI=", "note": null})
    );
    assert_eq!(insert["source"]["connector"], "postgresql");
    assert_eq!(insert["source"]["name"], "dbz");
    assert_eq!(insert["source"]["db"], "postgres");
    assert_eq!(insert["source"]["schema"], "public");
    assert_eq!(insert["source"]["table"], "orders");
    assert_eq!(insert["source"]["snapshot"], "false");
    // Both changes of one transaction carry its id and commit time.
    assert_eq!(
        records[2]["value"]["source"]["txId"],
        records[3]["value"]["source"]["txId"]
    );
    assert_eq!(
        records[2]["value"]["source"]["ts_us"],
        records[3]["value"]["source"]["ts_us"]
    );
    assert!(
        records[2]["value"]["source"]["lsn"].as_u64().unwrap()
            < records[3]["value"]["source"]["lsn"].as_u64().unwrap()
    );

    // A third run has nothing new: nothing is delivered twice.
    run_to_end(&pg, &config, &[]);
    assert_eq!(read_jsonl(&dir.path().join("out.jsonl")).len(), records.len());
    let offsets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("offsets.json")).unwrap()).unwrap();
    assert_eq!(
        offsets["sink"]["file_length"].as_u64().unwrap(),
        std::fs::metadata(dir.path().join("out.jsonl")).unwrap().len()
    );
    let confirmed =
        pg.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'rivulet_test'");
    assert_eq!(
        offsets["position"]["lsn"].as_str().unwrap(),
        confirmed,
        "the slot is confirmed exactly to the checkpoint"
    );
}

#[test]
fn schema_changes_mid_stream_show_up_in_later_events() {
    let pg = PgCluster::start();
    shop(&pg);
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.*"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO customers VALUES (1, 'Ann');
         ALTER TABLE customers ADD COLUMN tier text;
         INSERT INTO customers VALUES (2, 'Bob', false, 'gold');
         ALTER TABLE customers DROP COLUMN vip;
         UPDATE customers SET tier = 'silver' WHERE id = 1;
         CREATE TABLE public.later (id int PRIMARY KEY);
         INSERT INTO later VALUES (7);",
    );
    run_to_end(&pg, &config, &[]);
    let records = read_jsonl(&dir.path().join("out.jsonl"));
    let afters: Vec<_> = records
        .iter()
        .map(|r| (r["topic"].clone(), r["value"]["after"].clone()))
        .collect();
    assert_eq!(
        afters,
        vec![
            (
                json!("dbz.public.customers"),
                json!({"id": 1, "name": "Ann", "vip": false})
            ),
            (
                json!("dbz.public.customers"),
                json!({"id": 2, "name": "Bob", "vip": false, "tier": "gold"})
            ),
            (
                json!("dbz.public.customers"),
                json!({"id": 1, "name": "Ann", "tier": "silver"})
            ),
            // `schema.*` publications (FOR TABLES IN SCHEMA) pick up tables created later.
            (json!("dbz.public.later"), json!({"id": 7})),
        ]
    );
}

#[test]
fn sigterm_flushes_checkpoints_and_exits_zero_and_a_restart_continues() {
    let pg = PgCluster::start();
    shop(&pg);
    let dir = scratch();
    let out_file = dir.path().join("out.jsonl");
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.customers"],
        "",
        "[format]\ntombstones_on_delete = false\n",
    );
    run_to_end(&pg, &config, &[]);

    let mut child = spawn_run(&config, &[]);
    pg.psql("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 1000) g");
    wait_for("the first events", Duration::from_secs(60), || {
        line_count(&out_file) >= 1000
    });
    let asked = Instant::now();
    signal(&child, "TERM");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        // Shutdown must be prompt; the bound is generous for a loaded CI machine.
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "rivulet did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let offsets = std::fs::read_to_string(dir.path().join("offsets.json")).unwrap();
    let offsets: serde_json::Value = serde_json::from_str(&offsets).unwrap();
    assert_eq!(
        offsets["sink"]["file_length"].as_u64().unwrap(),
        std::fs::metadata(&out_file).unwrap().len()
    );
    let confirmed =
        pg.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'rivulet_test'");
    assert_eq!(offsets["position"]["lsn"].as_str().unwrap(), confirmed);

    pg.psql("UPDATE customers SET vip = true WHERE id <= 10");
    run_to_end(&pg, &config, &[]);
    let records = read_jsonl(&out_file);
    assert_eq!(records.len(), 1010);
    let keys: Vec<i64> = records
        .iter()
        .take(1000)
        .map(|r| r["key"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(keys, (1..=1000).collect::<Vec<_>>());
    assert!(records[1000..].iter().all(|r| r["value"]["op"] == "u"));
}

#[test]
fn check_reports_ready_and_problems_with_fixes() {
    let pg = PgCluster::start();
    shop(&pg);
    pg.psql("CREATE TABLE public.nopk (a int)");
    let dir = scratch();
    let good = write_pipeline(&pg, dir.path(), &["public.customers"], "", "");
    let out = command(&["check", "--config", good.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("wal_level = logical"), "{text}");
    assert!(text.contains("ready to run"), "{text}");
    // check changes nothing.
    assert_eq!(pg.psql("SELECT count(*) FROM pg_replication_slots"), "0");
    assert_eq!(pg.psql("SELECT count(*) FROM pg_publication"), "0");

    let bad = write_pipeline(
        &pg,
        dir.path(),
        &["public.customers", "public.nopk", "public.missing"],
        "",
        "",
    );
    let out = command(&["check", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("public.missing"), "{text}");
    assert!(
        text.contains("ALTER TABLE \"public\".\"nopk\" REPLICA IDENTITY FULL"),
        "{text}"
    );

    // An existing publication that misses a table is named with the statement that fixes it.
    pg.psql("CREATE PUBLICATION rivulet_test FOR TABLE public.orders");
    let out = command(&["check", "--config", good.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("ALTER PUBLICATION \"rivulet_test\" ADD TABLE \"public\".\"customers\""),
        "{text}"
    );
}

#[test]
fn check_names_server_side_problems() {
    let pg = PgCluster::builder()
        .conf("wal_level = replica")
        .conf("max_replication_slots = 0")
        .start();
    shop(&pg);
    pg.psql("CREATE ROLE plain LOGIN");
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.customers"], "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("postgres://postgres@", "postgres://plain@");
    std::fs::write(&config, text).unwrap();
    let out = command(&["check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ALTER SYSTEM SET wal_level = logical"), "{text}");
    assert!(text.contains("ALTER ROLE \"plain\" WITH REPLICATION"), "{text}");
    assert!(
        text.contains("GRANT SELECT ON \"public\".\"customers\" TO \"plain\""),
        "{text}"
    );
    assert!(text.contains("max_replication_slots"), "{text}");
}
