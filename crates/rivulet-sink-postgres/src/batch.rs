//! The changes of one checkpoint interval, collapsed per key and ready to apply set-wise.
//!
//! ```text
//!  events ──▶ per table, in arrival order, one segment per source schema version:
//!               snapshot rows (keys not seen yet) ──▶ `snapshot`: COPY straight into the target
//!               keyed changes ──▶ `net`: key → last state (upsert row or delete)
//!               history rows / keyless changes ──▶ `ordered`: applied in order
//!             TRUNCATE (mirror) ──▶ its own segment, between the table's segments
//! ```
//!
//! Collapsing is what makes large batches cheap: insert → update → delete of one key becomes a
//! single delete (of a row that is not there), and a hundred updates of a hot row one upsert.
//! An update whose unchanged out-of-line (TOAST) values are still `Unchanged` after merging with
//! the key's earlier state in the batch is applied as an UPDATE of only the columns it has.

use std::collections::HashMap;
use std::sync::Arc;

use rivulet_core::{Change, ChangeEvent, Op, ReplicaIdentity, Row, SourceMeta, TableId, TableSchema, Value};

use crate::Mode;
use crate::error::{SinkResult, definite};
use crate::text::copy_field;

/// The last state of one key in the batch.
#[derive(Clone, Debug)]
pub enum NetChange {
    /// The row as it must be at the end of the batch; `Value::Unchanged` columns keep the
    /// target's current value.
    Upsert(Row),
    /// The key's row must be gone; only the key columns are meaningful.
    Delete(Row),
}

/// A keyless change (mirror mode, `REPLICA IDENTITY FULL`), applied one by one.
#[derive(Clone, Debug)]
pub struct OrderedChange {
    pub op: Op,
    pub before: Option<Row>,
    pub after: Option<Row>,
}

/// One table's changes under one source schema.
#[derive(Debug)]
pub struct TableChanges {
    pub schema: Arc<TableSchema>,
    /// Snapshot rows of keys the batch has not seen otherwise, as COPY text lines.
    pub snapshot: Vec<u8>,
    pub snapshot_rows: u64,
    /// Keyed changes: rendered key → index into `net_rows`.
    net_index: HashMap<Vec<u8>, usize>,
    pub net_rows: Vec<NetChange>,
    /// History rows as COPY text lines (mirror: unused).
    pub history: Vec<u8>,
    pub history_rows: u64,
    pub ordered: Vec<OrderedChange>,
}

#[derive(Debug)]
pub enum Segment {
    Rows(TableChanges),
    /// Mirror mode: empty the target table here.
    Truncate(Arc<TableSchema>),
}

#[derive(Debug, Default)]
pub struct Batch {
    pub segments: Vec<Segment>,
    /// The open `Rows` segment of each table.
    open: HashMap<TableId, usize>,
    /// Rough memory held, for logs.
    pub bytes: usize,
    pub events: u64,
    scratch: String,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn clear(&mut self) {
        self.segments.clear();
        self.open.clear();
        self.bytes = 0;
        self.events = 0;
    }

    pub fn add(&mut self, event: &ChangeEvent, mode: Mode) -> SinkResult<()> {
        match &event.change {
            Change::Row(row) => {
                self.events += 1;
                let table = self.table(&row.table, mode)?;
                let Segment::Rows(changes) = &mut self.segments[table] else {
                    return Err(definite("internal: a truncate segment is open for rows"));
                };
                match mode {
                    Mode::History => {
                        let values = match row.op {
                            Op::Delete => row.before.as_ref(),
                            _ => row.after.as_ref(),
                        };
                        let before = self.bytes;
                        history_line(changes, row.op, values, &event.source, &mut self.scratch);
                        self.bytes = before + changes.history.len();
                    }
                    Mode::Mirror if changes.schema.has_primary_key() => {
                        self.bytes += keyed(
                            changes,
                            row.op,
                            row.before.as_ref(),
                            row.after.as_ref(),
                            &mut self.scratch,
                        )?;
                    }
                    Mode::Mirror => {
                        changes.ordered.push(OrderedChange {
                            op: row.op,
                            before: row.before.clone(),
                            after: row.after.clone(),
                        });
                        self.bytes += 64 + row_size(row.before.as_ref()) + row_size(row.after.as_ref());
                    }
                }
            }
            Change::Truncate(t) => {
                self.events += 1;
                match mode {
                    Mode::History => {
                        let table = self.table(&t.table, mode)?;
                        if let Segment::Rows(changes) = &mut self.segments[table] {
                            history_line(changes, Op::Truncate, None, &event.source, &mut self.scratch);
                        }
                    }
                    Mode::Mirror => {
                        self.open.remove(&t.table.id);
                        self.segments.push(Segment::Truncate(t.table.clone()));
                    }
                }
            }
            // Nothing in a replica corresponds to these.
            Change::Message(_)
            | Change::Tombstone
            | Change::TransactionBegin(_)
            | Change::TransactionEnd(_)
            | Change::Heartbeat => {}
        }
        Ok(())
    }

    /// The index of the open segment for `schema`'s table, opening a new one when the table
    /// has none or its schema changed.
    fn table(&mut self, schema: &Arc<TableSchema>, mode: Mode) -> SinkResult<usize> {
        if let Some(&i) = self.open.get(&schema.id)
            && let Segment::Rows(c) = &self.segments[i]
            && (Arc::ptr_eq(&c.schema, schema) || *c.schema == **schema)
        {
            return Ok(i);
        }
        if mode == Mode::Mirror
            && !schema.has_primary_key()
            && schema.replica_identity != ReplicaIdentity::Full
        {
            return Err(definite(format!(
                "table {} has no primary key and its replica identity is not FULL, so a mirror cannot find the rows \
                 that updates and deletes change: run ALTER TABLE {} REPLICA IDENTITY FULL at the source (or add a \
                 primary key), or use mode = \"history\"",
                schema.id,
                crate::quote_ident(&schema.id.schema) + "." + &crate::quote_ident(&schema.id.name)
            )));
        }
        self.segments.push(Segment::Rows(TableChanges {
            schema: schema.clone(),
            snapshot: Vec::new(),
            snapshot_rows: 0,
            net_index: HashMap::new(),
            net_rows: Vec::new(),
            history: Vec::new(),
            history_rows: 0,
            ordered: Vec::new(),
        }));
        let i = self.segments.len() - 1;
        self.open.insert(schema.id.clone(), i);
        Ok(i)
    }
}

/// The key of a row, rendered (COPY text of the key columns, tab-separated).
fn key_of(schema: &TableSchema, row: &Row, scratch: &mut String) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    for (n, &k) in schema.primary_key.iter().enumerate() {
        if n > 0 {
            key.push(b'\t');
        }
        copy_field(row.get(k).unwrap_or(&Value::Null), scratch, &mut key);
    }
    key
}

/// Roughly the memory a row holds.
fn row_size(row: Option<&Row>) -> usize {
    row.map_or(0, |r| {
        r.iter()
            .map(|v| {
                32 + match v {
                    Value::Text(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    Value::Array(a) => 32 * a.len(),
                    _ => 0,
                }
            })
            .sum()
    })
}

/// Records a keyed change; returns the bytes it added (roughly).
fn keyed(
    changes: &mut TableChanges,
    op: Op,
    before: Option<&Row>,
    after: Option<&Row>,
    scratch: &mut String,
) -> SinkResult<usize> {
    let schema = changes.schema.clone();
    let size = 64 + row_size(before) + row_size(after);
    match op {
        Op::Read => {
            let Some(after) = after else { return Ok(0) };
            let key = key_of(&schema, after, scratch);
            if changes.net_index.contains_key(&key) {
                set_net(changes, key, NetChange::Upsert(after.clone()));
            } else {
                let before = changes.snapshot.len();
                copy_line(after, scratch, &mut changes.snapshot);
                changes.snapshot_rows += 1;
                return Ok(changes.snapshot.len() - before);
            }
        }
        Op::Create => {
            let Some(after) = after else { return Ok(0) };
            let key = key_of(&schema, after, scratch);
            set_net(changes, key, NetChange::Upsert(after.clone()));
        }
        Op::Update => {
            let Some(after) = after else { return Ok(0) };
            let mut row = after.clone();
            let key = key_of(&schema, &row, scratch);
            let old_key = before.map(|b| key_of(&schema, b, scratch));
            // With REPLICA IDENTITY FULL the old row has every value, TOASTed ones included.
            if schema.replica_identity == ReplicaIdentity::Full
                && let Some(b) = before
            {
                fill_unchanged(&mut row, b);
            }
            if let Some(NetChange::Upsert(prev)) = changes
                .net_index
                .get(old_key.as_ref().unwrap_or(&key))
                .map(|&i| &changes.net_rows[i])
            {
                let prev = prev.clone();
                fill_unchanged(&mut row, &prev);
            }
            let key_changed = old_key.as_ref().is_some_and(|k| *k != key);
            if key_changed {
                if row.iter().any(|v| matches!(v, Value::Unchanged)) {
                    return Err(definite(format!(
                        "an update of {} changed the primary key and left out-of-line (TOAST) values unsent, so the \
                         new row cannot be built: run ALTER TABLE … REPLICA IDENTITY FULL on the source table",
                        schema.id
                    )));
                }
                if let (Some(old_key), Some(b)) = (old_key, before) {
                    set_net(changes, old_key, NetChange::Delete(b.clone()));
                }
            }
            set_net(changes, key, NetChange::Upsert(row));
        }
        Op::Delete => {
            let Some(before) = before else { return Ok(0) };
            let key = key_of(&schema, before, scratch);
            set_net(changes, key, NetChange::Delete(before.clone()));
        }
        _ => return Ok(0),
    }
    Ok(size)
}

fn set_net(changes: &mut TableChanges, key: Vec<u8>, change: NetChange) {
    match changes.net_index.get(&key) {
        Some(&i) => changes.net_rows[i] = change,
        None => {
            changes.net_index.insert(key, changes.net_rows.len());
            changes.net_rows.push(change);
        }
    }
}

/// Replaces unchanged TOAST markers in `row` by the values `known` has for them.
fn fill_unchanged(row: &mut Row, known: &Row) {
    for (v, k) in row.iter_mut().zip(known) {
        if matches!(v, Value::Unchanged) && !matches!(k, Value::Unchanged) {
            *v = k.clone();
        }
    }
}

/// Appends a row as one COPY text line.
pub fn copy_line(row: &Row, scratch: &mut String, out: &mut Vec<u8>) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        copy_field(v, scratch, out);
    }
    out.push(b'\n');
}

/// One history row: the source columns (NULL where the change has no value), then `_cdc_op`,
/// `_cdc_lsn`, `_cdc_commit_ts`, `_cdc_txid`.
fn history_line(
    changes: &mut TableChanges,
    op: Op,
    values: Option<&Row>,
    source: &SourceMeta,
    scratch: &mut String,
) {
    let out = &mut changes.history;
    for i in 0..changes.schema.columns.len() {
        let v = values.and_then(|r| r.get(i)).unwrap_or(&Value::Null);
        // An unchanged TOAST value is not known here: NULL, as documented.
        let v = if matches!(v, Value::Unchanged) {
            &Value::Null
        } else {
            v
        };
        copy_field(v, scratch, out);
        out.push(b'\t');
    }
    out.extend_from_slice(op.code().as_bytes());
    out.push(b'\t');
    out.extend_from_slice(source.lsn.to_string().as_bytes());
    out.push(b'\t');
    copy_field(&Value::TimestampTz(source.commit_time_us), scratch, out);
    out.push(b'\t');
    match source.txid {
        Some(x) => out.extend_from_slice(x.to_string().as_bytes()),
        None => out.extend_from_slice(b"\\N"),
    }
    out.push(b'\n');
    changes.history_rows += 1;
}

#[cfg(test)]
mod tests {
    use rivulet_core::{Column, PgType, RowChange, TableId};

    use super::*;

    fn table(key: bool, identity: ReplicaIdentity) -> Arc<TableSchema> {
        let column = |name: &str| Column {
            name: name.into(),
            type_oid: 23,
            type_modifier: -1,
            pg_type: PgType::Int4,
            nullable: true,
            default: None,
        };
        Arc::new(TableSchema {
            id: TableId::new("public", "t"),
            relation_oid: 1,
            columns: vec![column("id"), column("v")],
            primary_key: if key { vec![0] } else { Vec::new() },
            replica_identity: identity,
        })
    }

    fn event(table: &Arc<TableSchema>, op: Op, before: Option<Row>, after: Option<Row>) -> ChangeEvent {
        ChangeEvent {
            change: Change::Row(RowChange {
                table: table.clone(),
                op,
                before,
                after,
            }),
            source: SourceMeta::default(),
        }
    }

    fn row(id: i32, v: Value) -> Option<Row> {
        Some(vec![Value::Int32(id), v])
    }

    fn net(batch: &Batch) -> &[NetChange] {
        match &batch.segments[0] {
            Segment::Rows(c) => &c.net_rows,
            Segment::Truncate(_) => panic!("rows expected"),
        }
    }

    #[test]
    fn insert_update_delete_of_one_key_nets_to_a_delete() {
        let t = table(true, ReplicaIdentity::Default);
        let mut batch = Batch::default();
        for e in [
            event(&t, Op::Create, None, row(1, Value::Int32(1))),
            event(&t, Op::Update, None, row(1, Value::Int32(2))),
            event(&t, Op::Delete, row(1, Value::Null), None),
            event(&t, Op::Create, None, row(2, Value::Int32(5))),
            event(&t, Op::Update, None, row(2, Value::Unchanged)),
        ] {
            batch.add(&e, Mode::Mirror).unwrap();
        }
        let rows = net(&batch);
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[0], NetChange::Delete(r) if r[0] == Value::Int32(1)));
        // The unchanged value is taken from the key's earlier state in the batch.
        assert!(matches!(&rows[1], NetChange::Upsert(r) if r[1] == Value::Int32(5)));
    }

    #[test]
    fn a_key_change_deletes_the_old_key() {
        let t = table(true, ReplicaIdentity::Default);
        let mut batch = Batch::default();
        batch
            .add(
                &event(&t, Op::Update, row(1, Value::Null), row(9, Value::Int32(3))),
                Mode::Mirror,
            )
            .unwrap();
        let rows = net(&batch);
        assert!(matches!(&rows[0], NetChange::Delete(r) if r[0] == Value::Int32(1)));
        assert!(matches!(&rows[1], NetChange::Upsert(r) if r[0] == Value::Int32(9)));
    }

    #[test]
    fn a_keyless_table_needs_full_identity_in_mirror_mode_only() {
        let t = table(false, ReplicaIdentity::Default);
        let e = event(&t, Op::Create, None, row(1, Value::Int32(1)));
        let err = Batch::default().add(&e, Mode::Mirror).unwrap_err();
        assert!(
            err.message.contains("REPLICA IDENTITY FULL") && err.message.contains("mode = \"history\""),
            "{}",
            err.message
        );
        Batch::default().add(&e, Mode::History).unwrap();
        let full = table(false, ReplicaIdentity::Full);
        Batch::default()
            .add(
                &event(&full, Op::Create, None, row(1, Value::Int32(1))),
                Mode::Mirror,
            )
            .unwrap();
    }
}
