//! One Delta table: create it, evolve its schema, and commit one flush's changes to it.
//!
//! ```text
//!  mirror:  MirrorChanges ─▶ source batch (+ __rivulet_delete, __rivulet_keep_<col> flags)
//!           ─▶ moved.rs: rows that moved to a new key take unchanged values from the old key's row
//!           ─▶ MERGE ON primary key:  matched & delete ─▶ delete
//!                                     matched          ─▶ update (kept columns: target value)
//!                                     not matched      ─▶ insert
//!  append:  changelog batches ─▶ WRITE (append)
//!  every commit: txn {appId: pipeline, version: position LSN} + commitInfo rivulet.* metadata
//! ```
//!
//! The change data feed (`_change_data/`) is written by delta-rs itself for MERGE and DELETE
//! when the table has `delta.enableChangeDataFeed = true`.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, BooleanArray, RecordBatch, new_null_array};
use deltalake::arrow::compute::{CastOptions, cast_with_options};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::common::Column as DfColumn;
use deltalake::datafusion::logical_expr::{Expr, when};
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{StructField, Transaction};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use futures::TryStreamExt;
use rivulet_arrow::{ArrowOptions, BatchBuilder};
use rivulet_core::net::NetChange;
use rivulet_core::{
    Change, ChangeEvent, Lsn, Op, Position, Reach, Row, RowChange, SinkError, SourceMeta, TableSchema, Value,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::changes::MirrorChanges;
use crate::errors::delta_error;
use crate::{backfill, moved};

/// Marks a MERGE source row as a delete.
const DELETE_FLAG: &str = "__rivulet_delete";
/// `__rivulet_keep_<column>`: the column's value was not sent (unchanged TOAST); keep the table's.
pub(crate) const KEEP_PREFIX: &str = "__rivulet_keep_";

/// What every Rivulet commit records in its `commitInfo`, so a restart can tell which flush
/// each table has and resume from the last flush that reached every table it touched.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlushRecord {
    pub pipeline: String,
    /// Counts this pipeline's flushes; every table committed in one flush has the same number.
    pub flush: u64,
    /// The end of the last source transaction this flush holds.
    pub position: Position,
    /// The position of the flush before: safe to resume from if this one did not reach every
    /// table it meant to.
    pub previous: Option<Position>,
    /// The tables (directory names) this flush committed to.
    pub tables: Vec<String>,
}

/// commitInfo key holding a [`FlushRecord`].
pub const FLUSH_RECORD_KEY: &str = "rivulet";

/// What a table already holds of this pipeline: the reach of its last flush record's position
/// (or, for a table whose history no longer shows the record, of its txn version, which
/// releases before the flush counter set to the position's LSN), and its txn version.
#[derive(Clone, Debug, Default)]
pub struct Committed {
    pub reach: Option<Reach>,
    pub txn_version: Option<i64>,
}

/// How far back in a table's history to look for this pipeline's last commit (housekeeping
/// commits such as OPTIMIZE sit in between).
const HISTORY_DEPTH: usize = 50;

/// Table settings that apply when a table is created.
#[derive(Clone, Debug)]
pub struct CreateSettings {
    pub partition_by: Vec<String>,
    pub change_data_feed: bool,
    pub checkpoint_interval: u64,
}

/// The commit's `txn` action and flush record. The txn version only has to grow with every
/// commit of the pipeline to the table (it is not a source position, which a partitioned
/// source does not have as one number): the flush counter, or one more than the version a
/// release that wrote LSNs there left.
pub fn commit_properties(
    record: &FlushRecord,
    previous_version: Option<i64>,
) -> Result<CommitProperties, SinkError> {
    let value = serde_json::to_value(record)
        .map_err(|e| SinkError::definite(format!("cannot encode flush record: {e}")))?;
    Ok(CommitProperties::default()
        .with_application_transaction(Transaction::new(
            &record.pipeline,
            next_txn_version(previous_version, record.flush),
        ))
        .with_metadata([(FLUSH_RECORD_KEY.to_string(), value)]))
}

fn next_txn_version(previous: Option<i64>, flush: u64) -> i64 {
    let flush = i64::try_from(flush).unwrap_or(i64::MAX);
    previous.map_or(flush, |p| flush.max(p.saturating_add(1)))
}

/// Opens the Delta table at `url`, which may not exist yet (`version()` is then `None`).
pub async fn open_table(url: &Url, storage: &HashMap<String, String>) -> Result<DeltaTable, SinkError> {
    let mut table = DeltaTableBuilder::from_url(url.clone())
        .map_err(|e| delta_error(&format!("cannot open Delta table {}", redact(url)), e))?
        .with_storage_options(storage.clone())
        .build()
        .map_err(|e| delta_error(&format!("cannot open Delta table {}", redact(url)), e))?;
    // A local table directory that does not exist yet is a table still to be created.
    if url.to_file_path().is_ok_and(|p| !p.exists()) {
        return Ok(table);
    }
    match table.load().await {
        Ok(()) | Err(DeltaTableError::NotATable(_)) => Ok(table),
        Err(e) => Err(delta_error(
            &format!("cannot read Delta table {}", redact(url)),
            e,
        )),
    }
}

/// A table URL for messages: no user info, no query.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

/// This pipeline's committed state in one table: the txn version (a position LSN) and the
/// flush record of its newest commit.
pub async fn committed_state(
    table: &DeltaTable,
    pipeline: &str,
) -> Result<(Committed, Option<FlushRecord>), SinkError> {
    if table.version().is_none() {
        return Ok((Committed::default(), None));
    }
    let shown = redact(table.table_url());
    let state = table
        .snapshot()
        .map_err(|e| delta_error(&format!("cannot read Delta table {shown}"), e))?;
    let version = state
        .transaction_version(table.log_store().as_ref(), pipeline)
        .await
        .map_err(|e| delta_error(&format!("cannot read the txn actions of {shown}"), e))?;
    let mut record = last_flush_record(table, pipeline, Some(HISTORY_DEPTH)).await?;
    if record.is_none() && version.is_some() {
        // Housekeeping commits pushed it further back: look through the whole history.
        record = last_flush_record(table, pipeline, None).await?;
    }
    let reach = match &record {
        Some(r) => Some(r.position.reach()),
        None => version.map(|v| Reach::Sequence(Lsn(v.unsigned_abs()))),
    };
    let committed = Committed {
        reach,
        txn_version: version,
    };
    Ok((committed, record))
}

/// The newest flush record of `pipeline` among the last `depth` commits (all when `None`).
async fn last_flush_record(
    table: &DeltaTable,
    pipeline: &str,
    depth: Option<usize>,
) -> Result<Option<FlushRecord>, SinkError> {
    let history: Vec<_> = table.history(depth).try_collect().await.map_err(|e| {
        delta_error(
            &format!("cannot read the history of {}", redact(table.table_url())),
            e,
        )
    })?;
    Ok(history
        .iter()
        .filter_map(|info| info.info.get(FLUSH_RECORD_KEY))
        .filter_map(|v| serde_json::from_value::<FlushRecord>(v.clone()).ok())
        .filter(|r| r.pipeline == pipeline)
        .max_by_key(|r| r.flush))
}

/// Types Delta Lake cannot store, turned into ones it can (times of day as text).
/// Writes the log checkpoint a crash cost the table. delta-rs writes one after the commit whose
/// version is a multiple of `delta.checkpointInterval`; a process killed between that commit
/// and its checkpoint leaves readers replaying ever more JSON commits until the next multiple.
/// Opening the table is the moment to notice and make up for it.
async fn catch_up_checkpoint(delta: &DeltaTable, name: &str) -> Result<(), SinkError> {
    use deltalake::table::config::TablePropertiesExt as _;
    let Some(version) = delta.version() else {
        return Ok(());
    };
    let interval = delta
        .snapshot()
        .map_err(|e| delta_error(&format!("cannot read Delta table {name}"), e))?
        .snapshot()
        .table_properties()
        .checkpoint_interval()
        .get();
    let due = version / interval * interval;
    if due == 0 {
        return Ok(());
    }
    use deltalake::logstore::object_store::ObjectStoreExt as _;
    let last_checkpoint = match delta
        .object_store()
        .get(&deltalake::Path::from("_delta_log/_last_checkpoint"))
        .await
    {
        Ok(found) => found
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b.as_ref()).ok())
            .and_then(|v| v["version"].as_u64()),
        Err(deltalake::ObjectStoreError::NotFound { .. }) => None,
        Err(e) => {
            return Err(delta_error(
                &format!("cannot read the log of Delta table {name}"),
                e.into(),
            ));
        }
    };
    if last_checkpoint.is_some_and(|v| v >= due) {
        return Ok(());
    }
    tracing::info!(
        table = name,
        version,
        "writing the Delta log checkpoint an interrupted run did not write"
    );
    deltalake::checkpoints::create_checkpoint(delta, None)
        .await
        .map_err(|e| delta_error(&format!("cannot write a checkpoint of Delta table {name}"), e))
}

fn delta_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Time32(_) | DataType::Time64(_) | DataType::Duration(_) | DataType::Interval(_) => {
            DataType::Utf8
        }
        DataType::List(item) => DataType::List(Arc::new(Field::new(
            item.name(),
            delta_type(item.data_type()),
            item.is_nullable(),
        ))),
        DataType::UInt8 | DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        other => other.clone(),
    }
}

/// Rows of `schema` (a table's, or a few of its columns) as a batch of the table's columns in
/// the table's types (`target`): inserts and updates by their new row, deletes by the old.
pub(crate) fn table_rows(
    schema: &Arc<TableSchema>,
    rows: Vec<(Op, Row)>,
    options: &ArrowOptions,
    target: &SchemaRef,
    table_name: &str,
) -> Result<RecordBatch, SinkError> {
    let fail = |e: rivulet_arrow::ConvertError| SinkError::definite(format!("Delta table {table_name}: {e}"));
    let mut builder = BatchBuilder::new(Arc::clone(schema), options);
    for (op, row) in rows {
        let (before, after) = match op {
            Op::Delete => (Some(row), None),
            _ => (None, Some(row)),
        };
        let event = ChangeEvent {
            change: Change::Row(RowChange {
                table: Arc::clone(schema),
                op,
                before,
                after,
            }),
            source: SourceMeta::default(),
        };
        builder.push(&event).map_err(fail)?;
    }
    let batch = builder.finish().map_err(fail)?;
    let fields: Vec<Arc<Field>> = target
        .fields()
        .iter()
        .filter(|f| schema.column_index(f.name()).is_some())
        .cloned()
        .collect();
    conform(&batch, &Arc::new(Schema::new(fields)), table_name)
}

/// Casts every column to the type the table stores (Delta-compatible types; widening to the
/// table's wider type); columns the table has but the batch lacks are added as nulls.
pub(crate) fn conform(
    batch: &RecordBatch,
    target: &SchemaRef,
    table_name: &str,
) -> Result<RecordBatch, SinkError> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let array = match batch.column_by_name(field.name()) {
            Some(a) if a.data_type() == field.data_type() => a.clone(),
            Some(a) => cast_with_options(a, field.data_type(), &options).map_err(|e| {
                SinkError::definite(format!(
                    "Delta table {table_name}, column {}: cannot store {} values in its {} column: {e}",
                    field.name(),
                    a.data_type(),
                    field.data_type()
                ))
            })?,
            None => new_null_array(field.data_type(), batch.num_rows()),
        };
        columns.push(array);
    }
    RecordBatch::try_new(target.clone(), columns)
        .map_err(|e| SinkError::definite(format!("Delta table {table_name}: cannot build the batch: {e}")))
}

/// True when every value of `from` fits `to` exactly (the widenings a PostgreSQL ALTER or a
/// narrower source column can need).
fn widens(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    match (from, to) {
        (a, b) if a == b => true,
        (Int16, Int32 | Int64) | (Int32, Int64) | (Float32, Float64) => true,
        (Int16 | Int32 | Int64, Utf8) => true,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            s1 <= s2 && (i16::from(*p1) - i16::from(*s1)) <= (i16::from(*p2) - i16::from(*s2))
        }
        (Decimal128(..), Utf8) => true,
        (Timestamp(u1, None), Timestamp(u2, None)) => u1 == u2,
        (List(a), List(b)) => widens(a.data_type(), b.data_type()),
        _ => false,
    }
}

/// A table being written: its Delta handle plus what the sink knows about it.
pub struct TargetTable {
    /// The directory name (from `table_template`).
    pub name: String,
    pub url: Url,
    pub delta: DeltaTable,
    /// What this pipeline's commits put here: changes it covers are already in the table.
    pub committed: Committed,
    /// The newest version known to be on disk, for a local table (see [`crate::durable`]).
    synced_version: Option<u64>,
}

impl TargetTable {
    /// Notes a commit of `record`'s flush.
    fn committed_to(&mut self, record: &FlushRecord) {
        self.committed = Committed {
            reach: Some(record.position.reach()),
            txn_version: Some(next_txn_version(self.committed.txn_version, record.flush)),
        };
    }

    /// Whether the table already holds the change `event` carries.
    pub fn holds(&self, event: &SourceMeta) -> bool {
        self.committed.reach.as_ref().is_some_and(|r| r.covers(event))
    }

    pub async fn open(
        name: String,
        url: Url,
        storage: &HashMap<String, String>,
        pipeline: &str,
    ) -> Result<(TargetTable, Option<FlushRecord>), SinkError> {
        let delta = open_table(&url, storage).await?;
        catch_up_checkpoint(&delta, &name).await?;
        let (committed, record) = committed_state(&delta, pipeline).await?;
        let mut table = TargetTable {
            name,
            url,
            delta,
            committed,
            synced_version: None,
        };
        // A run killed after a flush's commits and before their fsync left them in the page
        // cache only: at most a few per table (creation, a schema change, the data).
        if let Some(version) = table.delta.version() {
            table.synced_version = version.checked_sub(4);
        }
        table.make_durable().await?;
        Ok((table, record))
    }

    /// Fsyncs the commits made since the last call, when the table is on local disk.
    pub async fn make_durable(&mut self) -> Result<(), SinkError> {
        let (Some(root), Some(version)) = (crate::durable::local_root(&self.url), self.delta.version())
        else {
            return Ok(());
        };
        let from = self.synced_version.map_or(0, |v| v + 1);
        if from <= version {
            crate::durable::sync_commits(root, from, version, &self.name).await?;
        }
        self.synced_version = Some(version);
        Ok(())
    }

    /// The table's Arrow schema, or `None` before it exists.
    fn arrow_schema(&self) -> Result<Option<SchemaRef>, SinkError> {
        if self.delta.version().is_none() {
            return Ok(None);
        }
        let snapshot = self
            .delta
            .snapshot()
            .map_err(|e| delta_error(&format!("cannot read Delta table {}", self.name), e))?;
        Ok(Some(snapshot.snapshot().arrow_schema()))
    }

    /// Creates the table, or adds the columns it lacks; the schema it returns is what the
    /// batch must be cast to. Incompatible type changes stop with a message.
    async fn ensure_schema(
        &mut self,
        wanted: &Schema,
        settings: &CreateSettings,
    ) -> Result<SchemaRef, SinkError> {
        let wanted = Schema::new(
            wanted
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), delta_type(f.data_type()), true))
                .collect::<Vec<_>>(),
        );
        let Some(current) = self.arrow_schema()? else {
            return self.create(&wanted, settings).await;
        };
        let mut added = Vec::new();
        for field in wanted.fields() {
            match current.field_with_name(field.name()) {
                Ok(existing) if widens(field.data_type(), existing.data_type()) => {}
                Ok(existing) => {
                    return Err(SinkError::definite(format!(
                        "Delta table {}: column {} is {} in the table but the source now sends {}, which it cannot hold. \
                         Delta tables cannot change a column's type in place: rewrite the table (e.g. drop it and \
                         resnapshot) or map the column to a new name",
                        self.name,
                        field.name(),
                        existing.data_type(),
                        field.data_type()
                    )));
                }
                Err(_) => added.push(field.clone()),
            }
        }
        if added.is_empty() {
            return Ok(current);
        }
        let fields: Vec<StructField> = added
            .iter()
            .map(|f| {
                let f: &Field = f.as_ref();
                f.try_into_kernel()
                    .map_err(|e: deltalake::arrow::error::ArrowError| {
                        SinkError::definite(format!("Delta table {}: column {}: {e}", self.name, f.name()))
                    })
            })
            .collect::<Result<_, _>>()?;
        let names: Vec<&str> = added.iter().map(|f| f.name().as_str()).collect();
        tracing::info!(table = %self.name, columns = ?names, "adding columns to the Delta table");
        let table = self.delta.clone();
        self.delta = table.add_columns().with_fields(fields).await.map_err(|e| {
            delta_error(
                &format!("cannot add columns {names:?} to Delta table {}", self.name),
                e,
            )
        })?;
        self.arrow_schema()?
            .ok_or_else(|| SinkError::definite(format!("Delta table {} vanished", self.name)))
    }

    async fn create(&mut self, schema: &Schema, settings: &CreateSettings) -> Result<SchemaRef, SinkError> {
        for p in &settings.partition_by {
            if schema.field_with_name(p).is_err() {
                return Err(SinkError::definite(format!(
                    "partition_by names column {p}, which table {} does not have; its columns are: {}",
                    self.name,
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if let Ok(path) = self.url.to_file_path() {
            std::fs::create_dir_all(&path)
                .map_err(|e| SinkError::io(format!("cannot create {}", path.display()), e))?;
        }
        let columns: Vec<StructField> = schema
            .fields()
            .iter()
            .map(|f| {
                let f: &Field = f.as_ref();
                f.try_into_kernel()
                    .map_err(|e: deltalake::arrow::error::ArrowError| {
                        SinkError::definite(format!("Delta table {}: column {}: {e}", self.name, f.name()))
                    })
            })
            .collect::<Result<_, _>>()?;
        let table = self.delta.clone();
        let mut create = table
            .create()
            .with_table_name(&self.name)
            .with_columns(columns)
            .with_partition_columns(settings.partition_by.clone())
            .with_configuration_property(
                TableProperty::CheckpointInterval,
                Some(settings.checkpoint_interval.to_string()),
            )
            .with_save_mode(SaveMode::Ignore);
        if settings.change_data_feed {
            create = create.with_configuration_property(TableProperty::EnableChangeDataFeed, Some("true"));
        }
        self.delta = create
            .await
            .map_err(|e| delta_error(&format!("cannot create Delta table {}", redact(&self.url)), e))?;
        tracing::info!(table = %self.name, url = %redact(&self.url), cdf = settings.change_data_feed, "created Delta table");
        self.arrow_schema()?
            .ok_or_else(|| SinkError::definite(format!("Delta table {} was not created", self.name)))
    }

    /// Applies a mirror batch: optional delete-all (TRUNCATE), then one MERGE. The last commit
    /// carries `record`.
    pub async fn commit_mirror(
        &mut self,
        changes: &MirrorChanges,
        settings: &CreateSettings,
        record: &FlushRecord,
    ) -> Result<(), SinkError> {
        let Some(schema) = changes.schema().cloned() else {
            return Ok(());
        };
        if !schema.has_primary_key() {
            return Err(no_primary_key(&schema));
        }
        let options = ArrowOptions {
            without_cdc_columns: true,
            ..Default::default()
        };
        let wanted = rivulet_arrow::arrow_schema(&schema, &options);
        let had = self.arrow_schema()?;
        let target = self.ensure_schema(&wanted, settings).await?;
        if let Some(had) = had {
            self.fill_added_columns(&schema, &had, &target).await?;
        }
        let has_rows = !changes.entries().is_empty();
        if changes.truncate_first() {
            let props = if !has_rows {
                commit_properties(record, self.committed.txn_version)?
            } else {
                CommitProperties::default()
            };
            let table = self.delta.clone();
            let (table, metrics) =
                table.delete().with_commit_properties(props).await.map_err(|e| {
                    delta_error(&format!("cannot empty Delta table {} (TRUNCATE)", self.name), e)
                })?;
            tracing::info!(table = %self.name, rows = metrics.num_deleted_rows, "emptied the Delta table (TRUNCATE)");
            self.delta = table;
        }
        if !has_rows {
            return Ok(());
        }
        let mut source = mirror_source(&schema, changes, &options, &target, &self.name)?;
        if let Some(kept) = source.kept_keys.take() {
            moved::require_rows(&self.delta, &schema, kept, &self.name).await?;
        }
        if let Some(from) = source.moved_from.take() {
            source.batch =
                moved::fill_from_old_keys(&self.delta, &schema, source.batch, from, &self.name).await?;
        }
        let ctx = SessionContext::new();
        let df = ctx.read_batch(source.batch).map_err(|e| {
            SinkError::definite(format!("Delta table {}: cannot plan the MERGE: {e}", self.name))
        })?;
        let predicate = schema
            .primary_key
            .iter()
            .map(|&i| {
                let name = &schema.columns[i].name;
                qualified("target", name).eq(qualified("source", name))
            })
            .reduce(Expr::and)
            .ok_or_else(|| no_primary_key(&schema))?;
        let target_names: Vec<String> = target.fields().iter().map(|f| f.name().clone()).collect();
        let source_names: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
        let keep = source.keep_columns;
        let table = self.delta.clone();
        let merge = table
            .merge(df, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_commit_properties(commit_properties(record, self.committed.txn_version)?)
            .when_matched_delete(|d| d.predicate(qualified("source", DELETE_FLAG)))
            .and_then(|m| {
                m.when_matched_update(|mut u| {
                    for name in source_names.iter().filter(|n| target_names.contains(n)) {
                        let value = if keep.contains(name) {
                            when(
                                qualified("source", &format!("{KEEP_PREFIX}{name}")),
                                qualified("target", name),
                            )
                            .otherwise(qualified("source", name))
                            .unwrap_or_else(|_| qualified("source", name))
                        } else {
                            qualified("source", name)
                        };
                        u = u.update(DfColumn::new_unqualified(name), value);
                    }
                    u
                })
            })
            .and_then(|m| {
                m.when_not_matched_insert(|mut i| {
                    i = i.predicate(Expr::Not(Box::new(qualified("source", DELETE_FLAG))));
                    for name in source_names.iter().filter(|n| target_names.contains(n)) {
                        i = i.set(DfColumn::new_unqualified(name), qualified("source", name));
                    }
                    i
                })
            })
            .map_err(|e| {
                delta_error(
                    &format!("cannot plan the MERGE into Delta table {}", self.name),
                    e,
                )
            })?;
        let (table, metrics) = merge
            .await
            .map_err(|e| delta_error(&format!("MERGE into Delta table {} failed", self.name), e))?;
        tracing::debug!(
            table = %self.name,
            inserted = metrics.num_target_rows_inserted,
            updated = metrics.num_target_rows_updated,
            deleted = metrics.num_target_rows_deleted,
            "merged"
        );
        self.delta = table;
        self.committed_to(record);
        Ok(())
    }

    /// Gives the table's rows the default of each column just added at the source with one
    /// (`backfill`).
    async fn fill_added_columns(
        &mut self,
        schema: &TableSchema,
        had: &SchemaRef,
        target: &SchemaRef,
    ) -> Result<(), SinkError> {
        for column in &schema.columns {
            if column.missing.is_some() && had.field_with_name(&column.name).is_err() {
                let table = self.delta.clone();
                self.delta = backfill::fill_added_column(table, schema, column, target, &self.name).await?;
            }
        }
        Ok(())
    }

    /// Appends changelog batches (already built with the `_cdc_*` columns).
    pub async fn commit_append(
        &mut self,
        batches: Vec<RecordBatch>,
        settings: &CreateSettings,
        record: &FlushRecord,
    ) -> Result<(), SinkError> {
        // The newest batch has the newest schema; columns only older batches had are kept too.
        let mut fields: Vec<Field> = Vec::new();
        for batch in batches.iter().rev() {
            for f in batch.schema().fields() {
                if !fields.iter().any(|g| g.name() == f.name()) {
                    fields.push(f.as_ref().clone());
                }
            }
        }
        let target = self.ensure_schema(&Schema::new(fields), settings).await?;
        let conformed = batches
            .iter()
            .map(|b| conform(b, &target, &self.name))
            .collect::<Result<Vec<_>, _>>()?;
        let table = self.delta.clone();
        self.delta = table
            .write(conformed)
            .with_save_mode(SaveMode::Append)
            .with_schema_mode(SchemaMode::Merge)
            .with_commit_properties(commit_properties(record, self.committed.txn_version)?)
            .await
            .map_err(|e| delta_error(&format!("cannot append to Delta table {}", self.name), e))?;
        self.committed_to(record);
        Ok(())
    }
}

fn qualified(relation: &str, name: &str) -> Expr {
    Expr::Column(DfColumn::new(Some(relation), name))
}

fn no_primary_key(schema: &TableSchema) -> SinkError {
    SinkError::definite(format!(
        "table {} has no primary key, which mode = \"mirror\" needs to MERGE on: add a primary key to it, \
         or use mode = \"append\" (a changelog table)",
        schema.id
    ))
}

struct MirrorSource {
    batch: RecordBatch,
    /// Columns with at least one unchanged (not sent) value: they get a keep flag.
    keep_columns: Vec<String>,
    /// The old keys of rows that moved to a new key with unchanged values (null for the other
    /// rows), as key columns in the table's types; `None` when no row moved so.
    moved_from: Option<RecordBatch>,
    /// The keys of the other rows with unchanged values (which the table must have), in the
    /// same form; `None` when there are none.
    kept_keys: Option<RecordBatch>,
}

/// The MERGE source: one row per key, the table's columns (cast to the table's types), a
/// delete flag and keep flags.
fn mirror_source(
    schema: &Arc<TableSchema>,
    changes: &MirrorChanges,
    options: &ArrowOptions,
    target: &SchemaRef,
    table_name: &str,
) -> Result<MirrorSource, SinkError> {
    let mut deletes = Vec::with_capacity(changes.entries().len());
    let mut keep: Vec<Vec<bool>> = vec![Vec::new(); schema.columns.len()];
    let mut origins = Vec::with_capacity(changes.entries().len());
    let mut kept = Vec::new();
    let mut rows = Vec::with_capacity(changes.entries().len());
    for change in changes.entries() {
        let (op, row) = match change {
            NetChange::Upsert { row, .. } => (Op::Update, row),
            NetChange::Delete(row) => (Op::Delete, row),
        };
        let moved = change.moved_from().filter(|_| change.needs_target_values());
        origins.push(moved);
        kept.push((moved.is_none() && change.needs_target_values()).then_some(row));
        for (flags, value) in keep.iter_mut().zip(row) {
            flags.push(op == Op::Update && matches!(value, Value::Unchanged));
        }
        deletes.push(op == Op::Delete);
        rows.push((op, row.clone()));
    }
    // The table's own columns, in the table's types; then the flags.
    let conformed = table_rows(schema, rows, options, target, table_name)?;
    let mut fields: Vec<Arc<Field>> = conformed.schema().fields().iter().cloned().collect();
    let mut columns: Vec<ArrayRef> = conformed.columns().to_vec();
    fields.push(Arc::new(Field::new(DELETE_FLAG, DataType::Boolean, false)));
    columns.push(Arc::new(BooleanArray::from(deletes)));
    let mut keep_columns = Vec::new();
    for (column, flags) in schema.columns.iter().zip(keep) {
        if flags.iter().any(|k| *k) {
            fields.push(Arc::new(Field::new(
                format!("{KEEP_PREFIX}{}", column.name),
                DataType::Boolean,
                false,
            )));
            columns.push(Arc::new(BooleanArray::from(flags)));
            keep_columns.push(column.name.clone());
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| {
        SinkError::definite(format!(
            "Delta table {table_name}: cannot build the MERGE source: {e}"
        ))
    })?;
    let moved_from = match origins.iter().any(Option::is_some) {
        true => Some(moved::old_keys(schema, &origins, options, target, table_name)?),
        false => None,
    };
    kept.retain(Option::is_some);
    let kept_keys = match kept.is_empty() {
        false => Some(moved::old_keys(schema, &kept, options, target, table_name)?),
        true => None,
    };
    Ok(MirrorSource {
        batch,
        keep_columns,
        moved_from,
        kept_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txn_versions_grow_with_every_flush_and_past_an_lsn_a_release_wrote() {
        assert_eq!(next_txn_version(None, 1), 1);
        assert_eq!(next_txn_version(Some(1), 2), 2);
        assert_eq!(next_txn_version(Some(5), 2), 6, "never below the table's version");
        assert_eq!(next_txn_version(Some(22_287_600), 3), 22_287_601);
    }
}
