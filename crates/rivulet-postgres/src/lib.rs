//! The PostgreSQL source: a database's existing rows (snapshot) and committed changes (stream)
//! as [`rivulet_core::ChangeEvent`]s.
//!
//! ```text
//!  PostgresSource::connect              PostgresSource::run
//!  ─────────────────────────            ─────────────────────────────────────────────────────────
//!  checks (wal_level, role, tables),    [snapshot::Snapshotter: exported snapshot ─▶ COPY chunks ─▶ r events]
//!  publication, slot, and the plan ──▶  START_REPLICATION (pgoutput, proto 1) ─▶ changes::ChangeBuilder
//!  (stream / snapshot / resume)          ─▶ batches of SourceItem ─▶ runtime ─▶ acks ─▶ standby status
//! ```
//!
//! Rooms: [`config`] (the `[source]` section), [`setup`] (facts, publication, slot),
//! [`catalog`] (relation → table schema), [`snapshot`] (consistent parallel snapshots),
//! [`state`] (what a checkpoint records), [`watermark`] + [`key_order`] (the stream filter
//! after a resumed snapshot; [`refill`] reads back the TOAST values it leaves unknowable), [`changes`] (messages → events), [`stream`] (the replication
//! loop), [`monitor`] (slot health and heartbeat queries beside the stream), [`check`]
//! (`rivulet check`).

pub mod catalog;
pub mod changes;
pub mod check;
pub mod config;
pub mod error;
pub mod key_order;
pub mod monitor;
pub mod refill;
pub mod setup;
pub mod snapshot;
pub mod state;
pub mod stream;
pub mod watermark;

use std::time::Duration;

use rivulet_core::{Lsn, Op, Position, SourceItem, TableId};
use rivulet_metrics::{Health, Phase};
use rivulet_pgwire::{ConnectionConfig, ReplicationConnection, SlotSnapshot, connect_sql};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

pub use config::{PostgresSourceConfig, PublicationAutocreate, SnapshotMode, TableFilter};
pub use error::SourceError;
pub use stream::StreamEnd;

use crate::catalog::Catalog;
use crate::changes::ChangeBuilder;
use crate::setup::{TableFacts, quote_ident, quote_literal};
use crate::snapshot::{ChunkSizing, ExportedSnapshot, NewSnapshot, SnapshotEnd, Snapshotter};
use crate::state::SourceState;
use crate::watermark::SnapshotFilter;

/// How long a slot held by another connection may take to be released before we give up.
const SLOT_RELEASE_WAIT: Duration = Duration::from_secs(10);
/// A snapshot plan is saved with every checkpoint; this bounds its size.
const MAX_CHUNKS_PER_TABLE: u64 = 256;

/// Settings after defaults are applied.
#[derive(Clone, Debug)]
pub struct ResolvedSource {
    pub connection: ConnectionConfig,
    pub filter: TableFilter,
    pub slot: String,
    pub publication: String,
    /// Operations not emitted (`skipped_operations`).
    pub skipped_ops: Vec<Op>,
    pub parallelism: usize,
    pub config: PostgresSourceConfig,
}

impl ResolvedSource {
    /// Applies defaults (`rivulet_<pipeline>` for slot and publication) and validates what can
    /// be validated without a server.
    pub fn new(config: &PostgresSourceConfig, pipeline: &str) -> Result<Self, SourceError> {
        let connection = ConnectionConfig::from_url(&config.url)?;
        let filter = TableFilter::from_config(config).map_err(SourceError::Setup)?;
        let default_name = || format!("rivulet_{}", slot_safe(pipeline));
        let slot = config.slot.clone().unwrap_or_else(default_name);
        validate_slot_name(&slot)?;
        let publication = config.publication.clone().unwrap_or_else(default_name);
        let mut skipped_ops = Vec::new();
        for op in &config.skipped_operations {
            skipped_ops.push(match op.as_str() {
                "c" => Op::Create,
                "u" => Op::Update,
                "d" => Op::Delete,
                "t" => Op::Truncate,
                "none" => continue,
                other => {
                    return Err(SourceError::setup(format!(
                        "source.skipped_operations: unknown operation \"{other}\" (use \"c\", \"u\", \"d\", \"t\" or \"none\")"
                    )));
                }
            });
        }
        let interval = config.status_interval;
        if interval < Duration::from_millis(100) || interval > Duration::from_secs(10) {
            return Err(SourceError::setup(format!(
                "source.status_interval = {interval:?} is out of range: use 100ms to 10s (the server expects a status at \
                 least every wal_sender_timeout, 60 s by default)"
            )));
        }
        let parallelism = match config.snapshot_parallelism {
            Some(0) => {
                return Err(SourceError::setup(
                    "source.snapshot_parallelism must be at least 1",
                ));
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        if config.snapshot_chunk_rows == 0 {
            return Err(SourceError::setup(
                "source.snapshot_chunk_rows must be at least 1",
            ));
        }
        Ok(ResolvedSource {
            connection,
            filter,
            slot,
            publication,
            skipped_ops,
            parallelism,
            config: config.clone(),
        })
    }
}

/// Slot names may only hold lower-case letters, digits and underscores.
fn slot_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn validate_slot_name(slot: &str) -> Result<(), SourceError> {
    let ok = !slot.is_empty()
        && slot.len() <= 63
        && slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SourceError::setup(format!(
            "source.slot '{slot}' is not a valid replication slot name: use at most 63 lower-case letters, digits and underscores"
        )))
    }
}

/// What `run` does first.
enum Plan {
    /// Stream from the resume position (or the slot's).
    Stream,
    /// Read a snapshot, then stream (or stop, for `initial_only`).
    Snapshot {
        /// Set when the permanent slot was just created with an exported snapshot: no
        /// temporary slot is needed.
        exported: Option<ExportedSnapshot>,
        /// Tables to plan (a new snapshot); `None` resumes the plan in the offsets.
        plan: Option<NewSnapshot>,
        /// Start from an empty source state (a new snapshot replaces an old one).
        reset: bool,
    },
    /// `initial_only` with a complete snapshot: nothing to do.
    Nothing,
}

/// A source that is connected and set up, ready to run.
pub struct PostgresSource {
    resolved: ResolvedSource,
    catalog: Catalog,
    replication: ReplicationConnection,
    system_id: String,
    database: String,
    slot_confirmed: Option<Lsn>,
    plan: Plan,
    health: Health,
    /// Stop once every transaction committed before it is delivered (`--endpos`).
    endpos: Option<Lsn>,
}

impl PostgresSource {
    /// Connects, checks the server, creates the publication and the slot when missing, and
    /// decides from the snapshot mode and `resume` (the last checkpoint) what to do first.
    pub async fn connect(resolved: ResolvedSource, resume: Option<&Position>) -> Result<Self, SourceError> {
        let conn = &resolved.connection;
        let mode = resolved.config.snapshot;
        info!(server = %conn.redacted(), slot = %resolved.slot, publication = %resolved.publication, snapshot = %mode, "connecting");
        let client = connect_sql(conn).await?;
        let facts = setup::server_facts(&client).await?;
        if let Some(e) = setup::wal_level_error(&facts) {
            return Err(SourceError::Setup(e));
        }
        if let Some(e) = setup::replication_role_error(&facts) {
            return Err(SourceError::Setup(e));
        }
        let (tables, missing) = setup::resolve_tables(&client, &resolved.filter).await?;
        if let Some(e) = setup::missing_tables_error(&missing) {
            return Err(SourceError::Setup(e));
        }
        if mode != SnapshotMode::NoData
            && let Some(t) = tables.iter().find(|t| !t.can_select)
        {
            return Err(SourceError::setup(format!(
                "role {} cannot read {} for the snapshot: run GRANT SELECT ON {} TO {};",
                quote_ident(&facts.user),
                t.id,
                setup::quote_table(&t.id),
                quote_ident(&facts.user)
            )));
        }
        ensure_publication(&client, &resolved, &tables).await?;

        let mut replication = ReplicationConnection::connect(conn).await?;
        let system = replication.identify_system().await?;
        let state = SourceState::from_position(resume.and_then(|p| p.source_state.as_ref()))?;
        let mut slot = setup::find_slot(&client, &resolved.slot).await?;
        if let Some(s) = slot.as_mut() {
            wait_for_release(&client, &resolved.slot, s).await?;
        }
        let lost = slot
            .as_ref()
            .is_some_and(|s| s.wal_status.as_deref() == Some("lost"));
        if let Some(s) = &slot
            && !(lost && mode == SnapshotMode::WhenNeeded)
        {
            if let Some(e) = setup::slot_mismatch(&resolved.slot, s, &facts.database) {
                return Err(SourceError::Setup(e));
            }
            if let Some(pid) = s.active_pid {
                return Err(SourceError::SlotInUse(setup::slot_in_use(&resolved.slot, pid)));
            }
        }
        let gap = match (resume, slot.as_ref().and_then(|s| s.confirmed_flush)) {
            (Some(p), Some(confirmed)) => confirmed > p.lsn,
            _ => false,
        };
        let all_tables = || tables.iter().map(|t| (t.id.clone(), t.oid)).collect::<Vec<_>>();
        let slot_name = resolved.slot.clone();

        let mut exported = None;
        let plan = match mode {
            SnapshotMode::NoData => {
                if slot.is_none() {
                    create_slot(&mut replication, &facts, &slot_name, SlotSnapshot::NoExport).await?;
                }
                Plan::Stream
            }
            SnapshotMode::InitialOnly => match (resume, &state.snapshot) {
                (None, _) => Plan::Snapshot {
                    exported: None,
                    plan: Some(NewSnapshot {
                        tables: all_tables(),
                        stream_position: None,
                    }),
                    reset: true,
                },
                (Some(_), Some(s)) if !s.complete => Plan::Snapshot {
                    exported: None,
                    plan: None,
                    reset: false,
                },
                _ => Plan::Nothing,
            },
            SnapshotMode::Initial | SnapshotMode::WhenNeeded => {
                let slot_gone = slot.is_none() || lost;
                if resume.is_some() && (slot_gone || gap) {
                    if mode == SnapshotMode::Initial {
                        return Err(SourceError::setup(if slot_gone {
                            format!(
                                "replication slot '{slot_name}' {} but the offsets say the pipeline streamed from it: changes \
                                 since then are gone. Use snapshot = \"when_needed\" to take a new snapshot, or move the \
                                 offsets file away to start over",
                                if lost { "was invalidated" } else { "does not exist" }
                            )
                        } else {
                            format!(
                                "replication slot '{slot_name}' has moved past the stored offsets: the changes in between \
                                 are gone. Use snapshot = \"when_needed\" to take a new snapshot"
                            )
                        }));
                    }
                    warn!(slot = %slot_name, reason = if lost { "invalidated" } else if slot.is_none() { "missing" } else { "moved past the offsets" },
                          "the slot no longer covers the offsets: taking a new snapshot (snapshot = \"when_needed\")");
                }
                let fresh = resume.is_none() || slot_gone || gap;
                if lost {
                    client
                        .execute("SELECT pg_drop_replication_slot($1)", &[&slot_name])
                        .await?;
                    slot = None;
                }
                if fresh {
                    if slot.is_none() {
                        let created =
                            create_slot(&mut replication, &facts, &slot_name, SlotSnapshot::Export).await?;
                        exported = created.snapshot_name.map(|name| ExportedSnapshot {
                            name,
                            lsn: created.consistent_point,
                        });
                    }
                    Plan::Snapshot {
                        exported: exported.take(),
                        plan: Some(NewSnapshot {
                            tables: all_tables(),
                            stream_position: None,
                        }),
                        reset: true,
                    }
                } else if state.snapshot.as_ref().is_some_and(|s| !s.complete) {
                    Plan::Snapshot {
                        exported: None,
                        plan: None,
                        reset: false,
                    }
                } else {
                    let added: Vec<(TableId, u32)> = tables
                        .iter()
                        .filter(|t| !state.has_snapshotted(&t.id))
                        .map(|t| (t.id.clone(), t.oid))
                        .collect();
                    if added.is_empty() || state.snapshotted.is_empty() {
                        if !added.is_empty() {
                            info!(
                                "the pipeline has offsets but never took a snapshot: streaming without one (as Debezium)"
                            );
                        }
                        Plan::Stream
                    } else {
                        let names: Vec<String> = added.iter().map(|(id, _)| id.to_string()).collect();
                        info!(tables = %names.join(", "), "tables added since the last snapshot: snapshotting them before streaming on");
                        Plan::Snapshot {
                            exported: None,
                            plan: Some(NewSnapshot {
                                tables: added,
                                stream_position: resume.map(|p| p.lsn),
                            }),
                            reset: false,
                        }
                    }
                }
            }
        };
        let slot_confirmed = match &plan {
            Plan::Snapshot {
                exported: Some(e), ..
            } => Some(e.lsn),
            _ => slot.and_then(|s| s.confirmed_flush),
        };
        Ok(PostgresSource {
            resolved,
            catalog: Catalog::new(client),
            replication,
            system_id: system.system_id,
            database: facts.database,
            slot_confirmed,
            plan,
            health: Health::default(),
            endpos: None,
        })
    }

    /// Publishes the phase (snapshotting, streaming) to `health`.
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// Stops the run once every transaction committed before `endpos` is delivered.
    pub fn with_endpos(mut self, endpos: Option<Lsn>) -> Self {
        self.endpos = endpos;
        self
    }

    /// The database system identifier: LSNs only mean something on the same system.
    pub fn system_id(&self) -> &str {
        &self.system_id
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn slot(&self) -> &str {
        &self.resolved.slot
    }

    /// Snapshots (when planned), then streams changes until shutdown, `endpos`, or an error.
    /// `acks` carries the durable LSN from the runtime; it must start at the resume position.
    pub async fn run(
        mut self,
        resume: Option<Position>,
        endpos: Option<Lsn>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<StreamEnd, SourceError> {
        let mut state = SourceState::from_position(resume.as_ref().and_then(|p| p.source_state.as_ref()))?;
        let mut resume = resume;
        let (problems_tx, problems) = mpsc::channel(1);
        // Aborted when `run` returns, whichever way.
        let _monitor = monitor::SlotMonitor::new(&self.resolved, problems_tx).spawn();
        match std::mem::replace(&mut self.plan, Plan::Stream) {
            Plan::Nothing => {
                info!("the snapshot is complete already (snapshot = \"initial_only\"): nothing to do");
                return Ok(StreamEnd::SnapshotComplete);
            }
            Plan::Stream => {}
            Plan::Snapshot {
                exported,
                plan,
                reset,
            } => {
                if reset {
                    state = SourceState::new();
                }
                let (snapshot, exporter) = match exported {
                    Some(e) => (e, None),
                    None => {
                        let (e, conn) = temporary_snapshot(&self.resolved.connection).await?;
                        (e, Some(conn))
                    }
                };
                self.health.set_phase(Phase::Snapshotting);
                let sizing = ChunkSizing {
                    rows_per_chunk: self.resolved.config.snapshot_chunk_rows,
                    max_chunks: MAX_CHUNKS_PER_TABLE,
                };
                let mut snapshotter = Snapshotter {
                    connection: &self.resolved.connection,
                    catalog: &mut self.catalog,
                    parallelism: self.resolved.parallelism,
                    sizing,
                };
                match snapshotter
                    .run(snapshot, exporter, &mut state, plan, &out, &mut shutdown)
                    .await?
                {
                    SnapshotEnd::Complete => {}
                    SnapshotEnd::Shutdown => return Ok(StreamEnd::Shutdown),
                    SnapshotEnd::ConsumerGone => return Ok(StreamEnd::ConsumerGone),
                }
                if self.resolved.config.snapshot == SnapshotMode::InitialOnly {
                    return Ok(StreamEnd::SnapshotComplete);
                }
                let lsn = state
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.stream_position.or_else(|| s.lsn_bounds().map(|(low, _)| low)))
                    .unwrap_or(Lsn::ZERO);
                resume = Some(Position {
                    lsn,
                    txid: None,
                    commit_time_us: None,
                    source_state: None,
                });
            }
        }
        self.stream(resume, state, endpos, out, acks, shutdown, problems)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream(
        self,
        resume: Option<Position>,
        state: SourceState,
        endpos: Option<Lsn>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
        problems: mpsc::Receiver<SourceError>,
    ) -> Result<StreamEnd, SourceError> {
        let slot = &self.resolved.slot;
        if let (Some(resume), Some(confirmed)) = (&resume, self.slot_confirmed)
            && confirmed > resume.lsn
        {
            return Err(SourceError::setup(format!(
                "replication slot '{slot}' has moved past the stored offsets ({confirmed} > {}): the changes in \
                 between are no longer available. If that gap is acceptable, delete the offsets file to continue from the \
                 slot's position; otherwise start over with a new slot (or use snapshot = \"when_needed\")",
                resume.lsn
            )));
        }
        let start = resume
            .as_ref()
            .map_or(self.slot_confirmed.unwrap_or(Lsn::ZERO), |p| p.lsn);
        let publication_names = format!("\"{}\"", self.resolved.publication.replace('"', "\"\""));
        let options = [
            ("proto_version", "1"),
            ("publication_names", publication_names.as_str()),
            ("messages", "true"),
        ];
        info!(%slot, %start, "starting replication");
        let stream = self
            .replication
            .start_logical_replication(slot, start, &options)
            .await?;
        self.health.set_phase(Phase::Streaming);
        let skip_below = resume.as_ref().map_or(Lsn::ZERO, |p| p.lsn);
        let flushed = resume.as_ref().map_or(start, |p| p.lsn);

        // After a snapshot, commits carry the snapshotted tables (and, while some chunks are
        // newer than the stream, their watermarks).
        let filter = state
            .snapshot
            .as_ref()
            .and_then(|s| SnapshotFilter::new(s, skip_below));
        let settled = (!state.snapshotted.is_empty()).then(|| {
            let mut s = state.clone();
            s.snapshot = None;
            s.to_shared()
        });
        let while_filtering = filter.as_ref().map(|_| state.to_shared());
        if let Some(f) = &filter {
            info!(until = %f.until(), "filtering changes already contained in a resumed snapshot");
        }
        let builder = ChangeBuilder::new(
            self.resolved.filter.clone(),
            self.resolved.skipped_ops.clone(),
            skip_below,
            resume.map(|p| p.lsn),
        )
        .with_snapshot(filter, while_filtering, settled)
        .with_transaction_metadata(self.resolved.config.provide_transaction_metadata);
        let streaming = stream::StreamLoop {
            stream,
            catalog: self.catalog,
            builder,
            out,
            acks,
            shutdown,
            status_interval: self.resolved.config.status_interval,
            heartbeat_interval: Some(self.resolved.config.heartbeat_interval).filter(|d| !d.is_zero()),
            heartbeat_records: self.resolved.config.heartbeat_records,
            endpos,
            received: start,
            flushed,
            emitted: flushed,
            problems,
        };
        streaming.run().await
    }
}

/// The slot as the server sees it now (`rivulet status`), or `None` when it does not exist.
pub async fn current_slot(resolved: &ResolvedSource) -> Result<Option<setup::SlotFacts>, SourceError> {
    let client = connect_sql(&resolved.connection).await?;
    setup::find_slot(&client, &resolved.slot).await
}

async fn ensure_publication(
    client: &tokio_postgres::Client,
    resolved: &ResolvedSource,
    tables: &[TableFacts],
) -> Result<(), SourceError> {
    match setup::find_publication(client, &resolved.publication).await? {
        Some(publication) => {
            if let Some(e) = setup::publication_gaps(&resolved.publication, &publication, tables) {
                return Err(SourceError::Setup(e));
            }
            for op in ["insert", "update", "delete", "truncate"] {
                if !publication.publishes.contains(&op) {
                    warn!(publication = %resolved.publication, "the publication does not publish {op}s: they will not be captured");
                }
            }
            for t in tables.iter().filter(|t| t.lacks_replica_identity()) {
                warn!(table = %t.id, "no primary key and no replica identity: its UPDATEs and DELETEs fail at the source \
                      while it is published; fix: {}", t.replica_identity_fix());
            }
        }
        None => {
            let sql = match resolved.config.publication_autocreate {
                PublicationAutocreate::Disabled => {
                    return Err(SourceError::setup(format!(
                        "publication {} does not exist and publication_autocreate = \"disabled\": create it \
                         ({}), or let Rivulet create it",
                        quote_ident(&resolved.publication),
                        setup::create_publication_sql(&resolved.publication, &resolved.filter, tables)
                    )));
                }
                PublicationAutocreate::AllTables => {
                    format!(
                        "CREATE PUBLICATION {} FOR ALL TABLES",
                        quote_ident(&resolved.publication)
                    )
                }
                PublicationAutocreate::NoTables => {
                    format!("CREATE PUBLICATION {}", quote_ident(&resolved.publication))
                }
                PublicationAutocreate::Filtered => {
                    // Adding such a table to a publication would make the application's UPDATEs
                    // and DELETEs on it fail, so refuse rather than break the source database.
                    if let Some(t) = tables.iter().find(|t| t.lacks_replica_identity()) {
                        return Err(SourceError::setup(format!(
                            "table {} has no primary key and REPLICA IDENTITY {}: once published, its UPDATEs and \
                             DELETEs would fail. Run {} then start again",
                            t.id,
                            if t.replica_identity == 'n' {
                                "NOTHING"
                            } else {
                                "DEFAULT"
                            },
                            t.replica_identity_fix()
                        )));
                    }
                    setup::create_publication_sql(&resolved.publication, &resolved.filter, tables)
                }
            };
            client.batch_execute(&sql).await.map_err(|e| {
                SourceError::setup(format!(
                    "cannot create publication {}: {} (run `{sql}` as the tables' owner or a superuser, then start again)",
                    quote_ident(&resolved.publication),
                    rivulet_pgwire::PgError::from(e)
                ))
            })?;
            info!(publication = %resolved.publication, %sql, "created publication");
        }
    }
    Ok(())
}

/// Right after a crash the server may not have noticed yet that the previous connection is
/// gone; give it a moment before calling the slot busy.
async fn wait_for_release(
    client: &tokio_postgres::Client,
    name: &str,
    slot: &mut setup::SlotFacts,
) -> Result<(), SourceError> {
    let deadline = tokio::time::Instant::now() + SLOT_RELEASE_WAIT;
    while let Some(pid) = slot.active_pid {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        info!(slot = %name, pid, "the slot is in use; waiting for it to be released");
        tokio::time::sleep(Duration::from_millis(250)).await;
        match setup::find_slot(client, name).await? {
            Some(s) => *slot = s,
            None => break,
        }
    }
    Ok(())
}

async fn create_slot(
    replication: &mut ReplicationConnection,
    facts: &setup::ServerFacts,
    name: &str,
    snapshot: SlotSnapshot,
) -> Result<rivulet_pgwire::CreatedSlot, SourceError> {
    if facts.used_replication_slots >= facts.max_replication_slots {
        return Err(SourceError::setup(format!(
            "cannot create replication slot {}: all {} slots are in use (max_replication_slots). Drop an unused \
             slot or raise max_replication_slots and restart PostgreSQL",
            quote_literal(name),
            facts.max_replication_slots
        )));
    }
    let created = replication
        .create_logical_slot(name, "pgoutput", false, snapshot)
        .await?;
    info!(slot = %name, consistent_point = %created.consistent_point, "created replication slot");
    Ok(created)
}

/// An exported snapshot from a temporary slot, for snapshots that cannot come from the
/// permanent slot's creation (resumed, or added tables, or an existing slot). The connection
/// must stay open until every reader has imported the snapshot; the slot goes with it.
async fn temporary_snapshot(
    connection: &ConnectionConfig,
) -> Result<(ExportedSnapshot, ReplicationConnection), SourceError> {
    let mut conn = ReplicationConnection::connect(connection).await?;
    let name = format!("rivulet_snapshot_{}", std::process::id());
    let created = conn.create_logical_slot(&name, "pgoutput", true, SlotSnapshot::Export).await.map_err(|e| {
        SourceError::setup(format!(
            "cannot create the temporary replication slot a snapshot needs: {e} (a snapshot of an existing slot needs one \
             free replication slot while it starts)"
        ))
    })?;
    let snapshot_name = created
        .snapshot_name
        .ok_or_else(|| SourceError::setup("the server exported no snapshot for the temporary slot"))?;
    Ok((
        ExportedSnapshot {
            name: snapshot_name,
            lsn: created.consistent_point,
        },
        conn,
    ))
}

#[async_trait::async_trait]
impl rivulet_core::Source for PostgresSource {
    fn source_id(&self) -> &str {
        self.system_id()
    }

    fn source_detail(&self) -> &str {
        self.slot()
    }

    fn in_snapshot(&self) -> rivulet_core::InSnapshot {
        snapshot::in_progress
    }

    async fn run(
        self: Box<Self>,
        resume: Option<Position>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<rivulet_core::SourceEnd, rivulet_core::SourceError> {
        let endpos = self.endpos;
        Ok(PostgresSource::run(*self, resume, endpos, out, acks, shutdown).await?)
    }
}

impl From<SourceError> for rivulet_core::SourceError {
    fn from(e: SourceError) -> Self {
        rivulet_core::SourceError::from_cause(rivulet_core::ErrorKind::transient_if(e.is_transient()), e)
    }
}
