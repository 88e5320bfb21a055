//! PostgreSQL rows as Arrow: the one mapping the columnar sinks (files, Delta) share.
//!
//! ```text
//!  Arc<TableSchema> ──arrow_schema()──▶ SchemaRef  (table columns + _cdc_* columns)
//!  ChangeEvent (row) ──BatchBuilder::push()──▶ column builders ──finish()──▶ RecordBatch
//! ```
//!
//! Every table column keeps a real type (see [`arrow_type`]); four columns describe the change:
//! `_cdc_operation` (`R` snapshot read, `I`, `U`, `D`), `_cdc_timestamp` (commit time),
//! `_cdc_lsn` (the change's WAL position as a number) and `_cdc_txid`. A delete carries its
//! before image (only the key columns, unless the table has `REPLICA IDENTITY FULL`).

mod convert;
mod types;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rivulet_core::{Change, ChangeEvent, Op, TableSchema};

pub use arrow;
pub use types::arrow_type;

use convert::ColumnBuilder;

/// `_cdc_operation`: `R` (snapshot read), `I` (insert), `U` (update), `D` (delete). Utf8, not null.
pub const CDC_OPERATION: &str = "_cdc_operation";
/// `_cdc_timestamp`: the transaction's commit time. Timestamp(µs, "UTC"), not null.
pub const CDC_TIMESTAMP: &str = "_cdc_timestamp";
/// `_cdc_lsn`: the WAL position of the change as a number (`pg_lsn - '0/0'`). Int64, not null.
pub const CDC_LSN: &str = "_cdc_lsn";
/// `_cdc_txid`: the source transaction id. Int64, nullable (snapshot rows have none).
pub const CDC_TXID: &str = "_cdc_txid";

/// What an unchanged TOASTed value (an update that did not send a large column) becomes in a
/// text or binary column, as Debezium does. In other columns it becomes null.
pub const UNCHANGED_TOAST_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// How types that not every format can hold are represented.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Flavor {
    /// Parquet, Delta: arrays are Arrow lists.
    #[default]
    Columnar,
    /// CSV and other flat formats: arrays are JSON array text (`[1,2,null]`).
    Flat,
}

/// Options for the mapping.
#[derive(Copy, Clone, Debug, Default)]
pub struct ArrowOptions {
    pub flavor: Flavor,
    /// Leave out the four `_cdc_*` columns (a mirror table that only holds current rows).
    pub without_cdc_columns: bool,
}

/// A row that cannot be represented in its Arrow column.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("table {table}, column {column}: {message}")]
    Value {
        table: String,
        column: String,
        message: String,
    },
    #[error("building the Arrow batch for table {table}: {source}")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// The Arrow schema of a table's rows: its columns in table order (nullable unless `NOT NULL`,
/// except that every column is nullable so a delete's key-only before image fits), then the
/// `_cdc_*` columns unless left out.
pub fn arrow_schema(table: &TableSchema, options: &ArrowOptions) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| Field::new(&c.name, arrow_type(&c.pg_type, options.flavor), true))
        .collect();
    if !options.without_cdc_columns {
        fields.extend(cdc_fields());
    }
    Arc::new(Schema::new(fields))
}

/// The four `_cdc_*` fields, in order.
pub fn cdc_fields() -> [Field; 4] {
    [
        Field::new(CDC_OPERATION, DataType::Utf8, false),
        Field::new(
            CDC_TIMESTAMP,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new(CDC_LSN, DataType::Int64, false),
        Field::new(CDC_TXID, DataType::Int64, true),
    ]
}

/// The `_cdc_operation` code of a row change: `R`, `I`, `U`, `D`; `None` for anything else.
pub fn operation_code(op: Op) -> Option<&'static str> {
    match op {
        Op::Read => Some("R"),
        Op::Create => Some("I"),
        Op::Update => Some("U"),
        Op::Delete => Some("D"),
        _ => None,
    }
}

/// Accumulates the rows of one table (one schema) into a [`RecordBatch`].
///
/// Rows are appended to typed column builders as they come, so memory is the Arrow size of the
/// rows, not a copy of the events.
pub struct BatchBuilder {
    table: Arc<TableSchema>,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    cdc: Option<convert::CdcBuilders>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(table: Arc<TableSchema>, options: &ArrowOptions) -> Self {
        let schema = arrow_schema(&table, options);
        let columns = table
            .columns
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| ColumnBuilder::new(&c.pg_type, f.data_type()))
            .collect();
        BatchBuilder {
            table,
            schema,
            columns,
            cdc: (!options.without_cdc_columns).then(convert::CdcBuilders::default),
            rows: 0,
        }
    }

    /// The table this builder is for. Rows of another schema (after an ALTER TABLE) need a new
    /// builder: compare with `Arc::ptr_eq` or `==`.
    pub fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows appended since the last [`BatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends a row change: the after image for reads, inserts and updates, the before image
    /// for deletes. Returns `Ok(false)` (and appends nothing) for events that are not row
    /// changes (truncates, messages, heartbeats, transaction markers). The event's table must be
    /// this builder's table; a row that does not match it is an error.
    ///
    /// On error nothing of the row is kept.
    pub fn push(&mut self, event: &ChangeEvent) -> Result<bool, ConvertError> {
        let Change::Row(change) = &event.change else {
            return Ok(false);
        };
        let Some(code) = operation_code(change.op) else {
            return Ok(false);
        };
        let row = if change.op == Op::Delete {
            change.before.as_ref()
        } else {
            change.after.as_ref()
        };
        let Some(row) = row else {
            return Err(self.value_error(
                "(row)",
                format!("a {} event without its row image", change.op.code()),
            ));
        };
        if row.len() != self.columns.len() {
            return Err(self.value_error(
                "(row)",
                format!(
                    "the row has {} values but the schema has {} columns",
                    row.len(),
                    self.columns.len()
                ),
            ));
        }
        // Convert every value first so a bad one leaves the builders untouched.
        let mut cells = Vec::with_capacity(row.len());
        for (i, value) in row.iter().enumerate() {
            match self.columns[i].convert(value) {
                Ok(cell) => cells.push(cell),
                Err(message) => {
                    let column = self.table.columns[i].name.clone();
                    return Err(self.value_error(&column, message));
                }
            }
        }
        for (builder, cell) in self.columns.iter_mut().zip(cells) {
            builder.append(cell);
        }
        if let Some(cdc) = &mut self.cdc {
            cdc.append(code, &event.source);
        }
        self.rows += 1;
        Ok(true)
    }

    /// Takes the rows appended so far as a batch; the builder is empty afterwards and can be
    /// reused for the same table.
    pub fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        let mut arrays: Vec<arrow::array::ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for builder in &mut self.columns {
            arrays.push(builder.finish().map_err(|source| ConvertError::Arrow {
                table: self.table.id.to_string(),
                source,
            })?);
        }
        if let Some(cdc) = &mut self.cdc {
            arrays.extend(cdc.finish());
        }
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| ConvertError::Arrow {
            table: self.table.id.to_string(),
            source,
        })
    }

    fn value_error(&self, column: &str, message: String) -> ConvertError {
        ConvertError::Value {
            table: self.table.id.to_string(),
            column: column.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, Int64Type, TimestampMicrosecondType};
    use rivulet_core::{
        Column, Lsn, Numeric, PgType, ReplicaIdentity, RowChange, SourceMeta, TableId, Value,
    };

    use super::*;

    fn table() -> Arc<TableSchema> {
        let col = |name: &str, pg_type| Column {
            name: name.into(),
            type_oid: 0,
            type_modifier: -1,
            pg_type,
            nullable: true,
            default: None,
            missing: None,
        };
        Arc::new(TableSchema {
            id: TableId::new("db_loja", "cliente"),
            relation_oid: 1,
            columns: vec![
                col("id", PgType::Int8),
                col("nome", PgType::Text),
                col(
                    "saldo",
                    PgType::Numeric {
                        precision: Some(12),
                        scale: Some(2),
                    },
                ),
                col("tags", PgType::Array(Box::new(PgType::Int4))),
            ],
            primary_key: vec![0],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    fn event(table: &Arc<TableSchema>, op: Op, row: Vec<Value>, lsn: u64) -> ChangeEvent {
        let (before, after) = if op == Op::Delete {
            (Some(row), None)
        } else {
            (None, Some(row))
        };
        ChangeEvent {
            change: Change::Row(RowChange {
                table: table.clone(),
                op,
                before,
                after,
            }),
            source: SourceMeta {
                lsn: Lsn(lsn),
                txid: Some(7),
                commit_time_us: 1_704_067_200_000_000,
                ..SourceMeta::default()
            },
        }
    }

    #[test]
    fn events_become_typed_rows_with_cdc_columns() {
        let t = table();
        let mut b = BatchBuilder::new(t.clone(), &ArrowOptions::default());
        let row = vec![
            Value::Int64(1),
            Value::Text("Ana".into()),
            Value::Numeric(Numeric::Finite("10.5".into())),
            Value::Array(vec![Value::Int32(1), Value::Null]),
        ];
        assert!(b.push(&event(&t, Op::Create, row, 100)).unwrap());
        let key_only = vec![Value::Int64(1), Value::Null, Value::Null, Value::Null];
        assert!(b.push(&event(&t, Op::Delete, key_only, 200)).unwrap());
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema().field(2).data_type(), &DataType::Decimal128(12, 2));
        let saldo = batch.column(2).as_primitive::<Decimal128Type>();
        assert_eq!(saldo.value(0), 1050);
        assert!(saldo.is_null(1));
        let op = batch.column_by_name(CDC_OPERATION).unwrap().as_string::<i32>();
        assert_eq!((op.value(0), op.value(1)), ("I", "D"));
        let lsn = batch.column_by_name(CDC_LSN).unwrap().as_primitive::<Int64Type>();
        assert_eq!(lsn.value(1), 200);
        let ts = batch
            .column_by_name(CDC_TIMESTAMP)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_704_067_200_000_000);
        let tags = batch.column(3).as_list::<i32>();
        assert_eq!(tags.value(0).len(), 2);
        assert!(tags.is_null(1));
        assert!(b.is_empty());
    }

    #[test]
    fn a_bad_row_is_refused_whole() {
        let t = table();
        let mut b = BatchBuilder::new(t.clone(), &ArrowOptions::default());
        let row = vec![
            Value::Int64(1),
            Value::Text("x".into()),
            Value::Numeric(Numeric::NaN),
            Value::Null,
        ];
        let err = b.push(&event(&t, Op::Create, row, 1)).unwrap_err().to_string();
        assert!(err.contains("saldo") && err.contains("NaN"), "{err}");
        assert!(b.is_empty());
        assert_eq!(b.finish().unwrap().num_rows(), 0);
    }

    #[test]
    fn flat_flavor_writes_arrays_as_json_text() {
        let t = table();
        let options = ArrowOptions {
            flavor: Flavor::Flat,
            ..ArrowOptions::default()
        };
        let mut b = BatchBuilder::new(t.clone(), &options);
        let row = vec![
            Value::Int64(1),
            Value::Unchanged,
            Value::Null,
            Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
        ];
        b.push(&event(&t, Op::Update, row, 1)).unwrap();
        let batch = b.finish().unwrap();
        assert_eq!(batch.column(3).as_string::<i32>().value(0), "[1,2]");
        assert_eq!(
            batch.column(1).as_string::<i32>().value(0),
            UNCHANGED_TOAST_PLACEHOLDER
        );
    }
}
