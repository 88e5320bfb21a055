//! From pgoutput messages to change events: the part of the source that knows what a
//! transaction, a relation and a tuple mean.
//!
//! ```text
//!  PgOutputMessage ──▶ ChangeBuilder ──▶ Vec<SourceItem>  (Event…, Commit(position))
//!    Relation ─────────▶ catalog lookup ─▶ Arc<TableSchema> cache
//!    Begin/Commit ─────▶ transaction state, skip of already-delivered transactions
//!    Insert/Update/Delete/Truncate/Message ─▶ events (a key change becomes delete + create)
//! ```
//!
//! Transactions arrive whole and in commit order (pgoutput protocol 1 never interleaves them),
//! so "already delivered" is a single comparison: a transaction whose commit record starts
//! before the resume position was delivered before the restart.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rivulet_core::{
    Change, ChangeEvent, LogicalMessage, Lsn, Op, PgType, Position, Row, RowChange, SnapshotMarker,
    SourceItem, SourceMeta, TableId, TableSchema, TransactionMarker, TransactionRef, Truncate, Value,
};
use rivulet_pgoutput::{OldTuple, PgOutputMessage, TupleData, TupleValue, parse_text};
use tracing::{debug, info, warn};

use crate::SourceError;
use crate::catalog::Catalog;
use crate::config::TableFilter;
use crate::watermark::SnapshotFilter;

struct Transaction {
    xid: u32,
    /// Where its commit record starts (BEGIN's final LSN): what snapshot watermarks compare.
    commit_lsn: Lsn,
    commit_time_us: i64,
    /// Delivered before a restart: decode (to keep relation state) but emit nothing.
    skip: bool,
    origin: Option<(String, Lsn)>,
    /// Transaction metadata: events so far, in total and per table (first-seen order), and
    /// whether the BEGIN record went out (it goes with the first event, as Debezium's does).
    events: u64,
    per_table: Vec<(TableId, u64)>,
    begun: bool,
}

/// What happened to the stream position after a message, for the caller's end-of-stream logic.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Inside a transaction, or nothing that moves the position.
    None,
    /// A transaction or non-transactional message ended; everything up to `end` is complete.
    Completed { end: Lsn },
    /// A transaction starts whose commit record is at `commit_lsn`.
    Began { commit_lsn: Lsn },
}

pub struct ChangeBuilder {
    filter: TableFilter,
    /// After a snapshot whose chunks were read later than the stream resumes: per-row skips.
    snapshot_filter: Option<SnapshotFilter>,
    /// The source state each commit's position carries: `while_filtering` until the stream is
    /// past the snapshot filter, then `settled`.
    state_while_filtering: Option<Arc<serde_json::Value>>,
    state_settled: Option<Arc<serde_json::Value>>,
    /// Operations the user asked not to emit.
    skipped_ops: Vec<Op>,
    /// Relations by OID, and whether the table filter captures each (decided once per schema).
    relations: HashMap<u32, (Arc<TableSchema>, bool)>,
    txn: Option<Transaction>,
    /// Debezium's `provide.transaction.metadata`.
    transaction_metadata: bool,
    last_commit_lsn: Option<Lsn>,
    /// The commit time of the last transaction that began (Debezium stamps non-transactional
    /// messages with it).
    last_commit_time_us: Option<i64>,
    skip_below: Lsn,
    warned: HashSet<(u32, String)>,
}

impl ChangeBuilder {
    /// `skip_below`: transactions whose commit record starts before it were already delivered.
    /// `last_commit_lsn`: the end of the last delivered transaction (Debezium's `lastCommitLsn`).
    pub fn new(
        filter: TableFilter,
        skipped_ops: Vec<Op>,
        skip_below: Lsn,
        last_commit_lsn: Option<Lsn>,
    ) -> Self {
        ChangeBuilder {
            filter,
            snapshot_filter: None,
            state_while_filtering: None,
            state_settled: None,
            skipped_ops,
            relations: HashMap::new(),
            txn: None,
            transaction_metadata: false,
            last_commit_lsn,
            last_commit_time_us: None,
            skip_below,
            warned: HashSet::new(),
        }
    }

    /// Applies a snapshot's watermarks and the source state positions must carry.
    pub fn with_snapshot(
        mut self,
        filter: Option<SnapshotFilter>,
        state_while_filtering: Option<Arc<serde_json::Value>>,
        state_settled: Option<Arc<serde_json::Value>>,
    ) -> Self {
        self.snapshot_filter = filter;
        self.state_while_filtering = state_while_filtering;
        self.state_settled = state_settled;
        self
    }

    /// Adds BEGIN/END records and a `transaction` reference to every event.
    pub fn with_transaction_metadata(mut self, on: bool) -> Self {
        self.transaction_metadata = on;
        self
    }

    fn source_state_at(&mut self, end: Lsn) -> Option<Arc<serde_json::Value>> {
        if let Some(f) = &self.snapshot_filter {
            if end < f.until() {
                return self.state_while_filtering.clone();
            }
            self.snapshot_filter = None;
        }
        self.state_settled.clone()
    }

    /// A heartbeat record at the stream's current position (between transactions only).
    pub fn heartbeat(&self, lsn: Lsn, now_us: i64) -> SourceItem {
        let mut meta = self.meta(lsn, None);
        meta.commit_time_us = now_us;
        SourceItem::Event(ChangeEvent {
            change: Change::Heartbeat,
            source: meta,
        })
    }

    /// The position of an idle stream: every transaction before `lsn` was received (and none
    /// was captured since the last one delivered), so confirming it loses nothing and lets the
    /// server recycle WAL written by tables outside the publication.
    pub fn idle_position(&mut self, lsn: Lsn, commit_time_us: Option<i64>) -> Position {
        Position {
            lsn,
            txid: None,
            commit_time_us,
            source_state: self.source_state_at(lsn),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Applies one message; events and commits are appended to `out`.
    pub async fn apply(
        &mut self,
        msg: PgOutputMessage,
        lsn: Lsn,
        server_time_us: i64,
        catalog: &mut Catalog,
        out: &mut Vec<SourceItem>,
    ) -> Result<Progress, SourceError> {
        let from = out.len();
        let progress = self.apply_inner(msg, lsn, server_time_us, catalog, out).await?;
        drop_skipped(out, from, &self.skipped_ops);
        if let (Some(filter), Some(txn)) = (self.snapshot_filter.as_mut(), self.txn.as_ref()) {
            for i in drop_snapshotted(out, from, filter, txn.commit_lsn) {
                read_back_unchanged(catalog, &mut out[i]).await?;
            }
        }
        if self.transaction_metadata
            && let Some(txn) = self.txn.as_mut()
        {
            number_events(txn, out, from);
        }
        Ok(progress)
    }

    async fn apply_inner(
        &mut self,
        msg: PgOutputMessage,
        lsn: Lsn,
        server_time_us: i64,
        catalog: &mut Catalog,
        out: &mut Vec<SourceItem>,
    ) -> Result<Progress, SourceError> {
        match msg {
            PgOutputMessage::Begin {
                final_lsn,
                commit_time_us,
                xid,
            } => {
                let skip = final_lsn < self.skip_below;
                if skip {
                    debug!(%final_lsn, xid, "skipping a transaction delivered before the restart");
                }
                self.last_commit_time_us = Some(commit_time_us);
                self.txn = Some(Transaction {
                    xid,
                    commit_lsn: final_lsn,
                    commit_time_us,
                    skip,
                    origin: None,
                    events: 0,
                    per_table: Vec::new(),
                    begun: false,
                });
                return Ok(Progress::Began {
                    commit_lsn: final_lsn,
                });
            }
            PgOutputMessage::Commit {
                end_lsn,
                commit_time_us,
                ..
            } => {
                let txn = self
                    .txn
                    .take()
                    .ok_or_else(|| decode_error(lsn, "COMMIT without BEGIN"))?;
                if !txn.skip && txn.begun {
                    let mut meta = self.meta(lsn, Some(&txn));
                    meta.lsn = end_lsn;
                    out.push(SourceItem::Event(ChangeEvent {
                        change: Change::TransactionEnd(TransactionMarker {
                            id: txn.id_at(end_lsn),
                            event_count: Some(txn.events),
                            data_collections: txn.per_table.clone(),
                        }),
                        source: meta,
                    }));
                }
                if !txn.skip {
                    let source_state = self.source_state_at(end_lsn);
                    out.push(SourceItem::Commit(Position {
                        lsn: end_lsn,
                        txid: Some(txn.xid),
                        commit_time_us: Some(commit_time_us),
                        source_state,
                    }));
                }
                self.last_commit_lsn = Some(end_lsn);
                return Ok(Progress::Completed { end: end_lsn });
            }
            PgOutputMessage::Origin { origin_lsn, name } => {
                if let Some(txn) = self.txn.as_mut() {
                    txn.origin = Some((name, origin_lsn));
                }
            }
            PgOutputMessage::Relation(rel) => {
                let schema = catalog.table_schema(&rel).await?;
                let captured = self.filter.matches(&schema.id);
                if captured {
                    self.warn_about_text_columns(&schema);
                    if self
                        .relations
                        .get(&rel.relation_oid)
                        .is_some_and(|(old, _)| old.columns != schema.columns)
                    {
                        info!(table = %schema.id, columns = schema.columns.len(), "table schema changed");
                    }
                }
                self.relations
                    .insert(rel.relation_oid, (Arc::new(schema), captured));
            }
            PgOutputMessage::Type { .. } => {
                // Type names are resolved from the catalog when a Relation uses them.
            }
            PgOutputMessage::Insert { relation_oid, new } => {
                if let Some((table, meta)) = self.captured(relation_oid, lsn)? {
                    let after = self.row(&table, &new, lsn)?;
                    out.push(row_event(table, Op::Create, None, Some(after), meta));
                }
            }
            PgOutputMessage::Update {
                relation_oid,
                old,
                new,
            } => {
                if let Some((table, meta)) = self.captured(relation_oid, lsn)? {
                    let mut after = self.row(&table, &new, lsn)?;
                    match old {
                        None => out.push(row_event(table, Op::Update, None, Some(after), meta)),
                        Some(old) => {
                            let full = matches!(old, OldTuple::Full(_));
                            let before = self.row(&table, old_tuple(&old), lsn)?;
                            if full {
                                // With REPLICA IDENTITY FULL the old row carries every value, so an
                                // unchanged out-of-line value is known after all.
                                for (a, b) in after.iter_mut().zip(&before) {
                                    if matches!(a, Value::Unchanged) && !matches!(b, Value::Unchanged) {
                                        *a = b.clone();
                                    }
                                }
                            }
                            if key_changed(&table, &before, &after) {
                                // As Debezium: a primary-key change is the old row's delete and the
                                // new row's create, so keyed consumers see both keys.
                                out.push(row_event(
                                    table.clone(),
                                    Op::Delete,
                                    Some(before),
                                    None,
                                    meta.clone(),
                                ));
                                out.push(row_event(table, Op::Create, None, Some(after), meta));
                            } else {
                                out.push(row_event(table, Op::Update, Some(before), Some(after), meta));
                            }
                        }
                    }
                }
            }
            PgOutputMessage::Delete { relation_oid, old } => {
                if let Some((table, meta)) = self.captured(relation_oid, lsn)? {
                    let before = self.row(&table, old_tuple(&old), lsn)?;
                    out.push(row_event(table, Op::Delete, Some(before), None, meta));
                }
            }
            PgOutputMessage::Truncate {
                cascade,
                restart_identity,
                relation_oids,
            } => {
                for oid in relation_oids {
                    if let Some((table, meta)) = self.captured(oid, lsn)? {
                        out.push(SourceItem::Event(ChangeEvent {
                            change: Change::Truncate(Truncate {
                                table,
                                cascade,
                                restart_identity,
                            }),
                            source: meta,
                        }));
                    }
                }
            }
            PgOutputMessage::Message {
                transactional,
                lsn: message_lsn,
                prefix,
                content,
            } => {
                let message = LogicalMessage {
                    transactional,
                    prefix,
                    content: content.to_vec(),
                };
                if transactional {
                    let txn = self
                        .txn
                        .as_ref()
                        .ok_or_else(|| decode_error(lsn, "transactional MESSAGE outside a transaction"))?;
                    if !txn.skip {
                        let meta = self.meta(lsn, Some(txn));
                        out.push(SourceItem::Event(ChangeEvent {
                            change: Change::Message(message),
                            source: meta,
                        }));
                    }
                } else {
                    // Not part of any transaction: it is complete on its own, so it gets its own
                    // position just past its WAL record's start.
                    let end = Lsn(message_lsn.0 + 1);
                    if message_lsn >= self.skip_below {
                        let mut meta = self.meta(lsn, None);
                        // As Debezium: a message completes itself (it is its own "last commit"),
                        // and carries the time of the last transaction seen (the server's send
                        // time when none was).
                        meta.last_commit_lsn = Some(lsn);
                        meta.commit_time_us = self.last_commit_time_us.unwrap_or(server_time_us);
                        out.push(SourceItem::Event(ChangeEvent {
                            change: Change::Message(message),
                            source: meta,
                        }));
                        let source_state = self.source_state_at(end);
                        out.push(SourceItem::Commit(Position {
                            lsn: end,
                            txid: None,
                            commit_time_us: None,
                            source_state,
                        }));
                    }
                    self.last_commit_lsn = Some(message_lsn);
                    return Ok(Progress::Completed { end });
                }
            }
        }
        Ok(Progress::None)
    }

    /// The table and event metadata for a row change, or `None` when the table is not captured
    /// or the transaction is being skipped.
    fn captured(
        &self,
        relation_oid: u32,
        lsn: Lsn,
    ) -> Result<Option<(Arc<TableSchema>, SourceMeta)>, SourceError> {
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| decode_error(lsn, "row change outside a transaction"))?;
        let (table, captured) = self.relations.get(&relation_oid).ok_or_else(|| {
            decode_error(
                lsn,
                &format!("change for relation {relation_oid} before its RELATION message"),
            )
        })?;
        if txn.skip || !captured {
            return Ok(None);
        }
        Ok(Some((table.clone(), self.meta(lsn, Some(txn)))))
    }

    fn meta(&self, lsn: Lsn, txn: Option<&Transaction>) -> SourceMeta {
        SourceMeta {
            lsn,
            last_commit_lsn: self.last_commit_lsn,
            txid: txn.map(|t| t.xid),
            commit_time_us: txn.map_or(0, |t| t.commit_time_us),
            snapshot: SnapshotMarker::False,
            origin: txn.and_then(|t| t.origin.as_ref().map(|o| o.0.clone())),
            origin_lsn: txn.and_then(|t| t.origin.as_ref().map(|o| o.1)),
            original: None,
            transaction: None,
        }
    }

    fn row(&mut self, table: &TableSchema, tuple: &TupleData, lsn: Lsn) -> Result<Row, SourceError> {
        if tuple.0.len() != table.columns.len() {
            return Err(decode_error(
                lsn,
                &format!(
                    "a row of {} has {} values but its RELATION message announced {} columns",
                    table.id,
                    tuple.0.len(),
                    table.columns.len()
                ),
            ));
        }
        let mut row = Vec::with_capacity(tuple.0.len());
        for (column, value) in table.columns.iter().zip(&tuple.0) {
            row.push(match value {
                TupleValue::Null => Value::Null,
                TupleValue::UnchangedToast => Value::Unchanged,
                TupleValue::Text(text) => match parse_text(&column.pg_type, text) {
                    Ok(v) => v,
                    Err(e) => {
                        // Keep the data rather than stop or drop it: PostgreSQL's text form is
                        // exact, only its typing is lost. Said once per column.
                        if self.warned.insert((table.relation_oid, column.name.clone())) {
                            warn!(table = %table.id, column = %column.name, error = %e,
                                  "cannot parse a value; carrying it as text");
                        }
                        Value::Text(String::from_utf8_lossy(text).into_owned())
                    }
                },
                TupleValue::Binary(bytes) => Value::Bytes(bytes.to_vec()),
            });
        }
        Ok(row)
    }

    fn warn_about_text_columns(&mut self, schema: &TableSchema) {
        for column in &schema.columns {
            if let Some(name) = other_type_name(&column.pg_type)
                && self.warned.insert((schema.relation_oid, column.name.clone()))
            {
                warn!(table = %schema.id, column = %column.name, r#type = name,
                      "type has no dedicated mapping; its values are carried as PostgreSQL's text form");
            }
        }
    }
}

fn other_type_name(t: &PgType) -> Option<&str> {
    match t {
        PgType::Other { name } => Some(name),
        PgType::Array(inner) => other_type_name(inner),
        _ => None,
    }
}

fn old_tuple(old: &OldTuple) -> &TupleData {
    match old {
        OldTuple::Key(t) | OldTuple::Full(t) => t,
    }
}

fn key_changed(table: &TableSchema, before: &Row, after: &Row) -> bool {
    table
        .primary_key
        .iter()
        .any(|&i| match (before.get(i), after.get(i)) {
            (Some(Value::Unchanged), _) | (_, Some(Value::Unchanged)) => false,
            (b, a) => b != a,
        })
}

fn row_event(
    table: Arc<TableSchema>,
    op: Op,
    before: Option<Row>,
    after: Option<Row>,
    meta: SourceMeta,
) -> SourceItem {
    SourceItem::Event(ChangeEvent {
        change: Change::Row(RowChange {
            table,
            op,
            before,
            after,
        }),
        source: meta,
    })
}

impl Transaction {
    /// Debezium's transaction id as it stands at a record: `"<xid>:<lsn>"`, where the LSN is
    /// the position Debezium's offset holds when it emits the record: the event's own LSN for
    /// events (and for BEGIN, which goes out with the first event), the commit's end for END.
    /// So, like Debezium's, the id is not the same on every record of one transaction.
    fn id_at(&self, lsn: Lsn) -> Arc<str> {
        Arc::from(format!("{}:{}", self.xid, lsn.0))
    }
}

/// Numbers the row and truncate events `apply` just appended (after filtering), and puts the
/// transaction's BEGIN record in front of its first event.
fn number_events(txn: &mut Transaction, out: &mut Vec<SourceItem>, from: usize) {
    let mut begin_at = None;
    for (i, item) in out.iter_mut().enumerate().skip(from) {
        let SourceItem::Event(event) = item else { continue };
        let Some(table) = event.table() else { continue };
        if !txn.begun {
            txn.begun = true;
            begin_at = Some((i, event.source.clone()));
        }
        txn.events += 1;
        let per_table = match txn.per_table.iter_mut().find(|(id, _)| *id == table.id) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                txn.per_table.push((table.id.clone(), 1));
                1
            }
        };
        event.source.transaction = Some(TransactionRef {
            id: txn.id_at(event.source.lsn),
            total_order: txn.events,
            data_collection_order: per_table,
        });
    }
    if let Some((i, meta)) = begin_at {
        let begin = ChangeEvent {
            change: Change::TransactionBegin(TransactionMarker {
                id: txn.id_at(meta.lsn),
                event_count: None,
                data_collections: Vec::new(),
            }),
            source: SourceMeta {
                transaction: None,
                ..meta
            },
        };
        out.insert(i, SourceItem::Event(begin));
    }
}

/// Drops the changes that a snapshot chunk read later already contains. Returns the indexes
/// (in `out`) of kept creates whose key change's delete was dropped while they carry
/// unchanged TOAST values: downstream never had the old row, so only the table knows them.
fn drop_snapshotted(
    out: &mut Vec<SourceItem>,
    from: usize,
    filter: &mut SnapshotFilter,
    commit_lsn: Lsn,
) -> Vec<usize> {
    let tail = out.split_off(from);
    let mut unknowable = Vec::new();
    // The LSN of the last delete this dropped: a key change's create follows it at the same LSN.
    let mut dropped_delete: Option<Lsn> = None;
    for item in tail {
        let keep = match &item {
            SourceItem::Event(ChangeEvent {
                change: Change::Row(r),
                source,
            }) => {
                let keep = filter.keep_row(&r.table, &row_key(r), commit_lsn);
                let moved_here = r.op == Op::Create && dropped_delete == Some(source.lsn);
                if keep
                    && moved_here
                    && r.after
                        .as_ref()
                        .is_some_and(|row| row.contains(&Value::Unchanged))
                {
                    unknowable.push(out.len());
                }
                dropped_delete = (!keep && r.op == Op::Delete).then_some(source.lsn);
                keep
            }
            SourceItem::Event(ChangeEvent {
                change: Change::Truncate(t),
                ..
            }) => filter.keep_truncate(&t.table.id, commit_lsn),
            _ => true,
        };
        if keep {
            out.push(item);
        }
    }
    unknowable
}

/// The key columns' values of a row change (the new row's, else the old row's).
fn row_key(r: &RowChange) -> Vec<Value> {
    let row = r.after.as_ref().or(r.before.as_ref());
    r.table
        .primary_key
        .iter()
        .filter_map(|&k| row.and_then(|row| row.get(k)).cloned())
        .collect()
}

/// Fills a create's unchanged TOAST values from the table (see [`crate::refill`]).
async fn read_back_unchanged(catalog: &Catalog, item: &mut SourceItem) -> Result<(), SourceError> {
    if let SourceItem::Event(ChangeEvent {
        change: Change::Row(r),
        ..
    }) = item
        && let Some(after) = r.after.as_mut()
    {
        crate::refill::fill_unchanged(catalog.client(), &r.table, after).await?;
    }
    Ok(())
}

/// Drops the events of skipped operations that `apply` just appended after `from`.
fn drop_skipped(out: &mut Vec<SourceItem>, from: usize, skipped: &[Op]) {
    if skipped.is_empty() || out.len() == from {
        return;
    }
    let tail = out.split_off(from);
    out.extend(
        tail.into_iter()
            .filter(|item| !matches!(item, SourceItem::Event(e) if skipped.contains(&e.op()))),
    );
}

fn decode_error(lsn: Lsn, message: &str) -> SourceError {
    SourceError::Decode {
        lsn,
        message: message.to_string(),
    }
}
