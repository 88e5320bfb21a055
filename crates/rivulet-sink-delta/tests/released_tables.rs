//! Delta tables written by Rivulet 0.1.0 (`tests/fixtures/v0.1.0`: a snapshot of two tables and
//! two streamed transactions, txn versions = LSNs, made with that release's binary) resume with
//! today's sink: the position comes back from the logs, changes the tables hold are skipped,
//! and the txn version keeps growing although it is now a flush counter.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Op, PgType, Position, ReplicaIdentity, RowChange, Sink, SourceMeta,
    TableId, TableSchema, Value,
};
use rivulet_sink_delta::{DeltaSink, DeltaSinkConfig};
use rivulet_testkit::copy_dir;

/// The fixture's last position (offsets.json) and the orders table's txn version then.
const RELEASED_POSITION: Lsn = Lsn(0x19B_A240);
const RELEASED_TXN_VERSION: i64 = 26_976_832;

fn orders() -> Arc<TableSchema> {
    let column = |name: &str, pg_type| Column {
        name: name.into(),
        type_oid: 0,
        type_modifier: -1,
        pg_type,
        nullable: true,
        default: None,
        missing: None,
    };
    Arc::new(TableSchema {
        id: TableId::new("public", "orders"),
        relation_oid: 1,
        columns: vec![
            column("id", PgType::Int4),
            column("item", PgType::Text),
            column("qty", PgType::Int4),
        ],
        primary_key: vec![0],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn update(id: i32, qty: i32, prev_end: Lsn) -> ChangeEvent {
    let row = vec![
        Value::Int32(id),
        Value::Text(format!("item {id}")),
        Value::Int32(qty),
    ];
    ChangeEvent {
        change: Change::Row(RowChange {
            table: orders(),
            op: Op::Update,
            before: None,
            after: Some(row),
        }),
        source: SourceMeta {
            lsn: Lsn(prev_end.0 + 8),
            last_commit_lsn: Some(prev_end),
            commit_time_us: 1_796_700_000_000_000,
            ..SourceMeta::default()
        },
    }
}

/// The `txn` version of `pipeline` in the newest commit of a table's log.
fn last_txn_version(table: &std::path::Path, pipeline: &str) -> Option<i64> {
    let mut logs: Vec<_> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    logs.sort();
    let text = std::fs::read_to_string(logs.last()?).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|a| {
            (a["txn"]["appId"] == pipeline)
                .then(|| a["txn"]["version"].as_i64())
                .flatten()
        })
}

#[tokio::test]
async fn a_table_written_by_the_released_version_resumes_skips_what_it_holds_and_grows_its_txn_version() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0.1.0");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    copy_dir(&fixture.join("lake"), &lake);
    let offsets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("offsets.json")).unwrap()).unwrap();
    let config: DeltaSinkConfig =
        toml::from_str(&format!("url = {:?}\n", lake.display().to_string())).unwrap();
    assert_eq!(
        last_txn_version(&lake.join("public.orders"), "fixture"),
        Some(RELEASED_TXN_VERSION)
    );

    let mut sink = DeltaSink::new(&config, "fixture").unwrap();
    let resumed = sink.open(Some(offsets["sink"].clone())).await.unwrap();
    assert_eq!(
        resumed.map(|p| p.lsn),
        Some(RELEASED_POSITION),
        "the position from the logs"
    );

    // A change of a transaction the table holds (it ended before the position), then a new one.
    sink.write(&[update(1, -1, Lsn(RELEASED_POSITION.0 - 0x100))])
        .await
        .unwrap();
    sink.write(&[update(2, 1234, RELEASED_POSITION)]).await.unwrap();
    sink.flush(&Position::at(Lsn(RELEASED_POSITION.0 + 0x100)))
        .await
        .unwrap();
    sink.close().await.unwrap();

    let version = last_txn_version(&lake.join("public.orders"), "fixture").unwrap();
    assert!(
        version > RELEASED_TXN_VERSION,
        "txn version {version} must grow past {RELEASED_TXN_VERSION}"
    );
    let table = deltalake::open_table(url::Url::from_directory_path(lake.join("public.orders")).unwrap())
        .await
        .unwrap();
    let ctx = deltalake::datafusion::prelude::SessionContext::new();
    ctx.register_table("orders", table.table_provider().await.unwrap())
        .unwrap();
    let qty = |id: i32| {
        let ctx = ctx.clone();
        async move {
            let batches = ctx
                .sql(&format!(
                    "SELECT CAST(qty AS BIGINT) AS qty FROM orders WHERE id = {id}"
                ))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            use deltalake::arrow::array::AsArray;
            use deltalake::arrow::datatypes::Int64Type;
            batches
                .first()
                .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        }
    };
    assert_eq!(
        qty(1).await,
        Some(101),
        "the held change is skipped (the fixture set 101)"
    );
    assert_eq!(qty(2).await, Some(1234), "the new change is applied");
}
