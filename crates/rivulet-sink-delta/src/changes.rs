//! What one Delta commit applies to one table: the changes buffered between two flushes.
//!
//! ```text
//!  mirror:  c/r/u/d events ─▶ one entry per primary key (last state wins) ─▶ MERGE source rows
//!           insert → update → delete  ⇒ delete of a key the table does not have: no change
//!           update → update           ⇒ the last row, TOAST-unchanged values filled from the first
//! ```
//!
//! Rows of older schema versions (an ALTER TABLE inside the batch) are re-aligned by column name
//! to the newest schema, so one MERGE applies the whole batch.

use std::collections::HashMap;
use std::sync::Arc;

use rivulet_core::{Op, Row, TableSchema, Value};

/// The net effect on one primary key.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyChange {
    /// Insert or update to this row (values may still be `Value::Unchanged`).
    Upsert(Row),
    /// Delete; the row holds at least the key columns.
    Delete(Row),
}

/// Changes to one table in mirror mode, collapsed per key.
#[derive(Default)]
pub struct MirrorChanges {
    /// The newest schema seen; every stored row is aligned with it.
    pub schema: Option<Arc<TableSchema>>,
    /// Keys in first-seen order, so the MERGE source is deterministic.
    order: Vec<String>,
    by_key: HashMap<String, KeyChange>,
    /// A TRUNCATE came before the changes in `by_key`: empty the table first.
    pub truncate_first: bool,
    /// Source changes folded in (before collapsing), for logs and metrics.
    pub source_changes: u64,
}

/// The key of a row as a map key. `Value` has floats, so it is not `Hash`; its debug form is
/// exact for every type a primary key can have.
fn key_string(schema: &TableSchema, row: &Row) -> String {
    let mut key = String::new();
    for &i in &schema.primary_key {
        key.push_str(&format!("{:?}\u{1f}", row.get(i).unwrap_or(&Value::Null)));
    }
    key
}

/// Re-aligns a row written under `from` to the column order of `to`, by name. Columns `from`
/// did not have are `Unchanged` (the table keeps what it has: null for a new column).
fn realign(row: &[Value], from: &TableSchema, to: &TableSchema) -> Row {
    to.columns
        .iter()
        .map(|c| {
            from.column_index(&c.name)
                .and_then(|i| row.get(i).cloned())
                .unwrap_or(Value::Unchanged)
        })
        .collect()
}

fn same_columns(a: &TableSchema, b: &TableSchema) -> bool {
    a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.pg_type == y.pg_type)
}

impl MirrorChanges {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty() && !self.truncate_first
    }

    /// Entries in first-seen key order.
    pub fn entries(&self) -> impl Iterator<Item = &KeyChange> {
        self.order.iter().filter_map(|k| self.by_key.get(k))
    }

    /// True when there are rows to MERGE (a TRUNCATE alone has none).
    pub fn has_rows(&self) -> bool {
        !self.by_key.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Moves to a newer schema: every stored row is re-aligned to it.
    fn adopt(&mut self, table: &Arc<TableSchema>) {
        match &self.schema {
            Some(current) if Arc::ptr_eq(current, table) || same_columns(current, table) => {}
            Some(current) => {
                let old = Arc::clone(current);
                for change in self.by_key.values_mut() {
                    let row = match change {
                        KeyChange::Upsert(r) | KeyChange::Delete(r) => std::mem::take(r),
                    };
                    let row = realign(&row, &old, table);
                    match change {
                        KeyChange::Upsert(r) | KeyChange::Delete(r) => *r = row,
                    }
                }
                self.schema = Some(Arc::clone(table));
            }
            None => self.schema = Some(Arc::clone(table)),
        }
    }

    pub fn truncate(&mut self) {
        self.order.clear();
        self.by_key.clear();
        self.truncate_first = true;
        self.source_changes += 1;
    }

    /// Folds one row change in. The caller has checked the table has a primary key.
    pub fn apply(&mut self, table: &Arc<TableSchema>, op: Op, before: Option<&Row>, after: Option<&Row>) {
        self.adopt(table);
        let Some(schema) = self.schema.clone() else { return };
        let align = |row: &Row| -> Row {
            if Arc::ptr_eq(&schema, table) || same_columns(&schema, table) {
                row.clone()
            } else {
                realign(row, table, &schema)
            }
        };
        self.source_changes += 1;
        match (op, after) {
            (Op::Delete, _) => {
                if let Some(before) = before {
                    let row = align(before);
                    let key = key_string(&schema, &row);
                    self.put(key, KeyChange::Delete(row));
                }
            }
            (_, Some(after)) => {
                let mut row = align(after);
                let key = key_string(&schema, &row);
                // An update that changed the key: the old key's row is gone.
                if let Some(before) = before.map(&align) {
                    let old_key = key_string(&schema, &before);
                    let has_old_key = schema.primary_key.iter().all(|&i| !before[i].is_null());
                    if has_old_key && old_key != key {
                        // The new row's unchanged values are the old row's values.
                        if let Some(KeyChange::Upsert(prev)) = self.by_key.get(&old_key) {
                            fill_unchanged(&mut row, prev);
                        }
                        self.put(old_key, KeyChange::Delete(before));
                    }
                }
                if let Some(KeyChange::Upsert(prev)) = self.by_key.get(&key) {
                    fill_unchanged(&mut row, prev);
                }
                self.put(key, KeyChange::Upsert(row));
            }
            (_, None) => {}
        }
    }

    fn put(&mut self, key: String, change: KeyChange) {
        if self.by_key.insert(key.clone(), change).is_none() {
            self.order.push(key);
        }
    }
}

/// Replaces `Unchanged` values with the earlier row's values for the same key.
fn fill_unchanged(row: &mut Row, earlier: &Row) {
    for (value, prev) in row.iter_mut().zip(earlier) {
        if matches!(value, Value::Unchanged) {
            *value = prev.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use rivulet_core::{Column, PgType, ReplicaIdentity, TableId};

    use super::*;

    fn table() -> Arc<TableSchema> {
        let col = |name: &str, pg_type| Column {
            name: name.into(),
            type_oid: 0,
            type_modifier: -1,
            pg_type,
            nullable: true,
            default: None,
        };
        Arc::new(TableSchema {
            id: TableId::new("public", "t"),
            relation_oid: 1,
            columns: vec![
                col("id", PgType::Int4),
                col("a", PgType::Text),
                col("b", PgType::Text),
            ],
            primary_key: vec![0],
            replica_identity: ReplicaIdentity::Default,
        })
    }

    fn row(id: i32, a: Value, b: Value) -> Row {
        vec![Value::Int32(id), a, b]
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn insert_update_delete_nets_to_a_delete_of_a_missing_key() {
        let t = table();
        let mut m = MirrorChanges::default();
        m.apply(&t, Op::Create, None, Some(&row(1, text("x"), text("y"))));
        m.apply(&t, Op::Update, None, Some(&row(1, text("x2"), text("y"))));
        m.apply(&t, Op::Delete, Some(&row(1, Value::Null, Value::Null)), None);
        let entries: Vec<_> = m.entries().cloned().collect();
        assert_eq!(entries, vec![KeyChange::Delete(row(1, Value::Null, Value::Null))]);
    }

    #[test]
    fn update_then_update_keeps_the_last_with_toast_values_filled() {
        let t = table();
        let mut m = MirrorChanges::default();
        m.apply(&t, Op::Update, None, Some(&row(1, text("a1"), Value::Unchanged)));
        m.apply(&t, Op::Update, None, Some(&row(1, Value::Unchanged, text("b2"))));
        let entries: Vec<_> = m.entries().cloned().collect();
        // `b` was never sent before: it stays unchanged (the table keeps its value).
        assert_eq!(entries, vec![KeyChange::Upsert(row(1, text("a1"), text("b2")))]);
        m.apply(
            &t,
            Op::Update,
            None,
            Some(&row(1, Value::Unchanged, Value::Unchanged)),
        );
        let entries: Vec<_> = m.entries().cloned().collect();
        assert_eq!(entries, vec![KeyChange::Upsert(row(1, text("a1"), text("b2")))]);
    }

    #[test]
    fn key_change_deletes_the_old_key() {
        let t = table();
        let mut m = MirrorChanges::default();
        m.apply(
            &t,
            Op::Update,
            Some(&row(1, Value::Null, Value::Null)),
            Some(&row(2, text("a"), text("b"))),
        );
        let entries: Vec<_> = m.entries().cloned().collect();
        assert_eq!(
            entries,
            vec![
                KeyChange::Delete(row(1, Value::Null, Value::Null)),
                KeyChange::Upsert(row(2, text("a"), text("b")))
            ]
        );
    }

    #[test]
    fn truncate_discards_earlier_changes() {
        let t = table();
        let mut m = MirrorChanges::default();
        m.apply(&t, Op::Create, None, Some(&row(1, text("x"), text("y"))));
        m.truncate();
        m.apply(&t, Op::Create, None, Some(&row(2, text("x"), text("y"))));
        assert!(m.truncate_first);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn rows_of_an_older_schema_are_realigned() {
        let t = table();
        let mut m = MirrorChanges::default();
        m.apply(&t, Op::Create, None, Some(&row(1, text("x"), text("y"))));
        let mut newer = (*t).clone();
        newer.columns.insert(1, newer.columns[1].clone());
        newer.columns[1].name = "c".into();
        let newer = Arc::new(newer);
        m.apply(
            &newer,
            Op::Create,
            None,
            Some(&vec![Value::Int32(2), text("c"), text("a"), text("b")]),
        );
        let entries: Vec<_> = m.entries().cloned().collect();
        assert_eq!(
            entries[0],
            KeyChange::Upsert(vec![Value::Int32(1), Value::Unchanged, text("x"), text("y")])
        );
    }
}
