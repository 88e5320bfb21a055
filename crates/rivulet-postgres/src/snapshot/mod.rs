//! Consistent snapshots: the rows that exist before streaming starts, read under one exported
//! snapshot and delivered as `op = "r"` events ahead of the stream.
//!
//! ```text
//!  exporter (replication conn: CREATE_REPLICATION_SLOT … SNAPSHOT 'export' → name, LSN P)
//!     │ kept open until every reader has imported the snapshot
//!     ▼
//!  planner ── SET TRANSACTION SNAPSHOT ─▶ plan.rs: estimate rows, split into chunks
//!  readers ×N ─ SET TRANSACTION SNAPSHOT ─▶ reader.rs: COPY (SELECT … WHERE chunk) TO STDOUT
//!     │ each chunk into its own bounded channel
//!     ▼
//!  coordinator (here): chunks forwarded in plan order ─▶ SourceItem::Event(r)…, Commit(position)
//! ```
//!
//! Rows read under a snapshot taken at P hold every transaction that committed before P; the
//! stream then starts at P and skips what committed before it, so snapshot + stream have no gap
//! and no overlap. A `Commit` item carrying the plan with its done chunks follows each chunk
//! whose keys the stream filter can place (`ResumeUnit::Chunk`), or each table otherwise; the
//! runtime checkpoints each at once ([`in_progress`]), however short the snapshot. A restart
//! reads the chunks that are not done under a new snapshot, and the stream filter
//! (`watermark.rs`) applies each chunk's own LSN.

mod copy_text;
pub mod plan;
mod progress;
mod reader;

use std::collections::VecDeque;
use std::sync::Arc;

use rivulet_core::{ChangeEvent, Lsn, Position, SnapshotMarker, SourceItem, SourceMeta, TableId};
use rivulet_pgwire::{ConnectionConfig, ReplicationConnection};
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tracing::info;

pub use plan::ChunkSizing;

use self::progress::Progress;
use self::reader::{CHUNK_BUFFER, ChunkMessage, Job, TableJob, enter_snapshot, run_reader};
use crate::SourceError;
use crate::catalog::Catalog;
use crate::setup::{quote_ident, quote_table};
use crate::state::{ResumeUnit, SnapshotState, SourceState};

/// Items per message to the runtime.
const ITEMS_PER_BATCH: usize = 2048;

/// An exported snapshot: its name (for `SET TRANSACTION SNAPSHOT`) and the LSN it is
/// consistent with.
#[derive(Clone, Debug)]
pub struct ExportedSnapshot {
    pub name: String,
    pub lsn: Lsn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotEnd {
    Complete,
    Shutdown,
    ConsumerGone,
}

/// A snapshot to plan: which tables, and (for tables joining a running pipeline) the stream
/// position to resume at afterwards.
pub struct NewSnapshot {
    pub tables: Vec<(TableId, u32)>,
    pub stream_position: Option<Lsn>,
}

pub struct Snapshotter<'a> {
    pub connection: &'a ConnectionConfig,
    pub catalog: &'a mut Catalog,
    pub parallelism: usize,
    pub sizing: ChunkSizing,
}

/// What the coordinator tracks of the table being forwarded.
struct Forwarding {
    table: usize,
    /// No row of this table has been forwarded yet (in this run or a previous one).
    table_fresh: bool,
}

impl Snapshotter<'_> {
    /// Runs (or resumes) the snapshot described by `state.snapshot`, planning `new_snapshot`
    /// first when given. `exporter` is the connection that exported `snapshot`; it is dropped
    /// once every reader has imported the snapshot.
    pub async fn run(
        &mut self,
        snapshot: ExportedSnapshot,
        exporter: Option<ReplicationConnection>,
        state: &mut SourceState,
        new_snapshot: Option<NewSnapshot>,
        out: &mpsc::Sender<Vec<SourceItem>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<SnapshotEnd, SourceError> {
        let planner = enter_snapshot(self.connection, &snapshot.name).await?;
        let row = planner
            .query_one(
                "SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::int8, \
                        (extract(epoch FROM transaction_timestamp()) * 1000000)::int8",
                &[],
            )
            .await?;
        let snapshot_xid = (row.get::<_, i64>(0) & 0xffff_ffff) as u32;
        let snapshot_time_us: i64 = row.get(1);
        if let Some(NewSnapshot {
            mut tables,
            stream_position,
        }) = new_snapshot
        {
            // Debezium's order: by schema, then table name.
            tables.sort();
            let mut plans = Vec::with_capacity(tables.len());
            for (id, oid) in &tables {
                plans.push(plan::plan_table(&planner, self.catalog, id, *oid, self.sizing).await?);
                if !state.has_snapshotted(id) {
                    state.snapshotted.push((id.schema.clone(), id.name.clone()));
                }
            }
            state.snapshot = Some(SnapshotState {
                complete: false,
                stream_position,
                tables: plans,
            });
        }
        let Some(plan) = state.snapshot.as_ref() else {
            return Ok(SnapshotEnd::Complete);
        };

        // Everything each remaining table's chunks share.
        let mut table_jobs: Vec<Option<Arc<TableJob>>> = Vec::with_capacity(plan.tables.len());
        for t in &plan.tables {
            if t.is_done() {
                table_jobs.push(None);
                continue;
            }
            let id = t.id();
            let oid: Option<u32> = planner
                .query_opt(
                    "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relname = $2",
                    &[&id.schema, &id.name],
                )
                .await?
                .map(|r| r.get(0));
            let schema = match oid {
                Some(oid) => self.catalog.table_schema_by_oid(oid).await?,
                None => None,
            };
            let Some(schema) = schema else {
                return Err(SourceError::setup(format!(
                    "table {id} disappeared before its snapshot was read: remove it from source.tables, or recreate it"
                )));
            };
            let columns: Vec<String> = schema.columns.iter().map(|c| quote_ident(&c.name)).collect();
            table_jobs.push(Some(Arc::new(TableJob {
                select: format!("SELECT {} FROM {}", columns.join(", "), quote_table(&id)),
                schema: Arc::new(schema),
                meta: SourceMeta {
                    lsn: snapshot.lsn,
                    last_commit_lsn: None,
                    txid: Some(snapshot_xid),
                    commit_time_us: snapshot_time_us,
                    snapshot: SnapshotMarker::True,
                    origin: None,
                    origin_lsn: None,
                    original: None,
                    transaction: None,
                },
            })));
        }
        drop(planner);

        let remaining: VecDeque<(usize, usize)> = plan
            .tables
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| {
                t.chunks
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.done_at.is_none())
                    .map(move |(ci, _)| (ti, ci))
            })
            .collect();
        let readers = self.parallelism.clamp(1, remaining.len().max(1));
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(readers);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let mut imports = Vec::with_capacity(readers);
        let mut reader_tasks = Vec::with_capacity(readers);
        if !remaining.is_empty() {
            for _ in 0..readers {
                let (tx, rx) = oneshot::channel();
                imports.push(rx);
                reader_tasks.push(tokio::spawn(run_reader(
                    self.connection.clone(),
                    snapshot.name.clone(),
                    tx,
                    jobs_rx.clone(),
                )));
            }
            for rx in imports {
                rx.await
                    .map_err(|_| SourceError::setup("a snapshot reader stopped while starting"))??;
            }
        }
        // Every reader holds the snapshot now; the exporting connection may go.
        drop(exporter);
        info!(snapshot = %snapshot.name, lsn = %snapshot.lsn, readers, chunks = remaining.len(), "reading the snapshot");

        let result = self
            .forward(
                &snapshot, state, table_jobs, remaining, readers, jobs_tx, out, shutdown,
            )
            .await;
        for task in reader_tasks {
            task.abort();
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &mut self,
        snapshot: &ExportedSnapshot,
        state: &mut SourceState,
        table_jobs: Vec<Option<Arc<TableJob>>>,
        mut remaining: VecDeque<(usize, usize)>,
        readers: usize,
        jobs_tx: mpsc::Sender<Job>,
        out: &mpsc::Sender<Vec<SourceItem>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<SnapshotEnd, SourceError> {
        let tables = state.snapshot.as_ref().map_or(0, |s| s.tables.len());
        let mut progress = Progress::new(tables);
        let mut in_flight: VecDeque<(usize, usize, mpsc::Receiver<ChunkMessage>)> = VecDeque::new();
        let mut batch: Vec<SourceItem> = Vec::with_capacity(ITEMS_PER_BATCH);
        // One event is held back until the next one shows whether it ended its table.
        let mut held: Option<(ChangeEvent, usize, bool)> = None;
        let mut pending_commit: Option<Position> = None;
        let mut current: Option<Forwarding> = None;

        loop {
            // Keep the readers busy: one chunk being forwarded, the others read ahead.
            while in_flight.len() < readers + 1 {
                let Some((ti, ci)) = remaining.pop_front() else {
                    break;
                };
                let Some(table) = table_jobs[ti].clone() else {
                    continue;
                };
                let plan = state.snapshot.as_ref().map(|s| &s.tables[ti]);
                let predicate =
                    plan.map_or_else(String::new, |p| plan::chunk_predicate(p, &p.chunks[ci].range));
                let (tx, rx) = mpsc::channel(CHUNK_BUFFER);
                if jobs_tx.send(Job { table, predicate, tx }).await.is_err() {
                    return Err(SourceError::setup("the snapshot readers stopped unexpectedly"));
                }
                in_flight.push_back((ti, ci, rx));
            }
            let Some((ti, ci, mut rx)) = in_flight.pop_front() else {
                break;
            };
            let Some(snap) = state.snapshot.as_ref() else {
                break;
            };
            if current.as_ref().is_none_or(|c| c.table != ti) {
                if current.is_some() {
                    progress.finish_table();
                }
                let t = &snap.tables[ti];
                progress.start_table(&t.id(), t.estimated_rows, t.rows_done);
                current = Some(Forwarding {
                    table: ti,
                    table_fresh: t.rows_done == 0,
                });
            }
            loop {
                let msg = tokio::select! {
                    biased;
                    _ = shutdown.changed() => return Ok(SnapshotEnd::Shutdown),
                    m = rx.recv() => m,
                };
                match msg {
                    Some(ChunkMessage::Rows(events)) => {
                        progress.rows(events.len() as u64);
                        for mut event in events {
                            let first_in_table = current
                                .as_mut()
                                .is_some_and(|c| std::mem::replace(&mut c.table_fresh, false));
                            // As Debezium: "first" only for the first row of the first table; if
                            // that table is empty, no row is "first".
                            let first_in_snapshot = first_in_table && ti == 0;
                            if let Some((prev, prev_table, prev_first)) = held.take() {
                                release(
                                    &mut batch,
                                    prev,
                                    prev_first,
                                    prev_table != ti,
                                    false,
                                    &mut pending_commit,
                                );
                            }
                            event.source.snapshot = if first_in_snapshot {
                                SnapshotMarker::First
                            } else {
                                SnapshotMarker::True
                            };
                            held = Some((event, ti, first_in_table && !first_in_snapshot));
                        }
                        if let Some(r) = self.send_if_full(&mut batch, out, shutdown).await {
                            return r;
                        }
                    }
                    Some(ChunkMessage::Done { rows }) => {
                        let Some(snap) = state.snapshot.as_mut() else {
                            break;
                        };
                        let t = &mut snap.tables[ti];
                        t.chunks[ci].done_at = Some(snapshot.lsn);
                        t.rows_done += rows;
                        if t.unit == ResumeUnit::Chunk || t.is_done() {
                            pending_commit = Some(position(state, snapshot.lsn));
                        }
                        break;
                    }
                    Some(ChunkMessage::Failed(e)) => return Err(e),
                    None => return Err(SourceError::setup("a snapshot reader stopped unexpectedly")),
                }
            }
            if held.is_none()
                && let Some(p) = pending_commit.take()
            {
                batch.push(SourceItem::Commit(p));
            }
        }
        drop(jobs_tx);
        if let Some(snap) = state.snapshot.as_mut() {
            snap.complete = true;
        }
        if let Some((prev, _, prev_first)) = held.take() {
            release(&mut batch, prev, prev_first, true, true, &mut pending_commit);
        }
        batch.push(SourceItem::Commit(position(state, snapshot.lsn)));
        progress.finish();
        if !batch.is_empty() {
            tokio::select! {
                biased;
                _ = shutdown.changed() => return Ok(SnapshotEnd::Shutdown),
                r = out.send(batch) => if r.is_err() { return Ok(SnapshotEnd::ConsumerGone) },
            }
        }
        Ok(SnapshotEnd::Complete)
    }

    async fn send_if_full(
        &self,
        batch: &mut Vec<SourceItem>,
        out: &mpsc::Sender<Vec<SourceItem>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Result<SnapshotEnd, SourceError>> {
        if batch.len() < ITEMS_PER_BATCH {
            return None;
        }
        let full = std::mem::replace(batch, Vec::with_capacity(ITEMS_PER_BATCH));
        tokio::select! {
            biased;
            _ = shutdown.changed() => Some(Ok(SnapshotEnd::Shutdown)),
            r = out.send(full) => r.is_err().then_some(Ok(SnapshotEnd::ConsumerGone)),
        }
    }
}

/// Emits a held-back event with its final marker (Debezium's rules: last of the snapshot, first
/// of the snapshot, last of its table, first of its table, else "true"), then any checkpoint
/// that was waiting for it.
fn release(
    batch: &mut Vec<SourceItem>,
    mut event: ChangeEvent,
    first_in_table: bool,
    last_in_table: bool,
    last_in_snapshot: bool,
    pending_commit: &mut Option<Position>,
) {
    event.source.snapshot = if last_in_snapshot {
        SnapshotMarker::Last
    } else if event.source.snapshot == SnapshotMarker::First {
        SnapshotMarker::First
    } else if last_in_table {
        SnapshotMarker::LastInDataCollection
    } else if first_in_table {
        SnapshotMarker::FirstInDataCollection
    } else {
        SnapshotMarker::True
    };
    batch.push(SourceItem::Event(event));
    if let Some(p) = pending_commit.take() {
        batch.push(SourceItem::Commit(p));
    }
}

/// Whether `position` was emitted while a snapshot was still being read (a chunk or a table of
/// it done, the rest not). The runtime records those at once rather than after `flush_interval`:
/// each one saves the chunks before it from being read and written again after a crash, and the
/// fsync it costs is spread over a whole chunk of rows.
pub fn in_progress(position: &Position) -> bool {
    // Two lookups in the shared state rather than a parse of the plan: this runs per commit.
    position
        .source_state
        .as_deref()
        .and_then(|state| state.get("snapshot")?.get("complete")?.as_bool())
        == Some(false)
}

/// The checkpoint position during a snapshot: where streaming will start (the lowest chunk LSN,
/// or the stream's own position when tables were added to a running pipeline), with the plan.
fn position(state: &SourceState, current: Lsn) -> Position {
    let lsn = state
        .snapshot
        .as_ref()
        .and_then(|s| s.stream_position.or_else(|| s.lsn_bounds().map(|(low, _)| low)))
        .unwrap_or(current);
    Position {
        lsn,
        txid: None,
        commit_time_us: None,
        source_state: Some(state.to_shared()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SnapshotState;

    fn snapshot_position(complete: bool) -> Position {
        let mut state = SourceState::new();
        state.snapshot = Some(SnapshotState {
            complete,
            stream_position: None,
            tables: Vec::new(),
        });
        position(&state, Lsn(0x10))
    }

    #[test]
    fn only_positions_of_a_running_snapshot_are_in_progress() {
        assert!(in_progress(&snapshot_position(false)));
        assert!(!in_progress(&snapshot_position(true)));
        assert!(!in_progress(&Position::at(Lsn(0x10))));
        let streaming = Position {
            source_state: Some(SourceState::new().to_shared()),
            ..Position::at(Lsn(0x20))
        };
        assert!(!in_progress(&streaming));
    }
}
