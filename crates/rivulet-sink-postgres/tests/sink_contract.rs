//! The sink's side of the exactly-once contract, against a real throwaway PostgreSQL: what
//! `flush` commits is there with its position, what was only written is not, and `open`
//! returns the position the target holds.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, Column, Lsn, Op, PgType, Position, ReplicaIdentity, RowChange, Sink, SourceMeta,
    TableId, TableSchema, Value,
};
use rivulet_sink_postgres::{Mode, PostgresSink, PostgresSinkConfig};
use rivulet_testkit::PgCluster;

fn table() -> Arc<TableSchema> {
    let column = |name: &str, pg_type: PgType, nullable: bool| Column {
        name: name.into(),
        type_oid: 0,
        type_modifier: -1,
        pg_type,
        nullable,
        default: None,
        missing: None,
    };
    Arc::new(TableSchema {
        id: TableId::new("public", "items"),
        relation_oid: 1,
        columns: vec![
            column("id", PgType::Int8, false),
            column("name", PgType::Text, true),
        ],
        primary_key: vec![0],
        replica_identity: ReplicaIdentity::Default,
    })
}

fn insert(t: &Arc<TableSchema>, id: i64, name: &str) -> ChangeEvent {
    ChangeEvent {
        change: Change::Row(RowChange {
            table: t.clone(),
            op: Op::Create,
            before: None,
            after: Some(vec![Value::Int64(id), Value::Text(name.into())]),
        }),
        source: SourceMeta::default(),
    }
}

fn config(pg: &PgCluster) -> PostgresSinkConfig {
    PostgresSinkConfig {
        url: pg.url(),
        schema: Some("replica".into()),
        table_name: "{table}".into(),
        mode: Mode::Mirror,
    }
}

#[tokio::test]
async fn flushed_batches_and_their_position_commit_together() {
    let pg = PgCluster::start();
    let t = table();
    let mut sink = PostgresSink::new(&config(&pg), "p1").unwrap();
    assert_eq!(sink.open(None).await.unwrap(), None);
    sink.write(&[insert(&t, 1, "a"), insert(&t, 2, "b")])
        .await
        .unwrap();
    let first = Position::at(Lsn(0x100));
    let state = sink.flush(&first).await.unwrap();
    // Written but never flushed: a transaction the runtime will deliver again.
    sink.write(&[insert(&t, 3, "c")]).await.unwrap();
    drop(sink);

    assert_eq!(
        pg.psql("SELECT string_agg(id || name, ',' ORDER BY id) FROM replica.items"),
        "1a,2b"
    );
    let mut again = PostgresSink::new(&config(&pg), "p1").unwrap();
    assert_eq!(again.open(Some(state.clone())).await.unwrap(), Some(first));
    again.write(&[insert(&t, 3, "c")]).await.unwrap();
    again.flush(&Position::at(Lsn(0x200))).await.unwrap();
    again.close().await.unwrap();
    assert_eq!(pg.psql("SELECT count(*) FROM replica.items"), "3");

    // Another pipeline has a position of its own.
    let mut other = PostgresSink::new(&config(&pg), "p2").unwrap();
    assert_eq!(other.open(None).await.unwrap(), None);

    // The offsets say the sink wrote, but the target lost the position: refuse to guess.
    pg.psql("DELETE FROM replica.rivulet_offsets WHERE pipeline = 'p1'");
    let mut reset = PostgresSink::new(&config(&pg), "p1").unwrap();
    let err = reset.open(Some(state)).await.unwrap_err();
    assert!(err.message.contains("the target was reset"), "{}", err.message);
}

#[test]
fn settings_are_checked_before_connecting() {
    let mut c = PostgresSinkConfig {
        url: "postgres://u:hunter2@localhost/db?sslmode=sometimes".into(),
        schema: None,
        table_name: "{table}".into(),
        mode: Mode::Mirror,
    };
    let err = PostgresSink::new(&c, "p").err().unwrap();
    assert!(
        err.message.contains("sslmode") && !err.message.contains("hunter2"),
        "{}",
        err.message
    );
    c.url = "postgres://localhost/db".into();
    c.table_name = "changes".into();
    let err = PostgresSink::new(&c, "p").err().unwrap();
    assert!(err.message.contains("{table}"), "{}", err.message);
}
