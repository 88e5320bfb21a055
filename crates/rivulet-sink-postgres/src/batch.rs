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
//! Collapsing (`rivulet_core::net`, the rules the Delta sink shares) is what makes large batches
//! cheap: insert → update → delete of one key becomes a single delete (of a row that is not
//! there), and a hundred updates of a hot row one upsert. Values an update left out (unchanged
//! TOAST) and the batch does not know are read from the target when the batch is applied.

use std::collections::HashMap;
use std::sync::Arc;

use rivulet_core::net::NetChanges;
use rivulet_core::{
    Change, ChangeEvent, Lsn, Op, ReplicaIdentity, Row, RowChange, SourceMeta, TableId, TableSchema, Value,
};

use crate::Mode;
use crate::error::{SinkResult, definite};
use crate::text::copy_field;

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
    /// Keyed changes (mirror), one net change per key (`rivulet_core::net`).
    pub net: NetChanges,
    /// History rows as COPY text lines (mirror: unused).
    pub history: Vec<u8>,
    pub history_rows: u64,
    pub ordered: Vec<OrderedChange>,
}

#[derive(Debug)]
pub enum Segment {
    Rows(Box<TableChanges>),
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
                        self.bytes += keyed(changes, row, event.source.lsn, &mut self.scratch);
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
        self.segments.push(Segment::Rows(Box::new(TableChanges {
            schema: schema.clone(),
            snapshot: Vec::new(),
            snapshot_rows: 0,
            net: NetChanges::new(schema.clone()),
            history: Vec::new(),
            history_rows: 0,
            ordered: Vec::new(),
        })));
        let i = self.segments.len() - 1;
        self.open.insert(schema.id.clone(), i);
        Ok(i)
    }
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

/// Records a keyed change; returns the bytes it added (roughly). Snapshot rows of keys the
/// batch has not seen go to the COPY buffer; everything else into the net changes.
fn keyed(changes: &mut TableChanges, event: &RowChange, at: Lsn, scratch: &mut String) -> usize {
    if event.op == Op::Read
        && let Some(after) = &event.after
        && !changes.net.contains_key_of(after)
    {
        let before = changes.snapshot.len();
        copy_line(after, scratch, &mut changes.snapshot);
        changes.snapshot_rows += 1;
        return changes.snapshot.len() - before;
    }
    changes.net.apply(
        &event.table,
        event.op,
        event.before.as_ref(),
        event.after.as_ref(),
        at,
    );
    64 + row_size(event.before.as_ref()) + row_size(event.after.as_ref())
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
    use rivulet_core::net::NetChange;
    use rivulet_core::{Column, PgType, TableId};

    use super::*;

    fn table(key: bool, identity: ReplicaIdentity) -> Arc<TableSchema> {
        let column = |name: &str| Column {
            name: name.into(),
            type_oid: 23,
            type_modifier: -1,
            pg_type: PgType::Int4,
            nullable: true,
            default: None,
            missing: None,
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

    fn rows(batch: &Batch) -> &TableChanges {
        match &batch.segments[0] {
            Segment::Rows(c) => c,
            Segment::Truncate(_) => panic!("rows expected"),
        }
    }

    #[test]
    fn snapshot_rows_are_copied_unless_the_batch_changed_their_key() {
        let t = table(true, ReplicaIdentity::Default);
        let mut batch = Batch::default();
        for e in [
            event(&t, Op::Read, None, row(1, Value::Int32(1))),
            event(&t, Op::Update, None, row(2, Value::Int32(2))),
            event(&t, Op::Read, None, row(2, Value::Int32(3))),
        ] {
            batch.add(&e, Mode::Mirror).unwrap();
        }
        let changes = rows(&batch);
        assert_eq!(changes.snapshot_rows, 1);
        assert_eq!(
            changes.net.entries(),
            &[NetChange::Upsert {
                row: row(2, Value::Int32(3)).unwrap(),
                origin: None
            }]
        );
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
