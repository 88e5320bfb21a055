//! Applying one batch to the target, set-wise, inside the caller's transaction.
//!
//! ```text
//!  per segment:  prepare target table (create / evolve)
//!    snapshot rows ──COPY──▶ target                       (or, if keys may exist already:
//!                                                          COPY ▶ staging ▶ INSERT … ON CONFLICT)
//!    net changes   ──COPY──▶ temp staging (ON COMMIT DROP) ─▶ UPDATE staging FROM target: values of
//!                                                            rows that moved to a new key, from
//!                                                            the old key's row (unchanged TOAST)
//!                                                         ─▶ DELETE … USING staging
//!                                                         ─▶ INSERT … SELECT … ON CONFLICT DO UPDATE
//!                                                         ─▶ UPDATE … FROM staging, per set of
//!                                                            unchanged-TOAST columns (every row
//!                                                            must be found: else a definite error)
//!    keyless changes ─▶ COPY for runs of inserts, one UPDATE/DELETE per change otherwise
//!    history rows  ──COPY──▶ target
//!    TRUNCATE      ──▶ TRUNCATE target
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::SinkExt;
use rivulet_core::{Op, SinkError, TableId, TableSchema, Value};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use rivulet_core::net::{NetChange, NetChanges};

use crate::batch::{OrderedChange, Segment, TableChanges, copy_line};
use crate::ddl::{self, HISTORY_COLUMNS, TargetTable};
use crate::error::query_error;
use crate::text::copy_field;
use crate::{Mode, quote_ident};
use rivulet_pgoutput::text_param;

/// COPY data is sent in pieces of this size.
const COPY_CHUNK: usize = 1 << 20;
/// Staging tables with more rows than this are analyzed, so the joins use the target's key.
const ANALYZE_ROWS: usize = 10_000;

/// Why applying a batch failed.
pub enum ApplyError {
    /// Snapshot rows met rows already in the target: apply them again as upserts.
    SnapshotConflict(TableId),
    Failed(SinkError),
}

impl From<SinkError> for ApplyError {
    fn from(e: SinkError) -> Self {
        ApplyError::Failed(e)
    }
}

/// The tables prepared for a source schema, kept across batches (changed only by a committed
/// batch).
pub type TableCache = HashMap<TableId, (Arc<TableSchema>, TargetTable)>;

pub struct Applier<'a> {
    pub client: &'a Client,
    pub mode: Mode,
    pub target_schema: Option<&'a str>,
    pub table_name: &'a str,
    /// Per table: whether snapshot rows may be copied straight into the target (it was empty
    /// when this process first saw the table's snapshot rows) or must be upserted.
    pub snapshot_direct: &'a mut HashMap<TableId, bool>,
    pub tables: &'a mut TableCache,
    pub stage_counter: usize,
    pub scratch: String,
}

impl Applier<'_> {
    pub async fn apply(&mut self, segments: &[Segment]) -> Result<(), ApplyError> {
        for segment in segments {
            match segment {
                Segment::Rows(changes) => {
                    let target = self.target(&changes.schema).await?;
                    self.rows(&target, changes).await?;
                }
                Segment::Truncate(schema) => {
                    let target = self.target(schema).await?;
                    self.execute(&target, &format!("TRUNCATE {}", target.qualified))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The target table for `schema`, created or evolved when the schema is new to us.
    async fn target(&mut self, schema: &Arc<TableSchema>) -> Result<TargetTable, SinkError> {
        if let Some((known, target)) = self.tables.get(&schema.id)
            && (Arc::ptr_eq(known, schema) || **known == **schema)
        {
            return Ok(target.clone());
        }
        let target_schema = self.target_schema.unwrap_or(&schema.id.schema);
        let name = crate::target_name(self.table_name, &schema.id);
        let key = match self.mode {
            Mode::Mirror => schema.primary_key.clone(),
            Mode::History => Vec::new(),
        };
        let target = ddl::prepare(self.client, target_schema, &name, schema, self.mode, &key).await?;
        self.tables
            .insert(schema.id.clone(), (schema.clone(), target.clone()));
        Ok(target)
    }

    async fn execute(&self, target: &TargetTable, sql: &str) -> Result<u64, SinkError> {
        self.client
            .execute(sql, &[])
            .await
            .map_err(|e| query_error(&format!("cannot apply changes to {}", target.display), e))
    }

    async fn rows(&mut self, target: &TargetTable, changes: &TableChanges) -> Result<(), ApplyError> {
        let id = &changes.schema.id;
        if changes.snapshot_rows > 0 {
            let direct = match self.snapshot_direct.get(id) {
                Some(&direct) => direct,
                None => {
                    let empty: bool = self
                        .client
                        .query_one(
                            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", target.qualified),
                            &[],
                        )
                        .await
                        .map_err(|e| query_error(&format!("cannot read {}", target.display), e))?
                        .get(0);
                    self.snapshot_direct.insert(id.clone(), empty);
                    empty
                }
            };
            if !direct {
                let stage = self.stage(target, &changes.snapshot, false).await?;
                self.upsert(target, &stage, None).await?;
            } else {
                let sql = format!("COPY {} ({}) FROM STDIN", target.qualified, column_list(target));
                if let Err(e) = copy_in(self.client, &sql, &changes.snapshot).await {
                    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                        return Err(ApplyError::SnapshotConflict(id.clone()));
                    }
                    return Err(query_error(
                        &format!("cannot copy snapshot rows into {}", target.display),
                        e,
                    )
                    .into());
                }
            }
        }
        if !changes.net.entries().is_empty() {
            self.net(target, &changes.net).await?;
        }
        if !changes.ordered.is_empty() {
            self.ordered(target, &changes.ordered).await?;
        }
        if changes.history_rows > 0 {
            let mut cols = column_list(target);
            for (name, _) in HISTORY_COLUMNS {
                cols.push_str(", ");
                cols.push_str(name);
            }
            let sql = format!("COPY {} ({cols}) FROM STDIN", target.qualified);
            copy_in(self.client, &sql, &changes.history)
                .await
                .map_err(|e| query_error(&format!("cannot append history rows to {}", target.display), e))?;
        }
        Ok(())
    }

    /// Creates a staging table shaped like the target's columns (plus the operation and the
    /// unchanged-TOAST mask) and copies `data` into it.
    async fn stage(
        &mut self,
        target: &TargetTable,
        data: &[u8],
        with_ops: bool,
    ) -> Result<String, SinkError> {
        self.stage_counter += 1;
        let stage = format!("rivulet_stage_{}", self.stage_counter);
        let mut defs: Vec<String> = target
            .columns
            .iter()
            .map(|(name, ty)| format!("{} {ty}", quote_ident(name)))
            .collect();
        defs.push("_rv_op text NOT NULL DEFAULT 'u', _rv_mask text NOT NULL DEFAULT ''".into());
        // The old key of an upsert that moved (`render_net`).
        for (n, &k) in target.key.iter().enumerate() {
            defs.push(format!("_rv_from_{n} {}", target.columns[k].1));
        }
        let create = format!("CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP", defs.join(", "));
        let context = format!("cannot stage changes for {}", target.display);
        self.client
            .batch_execute(&create)
            .await
            .map_err(|e| query_error(&context, e))?;
        let mut cols = column_list(target);
        if with_ops {
            cols.push_str(", _rv_op, _rv_mask");
            for n in 0..target.key.len() {
                cols.push_str(&format!(", _rv_from_{n}"));
            }
        }
        let rows = copy_in(self.client, &format!("COPY {stage} ({cols}) FROM STDIN"), data)
            .await
            .map_err(|e| query_error(&context, e))?;
        if rows as usize > ANALYZE_ROWS {
            self.client
                .batch_execute(&format!("ANALYZE {stage}"))
                .await
                .map_err(|e| query_error(&context, e))?;
        }
        Ok(stage)
    }

    /// `INSERT … SELECT … ON CONFLICT (key) DO UPDATE` from the staged rows with no unchanged
    /// columns (`filter` restricts to upserts when the staging table also holds deletes).
    async fn upsert(
        &self,
        target: &TargetTable,
        stage: &str,
        filter: Option<&str>,
    ) -> Result<u64, SinkError> {
        let cols = column_list(target);
        let key: Vec<String> = target
            .key
            .iter()
            .map(|&k| quote_ident(&target.columns[k].0))
            .collect();
        let updates: Vec<String> = target
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !target.key.contains(i))
            .map(|(_, (name, _))| format!("{0} = EXCLUDED.{0}", quote_ident(name)))
            .collect();
        let action = if updates.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        let sql = format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {stage} {} ON CONFLICT ({}) {action}",
            target.qualified,
            filter.map(|f| format!("WHERE {f}")).unwrap_or_default(),
            key.join(", ")
        );
        self.execute(target, &sql).await
    }

    async fn net(&mut self, target: &TargetTable, net: &NetChanges) -> Result<(), SinkError> {
        let staged = self.render_net(target, net.entries());
        let stage = self.stage(target, &staged.data, true).await?;
        let key_match: Vec<String> = target
            .key
            .iter()
            .map(|&k| format!("t.{0} = s.{0}", quote_ident(&target.columns[k].0)))
            .collect();
        let key_match = key_match.join(" AND ");
        // Before anything in the batch changes the target: values of rows that moved to a new
        // key come from their old key's row.
        if staged.moved > 0 {
            self.fill_from_old_keys(target, &stage, staged.moved).await?;
        }
        if staged.deletes {
            let sql = format!(
                "DELETE FROM {} t USING {stage} s WHERE s._rv_op = 'd' AND {key_match}",
                target.qualified
            );
            self.execute(target, &sql).await?;
        }
        if staged.full_upserts {
            self.upsert(target, &stage, Some("_rv_op = 'u' AND _rv_mask = ''"))
                .await?;
        }
        for (mask, rows) in staged.masks {
            self.update_masked(target, &stage, &key_match, &mask, rows)
                .await?;
        }
        Ok(())
    }

    /// The net changes as COPY text for the staging table: the columns, `_rv_op`, `_rv_mask`
    /// (indexes of unchanged columns), then the old key (`_rv_from_<n>`) of a row that moved.
    fn render_net(&mut self, target: &TargetTable, entries: &[NetChange]) -> StagedNet {
        let mut staged = StagedNet {
            data: Vec::with_capacity(entries.len() * 64),
            ..StagedNet::default()
        };
        let mut mask = String::new();
        for change in entries {
            let (row, op) = match change {
                NetChange::Upsert { row, .. } => (row, "u"),
                NetChange::Delete(row) => (row, "d"),
            };
            let data = &mut staged.data;
            mask.clear();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    data.push(b'\t');
                }
                if op == "d" && !target.key.contains(&i) {
                    data.extend_from_slice(b"\\N");
                    continue;
                }
                if matches!(v, Value::Unchanged) {
                    if !mask.is_empty() {
                        mask.push(',');
                    }
                    mask.push_str(&i.to_string());
                }
                copy_field(v, &mut self.scratch, data);
            }
            data.push(b'\t');
            data.extend_from_slice(op.as_bytes());
            data.push(b'\t');
            data.extend_from_slice(mask.as_bytes());
            let origin = change.moved_from().filter(|_| !mask.is_empty());
            for &k in &target.key {
                data.push(b'\t');
                match origin.and_then(|o| o.get(k)) {
                    Some(v) => copy_field(v, &mut self.scratch, data),
                    None => data.extend_from_slice(b"\\N"),
                }
            }
            data.push(b'\n');
            match op {
                "d" => staged.deletes = true,
                _ if mask.is_empty() => staged.full_upserts = true,
                _ if origin.is_some() => {
                    staged.moved += 1;
                    staged.full_upserts = true;
                }
                _ => *staged.masks.entry(mask.clone()).or_default() += 1,
            }
        }
        staged
    }

    /// Fills the unchanged values of rows that moved to a new key from the target's row under
    /// the old key, making them full upserts. A moved row without an old row at the target has
    /// values nobody knows: a definite error.
    async fn fill_from_old_keys(
        &self,
        target: &TargetTable,
        stage: &str,
        moved: u64,
    ) -> Result<(), SinkError> {
        let mut sets: Vec<String> = target
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !target.key.contains(i))
            .map(|(i, (name, _))| {
                format!(
                    "{0} = CASE WHEN position(',{i},' IN ',' || s._rv_mask || ',') > 0 THEN t.{0} ELSE s.{0} END",
                    quote_ident(name)
                )
            })
            .collect();
        sets.push("_rv_mask = ''".into());
        let from_match: Vec<String> = target
            .key
            .iter()
            .enumerate()
            .map(|(n, &k)| format!("t.{} = s._rv_from_{n}", quote_ident(&target.columns[k].0)))
            .collect();
        let sql = format!(
            "UPDATE {stage} s SET {} FROM {} t WHERE s._rv_op = 'u' AND s._rv_mask <> '' AND {}",
            sets.join(", "),
            target.qualified,
            from_match.join(" AND ")
        );
        let filled = self.execute(target, &sql).await?;
        if filled < moved {
            return Err(unknown_toast_values(target, moved - filled, "its old key"));
        }
        Ok(())
    }

    /// `UPDATE … FROM staging` of the columns an update sent, for the rows whose unchanged
    /// columns are `mask`; every one of the `rows` must find its row.
    async fn update_masked(
        &self,
        target: &TargetTable,
        stage: &str,
        key_match: &str,
        mask: &str,
        rows: u64,
    ) -> Result<(), SinkError> {
        let unchanged: Vec<usize> = mask.split(',').filter_map(|i| i.parse().ok()).collect();
        let sets: Vec<String> = target
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !target.key.contains(i) && !unchanged.contains(i))
            .map(|(_, (name, _))| format!("{0} = s.{0}", quote_ident(name)))
            .collect();
        let sql = if sets.is_empty() {
            // Nothing to set, but the rows must be there.
            format!(
                "SELECT 1 FROM {} t, {stage} s WHERE s._rv_op = 'u' AND s._rv_mask = '{mask}' AND {key_match}",
                target.qualified
            )
        } else {
            format!(
                "UPDATE {} t SET {} FROM {stage} s WHERE s._rv_op = 'u' AND s._rv_mask = '{mask}' AND {key_match}",
                target.qualified,
                sets.join(", ")
            )
        };
        let found = self.execute(target, &sql).await?;
        if found < rows {
            return Err(unknown_toast_values(target, rows - found, "its key"));
        }
        Ok(())
    }

    /// Keyless tables (`REPLICA IDENTITY FULL`): runs of inserts are copied, each update and
    /// delete changes exactly one row that equals the old row in every column.
    async fn ordered(&mut self, target: &TargetTable, changes: &[OrderedChange]) -> Result<(), SinkError> {
        let copy_sql = format!("COPY {} ({}) FROM STDIN", target.qualified, column_list(target));
        let context = format!("cannot apply changes to {}", target.display);
        let mut inserts = Vec::new();
        for change in changes {
            match (change.op, &change.before, &change.after) {
                (Op::Read | Op::Create, _, Some(after)) => {
                    copy_line(after, &mut self.scratch, &mut inserts);
                    continue;
                }
                (Op::Update | Op::Delete, Some(_), _) => {}
                _ => continue,
            }
            if !inserts.is_empty() {
                copy_in(self.client, &copy_sql, &inserts)
                    .await
                    .map_err(|e| query_error(&context, e))?;
                inserts.clear();
            }
            let Some(before) = &change.before else { continue };
            let mut params: Vec<Option<String>> = Vec::new();
            let mut sets = Vec::new();
            if change.op == Op::Update
                && let Some(after) = &change.after
            {
                for (i, v) in after.iter().enumerate() {
                    let v = if matches!(v, Value::Unchanged) {
                        &before[i]
                    } else {
                        v
                    };
                    if matches!(v, Value::Unchanged) {
                        continue;
                    }
                    params.push(text_param(v));
                    let (name, ty) = &target.columns[i];
                    sets.push(format!("{} = ${}::text::{ty}", quote_ident(name), params.len()));
                }
            }
            let mut conditions = Vec::new();
            for (i, v) in before.iter().enumerate() {
                if matches!(v, Value::Unchanged) {
                    continue;
                }
                params.push(text_param(v));
                let (name, ty) = &target.columns[i];
                let n = params.len();
                conditions.push(if has_equality(ty) {
                    format!("{} IS NOT DISTINCT FROM ${n}::text::{ty}", quote_ident(name))
                } else {
                    format!(
                        "{}::text IS NOT DISTINCT FROM (${n}::text::{ty})::text",
                        quote_ident(name)
                    )
                });
            }
            let find = format!(
                "ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)",
                target.qualified,
                conditions.join(" AND ")
            );
            let sql = if change.op == Op::Delete || sets.is_empty() {
                if change.op != Op::Delete {
                    continue;
                }
                format!("DELETE FROM {} WHERE {find}", target.qualified)
            } else {
                format!("UPDATE {} SET {} WHERE {find}", target.qualified, sets.join(", "))
            };
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let n = self
                .client
                .execute(&sql, &refs)
                .await
                .map_err(|e| query_error(&context, e))?;
            if n == 0 {
                tracing::warn!(table = %target.display, "a row the source changed is not in the target table (it was changed there?)");
            }
        }
        if !inserts.is_empty() {
            copy_in(self.client, &copy_sql, &inserts)
                .await
                .map_err(|e| query_error(&context, e))?;
        }
        Ok(())
    }
}

/// What `render_net` staged, and which statements it needs.
#[derive(Default)]
struct StagedNet {
    data: Vec<u8>,
    deletes: bool,
    full_upserts: bool,
    /// Upserts that moved to a new key with unchanged values (filled from the old key).
    moved: u64,
    /// Unchanged-column masks of the other upserts with unchanged values, and their row counts.
    masks: BTreeMap<String, u64>,
}

/// Update rows whose unchanged (TOAST) values are neither in the batch nor at the target.
fn unknown_toast_values(target: &TargetTable, rows: u64, under: &str) -> SinkError {
    SinkError::definite(format!(
        "{rows} updated row(s) of {} left out-of-line (TOAST) values unsent, and the target has no row under \
         {under} to keep them from (the target lacks rows the source has): run ALTER TABLE … REPLICA IDENTITY \
         FULL on the source table so updates carry every value, and snapshot the table again",
        target.display
    ))
}

/// Types without an `=` operator are compared by their text form.
fn has_equality(ty: &str) -> bool {
    !matches!(
        ty,
        "json" | "xml" | "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle"
    ) && !ty.starts_with("json")
}

fn column_list(target: &TargetTable) -> String {
    target
        .columns
        .iter()
        .map(|(name, _)| quote_ident(name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `COPY … FROM STDIN` with `data` (COPY text lines); returns the rows copied.
pub async fn copy_in(client: &Client, sql: &str, data: &[u8]) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, Bytes>(sql).await?;
    futures_util::pin_mut!(sink);
    for chunk in data.chunks(COPY_CHUNK) {
        sink.send(Bytes::copy_from_slice(chunk)).await?;
    }
    sink.finish().await
}
