//! What the decoder knows about each table: its columns, how to read each one, and the current
//! `Arc<TableSchema>` version that events share.
//!
//! A new schema version is published only when something a sink can see changes: a column
//! appears (ALTER TABLE upstream, or a field seen for the first time), a column's type becomes
//! known or changes, or the key changes. In the steady state every event of a table points at
//! the same `Arc`, which is what sinks key their per-table caches on.

use std::collections::HashMap;
use std::sync::Arc;

use rivulet_core::{Column, PgType, ReplicaIdentity, Row, TableId, TableSchema, Value};

use super::connect::{Logical, SchemaColumns};
use super::infer::Inferred;
use super::json::{Fields, Json};
use super::numbers::quoted;

/// How one column's values are read.
#[derive(Clone, Debug, PartialEq)]
enum Reader {
    /// From the JSON alone (no schema): the type follows the values.
    Inferred(Inferred),
    /// As a Kafka Connect schema says.
    Typed(Logical, PgType),
}

#[derive(Clone, Debug, PartialEq)]
struct ColumnState {
    name: String,
    reader: Reader,
    nullable: bool,
}

impl ColumnState {
    fn pg_type(&self) -> PgType {
        match &self.reader {
            Reader::Inferred(inferred) => inferred.pg_type(),
            Reader::Typed(_, pg_type) => pg_type.clone(),
        }
    }
}

/// One table's decoding state.
pub struct TableState {
    /// The published version.
    schema: Arc<TableSchema>,
    columns: Vec<ColumnState>,
    by_name: HashMap<String, usize>,
    primary_key: Vec<usize>,
    /// The Connect schema the columns were built from, while records keep bringing it.
    typed_by: Option<Arc<SchemaColumns>>,
    /// Set when `columns` or `primary_key` differ from the published version.
    dirty: bool,
    key_scratch: Vec<usize>,
}

impl TableState {
    pub fn new(id: TableId) -> Self {
        TableState {
            schema: Arc::new(TableSchema {
                id,
                relation_oid: 0,
                columns: Vec::new(),
                primary_key: Vec::new(),
                replica_identity: ReplicaIdentity::Default,
            }),
            columns: Vec::new(),
            by_name: HashMap::new(),
            primary_key: Vec::new(),
            typed_by: None,
            dirty: false,
            key_scratch: Vec::new(),
        }
    }

    /// Switches to the columns a record's Connect schema describes (or back to inference when a
    /// record has none). Columns that stay the same keep the published version.
    pub fn use_schema(&mut self, schema: Option<&Arc<SchemaColumns>>) {
        match (schema, &self.typed_by) {
            (Some(new), Some(old)) if Arc::ptr_eq(new, old) => {}
            (Some(new), _) => {
                let columns: Vec<ColumnState> = new
                    .columns
                    .iter()
                    .map(|c| ColumnState {
                        name: c.name.clone(),
                        reader: Reader::Typed(c.logical.clone(), c.pg_type.clone()),
                        nullable: c.nullable,
                    })
                    .collect();
                if columns != self.columns {
                    self.columns = columns;
                    self.rebuild_index();
                    // Key indices refer to the old columns; the record's key resets them.
                    self.primary_key.clear();
                    self.dirty = true;
                }
                self.typed_by = Some(new.clone());
            }
            // Typed columns keep their readers; fields the schema did not have are inferred.
            (None, _) => self.typed_by = None,
        }
    }

    /// Reads a row image's fields (`before` / `after`). Fields are matched to columns by name;
    /// without a schema, unknown fields become new columns (appended, type inferred). With a
    /// schema, fields it does not declare are ignored, as Kafka Connect's `JsonConverter` does.
    pub fn decode_row(&mut self, fields: &Fields<'_>, placeholder: Option<&str>) -> Result<Row, String> {
        let mut row = vec![Value::Null; self.columns.len()];
        for (position, (name, json)) in fields.iter().enumerate() {
            let index = match self.find(name, position) {
                Some(index) => index,
                None if self.typed_by.is_none() => self.add_column(name),
                None => continue,
            };
            if index >= row.len() {
                row.resize(index + 1, Value::Null);
            }
            row[index] = self
                .read(index, json, placeholder)
                .map_err(|e| format!("column {}: {e}", quoted(name)))?;
        }
        Ok(row)
    }

    fn read(&mut self, index: usize, json: &Json<'_>, placeholder: Option<&str>) -> Result<Value, String> {
        let column = &mut self.columns[index];
        // Debezium's stand-in for an unchanged TOAST value: the text itself in text-like
        // columns, its UTF-8 bytes (base64) in bytea columns.
        if let (Some(placeholder), Json::Str(text)) = (placeholder, json)
            && text == placeholder
            && !matches!(&column.reader, Reader::Typed(Logical::Bytes, _))
        {
            return Ok(Value::Unchanged);
        }
        match &mut column.reader {
            Reader::Inferred(inferred) => {
                let mut changed = false;
                let value = inferred.decode(json, &mut changed);
                self.dirty |= changed;
                Ok(value)
            }
            Reader::Typed(logical, _) => {
                let value = logical.decode(json)?;
                match (&value, placeholder) {
                    (Value::Bytes(bytes), Some(p)) if bytes.as_slice() == p.as_bytes() => {
                        Ok(Value::Unchanged)
                    }
                    _ => Ok(value),
                }
            }
        }
    }

    /// Sets the key from the record key's field names, in key order; names that are not
    /// columns are skipped.
    pub fn set_key<'k>(&mut self, names: impl Iterator<Item = &'k str>) {
        let mut key = std::mem::take(&mut self.key_scratch);
        key.clear();
        key.extend(names.filter_map(|name| self.find(name, usize::MAX)));
        if key != self.primary_key {
            std::mem::swap(&mut key, &mut self.primary_key);
            self.dirty = true;
        }
        // Reused, so the steady state allocates nothing.
        self.key_scratch = key;
    }

    /// The current version, publishing a new one if anything changed.
    pub fn schema(&mut self) -> &Arc<TableSchema> {
        if self.dirty {
            self.dirty = false;
            let columns: Vec<Column> = self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    type_oid: 0,
                    type_modifier: -1,
                    pg_type: c.pg_type(),
                    nullable: c.nullable,
                    default: None,
                    missing: None,
                })
                .collect();
            let published = TableSchema {
                id: self.schema.id.clone(),
                relation_oid: 0,
                columns,
                primary_key: self.primary_key.clone(),
                replica_identity: ReplicaIdentity::Default,
            };
            // A type that went back and forth ends where it was: keep the old version.
            if published != *self.schema {
                self.schema = Arc::new(published);
            }
        }
        &self.schema
    }

    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// The column called `name`; `position` (the field's place in its object) is tried first,
    /// since producers write every row in column order.
    fn find(&self, name: &str, position: usize) -> Option<usize> {
        if self.columns.get(position).is_some_and(|c| c.name == name) {
            return Some(position);
        }
        self.by_name.get(name).copied()
    }

    fn add_column(&mut self, name: &str) -> usize {
        let index = self.columns.len();
        self.columns.push(ColumnState {
            name: name.to_string(),
            reader: Reader::Inferred(Inferred::Unknown),
            nullable: true,
        });
        self.by_name.insert(name.to_string(), index);
        self.dirty = true;
        index
    }

    fn rebuild_index(&mut self) {
        self.by_name.clear();
        for (index, column) in self.columns.iter().enumerate() {
            // The first of duplicate names wins, as for `find`'s positional match in practice.
            self.by_name.entry(column.name.clone()).or_insert(index);
        }
    }
}

/// Decoding state of every table seen. Looked up by schema and name without building a
/// `TableId` (that would allocate for every record).
#[derive(Default)]
pub struct Tables {
    index: HashMap<String, HashMap<String, usize>>,
    states: Vec<TableState>,
}

impl Tables {
    pub fn get(&mut self, schema: &str, name: &str) -> &mut TableState {
        if let Some(&at) = self.index.get(schema).and_then(|tables| tables.get(name)) {
            return &mut self.states[at];
        }
        let at = self.states.len();
        self.states.push(TableState::new(TableId::new(schema, name)));
        self.index
            .entry(schema.to_string())
            .or_default()
            .insert(name.to_string(), at);
        &mut self.states[at]
    }
}
