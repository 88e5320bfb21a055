//! The Delta sink on local disk, driven through the Sink trait with hand-made change events,
//! read back with delta-rs's own table and change-data-feed readers.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::DataType;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Numeric, Op, PgType, Position, ReplicaIdentity, RowChange, Sink,
    SourceMeta, TableId, TableSchema, Truncate, Value,
};
use rivulet_sink_delta::{DeltaSink, DeltaSinkConfig};
use url::Url;

fn column(name: &str, pg_type: PgType) -> Column {
    Column {
        name: name.into(),
        type_oid: 0,
        type_modifier: -1,
        pg_type,
        nullable: true,
        default: None,
        missing: None,
    }
}

fn accounts() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        id: TableId::new("public", "accounts"),
        relation_oid: 1,
        columns: vec![
            column("id", PgType::Int4),
            column("name", PgType::Text),
            column(
                "balance",
                PgType::Numeric {
                    precision: Some(12),
                    scale: Some(2),
                },
            ),
            column("note", PgType::Text),
        ],
        primary_key: vec![0],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn row(id: i32, name: &str, balance: &str, note: Value) -> Vec<Value> {
    vec![
        Value::Int32(id),
        Value::Text(name.into()),
        Value::Numeric(Numeric::Finite(balance.into())),
        note,
    ]
}

fn key(id: i32) -> Vec<Value> {
    vec![Value::Int32(id), Value::Null, Value::Null, Value::Null]
}

/// A change in the source transaction that follows the one ending at `prev_end`.
fn event(
    table: &Arc<TableSchema>,
    op: Op,
    before: Option<Vec<Value>>,
    after: Option<Vec<Value>>,
    prev_end: u64,
) -> ChangeEvent {
    ChangeEvent {
        change: Change::Row(RowChange {
            table: Arc::clone(table),
            op,
            before,
            after,
        }),
        source: SourceMeta {
            lsn: Lsn(prev_end + 1),
            last_commit_lsn: Some(Lsn(prev_end)),
            commit_time_us: 1_700_000_000_000_000,
            ..Default::default()
        },
    }
}

fn config(dir: &std::path::Path, mode: &str) -> DeltaSinkConfig {
    let text = format!("url = {:?}\nmode = {mode:?}\n", dir.display().to_string());
    toml_config(&text)
}

fn toml_config(text: &str) -> DeltaSinkConfig {
    toml::from_str(text).expect("config")
}

async fn load(dir: &std::path::Path, name: &str) -> DeltaTable {
    let url = Url::from_directory_path(dir.join(name)).expect("url");
    deltalake::open_table(url).await.expect("open table")
}

async fn collect(table: &DeltaTable) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    let provider = table.table_provider().await.expect("provider");
    ctx.read_table(provider)
        .expect("read")
        .collect()
        .await
        .expect("collect")
}

async fn cdf(table: &DeltaTable) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    let builder = table.clone().scan_cdf().with_starting_version(0);
    let provider = DeltaCdfTableProvider::try_new(builder).expect("cdf provider");
    ctx.read_table(Arc::new(provider))
        .expect("read")
        .collect()
        .await
        .expect("collect")
}

fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column_by_name(name).expect("column"), &DataType::Utf8).expect("cast");
        let a = a.as_string::<i32>();
        for i in 0..a.len() {
            out.push(a.is_valid(i).then(|| a.value(i).to_string()));
        }
    }
    out
}

/// Rows as sorted "id|name|balance|note" strings.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let cols: Vec<Vec<Option<String>>> = ["id", "name", "balance", "note"]
        .iter()
        .map(|c| strings(batches, c))
        .collect();
    let mut out: Vec<String> = (0..cols[0].len())
        .map(|i| {
            cols.iter()
                .map(|c| c[i].clone().unwrap_or_else(|| "∅".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

/// Change feed rows as sorted "id:_change_type" strings.
fn changes(batches: &[RecordBatch]) -> Vec<String> {
    let ids = strings(batches, "id");
    let kinds = strings(batches, "_change_type");
    let mut out: Vec<String> = ids
        .iter()
        .zip(&kinds)
        .map(|(i, k)| {
            format!(
                "{}:{}",
                i.clone().unwrap_or_default(),
                k.clone().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_merges_collapsed_changes_and_records_the_change_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = accounts();
    let mut sink = DeltaSink::new(&config(dir.path(), "mirror"), "p1").expect("sink");
    assert_eq!(sink.open(None).await.expect("open"), None);

    sink.write(&[
        event(
            &t,
            Op::Create,
            None,
            Some(row(1, "ann", "10.50", text("long note 1"))),
            10,
        ),
        event(&t, Op::Create, None, Some(row(2, "bob", "20", text("n2"))), 10),
        event(&t, Op::Create, None, Some(row(3, "cid", "30", text("n3"))), 10),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(100))).await.expect("flush 1");

    sink.write(&[
        // A TOAST value not sent: the table must keep "long note 1".
        event(
            &t,
            Op::Update,
            None,
            Some(row(1, "ann2", "11", Value::Unchanged)),
            100,
        ),
        event(&t, Op::Update, None, Some(row(2, "bob2", "21", text("n2b"))), 110),
        event(
            &t,
            Op::Update,
            None,
            Some(row(2, "bob3", "22", Value::Unchanged)),
            120,
        ),
        event(&t, Op::Delete, Some(key(3)), None, 130),
        // Inserted, updated and deleted within the batch: no trace at all.
        event(&t, Op::Create, None, Some(row(4, "dan", "1", text("n4"))), 140),
        event(&t, Op::Update, None, Some(row(4, "dan2", "2", text("n4"))), 150),
        event(&t, Op::Delete, Some(key(4)), None, 160),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(200))).await.expect("flush 2");
    sink.close().await.expect("close");

    let table = load(dir.path(), "public.accounts").await;
    assert_eq!(
        rows(&collect(&table).await),
        vec!["1|ann2|11.00|long note 1", "2|bob3|22.00|n2b"]
    );
    let feed = changes(&cdf(&table).await);
    assert_eq!(
        feed,
        vec![
            "1:insert",
            "1:update_postimage",
            "1:update_preimage",
            "2:insert",
            "2:update_postimage",
            "2:update_preimage",
            "3:delete",
            "3:insert",
        ]
    );

    // Restart: the position comes back from the Delta log, and changes of transactions the
    // table already holds are skipped.
    let mut sink = DeltaSink::new(&config(dir.path(), "mirror"), "p1").expect("sink");
    let resumed = sink
        .open(None)
        .await
        .expect("open")
        .expect("a position from the Delta log");
    assert_eq!(resumed.lsn, Lsn(200));
    sink.write(&[
        event(
            &t,
            Op::Update,
            None,
            Some(row(1, "replayed", "0", text("x"))),
            150,
        ),
        event(
            &t,
            Op::Update,
            None,
            Some(row(2, "new", "23", Value::Unchanged)),
            200,
        ),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(300))).await.expect("flush 3");
    let table = load(dir.path(), "public.accounts").await;
    assert_eq!(
        rows(&collect(&table).await),
        vec!["1|ann2|11.00|long note 1", "2|new|23.00|n2b"]
    );
    // Another pipeline's txn is separate.
    let mut other = DeltaSink::new(&config(dir.path(), "mirror"), "p2").expect("sink");
    assert_eq!(other.open(None).await.expect("open"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_empties_the_table_and_a_missing_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = accounts();
    let mut sink = DeltaSink::new(&config(dir.path(), "mirror"), "p").expect("sink");
    sink.open(None).await.expect("open");
    sink.write(&[event(&t, Op::Create, None, Some(row(1, "a", "1", text("n"))), 1)])
        .await
        .expect("write");
    sink.flush(&Position::at(Lsn(10))).await.expect("flush");
    let truncate = ChangeEvent {
        change: Change::Truncate(Truncate {
            table: Arc::clone(&t),
            cascade: false,
            restart_identity: false,
        }),
        source: SourceMeta {
            last_commit_lsn: Some(Lsn(10)),
            ..Default::default()
        },
    };
    sink.write(&[
        truncate,
        event(&t, Op::Create, None, Some(row(5, "e", "5", text("n5"))), 10),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(20))).await.expect("flush");
    let table = load(dir.path(), "public.accounts").await;
    assert_eq!(rows(&collect(&table).await), vec!["5|e|5.00|n5"]);

    let mut keyless = (*t).clone();
    keyless.id = TableId::new("public", "keyless");
    keyless.primary_key.clear();
    let keyless = Arc::new(keyless);
    let err = sink
        .write(&[event(
            &keyless,
            Op::Create,
            None,
            Some(row(1, "a", "1", text("n"))),
            20,
        )])
        .await
        .expect_err("mirror without a key");
    assert!(err.message.contains("no primary key"), "{}", err.message);
    assert!(err.message.contains("mode = \"append\""), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_mode_keeps_every_change_and_schema_evolves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = accounts();
    let mut sink = DeltaSink::new(&config(dir.path(), "append"), "p").expect("sink");
    sink.open(None).await.expect("open");
    sink.write(&[
        event(&t, Op::Create, None, Some(row(1, "a", "1", text("n"))), 1),
        event(&t, Op::Update, None, Some(row(1, "b", "2", text("n"))), 2),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(10))).await.expect("flush");

    // ALTER TABLE ADD COLUMN: the column is added to the Delta table.
    let mut wider = (*t).clone();
    wider.columns.push(column("email", PgType::Text));
    let wider = Arc::new(wider);
    let mut r = row(1, "b", "2", text("n"));
    r.push(text("b@example.com"));
    sink.write(&[
        event(&wider, Op::Update, None, Some(r), 10),
        event(
            &wider,
            Op::Delete,
            Some(vec![
                Value::Int32(1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ]),
            None,
            11,
        ),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(20))).await.expect("flush");

    let table = load(dir.path(), "public.accounts").await;
    let batches = collect(&table).await;
    let mut ops: Vec<(String, String)> = strings(&batches, "_cdc_lsn")
        .into_iter()
        .zip(strings(&batches, "_cdc_operation"))
        .map(|(l, o)| (format!("{:0>4}", l.unwrap_or_default()), o.unwrap_or_default()))
        .collect();
    ops.sort();
    let ops: Vec<&str> = ops.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(ops, vec!["I", "U", "U", "D"]);
    let emails: Vec<_> = strings(&batches, "email").into_iter().flatten().collect();
    assert_eq!(emails, vec!["b@example.com"]);

    // A type the table cannot hold: a clear stop, nothing committed.
    let mut changed = (*wider).clone();
    changed.columns[2].pg_type = PgType::Text;
    let changed = Arc::new(changed);
    sink.write(&[event(
        &changed,
        Op::Create,
        None,
        Some(vec![
            Value::Int32(9),
            Value::Null,
            text("lots"),
            Value::Null,
            Value::Null,
        ]),
        20,
    )])
    .await
    .expect("write");
    let err = sink
        .flush(&Position::at(Lsn(30)))
        .await
        .expect_err("incompatible type");
    assert!(err.message.contains("column balance"), "{}", err.message);
    assert!(
        err.message.contains("cannot change a column's type"),
        "{}",
        err.message
    );
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    let c = toml_config("url = \"/tmp/x\"\ntable_template = \"{db}.{table}\"");
    let err = DeltaSink::new(&c, "p").err().expect("bad template");
    assert!(err.message.contains("unknown placeholder"), "{}", err.message);
    let c = toml_config("url = \"ftp://host/x\"");
    let err = DeltaSink::new(&c, "p").err().expect("bad scheme");
    assert!(err.message.contains("not supported"), "{}", err.message);
}

#[test]
fn the_s3_secret_never_shows_in_a_debug_print() {
    let c =
        toml_config("url = \"s3://bucket/lake\"\nsecret_access_key = \"hunter2\"\naccess_key_id = \"AK\"");
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("AK"), "{shown}");
}

fn renamed(t: &Arc<TableSchema>, name: &str) -> Arc<TableSchema> {
    let mut s = (**t).clone();
    s.id = TableId::new("public", name);
    Arc::new(s)
}

/// A crash between two tables' commits of one flush, simulated by removing the second table's
/// newest commit: the restart resumes from the flush before, the table that has the flush
/// skips its changes, the other applies them — each change lands once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_that_reached_only_some_tables_is_redone_for_the_others_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (renamed(&accounts(), "a"), renamed(&accounts(), "b"));
    let mut sink = DeltaSink::new(&config(dir.path(), "mirror"), "p").expect("sink");
    sink.open(None).await.expect("open");
    sink.write(&[
        event(&a, Op::Create, None, Some(row(1, "a1", "1", text("n"))), 10),
        event(&b, Op::Create, None, Some(row(1, "b1", "1", text("n"))), 10),
    ])
    .await
    .expect("write");
    let first = sink.flush(&Position::at(Lsn(100))).await.expect("flush 1");
    let second_batch = [
        event(
            &a,
            Op::Update,
            None,
            Some(row(1, "a1x", "2", Value::Unchanged)),
            100,
        ),
        event(
            &b,
            Op::Update,
            None,
            Some(row(1, "b1x", "2", Value::Unchanged)),
            100,
        ),
        event(&a, Op::Create, None, Some(row(2, "a2", "3", text("n"))), 150),
        event(&b, Op::Create, None, Some(row(2, "b2", "3", text("n"))), 150),
    ];
    sink.write(&second_batch).await.expect("write");
    sink.flush(&Position::at(Lsn(200))).await.expect("flush 2");
    drop(sink);

    // Undo b's part of flush 2.
    let log = dir.path().join("public.b/_delta_log");
    let mut commits: Vec<_> = std::fs::read_dir(&log)
        .expect("log")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    commits.sort();
    std::fs::remove_file(commits.last().expect("a commit")).expect("remove");

    // The offsets store still has flush 1 (it is written after every table committed).
    let mut sink = DeltaSink::new(&config(dir.path(), "mirror"), "p").expect("sink");
    let resumed = sink.open(Some(first)).await.expect("open").expect("position");
    assert_eq!(
        resumed.lsn,
        Lsn(100),
        "resume from the last flush every table has"
    );
    sink.write(&second_batch).await.expect("write");
    sink.flush(&Position::at(Lsn(200))).await.expect("flush 2 again");

    for (name, one, two) in [
        ("public.a", "1|a1x|2.00|n", "2|a2|3.00|n"),
        ("public.b", "1|b1x|2.00|n", "2|b2|3.00|n"),
    ] {
        let table = load(dir.path(), name).await;
        assert_eq!(rows(&collect(&table).await), vec![one, two], "{name}");
        assert_eq!(
            changes(&cdf(&table).await),
            vec!["1:insert", "1:update_postimage", "1:update_preimage", "2:insert"],
            "{name}: each change once"
        );
    }
}

/// A run killed between a commit and the log checkpoint due after it: the next open writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_lost_to_a_crash_is_written_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = accounts();
    let settings = format!(
        "url = {:?}\nmode = \"mirror\"\ncheckpoint_interval = 2\n",
        dir.path().display().to_string()
    );
    let mut sink = DeltaSink::new(&toml_config(&settings), "p1").expect("sink");
    sink.open(None).await.expect("open");
    for i in 0..3u64 {
        let id = i32::try_from(i).expect("small");
        sink.write(&[event(
            &t,
            Op::Create,
            None,
            Some(row(id, "x", "1", text("n"))),
            100 * i,
        )])
        .await
        .expect("write");
        sink.flush(&Position::at(Lsn(100 * i + 50))).await.expect("flush");
    }
    sink.close().await.expect("close");
    let log = dir.path().join("public.accounts/_delta_log");
    let checkpoints = || {
        std::fs::read_dir(&log)
            .expect("log")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains(".checkpoint.") || n == "_last_checkpoint")
            .collect::<Vec<_>>()
    };
    assert!(!checkpoints().is_empty(), "delta-rs checkpoints every 2 commits");
    // What a kill -9 right after the commit leaves behind: no checkpoint at all.
    for name in checkpoints() {
        std::fs::remove_file(log.join(name)).expect("remove");
    }

    let mut sink = DeltaSink::new(&toml_config(&settings), "p1").expect("sink");
    sink.open(None).await.expect("open");
    assert!(
        checkpoints().iter().any(|n| n == "_last_checkpoint"),
        "the due checkpoint is written at open: {:?}",
        checkpoints()
    );
    sink.close().await.expect("close");
    let table = load(dir.path(), "public.accounts").await;
    assert_eq!(rows(&collect(&table).await).len(), 3, "the table reads the same");
}
