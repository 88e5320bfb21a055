//! The PostgreSQL replica sink: the source's tables, kept in another PostgreSQL database,
//! exactly once.
//!
//! ```text
//!  write(events) ─▶ Batch (per table: snapshot rows, net change per key, history rows)
//!  flush(pos)    ─▶ BEGIN ─▶ create/evolve target tables ─▶ COPY + set-based statements
//!                        ─▶ UPSERT rivulet_offsets (pipeline, pos) ─▶ COMMIT
//!  open()        ─▶ the position in rivulet_offsets: it wins over the runtime's offsets store
//! ```
//!
//! Exactly once comes from the offsets living in the target, written by the same transaction
//! as the rows: after a crash the target holds either the whole batch and its position or
//! neither, and the pipeline resumes from the position the target has. A failed connection
//! during a flush is retried with backoff while the pipeline waits (nothing is acknowledged);
//! if the COMMIT's outcome is unknown, the stored position tells whether it happened.

mod apply;
mod batch;
mod ddl;
mod error;
mod text;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use rivulet_core::{ChangeEvent, ErrorKind, Position, Sink, SinkError, TableId};
use rivulet_pgwire::{ConnectionConfig, connect_sql};
use serde::Deserialize;
use tokio_postgres::Client;
use tracing::{info, warn};

use crate::apply::{Applier, ApplyError, TableCache};
use crate::batch::Batch;
use crate::error::{SinkResult, definite, pg_error, query_error};

/// `[sink]` settings for `type = "postgres"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSinkConfig {
    /// The target database, `postgres://user:password@host:port/db?sslmode=…`.
    pub url: String,
    /// The schema the target tables live in; default: the source table's schema. The
    /// `rivulet_offsets` table lives here too (default `public`).
    #[serde(default)]
    pub schema: Option<String>,
    /// The target table's name; `{table}` and `{schema}` stand for the source table's.
    #[serde(default = "default_table_name")]
    pub table_name: String,
    /// `mirror` (default) or `history`.
    #[serde(default)]
    pub mode: Mode,
}

fn default_table_name() -> String {
    "{table}".to_string()
}

/// What the target tables hold.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The source rows as they are now.
    #[default]
    Mirror,
    /// Every change as an appended row with `_cdc_op`, `_cdc_lsn`, `_cdc_commit_ts`, `_cdc_txid`.
    History,
}

/// The name of the table holding each pipeline's position.
const OFFSETS_TABLE: &str = "rivulet_offsets";
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Attempts at one flush before the failure goes to the runtime, which restarts the pipeline
/// from the target's position (with its own backoff, and answering a shutdown meanwhile).
const FLUSH_ATTEMPTS: u32 = 6;
/// A batch holding more than this is applied early, inside the transaction the next flush
/// commits: memory stays bounded however large a source transaction is.
const SPILL_BYTES: usize = 64 << 20;

pub struct PostgresSink {
    config: PostgresSinkConfig,
    connection: ConnectionConfig,
    pipeline: String,
    client: Option<Client>,
    batch: Batch,
    tables: TableCache,
    snapshot_direct: HashMap<TableId, bool>,
    /// A target transaction is open: part of the batch was applied early to bound memory.
    in_transaction: bool,
    /// `tables` as of the last commit, to go back to if the open transaction fails.
    committed_tables: TableCache,
    stage_counter: usize,
    /// `"schema"."rivulet_offsets"`.
    offsets_table: String,
}

/// What `flush` returns for the runtime's offsets store: only a marker that this sink wrote the
/// position into the target (the target's copy is the one that counts).
#[derive(serde::Serialize, Deserialize)]
struct State {
    postgres_sink: String,
}

pub(crate) use rivulet_pgwire::quote_ident;

pub(crate) fn target_name(template: &str, id: &TableId) -> String {
    template
        .replace("{schema}", &id.schema)
        .replace("{table}", &id.name)
}

impl PostgresSink {
    /// Checks the settings; nothing is contacted until [`Sink::open`].
    pub fn new(config: &PostgresSinkConfig, pipeline: &str) -> SinkResult<Self> {
        let mut connection =
            ConnectionConfig::from_url(&config.url).map_err(|e| definite(format!("sink.url: {e}")))?;
        if connection.application_name == "rivulet" {
            connection.application_name = "rivulet-sink".to_string();
        }
        if !config.table_name.contains("{table}") {
            return Err(definite(format!(
                "sink.table_name = \"{}\" must contain {{table}} (the source table's name), e.g. \"{{table}}_cdc\", so \
                 that every source table has its own target table",
                config.table_name
            )));
        }
        if config.schema.as_deref() == Some("") {
            return Err(definite(
                "sink.schema is empty: leave it out to use the source table's schema",
            ));
        }
        let offsets_schema = config.schema.as_deref().unwrap_or("public");
        Ok(PostgresSink {
            config: config.clone(),
            offsets_table: format!("{}.{OFFSETS_TABLE}", quote_ident(offsets_schema)),
            connection,
            pipeline: pipeline.to_string(),
            client: None,
            batch: Batch::default(),
            tables: TableCache::new(),
            snapshot_direct: HashMap::new(),
            in_transaction: false,
            committed_tables: TableCache::new(),
            stage_counter: 0,
        })
    }

    async fn connect(&self) -> SinkResult<Client> {
        connect_sql(&self.connection).await.map_err(|e| {
            pg_error(
                &format!(
                    "cannot connect to the target database {}",
                    self.connection.redacted()
                ),
                e,
            )
        })
    }

    async fn client(&mut self) -> SinkResult<&Client> {
        if self.client.is_none() {
            self.client = Some(self.connect().await?);
        }
        self.client
            .as_ref()
            .ok_or_else(|| definite("internal: no target connection"))
    }

    /// Creates `rivulet_offsets` if needed and reads this pipeline's position from it.
    async fn stored_position(&mut self) -> SinkResult<Option<serde_json::Value>> {
        let table = self.offsets_table.clone();
        let pipeline = self.pipeline.clone();
        let schema = self.config.schema.clone().unwrap_or_else(|| "public".to_string());
        let client = self.client().await?;
        let exists: Option<u32> = client
            .query_one("SELECT to_regclass($1)::oid", &[&table])
            .await
            .map_err(|e| query_error("cannot look up the offsets table", e))?
            .get(0);
        if exists.is_none() {
            let schema_exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                    &[&schema],
                )
                .await
                .map_err(|e| query_error("cannot look up the target schema", e))?
                .get(0);
            let create_schema = if schema_exists {
                String::new()
            } else {
                format!("CREATE SCHEMA IF NOT EXISTS {};", quote_ident(&schema))
            };
            client
                .batch_execute(&format!(
                    "{create_schema} CREATE TABLE IF NOT EXISTS {table} (pipeline text PRIMARY KEY, position jsonb NOT NULL, \
                     updated_at timestamptz NOT NULL DEFAULT now())"
                ))
                .await
                .map_err(|e| query_error(&format!("cannot create the offsets table {table} in the target"), e))?;
        }
        let row = client
            .query_opt(
                &format!("SELECT position::text FROM {table} WHERE pipeline = $1"),
                &[&pipeline],
            )
            .await
            .map_err(|e| query_error(&format!("cannot read {table} in the target"), e))?;
        row.map(|r| {
            let text: String = r.get(0);
            serde_json::from_str(&text).map_err(|e| {
                definite(format!(
                    "the position stored in {table} for pipeline {pipeline} is not valid ({e}): delete that row to \
                     start over"
                ))
            })
        })
        .transpose()
    }

    /// Applies the batch so far inside the open target transaction (starting one if needed).
    /// On failure the transaction is rolled back and the caches of this attempt dropped.
    async fn apply_batch(&mut self) -> Result<(), ApplyError> {
        if self.client.is_none() {
            self.client = Some(self.connect().await?);
        }
        let Some(client) = self.client.as_ref() else {
            return Err(definite("internal: no target connection").into());
        };
        if !self.in_transaction {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| query_error("cannot start a transaction in the target", e))?;
            self.in_transaction = true;
            self.committed_tables = self.tables.clone();
        }
        let mut applier = Applier {
            client,
            mode: self.config.mode,
            target_schema: self.config.schema.as_deref(),
            table_name: &self.config.table_name,
            snapshot_direct: &mut self.snapshot_direct,
            tables: &mut self.tables,
            stage_counter: self.stage_counter,
            scratch: String::new(),
        };
        let applied = applier.apply(&self.batch.segments).await;
        self.stage_counter = applier.stage_counter;
        if applied.is_err() {
            self.rollback().await;
        }
        applied
    }

    /// Ends the open transaction without keeping anything; forgets what it did to the tables.
    async fn rollback(&mut self) {
        if let Some(client) = &self.client
            && client.batch_execute("ROLLBACK").await.is_err()
        {
            self.client = None;
        }
        if self.in_transaction {
            self.tables = std::mem::take(&mut self.committed_tables);
        }
        self.in_transaction = false;
    }

    /// Applies the rest of the batch, records `position` and commits.
    async fn try_flush(&mut self, position: &serde_json::Value) -> Result<(), ApplyError> {
        self.apply_batch().await?;
        let Some(client) = self.client.as_ref() else {
            return Err(definite("internal: no target connection").into());
        };
        let recorded = record_and_commit(client, &self.offsets_table, &self.pipeline, position).await;
        match recorded {
            Ok(()) => {
                self.in_transaction = false;
                self.committed_tables.clear();
                Ok(())
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }
}

async fn record_and_commit(
    client: &Client,
    table: &str,
    pipeline: &str,
    position: &serde_json::Value,
) -> Result<(), ApplyError> {
    let text = position.to_string();
    client
        .execute(
            &format!(
                "INSERT INTO {table} (pipeline, position) VALUES ($1, $2::text::jsonb) ON CONFLICT (pipeline) \
                 DO UPDATE SET position = EXCLUDED.position, updated_at = now()"
            ),
            &[&pipeline, &text],
        )
        .await
        .map_err(|e| query_error(&format!("cannot record the position in {table}"), e))?;
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| query_error("cannot commit the batch in the target", e))?;
    Ok(())
}

#[async_trait]
impl Sink for PostgresSink {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        self.batch.clear();
        self.rollback().await;
        self.tables.clear();
        self.snapshot_direct.clear();
        let ours = state
            .and_then(|s| serde_json::from_value::<State>(s).ok())
            .is_some();
        let stored = self.stored_position().await?;
        let Some(stored) = stored else {
            if ours {
                return Err(definite(format!(
                    "the offsets say this pipeline already wrote to the target database, but {} has no row for \
                     pipeline \"{}\": the target was reset. Move the pipeline's offsets away to start over (with \
                     a new snapshot), or restore the target",
                    self.offsets_table, self.pipeline
                )));
            }
            info!(target = %self.connection.redacted(), "no position in the target yet");
            return Ok(None);
        };
        let position: Position = serde_json::from_value(stored).map_err(|e| {
            definite(format!(
                "the position stored in {} for pipeline {} is not valid ({e}): delete that row to start over",
                self.offsets_table, self.pipeline
            ))
        })?;
        info!(position = %position.lsn, target = %self.connection.redacted(), "resuming from the position stored in the target");
        Ok(Some(position))
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        for event in events {
            self.batch.add(event, self.config.mode)?;
        }
        if self.batch.bytes > SPILL_BYTES {
            info!(
                events = self.batch.events,
                "a large batch: applying its first part now, in the transaction the next checkpoint commits"
            );
            match self.apply_batch().await {
                Ok(()) => self.batch.clear(),
                // The part applied earlier is gone with the transaction: only a restart from the
                // target's position can deliver it again. A transient error makes the runtime
                // do just that.
                Err(ApplyError::SnapshotConflict(table)) => {
                    self.snapshot_direct.insert(table.clone(), false);
                    return Err(SinkError::transient(format!(
                        "snapshot rows of {table} already exist in the target: restarting to upsert them"
                    )));
                }
                Err(ApplyError::Failed(e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        let position_json = serde_json::to_value(position)
            .map_err(|e| definite(format!("internal: cannot serialize the position: {e}")))?;
        let mut delay = RETRY_FIRST;
        let mut attempts = 0;
        // Part of the batch went into the open transaction already; if it fails, only a restart
        // from the target's position can deliver that part again.
        let spilled = self.in_transaction;
        // After a lost connection the COMMIT may have happened: the stored position says.
        let mut uncertain = false;
        loop {
            attempts += 1;
            if uncertain {
                match self.stored_position().await {
                    Ok(Some(stored)) if stored == position_json => break,
                    Ok(_) => uncertain = false,
                    Err(e) if e.kind == ErrorKind::Transient && attempts < FLUSH_ATTEMPTS => {
                        warn!(error = %e, retry_in = ?delay, "the target database is still unavailable; the pipeline waits (nothing is acknowledged meanwhile)");
                        self.client = None;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(RETRY_MAX);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            match self.try_flush(&position_json).await {
                Ok(()) => break,
                Err(ApplyError::SnapshotConflict(table)) if !spilled => {
                    info!(%table, "snapshot rows already exist in the target table: applying them as upserts");
                    self.snapshot_direct.insert(table, false);
                }
                Err(ApplyError::SnapshotConflict(table)) => {
                    self.snapshot_direct.insert(table.clone(), false);
                    return Err(SinkError::transient(format!(
                        "snapshot rows of {table} already exist in the target: restarting to upsert them"
                    )));
                }
                Err(ApplyError::Failed(e))
                    if e.kind == ErrorKind::Transient && attempts < FLUSH_ATTEMPTS && !spilled =>
                {
                    warn!(error = %e, retry_in = ?delay, "the target database failed; the pipeline waits and retries (nothing is acknowledged meanwhile)");
                    self.client = None;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                    uncertain = true;
                }
                Err(ApplyError::Failed(e)) => return Err(e),
            }
        }
        if !self.batch.is_empty() {
            tracing::debug!(
                events = self.batch.events,
                bytes = self.batch.bytes,
                "applied a batch to the target"
            );
        }
        self.batch.clear();
        serde_json::to_value(State {
            postgres_sink: self.offsets_table.clone(),
        })
        .map_err(|e| definite(format!("internal: {e}")))
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        self.batch.clear();
        self.client = None;
        Ok(())
    }
}
