//! The Delta Lake sink: one Delta table per source table, kept equal to it by MERGE (`mirror`)
//! or holding every change (`append`), with the change data feed on, exactly once.
//!
//! ```text
//!  write(events) ─▶ per table: MirrorChanges (collapsed per key) | changelog batches
//!                   (changes of source transactions a table already holds are skipped)
//!  flush(pos)    ─▶ per table touched: [create / add columns] ─▶ MERGE or append, one commit
//!                   carrying txn{appId: pipeline, version: flush counter} + commitInfo.rivulet
//!                   (the flush record: counter, position, previous position, tables)
//!  open()        ─▶ read each table's last flush record back from the log:
//!                   resume from the newest flush that reached every table it touched
//! ```
//!
//! Why this is exactly once: a table's last flush record names the source position it holds.
//! After a crash the source replays from a position no later than any table's, and a change is
//! skipped for a table whose position already covers it ([`rivulet_core::Reach`]: for the WAL,
//! the change's transaction ended before the position; for Kafka, the record's offset is below
//! the position's next offset of its partition). Snapshot rows have no place in that order;
//! re-delivered snapshot rows are idempotent upserts in mirror mode. The txn version only has
//! to grow: it is the flush counter (tables a release wrote LSNs into continue above them).

mod backfill;
mod changes;
mod durable;
mod errors;
pub mod housekeeping;
mod moved;
mod table;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use async_trait::async_trait;
use deltalake::arrow::array::RecordBatch;
use rivulet_arrow::{ArrowOptions, BatchBuilder};
use rivulet_core::{Change, ChangeEvent, Position, Sink, SinkError, TableId, TableSchema};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use url::Url;

use crate::changes::MirrorChanges;
use crate::table::{CreateSettings, FlushRecord, TargetTable};

pub use crate::table::{FLUSH_RECORD_KEY, FlushRecord as DeltaFlushRecord};

/// `[sink]` settings for `type = "delta"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSinkConfig {
    /// Where the tables live: a local directory or `s3://bucket/prefix`.
    pub url: String,
    /// Each source table's Delta table, under `url`: `{schema}` and `{table}` are replaced.
    #[serde(default = "default_table_template")]
    pub table_template: String,
    #[serde(default)]
    pub mode: DeltaMode,
    /// Partition columns for new tables (every table must have them).
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// `delta.enableChangeDataFeed` for new tables.
    #[serde(default = "default_true")]
    pub change_data_feed: bool,
    /// `delta.checkpointInterval` for new tables: a log checkpoint every this many commits.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: u64,
    // S3 settings for `s3://` URLs: the same keys and meanings as the files sink's. Unset
    // credentials come from the standard AWS_* environment variables.
    /// The endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    /// Path-style requests (`endpoint/bucket/key`), which MinIO-like stores need.
    #[serde(default)]
    pub path_style: bool,
}

/// A value that never reaches logs or errors, even through a debug print of the config.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeltaMode {
    /// The table equals the source table (MERGE on the primary key).
    #[default]
    Mirror,
    /// Every change is a row, with `_cdc_operation`, `_cdc_timestamp`, `_cdc_lsn`, `_cdc_txid`.
    Append,
}

fn default_table_template() -> String {
    "{schema}.{table}".into()
}

fn default_true() -> bool {
    true
}

fn default_checkpoint_interval() -> u64 {
    10
}

impl DeltaSinkConfig {
    /// Checks what can be checked without touching storage.
    pub fn validate(&self) -> Result<(), String> {
        self.root_url()?;
        let rest = self.table_template.replace("{schema}", "").replace("{table}", "");
        if rest.contains('{') || rest.contains('}') {
            return Err(format!(
                "table_template \"{}\" has an unknown placeholder: only {{schema}} and {{table}} exist",
                self.table_template
            ));
        }
        if !self.table_template.contains("{table}") {
            return Err(format!(
                "table_template \"{}\" must contain {{table}}, or every table would share one Delta table",
                self.table_template
            ));
        }
        if self.table_template.contains('/') {
            return Err("table_template must not contain '/': each table is one directory under url".into());
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(format!(
                "endpoint \"{endpoint}\" must start with http:// or https://"
            ));
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(
                "set both access_key_id and secret_access_key, or neither (then the AWS_* environment \
                        variables are used)"
                    .into(),
            );
        }
        if (self.endpoint.is_some() || self.access_key_id.is_some()) && !self.url.starts_with("s3") {
            return Err("endpoint and the S3 credentials apply to s3:// URLs only".into());
        }
        if self.checkpoint_interval == 0 {
            return Err("checkpoint_interval must be at least 1".into());
        }
        Ok(())
    }

    /// The root as a URL (local paths become absolute `file://` directory URLs).
    pub fn root_url(&self) -> Result<Url, String> {
        if self.url.is_empty() {
            return Err("url is empty: give a local directory or s3://bucket/prefix".into());
        }
        if self.url.contains("://") {
            let mut url = Url::parse(&self.url).map_err(|e| format!("url is not a valid URL: {e}"))?;
            match url.scheme() {
                "s3" | "s3a" | "file" => {}
                other => {
                    return Err(format!(
                        "url scheme \"{other}\" is not supported: use a local path, file:// or s3://"
                    ));
                }
            }
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            return Ok(url);
        }
        let path = Path::new(&self.url);
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| format!("cannot resolve {}: {e}", self.url))?
                .join(path)
        };
        Url::from_directory_path(&abs)
            .map_err(|()| format!("url {} is not a usable directory path", self.url))
    }

    pub fn storage_options(&self) -> HashMap<String, String> {
        let mut o = HashMap::new();
        if let Some(endpoint) = &self.endpoint {
            let endpoint = endpoint.trim_end_matches('/');
            if endpoint.starts_with("http://") {
                o.insert("AWS_ALLOW_HTTP".into(), "true".into());
            }
            let bucket = self
                .root_url()
                .ok()
                .and_then(|u| u.host_str().map(str::to_string));
            match bucket.filter(|_| !self.path_style) {
                // Virtual-hosted style: the bucket is part of the host name.
                Some(bucket) => {
                    let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
                    o.insert("AWS_ENDPOINT_URL".into(), format!("{scheme}://{bucket}.{host}"));
                    o.insert("AWS_VIRTUAL_HOSTED_STYLE_REQUEST".into(), "true".into());
                }
                None => {
                    o.insert("AWS_ENDPOINT_URL".into(), endpoint.to_string());
                    o.insert("AWS_VIRTUAL_HOSTED_STYLE_REQUEST".into(), "false".into());
                }
            }
        } else if self.path_style {
            o.insert("AWS_VIRTUAL_HOSTED_STYLE_REQUEST".into(), "false".into());
        }
        if let Some(v) = &self.region {
            o.insert("AWS_REGION".into(), v.clone());
        }
        if let Some(v) = &self.access_key_id {
            o.insert("AWS_ACCESS_KEY_ID".into(), v.clone());
        }
        if let Some(v) = &self.secret_access_key {
            o.insert("AWS_SECRET_ACCESS_KEY".into(), v.0.clone());
        }
        if let Some(v) = &self.session_token {
            o.insert("AWS_SESSION_TOKEN".into(), v.0.clone());
        }
        // Without a locking provider (DynamoDB), delta-rs must be told that one writer commits
        // to these tables: a pipeline is that one writer.
        o.insert("AWS_S3_ALLOW_UNSAFE_RENAME".into(), "true".into());
        o
    }

    /// The Delta table name for a source table.
    pub fn table_name(&self, id: &TableId) -> String {
        self.table_template
            .replace("{schema}", &id.schema)
            .replace("{table}", &id.name)
    }

    fn create_settings(&self) -> CreateSettings {
        CreateSettings {
            partition_by: self.partition_by.clone(),
            change_data_feed: self.change_data_feed,
            checkpoint_interval: self.checkpoint_interval,
        }
    }
}

/// Registers the `s3://` object store with delta-rs (once per process).
pub fn register_object_stores() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| deltalake::aws::register_handlers(None));
}

/// The offsets-store state: the sink's own bookkeeping beside the runtime's position.
#[derive(Default, Serialize, Deserialize)]
struct State {
    /// Tables written so far (directory names under `url`).
    #[serde(default)]
    tables: BTreeSet<String>,
    #[serde(default)]
    flush: u64,
}

/// What one table has buffered since the last flush.
// One per table: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Mirror(MirrorChanges),
    /// Finished batches (one per schema version) and the builder of the current one.
    Append {
        done: Vec<RecordBatch>,
        builder: Option<BatchBuilder>,
    },
}

impl Pending {
    fn is_empty(&self) -> bool {
        match self {
            Pending::Mirror(m) => m.is_empty(),
            Pending::Append { done, builder } => {
                done.is_empty() && builder.as_ref().is_none_or(BatchBuilder::is_empty)
            }
        }
    }
}

struct Slot {
    table: TargetTable,
    pending: Pending,
}

pub struct DeltaSink {
    config: DeltaSinkConfig,
    pipeline: String,
    root: Url,
    storage: HashMap<String, String>,
    slots: HashMap<TableId, Slot>,
    known_tables: BTreeSet<String>,
    flush_seq: u64,
    last_position: Option<Position>,
    /// Source changes skipped because their table already held them (after a restart).
    skipped: u64,
}

impl DeltaSink {
    pub fn new(config: &DeltaSinkConfig, pipeline: &str) -> Result<Self, SinkError> {
        config.validate().map_err(SinkError::definite)?;
        register_object_stores();
        let root = config.root_url().map_err(SinkError::definite)?;
        Ok(DeltaSink {
            storage: config.storage_options(),
            config: config.clone(),
            pipeline: pipeline.to_string(),
            root,
            slots: HashMap::new(),
            known_tables: BTreeSet::new(),
            flush_seq: 0,
            last_position: None,
            skipped: 0,
        })
    }

    fn table_url(&self, name: &str) -> Result<Url, SinkError> {
        self.root
            .join(&format!("{}/", urlencode_segment(name)))
            .map_err(|e| SinkError::definite(format!("table name {name} does not make a valid URL: {e}")))
    }

    async fn slot(&mut self, schema: &TableSchema) -> Result<&mut Slot, SinkError> {
        if !self.slots.contains_key(&schema.id) {
            let name = self.config.table_name(&schema.id);
            let url = self.table_url(&name)?;
            let (table, _) = TargetTable::open(name, url, &self.storage, &self.pipeline).await?;
            let pending = match self.config.mode {
                DeltaMode::Mirror => Pending::Mirror(MirrorChanges::default()),
                DeltaMode::Append => Pending::Append {
                    done: Vec::new(),
                    builder: None,
                },
            };
            self.slots.insert(schema.id.clone(), Slot { table, pending });
        }
        self.slots
            .get_mut(&schema.id)
            .ok_or_else(|| SinkError::definite("internal: table slot vanished"))
    }

    /// Table directories under the root holding a Delta log.
    async fn discover_tables(&self) -> Result<BTreeSet<String>, SinkError> {
        housekeeping::list_tables(&self.root, &self.storage).await
    }
}

/// Percent-encodes what a URL path segment cannot hold as is.
pub(crate) fn urlencode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl Sink for DeltaSink {
    fn name(&self) -> &'static str {
        "delta"
    }

    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError> {
        let state: State = match state {
            Some(v) if !v.is_null() => serde_json::from_value(v).map_err(|e| {
                SinkError::definite(format!(
                    "the offsets file's delta sink state is unreadable ({e}); delete the offsets file to start over \
                     (the Delta tables keep their own positions)"
                ))
            })?,
            _ => State::default(),
        };
        self.slots.clear();
        let mut names = state.tables.clone();
        names.extend(self.discover_tables().await?);
        // Each table's newest flush record from this pipeline.
        let mut records: HashMap<String, FlushRecord> = HashMap::new();
        for name in &names {
            let url = self.table_url(name)?;
            let (_, record) = TargetTable::open(name.clone(), url, &self.storage, &self.pipeline).await?;
            if let Some(r) = record {
                records.insert(name.clone(), r);
            }
        }
        self.known_tables = names;
        let newest = records.values().max_by_key(|r| r.flush).cloned();
        self.flush_seq = state.flush.max(newest.as_ref().map_or(0, |r| r.flush));
        let resume = match newest {
            // Nothing of this pipeline in Delta yet: the offsets store decides.
            None => None,
            Some(newest) => {
                let complete = newest
                    .tables
                    .iter()
                    .all(|t| records.get(t).is_some_and(|r| r.flush >= newest.flush));
                if complete {
                    Some(newest.position)
                } else {
                    warn!(
                        flush = newest.flush,
                        "the last flush reached only some of its Delta tables; resuming from the flush before it \
                         (tables that have it skip the changes again)"
                    );
                    newest.previous
                }
            }
        };
        if let Some(p) = &resume {
            info!(lsn = %p.lsn, tables = self.known_tables.len(), "resuming from the position recorded in the Delta logs");
        }
        self.last_position = resume.clone();
        Ok(resume)
    }

    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError> {
        for event in events {
            match &event.change {
                Change::Row(rc) => {
                    let slot = self.slot(&rc.table).await?;
                    if slot.table.holds(&event.source) {
                        self.skipped += 1;
                        continue;
                    }
                    match &mut slot.pending {
                        Pending::Mirror(m) => {
                            if !rc.table.has_primary_key() {
                                return Err(SinkError::definite(format!(
                                    "table {} has no primary key, which mode = \"mirror\" needs to MERGE on: add a \
                                     primary key to it, or use mode = \"append\" (a changelog table)",
                                    rc.table.id
                                )));
                            }
                            m.apply(
                                &rc.table,
                                rc.op,
                                rc.before.as_ref(),
                                rc.after.as_ref(),
                                event.source.lsn,
                            );
                        }
                        Pending::Append { done, builder } => {
                            let stale = builder.as_ref().is_some_and(|b| b.table() != &rc.table);
                            if stale
                                && let Some(mut b) = builder.take()
                                && !b.is_empty()
                            {
                                done.push(b.finish().map_err(|e| SinkError::definite(e.to_string()))?);
                            }
                            let b = builder.get_or_insert_with(|| {
                                BatchBuilder::new(rc.table.clone(), &ArrowOptions::default())
                            });
                            b.push(event).map_err(|e| SinkError::definite(e.to_string()))?;
                        }
                    }
                }
                Change::Truncate(t) => {
                    let slot = self.slot(&t.table).await?;
                    if slot.table.holds(&event.source) {
                        continue;
                    }
                    match &mut slot.pending {
                        Pending::Mirror(m) => m.truncate(&t.table),
                        Pending::Append { .. } => {
                            warn!(table = %t.table.id, "append mode records row changes only: this TRUNCATE is not in the changelog");
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError> {
        let touched: Vec<TableId> = self
            .slots
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        if !touched.is_empty() {
            let started = Instant::now();
            let mut names: Vec<String> = touched
                .iter()
                .filter_map(|id| self.slots.get(id).map(|s| s.table.name.clone()))
                .collect();
            names.sort();
            self.flush_seq += 1;
            let record = FlushRecord {
                pipeline: self.pipeline.clone(),
                flush: self.flush_seq,
                position: position.clone(),
                previous: self.last_position.clone(),
                tables: names.clone(),
            };
            let settings = self.config.create_settings();
            let mut changes = 0u64;
            for id in &touched {
                let Some(slot) = self.slots.get_mut(id) else {
                    continue;
                };
                match &mut slot.pending {
                    Pending::Mirror(m) => {
                        changes += m.source_changes();
                        slot.table.commit_mirror(m, &settings, &record).await?;
                        *m = MirrorChanges::default();
                    }
                    Pending::Append { done, builder } => {
                        if let Some(mut b) = builder.take()
                            && !b.is_empty()
                        {
                            done.push(b.finish().map_err(|e| SinkError::definite(e.to_string()))?);
                        }
                        let batches = std::mem::take(done);
                        changes += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                        slot.table.commit_append(batches, &settings, &record).await?;
                    }
                }
                slot.table.make_durable().await?;
                rivulet_core::fault::point(rivulet_core::fault::DELTA_TABLE_COMMITTED);
                self.known_tables.insert(slot.table.name.clone());
            }
            info!(
                tables = names.len(),
                changes,
                lsn = %position.lsn,
                ms = started.elapsed().as_millis() as u64,
                "delta commit"
            );
        }
        if self.skipped > 0 {
            info!(
                changes = self.skipped,
                "skipped changes the Delta tables already held"
            );
            self.skipped = 0;
        }
        self.last_position = Some(position.clone());
        serde_json::to_value(State {
            tables: self.known_tables.clone(),
            flush: self.flush_seq,
        })
        .map_err(|e| SinkError::definite(format!("cannot encode the delta sink state: {e}")))
    }

    async fn close(&mut self) -> Result<(), SinkError> {
        // Whatever is still buffered belongs to an unfinished transaction: it is delivered again.
        self.slots.clear();
        Ok(())
    }
}
