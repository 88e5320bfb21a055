//! The Delta sink on S3: a throwaway SeaweedFS server (rivulet-testkit), a mirror table kept by
//! MERGE with its change data feed, and the position read back from the Delta log on S3.

use std::sync::Arc;

use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::DataType;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Op, PgType, Position, ReplicaIdentity, RowChange, Sink, SourceMeta,
    TableId, TableSchema, Value,
};
use rivulet_sink_delta::{DeltaSink, DeltaSinkConfig, register_object_stores};
use rivulet_testkit::S3Server;
use rivulet_testkit::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

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
        id: TableId::new("public", "items"),
        relation_oid: 1,
        columns: vec![col("id", PgType::Int8), col("label", PgType::Text)],
        primary_key: vec![0],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn event(t: &Arc<TableSchema>, op: Op, id: i64, label: Option<&str>, prev_end: u64) -> ChangeEvent {
    let row = vec![
        Value::Int64(id),
        label.map_or(Value::Null, |l| Value::Text(l.into())),
    ];
    ChangeEvent {
        change: Change::Row(RowChange {
            table: Arc::clone(t),
            op,
            before: (op == Op::Delete).then(|| row.clone()),
            after: (op != Op::Delete).then_some(row),
        }),
        source: SourceMeta {
            lsn: Lsn(prev_end + 1),
            last_commit_lsn: Some(Lsn(prev_end)),
            ..Default::default()
        },
    }
}

fn column_strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column_by_name(name).expect("column"), &DataType::Utf8).expect("cast");
        let a = a.as_string::<i32>();
        out.extend((0..a.len()).map(|i| a.value(i).to_string()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_table_on_s3_with_change_feed_and_position_from_the_log() {
    let server = S3Server::start();
    server.create_bucket("lake");
    let config: DeltaSinkConfig = toml::from_str(&format!(
        "url = \"s3://lake/cdc\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_id = \"{ACCESS_KEY_ID}\"\n\
         secret_access_key = \"{SECRET_ACCESS_KEY}\"\npath_style = true\n",
        server.endpoint()
    ))
    .expect("config");
    let t = table();
    let mut sink = DeltaSink::new(&config, "s3p").expect("sink");
    assert_eq!(sink.open(None).await.expect("open"), None);
    sink.write(&[
        event(&t, Op::Create, 1, Some("one"), 1),
        event(&t, Op::Create, 2, Some("two"), 1),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(50))).await.expect("flush");
    sink.write(&[
        event(&t, Op::Update, 1, Some("uno"), 50),
        event(&t, Op::Delete, 2, None, 60),
    ])
    .await
    .expect("write");
    sink.flush(&Position::at(Lsn(90))).await.expect("flush");

    // A new process finds the table by listing the bucket and reads the position back.
    let mut sink = DeltaSink::new(&config, "s3p").expect("sink");
    let resumed = sink.open(None).await.expect("open").expect("position");
    assert_eq!(resumed.lsn, Lsn(90));

    register_object_stores();
    let url = url::Url::parse("s3://lake/cdc/public.items/").expect("url");
    let table = deltalake::open_table_with_storage_options(url, config.storage_options())
        .await
        .expect("open table");
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .expect("register store");
    let rows = ctx
        .read_table(table.table_provider().await.expect("provider"))
        .expect("read")
        .collect()
        .await
        .expect("rows");
    assert_eq!(column_strings(&rows, "label"), vec!["uno"]);
    let cdf = DeltaCdfTableProvider::try_new(table.clone().scan_cdf().with_starting_version(0)).expect("cdf");
    let feed = ctx
        .read_table(Arc::new(cdf))
        .expect("read")
        .collect()
        .await
        .expect("feed");
    let mut kinds = column_strings(&feed, "_change_type");
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            "delete",
            "insert",
            "insert",
            "update_postimage",
            "update_preimage"
        ]
    );
}
