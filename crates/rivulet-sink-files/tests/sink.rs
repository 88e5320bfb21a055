//! The files sink driven directly, as the runtime drives it (open → write → flush), against a
//! local directory and a real S3 server (SeaweedFS), with a crash simulated by dropping the
//! sink between an upload and its watermark. Files are read back with `scripts/lake_tool.py`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Op, PgType, Position, ReplicaIdentity, RowChange, Sink, SourceMeta,
    TableId, TableSchema, Value,
};
use rivulet_sink_files::{FilesSink, FilesSinkConfig};
use rivulet_testkit::s3::{S3Server, lake_tool};
use serde_json::Value as Json;

fn lake_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lake_tool.py")
}

fn table() -> Arc<TableSchema> {
    let col = |name: &str, pg_type| Column {
        name: name.into(),
        type_oid: 0,
        type_modifier: -1,
        pg_type,
        nullable: true,
        default: None,
        missing: None,
    };
    Arc::new(TableSchema {
        id: TableId::new("public", "t"),
        relation_oid: 1,
        columns: vec![col("id", PgType::Int8), col("body", PgType::Text)],
        primary_key: vec![0],
        replica_identity: ReplicaIdentity::Default,
    })
}

/// Insert `i` of a stream of one-row transactions; its commit ends at LSN `100 * (i + 1)`.
fn insert(t: &Arc<TableSchema>, i: u64, body: &str) -> ChangeEvent {
    ChangeEvent {
        change: Change::Row(RowChange {
            table: t.clone(),
            op: Op::Create,
            before: None,
            after: Some(vec![Value::Int64(i as i64), Value::Text(body.into())]),
        }),
        source: SourceMeta {
            lsn: Lsn(100 * i + 50),
            txid: Some(1000 + i as u32),
            commit_time_us: 1_709_647_629_000_000,
            ..SourceMeta::default()
        },
    }
}

fn position(i: u64) -> Position {
    Position::at(Lsn(100 * (i + 1)))
}

fn config(url: &str, extra: &str) -> FilesSinkConfig {
    let mut map = serde_json::Map::new();
    map.insert("url".into(), Json::String(url.into()));
    map.insert("format".into(), Json::String("csv".into()));
    for line in extra.lines().filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').unwrap();
        map.insert(k.trim().into(), serde_json::from_str(v.trim()).unwrap());
    }
    serde_json::from_value(Json::Object(map)).unwrap()
}

fn ids_in(root: &str, s3: Option<&S3Server>) -> (Vec<String>, Vec<u64>) {
    let listing = lake_tool(&lake_script(), root, s3, &["list"]);
    let keys: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .filter(|k| k.starts_with("inc/public.t/"))
        .collect();
    let mut ids = Vec::new();
    for k in &keys {
        let out = lake_tool(&lake_script(), root, s3, &["read", k]);
        let file: Json = serde_json::from_slice(&out.stdout).unwrap();
        for r in file["rows"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().parse().unwrap());
        }
    }
    ids.sort_unstable();
    (keys, ids)
}

/// A crash after a file was uploaded but before its watermark: the restart removes that file,
/// resumes from the watermark, and the replay (rolled differently this time) leaves every row
/// exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn files_uploaded_after_the_watermark_are_replaced_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let root = dir.path().to_str().unwrap().to_string();
    let t = table();

    let mut sink = FilesSink::new(&config(&url, "max_rows = 4")).unwrap();
    assert_eq!(sink.open(None).await.unwrap(), None);
    let events: Vec<ChangeEvent> = (0..6).map(|i| insert(&t, i, "a")).collect();
    sink.write(&events).await.unwrap();
    let state = sink.flush(&position(5)).await.unwrap();
    // Four more rows: one file of 4 is uploaded (max_rows), then the "crash" before any flush.
    let events: Vec<ChangeEvent> = (6..10).map(|i| insert(&t, i, "b")).collect();
    sink.write(&events).await.unwrap();
    drop(sink);
    let (keys, ids) = ids_in(&root, None);
    assert_eq!(
        ids.len(),
        10,
        "rows 6..10 were uploaded before the crash: {keys:?}"
    );

    let mut sink = FilesSink::new(&config(&url, "max_rows = 3")).unwrap();
    let resumed = sink.open(Some(state)).await.unwrap();
    assert_eq!(
        resumed.map(|p| p.lsn),
        Some(position(5).lsn),
        "resumes at the watermark"
    );
    let (_, ids) = ids_in(&root, None);
    assert_eq!(
        ids,
        (0..6).collect::<Vec<u64>>(),
        "the file beyond the watermark is gone"
    );
    let events: Vec<ChangeEvent> = (6..10).map(|i| insert(&t, i, "b")).collect();
    sink.write(&events).await.unwrap();
    sink.flush(&position(9)).await.unwrap();
    sink.close().await.unwrap();
    let (keys, ids) = ids_in(&root, None);
    assert_eq!(
        ids,
        (0..10).collect::<Vec<u64>>(),
        "every row exactly once: {keys:?}"
    );

    let watermark: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("inc/_watermark.json")).unwrap())
            .unwrap();
    assert_eq!(watermark["lsn"], "0/3E8");
}

/// A file above 8 MiB goes up as a multipart upload (its ETag says how many parts), and reads
/// back whole.
#[tokio::test(flavor = "multi_thread")]
async fn large_files_are_multipart_uploads_on_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    let mut extra = format!("endpoint = \"{}\"\npath_style = true\n", s3.endpoint());
    extra.push_str(&format!(
        "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        rivulet_testkit::s3::ACCESS_KEY_ID,
        rivulet_testkit::s3::SECRET_ACCESS_KEY
    ));
    let mut sink = FilesSink::new(&config("s3://lake/big", &extra)).unwrap();
    sink.open(None).await.unwrap();
    let t = table();
    let body = "x".repeat(10_000);
    let events: Vec<ChangeEvent> = (0..1200).map(|i| insert(&t, i, &body)).collect();
    sink.write(&events).await.unwrap();
    sink.flush(&position(1199)).await.unwrap();

    let listing = lake_tool(&lake_script(), "s3://lake/big", Some(&s3), &["list"]);
    let objects: Vec<Json> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let data: Vec<&Json> = objects
        .iter()
        .filter(|o| o["key"].as_str().unwrap().ends_with(".csv"))
        .collect();
    assert_eq!(data.len(), 1, "{objects:?}");
    assert!(data[0]["size"].as_u64().unwrap() > 12_000_000);
    assert!(
        data[0]["etag"].as_str().unwrap().ends_with("-2"),
        "two parts of 8 MiB: {:?}",
        data[0]
    );
    let (_, ids) = ids_in("s3://lake/big", Some(&s3));
    assert_eq!(ids, (0..1200).collect::<Vec<u64>>());
}

/// Connections to S3 cut again and again during uploads: the store's retries (exponential
/// backoff) carry the files through, and every row arrives once.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_survive_cut_connections() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    let target: std::net::SocketAddr = s3.endpoint().trim_start_matches("http://").parse().unwrap();
    let proxy = Arc::new(rivulet_testkit::proxy::TcpProxy::start(target));
    let extra = format!(
        "endpoint = \"http://127.0.0.1:{}\"\npath_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        proxy.port(),
        rivulet_testkit::s3::ACCESS_KEY_ID,
        rivulet_testkit::s3::SECRET_ACCESS_KEY
    );
    let mut sink = FilesSink::new(&config("s3://lake/flaky", &(extra + "max_rows = 300\n"))).unwrap();
    sink.open(None).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cutter = {
        let (proxy, stop) = (proxy.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                proxy.cut();
            }
        })
    };
    let t = table();
    let body = "y".repeat(40_000);
    let events: Vec<ChangeEvent> = (0..1000).map(|i| insert(&t, i, &body)).collect();
    for chunk in events.chunks(100) {
        sink.write(chunk).await.unwrap();
    }
    let flushed = sink.flush(&position(999)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    cutter.join().unwrap();
    flushed.unwrap();
    assert!(proxy.connections() > 1, "connections were cut and made again");
    let (_, ids) = ids_in("s3://lake/flaky", Some(&s3));
    assert_eq!(ids, (0..1000).collect::<Vec<u64>>());
}
