//! Columns added at the source with a constant default (`ALTER TABLE … ADD COLUMN … DEFAULT
//! 7`): PostgreSQL gives the rows that existed then that value without writing WAL for them,
//! so no change event ever carries it. When the mirror adds such a column it sets it on the
//! rows it already has, so each row still equals its source row.
//!
//! ```text
//!  added column with Column::missing ─▶ one-row Arrow array (rivulet-arrow, table's type)
//!                                    ─▶ UPDATE table SET column = <value> (one commit per column)
//! ```
//!
//! The UPDATE rewrites every data file of the table: a cost proportional to the table, once
//! per added column (docs/FORMAT.md says so). It runs before the batch's MERGE; a crash in
//! between replays the batch, and the column then exists and is not filled again (the rows
//! already have the value).

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::logical_expr::lit;
use deltalake::datafusion::scalar::ScalarValue;
use rivulet_arrow::ArrowOptions;
use rivulet_core::{Column, Op, SinkError, TableSchema};

use crate::errors::delta_error;
use crate::table::table_rows;

/// Sets every existing row's `column` to its `missing` value; returns the new table state.
pub async fn fill_added_column(
    delta: DeltaTable,
    schema: &TableSchema,
    column: &Column,
    target: &SchemaRef,
    table_name: &str,
) -> Result<DeltaTable, SinkError> {
    let Some(value) = scalar(schema, column, target, table_name)? else {
        return Ok(delta);
    };
    let (table, metrics) = delta
        .update()
        .with_update(column.name.as_str(), lit(value))
        .await
        .map_err(|e| {
            delta_error(
                &format!(
                    "cannot give the existing rows of Delta table {table_name} the default of added column {}",
                    column.name
                ),
                e,
            )
        })?;
    tracing::info!(
        table = %table_name,
        column = %column.name,
        rows = metrics.num_updated_rows,
        "gave the existing rows the added column's default (the source's rows have it too)"
    );
    Ok(table)
}

/// The column's missing value in the table's type, or `None` when it has none.
fn scalar(
    schema: &TableSchema,
    column: &Column,
    target: &SchemaRef,
    table_name: &str,
) -> Result<Option<ScalarValue>, SinkError> {
    let Some(value) = &column.missing else {
        return Ok(None);
    };
    let mut one = schema.clone();
    one.columns = vec![column.clone()];
    one.primary_key = Vec::new();
    let one = Arc::new(one);
    let options = ArrowOptions {
        without_cdc_columns: true,
        ..Default::default()
    };
    let batch = table_rows(
        &one,
        vec![(Op::Create, vec![value.clone()])],
        &options,
        target,
        table_name,
    )?;
    let fail =
        |e: String| SinkError::definite(format!("Delta table {table_name}, column {}: {e}", column.name));
    ScalarValue::try_from_array(batch.column(0), 0)
        .map(Some)
        .map_err(|e| fail(e.to_string()))
}
