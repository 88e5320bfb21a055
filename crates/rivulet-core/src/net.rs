//! Net changes: a table's row changes between two checkpoints, collapsed to one change per
//! primary key — the rules every mirroring sink (PostgreSQL replica, Delta) applies set-wise.
//!
//! ```text
//!  c / r / u / d ──▶ NetChanges::apply ──▶ key → Upsert { row, origin } | Delete(row)
//!                      │  insert → update → delete ⇒ a delete of a key the target lacks
//!                      │  update of key 1 to 2     ⇒ Delete(1), Upsert(2, origin = 1)
//!                      │  unchanged TOAST values   ⇐ the key's earlier row in the batch,
//!                      │                              a FULL before-row, or (left Unchanged)
//!                      │                              the target's row at `origin` / the same key
//!  TRUNCATE ─────────▶ NetChanges::truncate: forget the entries, empty the target first
//!  newer schema ─────▶ NetChanges::adopt: stored rows re-aligned by column name
//! ```
//!
//! PostgreSQL leaves an out-of-line (TOAST) value out of an update that did not change it
//! (`Value::Unchanged`). The value is still known downstream: earlier in the batch, or at the
//! target. When the update also changed the key, the target holds the value under the *old*
//! key, so the upsert carries that key as its `origin`; a sink reads the unchanged values from
//! there before it applies the batch's deletes. Only when the target has no row at the origin
//! is the value truly unknown, and the sink must stop rather than write a placeholder.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{Lsn, Op, ReplicaIdentity, Row, TableSchema, Value};

/// The net effect of the batch on one primary key.
#[derive(Clone, Debug, PartialEq)]
pub enum NetChange {
    /// The row as it must be at the end of the batch. `Value::Unchanged` columns take the
    /// target's value of the row at `origin` (a row whose key columns are meaningful) or, when
    /// `origin` is `None`, of the row with this key.
    Upsert { row: Row, origin: Option<Row> },
    /// The key's row must be gone; only the key columns are meaningful.
    Delete(Row),
}

impl NetChange {
    /// The row this change carries (the upserted row, or the deleted one).
    pub fn row(&self) -> &Row {
        match self {
            NetChange::Upsert { row, .. } | NetChange::Delete(row) => row,
        }
    }

    /// True for an upsert that still has values only the target knows.
    pub fn needs_target_values(&self) -> bool {
        matches!(self, NetChange::Upsert { row, .. } if has_unchanged(row))
    }

    /// The origin of an upsert's unknown values when it is another key (a key change).
    pub fn moved_from(&self) -> Option<&Row> {
        match self {
            NetChange::Upsert { origin, .. } => origin.as_ref(),
            NetChange::Delete(_) => None,
        }
    }
}

/// One table's changes, collapsed per key, in first-seen key order (so what a sink applies is
/// deterministic).
#[derive(Debug)]
pub struct NetChanges {
    schema: Arc<TableSchema>,
    index: HashMap<Vec<u8>, usize>,
    entries: Vec<NetChange>,
    truncated: bool,
    source_changes: u64,
    /// The last change when it was a delete: its WAL position, its row and the key's entry
    /// before it. A source that splits a key change into delete(old) + create(new) at one
    /// position, as Debezium does, sends the create's unchanged values nowhere else. (A create
    /// at another position is no key change: a filter may have dropped its delete.)
    last_delete: Option<(Lsn, Row, Option<NetChange>)>,
}

impl NetChanges {
    /// An empty set for a table with a primary key (a table without one has no net changes:
    /// its changes must be applied one by one).
    pub fn new(schema: Arc<TableSchema>) -> NetChanges {
        NetChanges {
            schema,
            index: HashMap::new(),
            entries: Vec::new(),
            truncated: false,
            source_changes: 0,
            last_delete: None,
        }
    }

    /// The schema every stored row is aligned with.
    pub fn schema(&self) -> &Arc<TableSchema> {
        &self.schema
    }

    /// The net changes, in first-seen key order.
    pub fn entries(&self) -> &[NetChange] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries and no truncate.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && !self.truncated
    }

    /// A TRUNCATE came before the entries: the target must be emptied first.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Source changes folded in (before collapsing), for logs and metrics.
    pub fn source_changes(&self) -> u64 {
        self.source_changes
    }

    /// True when the batch already has an entry for `row`'s key.
    pub fn contains_key_of(&self, row: &Row) -> bool {
        self.index.contains_key(&key_bytes(&self.schema, row))
    }

    /// A TRUNCATE: everything earlier is gone.
    pub fn truncate(&mut self) {
        self.index.clear();
        self.entries.clear();
        self.last_delete = None;
        self.truncated = true;
        self.source_changes += 1;
    }

    /// Moves to a newer schema of the table: stored rows are re-aligned to it by column name
    /// ([`realign`]).
    pub fn adopt(&mut self, schema: &Arc<TableSchema>) {
        if same_columns(&self.schema, schema) {
            self.schema = Arc::clone(schema);
            return;
        }
        let old = std::mem::replace(&mut self.schema, Arc::clone(schema));
        self.last_delete = None;
        for entry in &mut self.entries {
            match entry {
                NetChange::Upsert { row, origin } => {
                    *row = realign(row, &old, schema);
                    if let Some(o) = origin {
                        *o = realign(o, &old, schema);
                    }
                }
                NetChange::Delete(row) => *row = realign(row, &old, schema),
            }
        }
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (key_bytes(schema, e.row()), i))
            .collect();
    }

    /// Folds in one row change made under `schema` (re-aligned when it is an older schema
    /// than the one adopted) at WAL position `at`. Changes that carry no row (an update
    /// without a new row) are ignored.
    pub fn apply(
        &mut self,
        schema: &Arc<TableSchema>,
        op: Op,
        before: Option<&Row>,
        after: Option<&Row>,
        at: Lsn,
    ) {
        let align = |row: &Row| -> Row {
            if same_columns(&self.schema, schema) {
                row.clone()
            } else {
                realign(row, schema, &self.schema)
            }
        };
        let before = before.map(align);
        let after = after.map(align);
        self.source_changes += 1;
        let last_delete = self.last_delete.take();
        match op {
            Op::Read | Op::Create => {
                let Some(row) = after else { return };
                match last_delete {
                    Some((lsn, old, prev)) if lsn == at && has_unchanged(&row) => {
                        self.moved_in(&old, prev, row);
                    }
                    _ => self.put(
                        key_bytes(&self.schema, &row),
                        NetChange::Upsert { row, origin: None },
                    ),
                }
            }
            Op::Update => {
                if let Some(row) = after {
                    self.update(before, row);
                }
            }
            Op::Delete => {
                if let Some(row) = before {
                    let prev = self.delete(row.clone());
                    self.last_delete = Some((at, row, prev));
                }
            }
            Op::Truncate => self.truncate(),
            Op::Message | Op::Tombstone | Op::Transaction | Op::Heartbeat => {}
        }
    }

    fn update(&mut self, before: Option<Row>, mut row: Row) {
        // With REPLICA IDENTITY FULL the old row has every value, TOASTed ones included.
        if self.schema.replica_identity == ReplicaIdentity::Full
            && let Some(b) = &before
        {
            fill_unchanged(&mut row, b);
        }
        let key = key_bytes(&self.schema, &row);
        let old = before.filter(|b| {
            self.schema
                .primary_key
                .iter()
                .all(|&i| b.get(i).is_some_and(|v| !v.is_null()))
                && key_bytes(&self.schema, b) != key
        });
        match old {
            // The key changed: the old key's row is gone, and holds what this one did not send.
            Some(old) => {
                let prev = self.delete(old.clone());
                self.moved_in(&old, prev, row);
            }
            None => {
                let mut origin = None;
                if let Some(NetChange::Upsert { row: prev, origin: o }) =
                    self.index.get(&key).map(|&i| &self.entries[i])
                {
                    fill_unchanged(&mut row, prev);
                    origin = o.clone();
                }
                self.upsert(key, row, origin);
            }
        }
    }

    /// Records the delete of `row`'s key; returns the key's entry before it.
    fn delete(&mut self, row: Row) -> Option<NetChange> {
        let key = key_bytes(&self.schema, &row);
        let prev = self.index.get(&key).map(|&i| self.entries[i].clone());
        self.put(key, NetChange::Delete(row));
        prev
    }

    /// The new row of a key change from `old`, whose entry in the batch was `prev`: values the
    /// change did not send are `prev`'s, or else the target's under `prev`'s origin or `old`.
    fn moved_in(&mut self, old: &Row, prev: Option<NetChange>, mut row: Row) {
        let mut origin = Some(old.clone());
        if let Some(NetChange::Upsert {
            row: prev,
            origin: prev_origin,
        }) = prev
        {
            fill_unchanged(&mut row, &prev);
            // Without an origin the earlier row's unknown values were the target's at `old`.
            if prev_origin.is_some() {
                origin = prev_origin;
            }
        }
        let key = key_bytes(&self.schema, &row);
        self.upsert(key, row, origin);
    }

    fn upsert(&mut self, key: Vec<u8>, row: Row, origin: Option<Row>) {
        let origin = origin.filter(|_| has_unchanged(&row));
        self.put(key, NetChange::Upsert { row, origin });
    }

    fn put(&mut self, key: Vec<u8>, change: NetChange) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i] = change,
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(change);
            }
        }
    }
}

fn has_unchanged(row: &Row) -> bool {
    row.iter().any(|v| matches!(v, Value::Unchanged))
}

/// Replaces `Unchanged` values in `row` by the values `known` has for them.
fn fill_unchanged(row: &mut Row, known: &Row) {
    for (v, k) in row.iter_mut().zip(known) {
        if matches!(v, Value::Unchanged) && !matches!(k, Value::Unchanged) {
            *v = k.clone();
        }
    }
}

fn same_columns(a: &TableSchema, b: &TableSchema) -> bool {
    a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.pg_type == y.pg_type)
}

/// A row written under `from`, in the column order of `to` (by name). A column `from` had no
/// such column holds what the source's row holds for it: the value rows older than the column
/// have (`Column::missing`, from `ADD COLUMN … DEFAULT`), or NULL.
pub fn realign(row: &[Value], from: &TableSchema, to: &TableSchema) -> Row {
    to.columns
        .iter()
        .map(|c| {
            from.column_index(&c.name)
                .and_then(|i| row.get(i).cloned())
                .unwrap_or_else(|| c.missing.clone().unwrap_or(Value::Null))
        })
        .collect()
}

/// The primary key of `row` as bytes that are equal exactly when PostgreSQL's key equality
/// holds for the values a key can have (numerics compared by value, `-0.0` = `0.0`).
pub fn key_bytes(schema: &TableSchema, row: &Row) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for &k in &schema.primary_key {
        encode_key_value(row.get(k).unwrap_or(&Value::Null), &mut out);
    }
    out
}

fn encode_key_value(value: &Value, out: &mut Vec<u8>) {
    let tagged = |out: &mut Vec<u8>, tag: u8, bytes: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    match value {
        Value::Null => out.push(0),
        Value::Unchanged => out.push(1),
        Value::Bool(b) => tagged(out, 2, &[u8::from(*b)]),
        Value::Int16(v) => tagged(out, 3, &i64::from(*v).to_le_bytes()),
        Value::Int32(v) => tagged(out, 3, &i64::from(*v).to_le_bytes()),
        Value::Int64(v) => tagged(out, 3, &v.to_le_bytes()),
        Value::Float32(v) => tagged(out, 4, &canonical_float(f64::from(*v)).to_le_bytes()),
        Value::Float64(v) => tagged(out, 4, &canonical_float(*v).to_le_bytes()),
        Value::Numeric(n) => tagged(out, 5, canonical_numeric(n).as_bytes()),
        Value::Text(s) => tagged(out, 6, s.as_bytes()),
        Value::Bytes(b) => tagged(out, 7, b),
        Value::Date(d) => tagged(out, 8, &d.to_le_bytes()),
        Value::Time(t) => tagged(out, 9, &t.to_le_bytes()),
        // timetz equality is on the UTC instant and the zone.
        Value::TimeTz {
            micros,
            offset_seconds,
        } => {
            let mut b = micros.to_le_bytes().to_vec();
            b.extend_from_slice(&offset_seconds.to_le_bytes());
            tagged(out, 10, &b);
        }
        Value::Timestamp(t) => tagged(out, 11, &t.to_le_bytes()),
        Value::TimestampTz(t) => tagged(out, 12, &t.to_le_bytes()),
        Value::Interval { months, days, micros } => {
            let mut b = months.to_le_bytes().to_vec();
            b.extend_from_slice(&days.to_le_bytes());
            b.extend_from_slice(&micros.to_le_bytes());
            tagged(out, 13, &b);
        }
        Value::Array(items) => {
            out.push(14);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for item in items {
                encode_key_value(item, out);
            }
        }
    }
}

fn canonical_float(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

/// `1.50` and `1.5` are one key in PostgreSQL.
fn canonical_numeric(n: &crate::Numeric) -> String {
    match n {
        crate::Numeric::Finite(s) => {
            let t = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                s
            };
            if t == "-0" { "0".into() } else { t.into() }
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
