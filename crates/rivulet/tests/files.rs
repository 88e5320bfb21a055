//! The files sink end to end: the real binary, a throwaway PostgreSQL, a real S3 server
//! (SeaweedFS) or a local directory, and an independent reader (`scripts/lake_tool.py`:
//! pyarrow, boto3, Python's csv) checking rows, types and layout.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use common::*;
use rivulet_testkit::PgCluster;
use rivulet_testkit::s3::{S3Server, SECRET_ACCESS_KEY, lake_tool};
use serde_json::Value;

fn lake_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lake_tool.py")
}

/// A pipeline file from `tables` of `pg` into the files sink described by `sink` (the keys
/// after `type = "files"`).
fn files_pipeline(pg: &PgCluster, dir: &Path, tables: &[&str], source_extra: &str, sink: &str) -> PathBuf {
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    let text = format!(
        r#"name = "files"

[source]
type = "postgres"
url = "{url}"
tables = [{tables}]
slot = "rivulet_files"
publication = "rivulet_files"
{source_extra}

[sink]
type = "files"
{sink}

[offsets]
path = "{offsets}"
"#,
        url = pg.url(),
        tables = tables.join(", "),
        offsets = dir.join("offsets.json").display(),
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `rivulet run` to the server's current position, with the S3 server's credentials in the
/// standard AWS variables.
fn run_files(pg: &PgCluster, config: &Path, s3: Option<&S3Server>) -> Output {
    let endpos = pg.current_lsn();
    let mut cmd = command(&["run", "--config", config.to_str().unwrap(), "--endpos", &endpos]);
    if let Some(s) = s3 {
        s.env(&mut cmd);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "rivulet run failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn list(root: &str, s3: Option<&S3Server>) -> Vec<String> {
    let out = lake_tool(&lake_script(), root, s3, &["list"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn read(root: &str, s3: Option<&S3Server>, key: &str) -> Value {
    let out = lake_tool(&lake_script(), root, s3, &["read", key]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn cat(root: &str, s3: Option<&S3Server>, key: &str) -> String {
    String::from_utf8_lossy(&lake_tool(&lake_script(), root, s3, &["cat", key]).stdout).into_owned()
}

/// Today's partition as the sink names it (commit times are "now" in these tests; a test
/// running across midnight UTC would see two partitions, which the checks allow).
fn is_date_partition(dir: &str) -> bool {
    dir.strip_prefix("date=")
        .is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
}

fn s3_sink(s3: &S3Server, bucket: &str, extra: &str) -> String {
    format!(
        "url = \"s3://{bucket}/RAW\"\nendpoint = \"{}\"\npath_style = true\n{extra}",
        s3.endpoint()
    )
}

fn seed_table(pg: &PgCluster) {
    pg.psql(
        "CREATE SCHEMA db_loja;
         CREATE TABLE db_loja.cliente (id serial PRIMARY KEY, nome text NOT NULL, email varchar(100),
             saldo numeric(12,2), criado_em timestamptz NOT NULL DEFAULT now());
         INSERT INTO db_loja.cliente (nome, email, saldo) VALUES
             ('Ana', 'ana@example.com', 10.50), ('Bruno', NULL, 0), ('Carla', 'carla@example.com', -3.25);",
    );
}

/// Seed 001: full load to RAW/full/…, then an INSERT, an UPDATE and a DELETE as CSV under
/// RAW/inc/… holding only the changed rows, the watermark at the last LSN, a bucket created on
/// demand.
#[test]
fn seed_001_full_load_then_changes_as_csv_in_s3() {
    let pg = PgCluster::start();
    let s3 = S3Server::start();
    seed_table(&pg);
    let dir = scratch();
    let sink = s3_sink(
        &s3,
        "loja",
        "format = \"csv\"\ncreate_bucket = true\nmax_interval = \"1s\"",
    );
    let config = files_pipeline(
        &pg,
        dir.path(),
        &["db_loja.cliente"],
        "snapshot = \"initial\"",
        &sink,
    );
    run_files(&pg, &config, Some(&s3));

    let root = "s3://loja/RAW";
    let keys = list(root, Some(&s3));
    let full: Vec<&String> = keys.iter().filter(|k| k.starts_with("full/")).collect();
    assert_eq!(full.len(), 1, "one full file: {keys:?}");
    let parts: Vec<&str> = full[0].split('/').collect();
    assert_eq!(parts[1], "db_loja.cliente", "{keys:?}");
    assert!(is_date_partition(parts[2]), "{keys:?}");
    assert!(
        parts[3].starts_with("full_db_loja.cliente_") && parts[3].ends_with(".csv"),
        "{keys:?}"
    );
    let rows = read(root, Some(&s3), full[0])["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["nome"], "Ana");
    assert_eq!(rows[0]["saldo"], "10.50");
    assert_eq!(rows[1]["email"], Value::Null);
    assert!(rows.iter().all(|r| r["_cdc_operation"] == "R"));
    assert!(
        keys.iter().all(|k| !k.starts_with("inc/db_loja")),
        "no changes yet: {keys:?}"
    );

    let before = pg.current_lsn();
    pg.psql("INSERT INTO db_loja.cliente (nome, saldo) VALUES ('Davi', 7)");
    pg.psql("UPDATE db_loja.cliente SET saldo = 99.99 WHERE nome = 'Ana'");
    pg.psql("DELETE FROM db_loja.cliente WHERE nome = 'Bruno'");
    let after = pg.current_lsn();
    run_files(&pg, &config, Some(&s3));

    let keys = list(root, Some(&s3));
    let inc: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("inc/db_loja.cliente/"))
        .collect();
    assert!(!inc.is_empty(), "{keys:?}");
    let mut changes = Vec::new();
    for k in &inc {
        let name = k.rsplit('/').next().unwrap();
        assert!(
            name.starts_with("cdc_db_loja.cliente_") && name.ends_with(".csv"),
            "{k}"
        );
        assert!(is_date_partition(k.split('/').nth(2).unwrap()), "{k}");
        changes.extend(read(root, Some(&s3), k)["rows"].as_array().unwrap().clone());
    }
    changes.sort_by_key(|r| r["_cdc_lsn"].as_str().unwrap().parse::<u64>().unwrap());
    let summary: Vec<(String, String)> = changes
        .iter()
        .map(|r| {
            (
                r["_cdc_operation"].as_str().unwrap().into(),
                r["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("I".into(), "4".into()),
            ("U".into(), "1".into()),
            ("D".into(), "2".into())
        ],
        "only the changed rows: {changes:?}"
    );
    assert_eq!(changes[1]["saldo"], "99.99");
    // The delete carries the key (no REPLICA IDENTITY FULL): the other columns are empty.
    assert_eq!(changes[2]["nome"], Value::Null);
    assert!(
        changes
            .iter()
            .all(|r| r["_cdc_txid"].is_string() && r["_cdc_timestamp"].is_string())
    );

    let watermark: Value = serde_json::from_str(&cat(root, Some(&s3), "inc/_watermark.json")).unwrap();
    let lsn = |s: &str| {
        let (hi, lo) = s.split_once('/').unwrap();
        (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
    };
    let wm = lsn(watermark["lsn"].as_str().unwrap());
    assert!(
        lsn(&before) < wm && wm <= lsn(&after),
        "watermark {wm:X} after the changes' start {before} and at most {after}"
    );
    let last_change: u64 = changes[2]["_cdc_lsn"].as_str().unwrap().parse().unwrap();
    assert!(wm > last_change, "the watermark covers the last change");
}

/// Seed 001's rerun rule, the hard way: `kill -9` during a running workload, restart each
/// time; at the end every change is in exactly one file (checked against test_decoding).
#[test]
fn kill_9_while_writing_to_s3_duplicates_nothing() {
    let pg = PgCluster::start();
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    pg.psql("CREATE TABLE kv (id int PRIMARY KEY, v int, note text)");
    pg.psql("SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')");
    let dir = scratch();
    let sink = s3_sink(
        &s3,
        "lake",
        "format = \"csv\"\nmax_interval = \"200ms\"\nmax_rows = 70",
    );
    let config = files_pipeline(&pg, dir.path(), &["public.kv"], "", &sink);
    // Start once so the slot exists before the workload.
    run_files(&pg, &config, Some(&s3));

    let mut sql = String::new();
    for round in 0..60 {
        let base = round * 50;
        sql.push_str(&format!(
            "INSERT INTO kv SELECT g, g, 'n' || g FROM generate_series({}, {}) g;\n\
             UPDATE kv SET v = v + 1 WHERE id BETWEEN {} AND {};\n\
             DELETE FROM kv WHERE id BETWEEN {} AND {};\nSELECT pg_sleep(0.05);\n",
            base + 1,
            base + 50,
            base + 1,
            base + 20,
            base + 41,
            base + 50
        ));
    }
    // A script file, so every statement is its own transaction (-c would make one).
    let script = dir.path().join("workload.sql");
    std::fs::write(&script, sql).unwrap();
    let workload = {
        let url = pg.url();
        std::thread::spawn(move || {
            let out = std::process::Command::new(rivulet_testkit::pg_bin_dir().join("psql"))
                .args([&url, "-q", "-v", "ON_ERROR_STOP=1", "-f"])
                .arg(&script)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    };
    let seed = u64::from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_millis(),
    );
    for i in 0..4 {
        // Each run rolls files at another row count, so a replay after a crash cuts its files
        // differently: only removing what the crashed run uploaded avoids duplicates.
        let max_rows = format!("sink.max_rows={}", 50 + 13 * i);
        let mut cmd = command(&["run", "--config", config.to_str().unwrap(), "--set", &max_rows]);
        s3.env(&mut cmd);
        let log = std::fs::File::create(dir.path().join(format!("run-{i}.log"))).unwrap();
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700 + (seed * (i + 3)) % 900));
        signal(&child, "KILL");
        let _ = child.wait();
    }
    workload.join().unwrap();
    run_files(&pg, &config, Some(&s3));
    let oracle = pg.psql("SELECT data FROM pg_logical_slot_get_changes('oracle', NULL, NULL)");
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in oracle.lines().filter_map(|l| l.strip_prefix("table public.kv: ")) {
        let (op, cols) = line.split_once(": ").unwrap();
        let op = match op {
            "INSERT" => "I",
            "UPDATE" => "U",
            "DELETE" => "D",
            _ => continue,
        };
        let id = cols
            .split(' ')
            .find_map(|c| c.strip_prefix("id[integer]:"))
            .unwrap();
        *expected.entry((op.to_string(), id.to_string())).or_default() += 1;
    }
    let root = "s3://lake/RAW";
    let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
    for k in list(root, Some(&s3))
        .iter()
        .filter(|k| k.starts_with("inc/public.kv/"))
    {
        for r in read(root, Some(&s3), k)["rows"].as_array().unwrap() {
            let key = (
                r["_cdc_operation"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            );
            *got.entry(key).or_default() += 1;
        }
    }
    assert_eq!(expected.values().sum::<usize>(), 60 * 80);
    let dup: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "changes written twice: {dup:?}");
    assert_eq!(got, expected, "every change exactly once");
}

/// Parquet on local disk: real column types read back with pyarrow, a schema change starting
/// a new file, the year/month/day partition template, zstd.
#[test]
fn parquet_files_keep_postgres_types() {
    let pg = PgCluster::start();
    pg.psql(
        "CREATE TABLE t (id bigint PRIMARY KEY, small int2, n int4, price numeric(10,2), free numeric,
             ok bool, at timestamptz, local_at timestamp, day date, raw bytea, doc jsonb, tags int[],
             u uuid, f float8, label text)",
    );
    let dir = scratch();
    let out = dir.path().join("lake");
    let sink = format!(
        "url = \"file://{}\"\nformat = \"parquet\"\ncompression = \"zstd\"\npartition = \"year={{yyyy}}/month={{mm}}/day={{dd}}\"\nmax_interval = \"1s\"",
        out.display()
    );
    let config = files_pipeline(&pg, dir.path(), &["public.t"], "", &sink);
    run_files(&pg, &config, None);
    pg.psql(
        "INSERT INTO t VALUES (1, 2, 3, 12345678.91, 1.000000000000000000000000000000000000001, true,
             '2024-03-05 14:07:09.5+00', '2024-03-05 14:07:09', '2024-03-05', '\\x00ff', '{\"a\": [1, 2]}',
             '{1,NULL,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, 'olá');
         INSERT INTO t (id) VALUES (2);",
    );
    pg.psql("ALTER TABLE t ADD COLUMN extra text; INSERT INTO t (id, extra) VALUES (3, 'x')");
    run_files(&pg, &config, None);

    let root = out.to_str().unwrap();
    let files: Vec<String> = list(root, None)
        .into_iter()
        .filter(|k| k.starts_with("inc/public.t/"))
        .collect();
    assert_eq!(files.len(), 2, "a schema change starts a new file: {files:?}");
    for f in &files {
        let p: Vec<&str> = f.split('/').collect();
        assert!(
            p[2].starts_with("year=") && p[3].starts_with("month=") && p[4].starts_with("day="),
            "{f}"
        );
        assert!(f.ends_with(".parquet"), "{f}");
    }
    let mut files = files;
    files.sort_by_key(|f| {
        f.rsplit('_')
            .next()
            .unwrap()
            .trim_end_matches(".parquet")
            .parse::<u64>()
            .unwrap()
    });
    let first = read(root, None, &files[0]);
    let types: BTreeMap<String, String> = first["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    let expect = [
        ("id", "int64"),
        ("small", "int16"),
        ("n", "int32"),
        ("price", "decimal128(10, 2)"),
        ("free", "string"),
        ("ok", "bool"),
        ("at", "timestamp[us, tz=UTC]"),
        ("local_at", "timestamp[us]"),
        ("day", "date32[day]"),
        ("raw", "binary"),
        ("doc", "string"),
        ("tags", "list<item: int32>"),
        ("u", "string"),
        ("f", "double"),
        ("label", "string"),
        ("_cdc_operation", "string"),
        ("_cdc_timestamp", "timestamp[us, tz=UTC]"),
        ("_cdc_lsn", "int64"),
        ("_cdc_txid", "int64"),
    ];
    for (col, ty) in expect {
        assert_eq!(
            types.get(col).map(String::as_str),
            Some(ty),
            "type of {col}: {types:?}"
        );
    }
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r["price"], "12345678.91");
    assert_eq!(r["free"], "1.000000000000000000000000000000000000001");
    assert_eq!(r["at"], "2024-03-05T14:07:09.500000+00:00");
    assert_eq!(r["local_at"], "2024-03-05T14:07:09");
    assert_eq!(r["day"], "2024-03-05");
    assert_eq!(r["raw"], "00ff");
    assert_eq!(r["doc"], "{\"a\": [1, 2]}");
    assert_eq!(r["tags"], serde_json::json!([1, null, 3]));
    assert_eq!(r["label"], "olá");
    assert_eq!(r["_cdc_operation"], "I");
    assert_eq!(rows[1]["price"], Value::Null);
    let second = read(root, None, &files[1]);
    assert!(
        second["schema"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f[0] == "extra"),
        "the new file has the new column"
    );
    assert_eq!(second["rows"][0]["extra"], "x");
}

/// Clear, one-line errors for a missing bucket and bad credentials; nothing acknowledged.
#[test]
fn missing_bucket_and_bad_credentials_are_clear_errors() {
    let pg = PgCluster::start();
    let s3 = S3Server::start();
    pg.psql("CREATE TABLE t (id int PRIMARY KEY)");
    let dir = scratch();
    let config = files_pipeline(&pg, dir.path(), &["public.t"], "", &s3_sink(&s3, "nope", ""));
    let mut cmd = command(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--endpos",
        &pg.current_lsn(),
    ]);
    let out = s3.env(&mut cmd).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bucket \"nope\" does not exist") && err.contains("create_bucket = true"),
        "{err}"
    );

    s3.create_bucket("lake");
    let config = files_pipeline(&pg, dir.path(), &["public.t"], "", &s3_sink(&s3, "lake", ""));
    let mut cmd = command(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--endpos",
        &pg.current_lsn(),
    ]);
    let out = s3
        .env(&mut cmd)
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("access denied"), "{err}");
    assert!(
        !err.contains("wrong-secret") && !err.contains(SECRET_ACCESS_KEY),
        "no secret in errors: {err}"
    );
    assert!(!dir.path().join("offsets.json").exists(), "nothing acknowledged");
}

/// The files sink writes table rows, not Debezium records: record transforms would be dropped
/// without a word, so a pipeline with them is refused before anything is written.
#[test]
fn record_transforms_are_refused() {
    let pg = PgCluster::start();
    pg.psql("CREATE TABLE public.t (id int PRIMARY KEY)");
    let dir = scratch();
    let lake = dir.path().join("lake");
    let sink = format!("url = \"{}\"\nformat = \"csv\"", lake.display());
    let config = files_pipeline(&pg, dir.path(), &["public.t"], "", &sink);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[[transform]]\ntype = \"unwrap\"\n");
    std::fs::write(&config, text).unwrap();
    let endpos = pg.current_lsn();
    let out = command(&["run", "--config", config.to_str().unwrap(), "--endpos", &endpos])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("files sink") && err.contains("transform"), "{err}");
    assert!(!lake.exists(), "nothing written");
}

/// On local disk, a file the checkpoint counts on is on disk, not only in the page cache:
/// every data file and the watermark are fsynced, and so are the directories that hold them,
/// before the slot moves on. Watched with strace (a power cut cannot be staged in a test).
#[test]
fn local_files_and_the_watermark_are_fsynced() {
    let pg = PgCluster::start();
    seed_table(&pg);
    let dir = scratch();
    let out = dir.path().join("lake");
    let sink = format!("url = \"file://{}\"\nformat = \"csv\"", out.display());
    let config = files_pipeline(
        &pg,
        dir.path(),
        &["db_loja.cliente"],
        "snapshot = \"initial\"",
        &sink,
    );
    pg.psql("INSERT INTO db_loja.cliente (nome) VALUES ('Dora')");
    let synced = fsynced_paths(&pg, &config);
    let root = out.canonicalize().unwrap();
    let files: Vec<String> = list(out.to_str().unwrap(), None);
    assert!(files.iter().any(|f| f.starts_with("full/")), "{files:?}");
    assert!(files.iter().any(|f| f.starts_with("inc/")), "{files:?}");
    for f in &files {
        let path = root.join(f);
        assert!(
            synced.contains(path.to_str().unwrap()),
            "{f} was not fsynced: {synced:?}"
        );
        let mut d = path.parent().unwrap();
        while d.starts_with(&root) {
            assert!(
                synced.contains(d.to_str().unwrap()),
                "directory {} was not fsynced",
                d.display()
            );
            if d == root {
                break;
            }
            d = d.parent().unwrap();
        }
    }
    // The next run trusts the watermark it finds: it makes sure that one is on disk too (a run
    // killed between writing it and its fsync leaves it in the page cache only).
    let again = fsynced_paths(&pg, &config);
    let watermark = root.join("inc/_watermark.json");
    assert!(
        again.contains(watermark.to_str().unwrap()),
        "the watermark is fsynced at open: {again:?}"
    );
}
