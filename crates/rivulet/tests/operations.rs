//! What on-call relies on, end to end with the real binary and real PostgreSQL: the metrics
//! and health endpoints, `rivulet status`, JSON logs, heartbeats that keep an idle slot moving,
//! reconnects after a server restart or a cut connection (nothing lost, nothing twice), and
//! the retained-WAL warning.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use rivulet_testkit::PgCluster;
use rivulet_testkit::proxy::TcpProxy;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(180);

/// (status code, body) of a GET to the pipeline's endpoint; `None` while nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// Values of `name` in the Prometheus text, by their labels (without `pipeline`).
fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let labels: Vec<&str> = labels
                .split(',')
                .filter(|l| !l.is_empty() && !l.starts_with("pipeline="))
                .collect();
            Some((labels.join(","), value.parse().ok()?))
        })
        .collect()
}

fn metrics(port: u16) -> String {
    http_get(port, "/metrics").map(|(_, b)| b).unwrap_or_default()
}

fn ready(port: u16) -> Option<(u16, Value)> {
    http_get(port, "/health/ready")
        .map(|(code, body)| (code, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

fn wait_ready(port: u16, child: &mut Child) {
    wait_for("/health/ready to answer 200", LONG, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rivulet exited early: {status}");
        }
        ready(port).is_some_and(|(code, _)| code == 200)
    });
}

fn stop(mut child: Child) -> String {
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(status.success(), "rivulet failed ({status}):\n{log}");
    log
}

fn metrics_section(port: u16) -> String {
    format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n")
}

fn status(config: &Path, json: bool) -> (bool, String) {
    let mut args = vec!["status", "--config", config.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    let out = command(&args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The `id`s of the created rows of `table` in the output, in order.
fn created_ids(dir: &Path, table: &str) -> Vec<i64> {
    read_jsonl(&dir.join("out.jsonl"))
        .iter()
        .filter(|r| r["topic"] == format!("dbz.public.{table}") && r["value"]["op"] == "c")
        .map(|r| r["value"]["after"]["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn metrics_health_and_status_describe_a_running_pipeline() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY, v text);");
    let dir = scratch();
    let port = rivulet_testkit::free_port();
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.t"],
        "slot_check_interval = \"200ms\"",
        &metrics_section(port),
    );
    let mut child = spawn_run(&config, &[]);
    wait_ready(port, &mut child);
    assert_eq!(http_get(port, "/health/live").unwrap().0, 200);
    let (_, body) = ready(port).unwrap();
    assert_eq!(body["phase"], "streaming", "{body}");

    pg.psql_script(
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
         UPDATE t SET v = 'bb' WHERE id = 2;
         DELETE FROM t WHERE id = 3;",
    );
    wait_for("the events to be counted", LONG, || {
        let events = samples(&metrics(port), "rivulet_events_total");
        events.get("table=\"public.t\",op=\"d\"") == Some(&1.0)
    });
    let text = metrics(port);
    let events = samples(&text, "rivulet_events_total");
    assert_eq!(events.get("table=\"public.t\",op=\"c\""), Some(&3.0), "{text}");
    assert_eq!(events.get("table=\"public.t\",op=\"u\""), Some(&1.0), "{text}");
    assert!(text.contains("pipeline=\"test\""), "{text}");
    assert_eq!(samples(&text, "rivulet_ready").get(""), Some(&1.0), "{text}");
    assert!(samples(&text, "rivulet_batches_total")[""] >= 1.0, "{text}");
    assert!(samples(&text, "rivulet_source_bytes_total")[""] > 0.0, "{text}");
    assert!(
        text.contains("rivulet_batch_size_events_bucket{"),
        "a histogram, not a summary: {text}"
    );
    let lsn = |text: &str, name: &str| samples(text, name).get("").copied().unwrap_or(0.0);
    assert!(lsn(&text, "rivulet_source_lsn") > 0.0, "{text}");
    // The checkpoint follows within the flush interval, then the slot's figures.
    wait_for("a checkpoint and a slot check", LONG, || {
        let text = metrics(port);
        lsn(&text, "rivulet_confirmed_flush_lsn") > 0.0
            && text.contains("rivulet_sink_flush_seconds_bucket{")
            && samples(&text, "rivulet_slot_active").get("") == Some(&1.0)
            && text.contains("rivulet_slot_retained_wal_bytes")
    });
    let text = metrics(port);
    let lag = samples(&text, "rivulet_lag_seconds")[""];
    assert!(lag >= 0.0, "{text}");
    assert!(
        text.contains("rivulet_commit_to_delivery_seconds_bucket{"),
        "{text}"
    );

    // `rivulet status` asks the slot, the offsets and the running process.
    let (ok, out) = status(&config, true);
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["pipeline"], "test");
    assert_eq!(report["process"]["running"], true, "{report}");
    assert_eq!(report["process"]["phase"], "streaming", "{report}");
    assert_eq!(report["slot"]["name"], "rivulet_test");
    assert_eq!(report["slot"]["active"], true, "{report}");
    assert!(report["slot"]["retained_wal_bytes"].as_i64().unwrap() >= 0);
    assert!(report["offsets"]["position"].is_string(), "{report}");
    assert!(report["offsets"]["last_event_time"].is_string(), "{report}");
    assert_eq!(report["events"]["public.t"]["c"], 3, "{report}");
    let (ok, table) = status(&config, false);
    assert!(ok, "{table}");
    assert!(table.contains("running, streaming (ready)"), "{table}");
    assert!(table.contains("rivulet_test (active"), "{table}");
    assert!(table.contains("public.t"), "{table}");

    let log = stop(child);
    assert!(!log.contains("reconnect"), "{log}");
    // Stopped: the slot is idle and nothing answers, and status still reads the rest.
    let (ok, table) = status(&config, false);
    assert!(ok, "{table}");
    assert!(table.contains("not running"), "{table}");
    assert!(table.contains("rivulet_test (inactive"), "{table}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY);");
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    let out = run_to_end(&pg, &config, &["--log-format", "json"]);
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "created replication slot" && l["level"] == "INFO"),
        "{log}"
    );
}

#[test]
fn a_busy_database_with_an_idle_publication_does_not_pile_up_wal() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE TABLE noise (id int, filler text);",
    );
    let dir = scratch();
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.t"],
        "heartbeat_interval = \"500ms\"",
        "",
    );
    let mut child = spawn_run(&config, &[]);
    wait_for("the slot to be streamed from", LONG, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rivulet exited early: {status}");
        }
        pg.psql("SELECT count(*) FROM pg_replication_slots WHERE active") == "1"
    });
    // Over 200 MB of WAL, all in a table outside the publication.
    let start = pg.current_lsn();
    for _ in 0..5 {
        pg.psql("INSERT INTO noise SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 40000) g");
    }
    let written = pg.current_lsn();
    let wal_mb: f64 = pg
        .psql(&format!(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{start}') / 1048576"
        ))
        .parse()
        .unwrap();
    assert!(wal_mb > 200.0, "the noise wrote {wal_mb} MB of WAL");
    // Checkpoints let restart_lsn follow the confirmed position.
    wait_for("the slot's retained WAL to shrink", LONG, || {
        pg.psql("CHECKPOINT");
        let retained: f64 = pg
            .psql(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots \
                 WHERE slot_name = 'rivulet_test'",
            )
            .parse()
            .unwrap();
        retained < 16.0 * 1048576.0
    });
    let confirmed_past_noise = pg.psql(&format!(
        "SELECT confirmed_flush_lsn >= '{written}' FROM pg_replication_slots WHERE slot_name = 'rivulet_test'"
    ));
    assert_eq!(confirmed_past_noise, "t");
    let log = stop(child);
    assert!(!log.contains("WARN"), "{log}");

    // The offsets moved on with the slot: the next run resumes without complaint.
    pg.psql("INSERT INTO t VALUES (1)");
    run_to_end(&pg, &config, &[]);
    assert_eq!(created_ids(dir.path(), "t"), vec![1]);
}

/// Inserts ids `from..=to` into `t`, one transaction each, slowly enough to still be running
/// when the test interrupts the connection. Errors (the server going away) end it early.
fn background_inserts(pg: &PgCluster, from: i32, to: i32) -> std::thread::JoinHandle<()> {
    let url = pg.url();
    let sql = format!(
        "DO $$ BEGIN FOR i IN {from}..{to} LOOP INSERT INTO t VALUES (i) ON CONFLICT DO NOTHING; COMMIT; \
         PERFORM pg_sleep(0.002); END LOOP; END $$;"
    );
    std::thread::spawn(move || {
        let psql = rivulet_testkit::pg_bin_dir().join("psql");
        let _ = std::process::Command::new(psql)
            .args([url.as_str(), "-X", "-q", "-c", &sql])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    })
}

/// Every row of `t` arrived exactly once, in order.
fn assert_each_row_once(pg: &PgCluster, dir: &Path) {
    let rows = pg.psql("SELECT count(*) FROM t");
    let rows: usize = rows.parse().unwrap();
    wait_for("every row to arrive", LONG, || {
        created_ids(dir, "t").len() >= rows
    });
    let ids = created_ids(dir, "t");
    let want: Vec<i64> = pg
        .psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM t")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ids, want, "each row once, in commit order");
}

#[test]
fn reconnects_after_postgres_restarts_mid_workload() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY);");
    let dir = scratch();
    let port = rivulet_testkit::free_port();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", &metrics_section(port));
    let mut child = spawn_run(&config, &[]);
    wait_ready(port, &mut child);

    let writer = background_inserts(&pg, 1, 3000);
    wait_for("some rows to arrive", LONG, || {
        created_ids(dir.path(), "t").len() >= 100
    });
    pg.stop();
    wait_for("/health/ready to say not ready", LONG, || {
        ready(port).is_some_and(|(code, body)| code == 503 && body["phase"] == "reconnecting")
    });
    let (_, body) = ready(port).unwrap();
    assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{body}");
    writer.join().unwrap();
    pg.start_again();
    wait_ready(port, &mut child);
    let max: i32 = pg.psql("SELECT coalesce(max(id), 0) FROM t").parse().unwrap();
    background_inserts(&pg, max + 1, max + 200).join().unwrap();
    assert_each_row_once(&pg, dir.path());
    let text = metrics(port);
    assert!(samples(&text, "rivulet_restarts_total")[""] >= 1.0, "{text}");

    let log = stop(child);
    // Once per state change, not once per attempt.
    assert_eq!(
        log.matches("restarting from the last checkpoint").count(),
        1,
        "{log}"
    );
    assert!(log.contains("reconnected"), "{log}");
}

#[test]
fn reconnects_after_the_connection_is_cut() {
    let pg = PgCluster::start();
    pg.psql_script("CREATE TABLE t (id int PRIMARY KEY);");
    let proxy = TcpProxy::start(([127, 0, 0, 1], pg.port()).into());
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    // The pipeline reaches the server through the proxy only.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!(":{}/", pg.port()), &format!(":{}/", proxy.port()));
    std::fs::write(&config, text).unwrap();
    let mut child = spawn_run(&config, &[]);
    wait_for("the slot to be streamed from", LONG, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rivulet exited early: {status}");
        }
        pg.psql("SELECT count(*) FROM pg_replication_slots WHERE active") == "1"
    });

    let writer = background_inserts(&pg, 1, 2000);
    wait_for("some rows to arrive", LONG, || {
        created_ids(dir.path(), "t").len() >= 100
    });
    let before = proxy.connections();
    proxy.cut();
    wait_for("a new connection", LONG, || proxy.connections() > before);
    writer.join().unwrap();
    assert_each_row_once(&pg, dir.path());
    let log = stop(child);
    assert!(log.contains("restarting from the last checkpoint"), "{log}");
    assert!(log.contains("reconnected"), "{log}");
}

#[test]
fn retained_wal_over_the_threshold_warns_once() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE TABLE noise (id int, filler text);",
    );
    let dir = scratch();
    let port = rivulet_testkit::free_port();
    // No heartbeats: nothing moves the slot while only the noise table changes.
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.t"],
        "heartbeat_interval = \"0s\"\nwarn_retained_wal = \"1MB\"\nslot_check_interval = \"200ms\"",
        &metrics_section(port),
    );
    let mut child = spawn_run(&config, &[]);
    wait_ready(port, &mut child);
    pg.psql("INSERT INTO noise SELECT g, repeat('x', 1000) FROM generate_series(1, 5000) g");
    wait_for("the warning metric", LONG, || {
        samples(&metrics(port), "rivulet_slot_retained_wal_warning").get("") == Some(&1.0)
    });
    let retained = samples(&metrics(port), "rivulet_slot_retained_wal_bytes")[""];
    assert!(retained > 1048576.0, "{retained}");
    let log = stop(child);
    assert_eq!(
        log.matches("the slot retains more WAL than warn_retained_wal")
            .count(),
        1,
        "{log}"
    );
}

#[test]
fn an_invalidated_slot_stops_with_the_fix() {
    let pg = PgCluster::builder()
        .conf("max_slot_wal_keep_size = 32MB")
        .conf("max_wal_size = 64MB")
        .start();
    pg.psql_script(
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE TABLE noise (id int, filler text);",
    );
    let dir = scratch();
    let config = write_pipeline(&pg, dir.path(), &["public.t"], "", "");
    run_to_end(&pg, &config, &[]);
    pg.psql("INSERT INTO t VALUES (1)");
    // While the pipeline is stopped, more WAL than the slot may keep.
    for _ in 0..3 {
        pg.psql("INSERT INTO noise SELECT g, repeat('x', 1000) FROM generate_series(1, 30000) g");
        pg.psql("SELECT pg_switch_wal()");
        pg.psql("CHECKPOINT");
    }
    assert_eq!(
        pg.psql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'rivulet_test'"),
        "lost"
    );
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("invalidated"), "{log}");
    assert!(log.contains("pg_drop_replication_slot"), "{log}");
}

#[test]
fn heartbeat_query_runs_and_a_broken_one_stops_the_pipeline() {
    let pg = PgCluster::start();
    pg.psql_script(
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE TABLE beats (at timestamptz NOT NULL);",
    );
    let dir = scratch();
    let config = write_pipeline(
        &pg,
        dir.path(),
        &["public.t"],
        "heartbeat_interval = \"200ms\"\nheartbeat_query = \"INSERT INTO beats VALUES (now())\"",
        "",
    );
    let mut child = spawn_run(&config, &[]);
    wait_for("three heartbeat queries", LONG, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("rivulet exited early: {status}");
        }
        pg.psql("SELECT count(*) FROM beats").parse::<u32>().unwrap() >= 3
    });
    stop(child);

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("INSERT INTO beats", "INSERT INTO nowhere");
    std::fs::write(&config, text).unwrap();
    let out = command(&["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("source.heartbeat_query failed"), "{log}");
    assert!(log.contains("nowhere"), "{log}");
}
