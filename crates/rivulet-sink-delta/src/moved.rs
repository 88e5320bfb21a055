//! Unchanged out-of-line (TOAST) values the MERGE source does not have. Rows whose primary key
//! an update changed have them in the table under the old key: before the MERGE, the MERGE
//! source is joined with the table on the old key and takes them from there. The other rows
//! keep the table's values under their own key (keep flags in the MERGE), so that row must
//! exist: `require_rows` checks it, reading only the key columns.
//!
//! ```text
//!  MERGE source (+ __rivulet_from_<key>)  LEFT JOIN  table (key, kept columns → __rivulet_origin_*)
//!      ON from-key = key ─▶ kept columns of moved rows := origin values, their keep flags cleared
//!                        ─▶ a moved row without an origin row: definite error (values unknown)
//! ```
//!
//! This is a second read of the table, so it runs only for flushes that have such rows (a
//! key change of a row with an unchanged TOAST value applied in an earlier flush).

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use deltalake::arrow::compute::concat_batches;
use deltalake::arrow::datatypes::{Field, Schema, SchemaRef};
use deltalake::datafusion::common::Column as DfColumn;
use deltalake::datafusion::logical_expr::{Expr, JoinType, when};
use deltalake::datafusion::prelude::{DataFrame, SessionContext};
use rivulet_arrow::ArrowOptions;
use rivulet_core::{Op, Row, SinkError, TableSchema, Value};

use crate::errors::delta_error;
use crate::table::{KEEP_PREFIX, table_rows};

/// `__rivulet_from_<key column>`: a moved row's old key.
const FROM_PREFIX: &str = "__rivulet_from_";
/// `__rivulet_origin_<column>`: the table's values under the old key.
const ORIGIN_PREFIX: &str = "__rivulet_origin_";
const MISSING: &str = "__rivulet_origin_missing";

fn column(name: &str) -> Expr {
    Expr::Column(DfColumn::new_unqualified(name))
}

fn plan_error(table_name: &str, e: impl std::fmt::Display) -> SinkError {
    SinkError::definite(format!(
        "Delta table {table_name}: cannot read the old keys' values of rows whose key changed: {e}"
    ))
}

/// The keys of `rows` (null for `None`) as the table's key columns, named
/// `__rivulet_from_<key>`: the old keys of moved rows, one per MERGE source row, or the keys
/// [`require_rows`] looks for.
pub fn old_keys(
    schema: &TableSchema,
    origins: &[Option<&Row>],
    options: &ArrowOptions,
    target: &SchemaRef,
    table_name: &str,
) -> Result<RecordBatch, SinkError> {
    let mut keys = schema.clone();
    keys.columns = schema
        .primary_key
        .iter()
        .map(|&i| schema.columns[i].clone())
        .collect();
    keys.primary_key = (0..keys.columns.len()).collect();
    let keys = Arc::new(keys);
    let rows: Vec<(Op, Row)> = origins
        .iter()
        .map(|origin| {
            let row = match origin {
                Some(o) => schema.primary_key.iter().map(|&i| o[i].clone()).collect(),
                None => vec![Value::Null; keys.columns.len()],
            };
            (Op::Create, row)
        })
        .collect();
    let conformed = table_rows(&keys, rows, options, target, table_name)?;
    let renamed: Vec<Arc<Field>> = conformed
        .schema()
        .fields()
        .iter()
        .map(|f| {
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_name(format!("{FROM_PREFIX}{}", f.name()))
                    .with_nullable(true),
            )
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(renamed)), conformed.columns().to_vec())
        .map_err(|e| plan_error(table_name, e))
}

/// The MERGE source with the kept values of moved rows taken from the table's row under the
/// old key (`from`, from [`old_keys`]), their keep flags cleared.
pub async fn fill_from_old_keys(
    delta: &DeltaTable,
    schema: &TableSchema,
    batch: RecordBatch,
    from: RecordBatch,
    table_name: &str,
) -> Result<RecordBatch, SinkError> {
    let key_names: Vec<&str> = schema
        .primary_key
        .iter()
        .map(|&i| schema.columns[i].name.as_str())
        .collect();
    let kept: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .filter_map(|f| f.name().strip_prefix(KEEP_PREFIX).map(str::to_string))
        .collect();
    let out_fields: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let ctx = SessionContext::new();
    let source = ctx
        .read_batch(side_by_side(&batch, &from, table_name)?)
        .map_err(|e| plan_error(table_name, e))?;
    let wanted: Vec<&str> = key_names
        .iter()
        .copied()
        .chain(kept.iter().map(String::as_str))
        .collect();
    let origin = table_frame(&ctx, delta, &wanted, table_name).await?;
    let moved = column(&format!("{FROM_PREFIX}{}", key_names[0])).is_not_null();
    let mut select: Vec<Expr> = Vec::with_capacity(out_fields.len() + 1);
    for name in &out_fields {
        let expr = if name.starts_with(KEEP_PREFIX) {
            column(name).and(Expr::Not(Box::new(moved.clone())))
        } else if kept.contains(name) {
            when(
                moved.clone().and(column(&format!("{KEEP_PREFIX}{name}"))),
                column(&format!("{ORIGIN_PREFIX}{name}")),
            )
            .otherwise(column(name))
            .map_err(|e| plan_error(table_name, e))?
        } else {
            column(name)
        };
        select.push(expr.alias(name));
    }
    select.push(
        moved
            .and(column(&format!("{ORIGIN_PREFIX}{}", key_names[0])).is_null())
            .alias(MISSING),
    );
    let batches = source
        .join_on(origin, JoinType::Left, key_match(&key_names))
        .and_then(|j| j.select(select))
        .map_err(|e| plan_error(table_name, e))?
        .collect()
        .await
        .map_err(|e| plan_error(table_name, e))?;
    without_missing(&batches, table_name)
}

/// Rows whose unchanged values the MERGE keeps from the table's row with the same key: that row
/// must exist, or the values are unknown (a table that lacks rows the source has). Reads only
/// the key columns.
pub async fn require_rows(
    delta: &DeltaTable,
    schema: &TableSchema,
    keys: RecordBatch,
    table_name: &str,
) -> Result<(), SinkError> {
    let key_names: Vec<&str> = schema
        .primary_key
        .iter()
        .map(|&i| schema.columns[i].name.as_str())
        .collect();
    let wanted = keys.num_rows();
    let ctx = SessionContext::new();
    let keys = ctx.read_batch(keys).map_err(|e| plan_error(table_name, e))?;
    let table = table_frame(&ctx, delta, &key_names, table_name).await?;
    let found = keys
        .join_on(table, JoinType::Inner, key_match(&key_names))
        .map_err(|e| plan_error(table_name, e))?
        .count()
        .await
        .map_err(|e| plan_error(table_name, e))?;
    if found < wanted {
        return Err(unknown_values(wanted - found, table_name, "key"));
    }
    Ok(())
}

/// `__rivulet_from_<k> = __rivulet_origin_<k>` for every key column.
fn key_match(key_names: &[&str]) -> Vec<Expr> {
    key_names
        .iter()
        .map(|k| column(&format!("{FROM_PREFIX}{k}")).eq(column(&format!("{ORIGIN_PREFIX}{k}"))))
        .collect()
}

/// The table's `columns`, named `__rivulet_origin_<column>`.
async fn table_frame(
    ctx: &SessionContext,
    delta: &DeltaTable,
    columns: &[&str],
    table_name: &str,
) -> Result<DataFrame, SinkError> {
    delta
        .update_datafusion_session(&ctx.state())
        .map_err(|e| delta_error(&format!("cannot read Delta table {table_name}"), e))?;
    let provider = delta
        .table_provider()
        .await
        .map_err(|e| plan_error(table_name, e))?;
    ctx.read_table(provider)
        .and_then(|t| {
            t.select(
                columns
                    .iter()
                    .map(|n| column(n).alias(format!("{ORIGIN_PREFIX}{n}"))),
            )
        })
        .map_err(|e| plan_error(table_name, e))
}

fn unknown_values(rows: usize, table_name: &str, under: &str) -> SinkError {
    SinkError::definite(format!(
        "{rows} updated row(s) of Delta table {table_name} left out-of-line (TOAST) values unsent, and the table \
         has no row under the {under} to take them from (the table lacks rows the source has): run ALTER TABLE … \
         REPLICA IDENTITY FULL on the source table so updates carry every value, and snapshot the table again"
    ))
}

/// The MERGE source's columns followed by the old-key columns.
fn side_by_side(batch: &RecordBatch, from: &RecordBatch, table_name: &str) -> Result<RecordBatch, SinkError> {
    let schema = batch.schema();
    let from_schema = from.schema();
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .chain(from_schema.fields().iter())
        .cloned()
        .collect();
    let columns: Vec<ArrayRef> = batch.columns().iter().chain(from.columns()).cloned().collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| plan_error(table_name, e))
}

/// One batch without the `MISSING` column; a definite error when any row has it set.
fn without_missing(batches: &[RecordBatch], table_name: &str) -> Result<RecordBatch, SinkError> {
    let Some(first) = batches.first() else {
        return Err(plan_error(table_name, "the join returned no rows"));
    };
    let joined = concat_batches(&first.schema(), batches).map_err(|e| plan_error(table_name, e))?;
    let at = joined
        .schema()
        .index_of(MISSING)
        .map_err(|e| plan_error(table_name, e))?;
    let missing = joined
        .column(at)
        .as_any()
        .downcast_ref::<BooleanArray>()
        .map_or(0, |m| m.iter().filter(|v| *v == Some(true)).count());
    if missing > 0 {
        return Err(unknown_values(missing, table_name, "old key"));
    }
    let mut keep: Vec<usize> = (0..joined.num_columns()).collect();
    keep.remove(at);
    joined.project(&keep).map_err(|e| plan_error(table_name, e))
}
