//! The Delta Lake sink end to end: the real binary streams a throwaway cluster's tables into
//! Delta tables on local disk, and an independent reader (the Python `deltalake` package, see
//! `scripts/delta_check.py`) checks what a user would: the table equals the source table
//! (count + checksum over every column), and the change data feed replays to it, with each
//! change once — across repeated `kill -9`.

#![cfg(feature = "delta")]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;
use rivulet_testkit::{PgCluster, tools_python};
use serde_json::Value;

/// Runs scripts/delta_check.py on one Delta table.
fn check(table_dir: &Path, key: &str, columns: &[&str], app_id: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/delta_check.py");
    let out = Command::new(tools_python())
        .arg(script)
        .arg(table_dir)
        .arg(key)
        .args(columns)
        .args(["--app-id", app_id])
        .output()
        .expect("run delta_check.py (scripts/ensure-deps.sh installs the Python deltalake package)");
    assert!(
        out.status.success(),
        "delta_check.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// count and checksum of a source table, computed the way delta_check.py does.
fn source_summary(pg: &PgCluster, sql_row: &str, table: &str, key: &str) -> (u64, String) {
    let text = pg.psql(&format!(
        "SELECT count(*) || ' ' || coalesce(md5(string_agg({sql_row}, ',' ORDER BY {key})), md5('')) FROM {table}"
    ));
    let (count, sum) = text.trim().split_once(' ').unwrap();
    (count.parse().unwrap(), sum.to_string())
}

/// Asserts that the Delta table `lake/public.<table>` equals the source table (count and
/// checksum of `sql_row` / `columns`, see `check`) and that its change feed replays to it.
fn assert_mirrors(
    pg: &PgCluster,
    dir: &Path,
    table: &str,
    key: &str,
    sql_row: &str,
    columns: &[&str],
    when: &str,
) {
    let (count, checksum) = source_summary(pg, sql_row, table, &key.replace(',', ", "));
    let got = check(&dir.join(format!("lake/public.{table}")), key, columns, "lake");
    assert_eq!(got["rows"], count, "{when}: {table}: {got}");
    assert_eq!(
        got["checksum"],
        checksum,
        "{when}: {table} differs from its source: {got}\nsource:\n{}",
        pg.psql(&format!(
            "SELECT {sql_row} FROM {table} ORDER BY {}",
            key.replace(',', ", ")
        ))
    );
    assert_eq!(got["cdf_errors"], serde_json::json!([]), "{when}: {table}");
}

/// A pipeline named `lake` from `tables` into `dir/lake`; `tag` names its slot and publication.
fn pipeline(
    pg: &PgCluster,
    dir: &Path,
    tag: &str,
    tables: &[&str],
    source_extra: &str,
    sink_extra: &str,
) -> PathBuf {
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    let text = format!(
        r#"name = "lake"

[source]
type = "postgres"
url = "{src}"
tables = [{tables}]
slot = "rivulet_{tag}"
publication = "rivulet_{tag}"
{source_extra}

[sink]
type = "delta"
url = "{lake}"
{sink_extra}

[offsets]
path = "{offsets}"
flush_interval = "200ms"
"#,
        src = pg.url(),
        tables = tables.join(", "),
        lake = dir.join("lake").display(),
        offsets = dir.join("offsets.json").display(),
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A workload of inserts, updates that leave a TOASTed column out, and deletes, with pauses so
/// that it runs while Rivulet is killed and restarted.
fn workload(rounds: usize) -> String {
    let mut sql = String::new();
    for round in 0..rounds {
        let base = round * 50;
        // Notes of random hex: too large and too random to stay inline, so updates that do not
        // touch them send them as "unchanged TOAST".
        sql.push_str(&format!(
            "INSERT INTO kv SELECT g, g, (SELECT string_agg(md5(random()::text || s.i || g), '') FROM generate_series(1, 150) AS s(i)) \
             FROM generate_series({}, {}) g;\n",
            base + 1,
            base + 50
        ));
        sql.push_str(&format!(
            "UPDATE kv SET v = v + 1 WHERE id BETWEEN {} AND {};\n",
            base / 2 + 1,
            base / 2 + 20
        ));
        // Deletes of rows from the snapshot and from ten rounds back: rows committed long
        // before, so they reach the change feed as deletes (a row inserted and deleted within
        // one Delta commit leaves no trace, by design).
        sql.push_str(&format!(
            "BEGIN; DELETE FROM kv WHERE id = {} OR id BETWEEN {} AND {}; UPDATE kv SET v = v + 1000 WHERE id = {}; COMMIT;\n",
            100_001 + round,
            base.saturating_sub(500) + 41,
            base.saturating_sub(500) + 45,
            base + 1
        ));
        sql.push_str("SELECT pg_sleep(0.05);\n");
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

/// `public.kv` with 100 rows for the snapshot, ids above the workload's.
fn seed_kv(pg: &PgCluster) {
    pg.psql_script(
        "CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL, note text);
         INSERT INTO kv SELECT g, g, 'seed ' || g FROM generate_series(100001, 100100) g;",
    );
}

const KV_ROW: &str = "id || ':' || v || ':' || md5(coalesce(note, ''))";

#[test]
fn mirror_table_equals_the_source_and_its_change_feed_holds_each_change_once_across_kill_9() {
    let pg = PgCluster::start();
    seed_kv(&pg);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        "test",
        &["public.kv"],
        "snapshot = \"initial\"",
        "",
    );
    // Snapshot first.
    run_to_end(&pg, &config, &[]);
    let table = dir.path().join("lake/public.kv");
    assert!(table.join("_delta_log").is_dir(), "the Delta table was created");

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("random seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    let script = workload(100);
    let log_dir = table.join("_delta_log");
    let commits = || std::fs::read_dir(&log_dir).map(|d| d.count()).unwrap_or(0);
    let mut grew = 0;
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| pg.psql_script(&script));
        while !worker.is_finished() {
            let before = commits();
            let mut child = spawn_run(&config, &[]);
            std::thread::sleep(Duration::from_millis(300 + rng.next() % 1500));
            signal(&child, "KILL");
            child.wait().unwrap();
            kills += 1;
            if commits() > before {
                grew += 1;
            }
        }
        worker.join().unwrap();
    });
    run_to_end(&pg, &config, &[]);
    println!("{kills} kills, {grew} after a Delta commit");
    assert!(
        kills >= 2 && grew >= 1,
        "the test must interrupt streaming (kills={kills}, grew={grew})"
    );

    // checkpoint_interval (default 10): a log checkpoint once there are that many commits, even
    // when a kill landed between the commit and its checkpoint (the last clean run writes it).
    let versions = std::fs::read_dir(&log_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    if versions > 10 {
        assert!(
            log_dir.join("_last_checkpoint").is_file(),
            "{versions} commits and no checkpoint"
        );
    }

    let (count, checksum) = source_summary(&pg, KV_ROW, "kv", "id");
    let got = check(&table, "id", &["v", "note"], "lake");
    assert_eq!(got["rows"], count, "row count (seed {seed}): {got}");
    assert_eq!(
        got["checksum"], checksum,
        "checksum over every column (seed {seed})"
    );
    assert_eq!(
        got["cdf_errors"],
        serde_json::json!([]),
        "change feed (seed {seed})"
    );
    for t in ["insert", "update_preimage", "update_postimage", "delete"] {
        assert!(
            got["change_types"][t].as_u64().unwrap_or(0) > 0,
            "no {t} in the change feed: {got}"
        );
    }
    let lsn: u64 = pg
        .psql("SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = 'rivulet_test'")
        .trim()
        .parse()
        .unwrap();
    let txn = got["txn_version"]
        .as_u64()
        .expect("a txn action for the pipeline");
    assert!(
        txn > 0 && txn <= lsn,
        "txn version {txn} is a position the slot confirmed ({lsn})"
    );
}

#[test]
fn append_mode_partitions_and_housekeeping() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.orders (id int PRIMARY KEY, region text NOT NULL, amount numeric(10,2), placed timestamptz);
         CREATE TABLE public.events (n bigint PRIMARY KEY, payload jsonb);",
    );
    let sink = "mode = \"append\"\npartition_by = [\"region\"]\ntable_template = \"cdc_{table}\"";

    // events has no region column to partition by: a clear stop.
    let bad_dir = scratch();
    let bad = pipeline(&pg, bad_dir.path(), "bad", &["public.events"], "", sink);
    run_to_end(&pg, &bad, &[]);
    pg.psql("INSERT INTO events VALUES (1, '{\"a\": 1}')");
    let endpos = pg.current_lsn();
    let out = command(&["run", "--config", bad.to_str().unwrap(), "--endpos", &endpos])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a table without the partition column must stop the run"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partition_by names column region"), "{stderr}");
    pg.psql("SELECT pg_drop_replication_slot('rivulet_bad')");

    let dir = scratch();
    let config = pipeline(&pg, dir.path(), "orders", &["public.orders"], "", sink);
    // Creates the slot; the changes below are streamed.
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO orders VALUES (1, 'eu', 10.5, '2024-01-02 03:04:05+00'), (2, 'us', 20, now());
         UPDATE orders SET amount = 11 WHERE id = 1;
         DELETE FROM orders WHERE id = 2;",
    );
    run_to_end(&pg, &config, &[]);
    let table = dir.path().join("lake/cdc_orders");
    assert!(table.join("region=eu").is_dir(), "partitioned by region");
    let python = "import sys\nfrom deltalake import DeltaTable\nrows = DeltaTable(sys.argv[1]).to_pyarrow_table().to_pylist()\n\
         rows.sort(key=lambda r: r['_cdc_lsn'])\nprint(' '.join(f\"{r['_cdc_operation']}{r['id']}\" for r in rows))\n";
    let out = Command::new(tools_python())
        .args(["-c", python])
        .arg(&table)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "I1 I2 U1 D2");

    // Housekeeping: compaction, then vacuum (dry run with the default retention).
    let out = command(&["delta", "optimize", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cdc_orders"), "{stdout}");
    let out = command(&[
        "delta",
        "vacuum",
        "--config",
        config.to_str().unwrap(),
        "--dry-run",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Heartbeats move an idle slot past the Delta tables' own recorded position (nothing to
/// commit, only WAL of other tables): a restart must resume from the later checkpoint instead
/// of refusing because the slot moved past the sink's position.
#[test]
fn a_restart_after_heartbeats_moved_an_idle_slot_resumes() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.kv (id int PRIMARY KEY, v int NOT NULL);
         CREATE TABLE public.noise (id bigserial PRIMARY KEY, pad text);",
    );
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        "idle",
        &["public.kv"],
        "heartbeat_interval = \"200ms\"",
        "",
    );
    run_to_end(&pg, &config, &[]);
    pg.psql("INSERT INTO kv VALUES (1, 1)");
    run_to_end(&pg, &config, &[]);

    // Idle for the pipeline: only WAL of a table outside the publication.
    let mut child = spawn_run(&config, &[]);
    pg.psql("INSERT INTO noise (pad) SELECT repeat('x', 200) FROM generate_series(1, 20000)");
    let target = pg.current_lsn();
    wait_for(
        "the slot to move past the idle WAL",
        Duration::from_secs(120),
        || {
            pg.psql(&format!(
            "SELECT confirmed_flush_lsn >= '{target}' FROM pg_replication_slots WHERE slot_name = 'rivulet_idle'"
        ))
        .trim()
            == "t"
        },
    );
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success(), "a clean stop");

    pg.psql("INSERT INTO kv VALUES (2, 2)");
    run_to_end(&pg, &config, &[]);
    let summary = check(&dir.path().join("lake/public.kv"), "id", &["v"], "lake");
    let (count, checksum) = source_summary(&pg, "id || ':' || v", "public.kv", "id");
    assert_eq!(summary["rows"], count, "{summary}");
    assert_eq!(summary["checksum"], checksum.as_str(), "{summary}");
}

/// On local disk, a Delta commit the checkpoint counts on is on disk, not only in the page
/// cache: its log entry, its data and change-data files and their directories are fsynced
/// before the slot moves on (delta-rs writes through object_store, which does not).
#[test]
fn local_commits_are_fsynced_before_the_slot_moves() {
    let pg = PgCluster::start();
    seed_kv(&pg);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        "sync",
        &["public.kv"],
        "snapshot = \"initial\"",
        "",
    );
    // The snapshot (table creation, appends), then streamed changes (MERGE, change data files).
    let mut synced = fsynced_paths(&pg, &config);
    pg.psql_script(&workload(3));
    synced.extend(fsynced_paths(&pg, &config));
    let table = dir.path().join("lake/public.kv").canonicalize().unwrap();
    let mut checked = 0;
    let mut pending = vec![table.clone()];
    while let Some(d) = pending.pop() {
        assert!(
            synced.contains(d.to_str().unwrap()),
            "directory {} was not fsynced",
            d.display()
        );
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".json") || name.ends_with(".parquet") && !name.contains(".checkpoint.")
            {
                // Checkpoints and _last_checkpoint can be rebuilt from the log: not needed.
                assert!(
                    synced.contains(path.to_str().unwrap()),
                    "{} was not fsynced",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3,
        "a log entry and data files were checked ({checked})"
    );
    assert!(
        table.join("_change_data").is_dir(),
        "the MERGE wrote change data files"
    );
}

/// Issue 12: a primary-key update of a row whose TOAST value did not change carries the value
/// to the new key (it held the placeholder `__debezium_unavailable_value`).
#[test]
fn key_changes_keep_unchanged_toast_values() {
    let pg = PgCluster::start();
    pg.psql_script(TOAST_KEY_SETUP);
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        "test",
        &["public.tk", "public.tc"],
        "snapshot = \"initial\"",
        "",
    );
    run_to_end(&pg, &config, &[]);
    let tables = [
        ("tk", "id", "id || ':' || n || ':' || md5(big)", vec!["n", "big"]),
        (
            "tc",
            "a,b",
            "a || ':' || b || ':' || n || ':' || md5(big)",
            vec!["n", "big"],
        ),
    ];
    for (what, sql) in TOAST_KEY_STEPS {
        pg.psql_script(sql);
        run_to_end(&pg, &config, &[]);
        for (table, key, row, columns) in &tables {
            assert_mirrors(
                &pg,
                dir.path(),
                table,
                key,
                row,
                columns,
                &format!("after {what}"),
            );
        }
    }
}

/// Issue 12: rows inserted just before an ADD COLUMN in the same batch get NULL in the new
/// column (they got the placeholder), in the table and in its change feed.
#[test]
fn rows_before_an_added_column_in_one_batch_get_null() {
    let pg = PgCluster::start();
    pg.psql("CREATE TABLE public.t (id int PRIMARY KEY, s text NOT NULL)");
    let dir = scratch();
    let config = pipeline(&pg, dir.path(), "test", &["public.t"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO t VALUES (1, 'a');
         INSERT INTO t VALUES (2, 'b'); ALTER TABLE t ADD COLUMN x text; ALTER TABLE t ADD COLUMN n int;
         INSERT INTO t VALUES (3, 'c', 'xx', 7);
         UPDATE t SET s = 'a2' WHERE id = 1;",
    );
    run_to_end(&pg, &config, &[]);
    let row = "id || ':' || md5(s) || ':' || coalesce(md5(x), '') || ':' || coalesce(n::text, '')";
    assert_mirrors(&pg, dir.path(), "t", "id", row, &["s", "x", "n"], "one batch");
}

/// Values that neither the batch nor the table has (a table that lacks the source's rows) stop
/// the pipeline instead of writing the placeholder.
#[test]
fn unknowable_toast_values_stop_the_pipeline() {
    for update in [
        "UPDATE tk SET id = 101 WHERE id = 1",
        "UPDATE tk SET n = 5 WHERE id = 2",
    ] {
        let pg = PgCluster::start();
        pg.psql_script(TOAST_KEY_SETUP);
        let dir = scratch();
        // no_data: the table never gets the existing rows.
        let config = pipeline(
            &pg,
            dir.path(),
            "test",
            &["public.tk"],
            "snapshot = \"no_data\"",
            "",
        );
        run_to_end(&pg, &config, &[]);
        pg.psql(update);
        let endpos = pg.current_lsn();
        let out = command(&["run", "--config", config.to_str().unwrap(), "--endpos", &endpos])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{update}: rivulet run should have failed:\n{err}"
        );
        assert!(err.contains("REPLICA IDENTITY FULL"), "{update}: {err}");
    }
}

/// Issue 12: `ADD COLUMN … DEFAULT` gives the source's existing rows the default without WAL;
/// the mirror's rows (and rows of the same batch from before the ALTER) get it too.
#[test]
fn columns_added_with_a_default_give_existing_rows_the_default() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE public.d (id int PRIMARY KEY, s text NOT NULL);
         INSERT INTO d SELECT g, 'row ' || g FROM generate_series(1, 5) g;",
    );
    let dir = scratch();
    let config = pipeline(
        &pg,
        dir.path(),
        "test",
        &["public.d"],
        "snapshot = \"initial\"",
        "",
    );
    run_to_end(&pg, &config, &[]);
    pg.psql_script(
        "INSERT INTO d VALUES (6, 'before the ALTER');
         ALTER TABLE d ADD COLUMN n int DEFAULT 7, ADD COLUMN q text DEFAULT 'it''s';
         INSERT INTO d (id, s) VALUES (7, 'after');
         UPDATE d SET s = 'changed' WHERE id = 2;",
    );
    run_to_end(&pg, &config, &[]);
    let row = "id || ':' || md5(s) || ':' || coalesce(n::text, '') || ':' || coalesce(md5(q), '')";
    assert_mirrors(
        &pg,
        dir.path(),
        "d",
        "id",
        row,
        &["s", "n", "q"],
        "after ADD COLUMN",
    );
}
