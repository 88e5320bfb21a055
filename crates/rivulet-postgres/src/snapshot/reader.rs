//! A snapshot reader: one SQL connection inside the exported snapshot, reading chunks with
//! `COPY (SELECT …) TO STDOUT` and turning their lines into `op = "r"` events.
//!
//! Readers take chunk jobs from a shared queue and stream each chunk's events into the job's
//! own bounded channel, so the coordinator can forward chunks in plan order while the next ones
//! are already being read, and memory stays bounded whatever the table size.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::StreamExt;
use rivulet_core::{Change, ChangeEvent, Op, RowChange, SourceMeta, TableSchema};
use rivulet_pgwire::{ConnectionConfig, connect_sql};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::Client;
use tracing::warn;

use super::copy_text::{Unparsed, parse_row};
use crate::SourceError;
use crate::setup::quote_literal;

/// Rows per message to the coordinator.
const EVENTS_PER_BATCH: usize = 1024;
/// Batches a chunk may buffer ahead of the coordinator.
pub const CHUNK_BUFFER: usize = 4;

/// One chunk to read.
pub struct Job {
    pub table: Arc<TableJob>,
    /// `WHERE …` for the chunk (empty for the whole table).
    pub predicate: String,
    pub tx: mpsc::Sender<ChunkMessage>,
}

/// What every chunk of a table shares.
pub struct TableJob {
    pub schema: Arc<TableSchema>,
    /// `SELECT "a", "b" FROM "s"."t"`: columns in schema order.
    pub select: String,
    pub meta: SourceMeta,
}

pub enum ChunkMessage {
    Rows(Vec<ChangeEvent>),
    Done { rows: u64 },
    Failed(SourceError),
}

/// Connects, enters the snapshot and reports that on `imported`; then reads jobs until the
/// queue closes.
pub async fn run_reader(
    connection: ConnectionConfig,
    snapshot_name: String,
    imported: oneshot::Sender<Result<(), SourceError>>,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
) {
    let client = match enter_snapshot(&connection, &snapshot_name).await {
        Ok(c) => {
            let _ = imported.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = imported.send(Err(e));
            return;
        }
    };
    let mut warned = HashSet::new();
    let mut locked = HashSet::new();
    loop {
        // Hold the lock only to take a job, never while reading one.
        let job = { jobs.lock().await.recv().await };
        let Some(job) = job else { break };
        let tx = job.tx.clone();
        let checked = if locked.insert(job.table.schema.id.clone()) {
            lock_unchanged(&client, &job.table.schema.id).await
        } else {
            Ok(())
        };
        if let Err(e) = match checked {
            Ok(()) => read_chunk(&client, job, &mut warned).await,
            Err(e) => Err(e),
        } {
            let _ = tx.send(ChunkMessage::Failed(e)).await;
            break;
        }
    }
    let _ = client.batch_execute("COMMIT").await;
}

/// Locks a table against TRUNCATE and rewrites for the rest of the snapshot, and checks that
/// none happened since the snapshot was taken. Those are not MVCC-safe: a snapshot older than
/// them reads the table as empty (or rewritten), while the stream still carries the changes of
/// the rows it lost, which a mirror then cannot apply. Caught here, the reader fails with a
/// transient error and the snapshot is resumed under a new one, which reads the table as it
/// is after them.
async fn lock_unchanged(client: &Client, id: &rivulet_core::TableId) -> Result<(), SourceError> {
    let table = crate::setup::quote_table(id);
    client
        .batch_execute(&format!("LOCK TABLE {table} IN ACCESS SHARE MODE"))
        .await
        .map_err(|e| read_error(id, e))?;
    // pg_class as the snapshot sees it against the storage the table has now (a partitioned
    // table's partitions hold the storage; pg_partition_tree lists nothing for a plain table).
    let replaced: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_class c \
             WHERE (c.oid = $1::text::regclass \
                    OR c.oid IN (SELECT relid FROM pg_catalog.pg_partition_tree($1::text::regclass))) \
               AND c.relkind IN ('r', 'm') \
               AND c.relfilenode IS DISTINCT FROM pg_catalog.pg_relation_filenode(c.oid)",
            &[&table],
        )
        .await
        .map_err(|e| read_error(id, e))?
        .get(0);
    if replaced > 0 {
        return Err(SourceError::SnapshotOverrun(format!(
            "{id} was truncated or rewritten after the snapshot was taken: reading it again under a new snapshot"
        )));
    }
    Ok(())
}

/// A connection whose transaction sees exactly the exported snapshot.
pub async fn enter_snapshot(
    connection: &ConnectionConfig,
    snapshot_name: &str,
) -> Result<Client, SourceError> {
    let client = connect_sql(connection).await?;
    // A snapshot of a large table outlives ordinary statement limits, as pg_dump's does.
    client
        .batch_execute(&format!(
            "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
            quote_literal(snapshot_name)
        ))
        .await
        .map_err(|e| {
            SourceError::setup(format!(
                "cannot enter the snapshot {snapshot_name}: {} (the exporting connection may have closed)",
                rivulet_pgwire::PgError::from(e)
            ))
        })?;
    Ok(client)
}

async fn read_chunk(client: &Client, job: Job, warned: &mut HashSet<usize>) -> Result<(), SourceError> {
    let table = &job.table;
    let id = &table.schema.id;
    let sql = format!("COPY ({}{}) TO STDOUT", table.select, job.predicate);
    let stream = client
        .copy_out(sql.as_str())
        .await
        .map_err(|e| read_error(id, e))?;
    let mut stream = std::pin::pin!(stream);
    let mut batch = Vec::with_capacity(EVENTS_PER_BATCH);
    let mut rows = 0u64;
    let mut unparsed: Vec<Unparsed> = Vec::new();
    while let Some(line) = stream.next().await {
        let line = line.map_err(|e| read_error(id, e))?;
        let row = parse_row(&line, &table.schema, &mut unparsed)
            .map_err(|e| SourceError::setup(format!("cannot read a snapshot row of {id}: {}", e.0)))?;
        for u in unparsed.drain(..) {
            if warned.insert(u.column) {
                let column = &table.schema.columns[u.column].name;
                warn!(table = %id, %column, error = %u.error, "cannot parse a value; carrying it as text");
            }
        }
        batch.push(ChangeEvent {
            change: Change::Row(RowChange {
                table: table.schema.clone(),
                op: Op::Read,
                before: None,
                after: Some(row),
            }),
            source: table.meta.clone(),
        });
        rows += 1;
        if batch.len() == EVENTS_PER_BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(EVENTS_PER_BATCH));
            if job.tx.send(ChunkMessage::Rows(full)).await.is_err() {
                return Ok(()); // the coordinator stopped (shutdown)
            }
        }
    }
    if !batch.is_empty() && job.tx.send(ChunkMessage::Rows(batch)).await.is_err() {
        return Ok(());
    }
    let _ = job.tx.send(ChunkMessage::Done { rows }).await;
    Ok(())
}

/// A failed chunk read, naming the table and the likely fix.
fn read_error(id: &rivulet_core::TableId, e: tokio_postgres::Error) -> SourceError {
    let e = rivulet_pgwire::PgError::from(e);
    let hint = match e.sqlstate() {
        Some("42501") => format!(
            " — grant it: GRANT SELECT ON {} TO <the pipeline's role>;",
            crate::setup::quote_table(id)
        ),
        Some("42P01") => {
            " — the table was dropped during the snapshot; remove it from source.tables or start again".into()
        }
        Some("57014") => " — a statement timeout or a cancel stopped the read; start again to resume".into(),
        _ => String::new(),
    };
    if e.is_transient() {
        SourceError::Pg(e)
    } else {
        SourceError::setup(format!("snapshot of {id} failed: {e}{hint}"))
    }
}
