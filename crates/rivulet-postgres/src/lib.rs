//! The PostgreSQL source: streams a database's committed changes as [`rivulet_core::ChangeEvent`]s.
//!
//! ```text
//!  PostgresSource::connect          PostgresSource::stream
//!  ───────────────────────          ───────────────────────────────────────────────────────────
//!  checks (wal_level, role,   ──▶   START_REPLICATION (pgoutput, proto 1) ─▶ changes::ChangeBuilder
//!  tables), publication,            ─▶ batches of SourceItem ─▶ runtime ─▶ acks ─▶ standby status
//!  slot (created if missing)        (catalog lookups on RELATION messages)
//! ```
//!
//! Rooms: [`config`] (the `[source]` section), [`setup`] (facts, publication, slot),
//! [`catalog`] (relation → table schema), [`changes`] (messages → events), [`stream`] (the
//! replication loop), [`check`] (`rivulet check`).

pub mod catalog;
pub mod changes;
pub mod check;
pub mod config;
pub mod error;
pub mod setup;
pub mod stream;

use rivulet_core::{Lsn, Op, Position, SourceItem};
use rivulet_pgwire::{ConnectionConfig, ReplicationConnection, SlotSnapshot, connect_sql};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

pub use config::{PostgresSourceConfig, SnapshotMode, TableFilter};
pub use error::SourceError;
pub use stream::StreamEnd;

use crate::catalog::Catalog;
use crate::changes::ChangeBuilder;
use crate::setup::{quote_ident, quote_literal};

/// How long a slot held by another connection may take to be released before we give up.
const SLOT_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Settings after defaults are applied.
#[derive(Clone, Debug)]
pub struct ResolvedSource {
    pub connection: ConnectionConfig,
    pub filter: TableFilter,
    pub slot: String,
    pub publication: String,
    /// Operations not emitted (`skipped_operations`).
    pub skipped_ops: Vec<Op>,
    pub config: PostgresSourceConfig,
}

impl ResolvedSource {
    /// Applies defaults (`rivulet_<pipeline>` for slot and publication) and validates what can
    /// be validated without a server.
    pub fn new(config: &PostgresSourceConfig, pipeline: &str) -> Result<Self, SourceError> {
        if config.snapshot != SnapshotMode::NoData {
            return Err(SourceError::setup(format!(
                "source.snapshot = \"{}\" is not available in this version: it streams changes from the slot only \
                 (snapshot = \"no_data\"); rows that existed before the slot are not read",
                config.snapshot
            )));
        }
        let connection = ConnectionConfig::from_url(&config.url)?;
        let filter = TableFilter::parse(&config.tables).map_err(SourceError::Setup)?;
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
        if interval < std::time::Duration::from_millis(100) || interval > std::time::Duration::from_secs(10) {
            return Err(SourceError::setup(format!(
                "source.status_interval = {interval:?} is out of range: use 100ms to 10s (the server expects a status at \
                 least every wal_sender_timeout, 60 s by default)"
            )));
        }
        Ok(ResolvedSource {
            connection,
            filter,
            slot,
            publication,
            skipped_ops,
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

/// A source that is connected and set up, ready to stream.
pub struct PostgresSource {
    resolved: ResolvedSource,
    catalog: Catalog,
    replication: ReplicationConnection,
    system_id: String,
    database: String,
    slot_confirmed: Option<Lsn>,
}

impl PostgresSource {
    /// Connects, checks the server, creates the publication and the slot when missing.
    pub async fn connect(resolved: ResolvedSource) -> Result<Self, SourceError> {
        let conn = &resolved.connection;
        info!(server = %conn.redacted(), slot = %resolved.slot, publication = %resolved.publication, "connecting");
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

        match setup::find_publication(&client, &resolved.publication).await? {
            Some(publication) => {
                if let Some(e) = setup::publication_gaps(&resolved.publication, &publication, &tables) {
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
                // Adding such a table to a publication would make the application's UPDATEs and
                // DELETEs on it fail, so refuse rather than break the source database.
                if let Some(t) = tables.iter().find(|t| t.lacks_replica_identity()) {
                    return Err(SourceError::setup(format!(
                        "table {} has no primary key and REPLICA IDENTITY {}: once published, its UPDATEs and DELETEs \
                         would fail. Run {} then start again",
                        t.id,
                        if t.replica_identity == 'n' {
                            "NOTHING"
                        } else {
                            "DEFAULT"
                        },
                        t.replica_identity_fix()
                    )));
                }
                let sql = setup::create_publication_sql(&resolved.publication, &resolved.filter, &tables);
                client.batch_execute(&sql).await.map_err(|e| {
                    SourceError::setup(format!(
                        "cannot create publication {}: {} (run `{sql}` as the tables' owner or a superuser, then start again)",
                        quote_ident(&resolved.publication),
                        rivulet_pgwire::PgError::from(e)
                    ))
                })?;
                info!(publication = %resolved.publication, "created publication");
            }
        }

        let mut replication = ReplicationConnection::connect(conn).await?;
        let system = replication.identify_system().await?;
        let slot_confirmed = match setup::find_slot(&client, &resolved.slot).await? {
            Some(mut slot) => {
                // Right after a crash the server may not have noticed yet that the previous
                // connection is gone; give it a moment before calling the slot busy.
                let deadline = tokio::time::Instant::now() + SLOT_RELEASE_WAIT;
                while let Some(pid) = slot.active_pid {
                    if tokio::time::Instant::now() >= deadline {
                        break;
                    }
                    info!(slot = %resolved.slot, pid, "the slot is in use; waiting for it to be released");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    match setup::find_slot(&client, &resolved.slot).await? {
                        Some(s) => slot = s,
                        None => break,
                    }
                }
                if let Some(e) = setup::slot_problem(&resolved.slot, &slot, &facts.database) {
                    return Err(SourceError::Setup(e));
                }
                slot.confirmed_flush
            }
            None => {
                if facts.used_replication_slots >= facts.max_replication_slots {
                    return Err(SourceError::setup(format!(
                        "cannot create replication slot {}: all {} slots are in use (max_replication_slots). Drop an unused \
                         slot or raise max_replication_slots and restart PostgreSQL",
                        quote_literal(&resolved.slot),
                        facts.max_replication_slots
                    )));
                }
                let created = replication
                    .create_logical_slot(&resolved.slot, "pgoutput", false, SlotSnapshot::NoExport)
                    .await?;
                info!(slot = %resolved.slot, consistent_point = %created.consistent_point, "created replication slot");
                Some(created.consistent_point)
            }
        };
        Ok(PostgresSource {
            resolved,
            catalog: Catalog::new(client),
            replication,
            system_id: system.system_id,
            database: facts.database,
            slot_confirmed,
        })
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

    /// Streams changes after `resume` (or from the slot's position) until shutdown, `endpos`,
    /// or an error. `acks` carries the durable LSN from the runtime; it must start at the
    /// resume position.
    pub async fn stream(
        self,
        resume: Option<Position>,
        endpos: Option<Lsn>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Lsn>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<StreamEnd, SourceError> {
        let slot = &self.resolved.slot;
        if let (Some(resume), Some(confirmed)) = (&resume, self.slot_confirmed)
            && confirmed > resume.lsn
        {
            return Err(SourceError::setup(format!(
                "replication slot '{slot}' has moved past the stored offsets ({confirmed} > {}): the changes in \
                 between are no longer available. If that gap is acceptable, delete the offsets file to continue from the \
                 slot's position; otherwise start over with a new slot",
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
        let skip_below = resume.as_ref().map_or(Lsn::ZERO, |p| p.lsn);
        let flushed = resume.as_ref().map_or(start, |p| p.lsn);
        let streaming = stream::StreamLoop {
            stream,
            catalog: self.catalog,
            builder: ChangeBuilder::new(
                self.resolved.filter.clone(),
                self.resolved.skipped_ops.clone(),
                skip_below,
                resume.map(|p| p.lsn),
            ),
            out,
            acks,
            shutdown,
            status_interval: self.resolved.config.status_interval,
            endpos,
            received: start,
            flushed,
        };
        streaming.run().await
    }
}
