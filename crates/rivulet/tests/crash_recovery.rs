//! The one rule, tested the hard way: `kill -9` at random moments during a running workload,
//! restart each time, and at the end the JSONL file holds every committed change exactly once,
//! in commit order. The expected changes come from an independent decoder: a `test_decoding`
//! slot created next to Rivulet's, read with plain SQL.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use rivulet_testkit::PgCluster;

/// (table, op, id) of every change a test_decoding slot saw, in commit order.
fn oracle_changes(pg: &PgCluster, slot: &str) -> Vec<(String, String, i64)> {
    let text = pg.psql(&format!(
        "SELECT data FROM pg_logical_slot_get_changes('{slot}', NULL, NULL)"
    ));
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("table ") else {
            continue;
        };
        let (table, rest) = rest.split_once(": ").expect("table prefix");
        let (op, cols) = rest.split_once(": ").expect("op");
        let op = match op {
            "INSERT" => "c",
            "UPDATE" => "u",
            "DELETE" => "d",
            "TRUNCATE" => continue,
            other => panic!("unexpected op {other}"),
        };
        let id = cols
            .split(' ')
            .find_map(|c| {
                c.strip_prefix("id[integer]:")
                    .or_else(|| c.strip_prefix("id[bigint]:"))
            })
            .expect("id column")
            .parse()
            .expect("numeric id");
        out.push((table.to_string(), op.to_string(), id));
    }
    out
}

fn rivulet_changes(records: &[serde_json::Value]) -> Vec<(String, String, i64)> {
    records
        .iter()
        .map(|r| {
            let topic = r["topic"].as_str().unwrap();
            let table = topic.strip_prefix("dbz.").unwrap().to_string();
            (
                table,
                r["value"]["op"].as_str().unwrap().to_string(),
                r["key"]["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A deterministic workload of small and large transactions, with pauses so that it runs for a
/// few seconds while Rivulet is killed and restarted.
fn workload() -> String {
    let mut sql = String::new();
    for round in 0..150 {
        let base = round * 100;
        sql.push_str(&format!(
            "INSERT INTO kv SELECT g, g, 'n' || g FROM generate_series({}, {}) g;\n",
            base + 1,
            base + 100
        ));
        sql.push_str(&format!(
            "UPDATE kv SET v = v + 1 WHERE id BETWEEN {} AND {};\n",
            base + 1,
            base + 30
        ));
        sql.push_str(&format!(
            "BEGIN; DELETE FROM kv WHERE id BETWEEN {} AND {}; INSERT INTO log (k, payload) VALUES ({round}, repeat('p', 500)); COMMIT;\n",
            base + 91,
            base + 100
        ));
        if round % 40 == 7 {
            // A large transaction: a kill in its middle must not leave half of it behind.
            sql.push_str(
                "INSERT INTO log (k, payload) SELECT g, repeat('x', 200) FROM generate_series(1, 8000) g;\n",
            );
        }
        sql.push_str("SELECT pg_sleep(0.04);\n");
    }
    sql
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL, note text);
         CREATE TABLE public.log (id bigserial PRIMARY KEY, k int, payload text);",
    );
    let dir = scratch();
    let out_file = dir.path().join("out.jsonl");
    // Frequent checkpoints: more of them are interrupted.
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.kv", "public.log"],
        "",
        "flush_interval = \"50ms\"\n\n[format]\ntombstones_on_delete = false\n",
    );
    run_to_end(&pg, &config, &[]);
    pg.psql("SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')");

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("random seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    let mut grew_between_kills = 0;
    let script = workload();
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| pg.psql_script(&script));
        while !worker.is_finished() {
            let before = line_count(&out_file);
            let mut child = spawn_run(&config, &[]);
            std::thread::sleep(Duration::from_millis(100 + rng.next() % 600));
            signal(&child, "KILL");
            child.wait().unwrap();
            kills += 1;
            if line_count(&out_file) > before {
                grew_between_kills += 1;
            }
        }
        worker.join().unwrap();
    });
    // One last run with no kill, up to the end of the workload.
    run_to_end(&pg, &config, &[]);

    let expected = oracle_changes(&pg, "oracle");
    let got = rivulet_changes(&read_jsonl(&out_file));
    println!(
        "{kills} kills, {grew_between_kills} of them after progress; {} changes",
        expected.len()
    );
    assert!(
        kills >= 3 && grew_between_kills >= 2,
        "the test must actually interrupt streaming (kills={kills})"
    );
    assert_eq!(got.len(), expected.len(), "same number of changes (seed {seed})");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != expected[i]) {
        panic!(
            "first difference at change {i}: rivulet {:?} vs PostgreSQL {:?} (seed {seed})",
            got[i], expected[i]
        );
    }
}
